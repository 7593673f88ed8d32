package awsfake

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DBCluster is an RDS DB cluster: Aurora, or a Multi-AZ DB cluster.
type DBCluster struct {
	ID, Region          string
	BackupRetentionDays int
	// LatestRestorable is zero for a cluster that has none yet.
	LatestRestorable                       time.Time
	Encrypted, DeletionProtection, MultiAZ bool
	KMSKeyID                               string
	// Members is how many DB instances the cluster has.
	Members int
	Tags    map[string]string
	// AutoMinorUpgrade is AutoMinorVersionUpgrade; nil leaves it out of
	// the answer, as for clusters whose engine does not report it.
	AutoMinorUpgrade *bool
	// GlobalCluster names the global database the cluster belongs to;
	// Replicas are the ARNs of its cross-region read replica clusters.
	GlobalCluster string
	Replicas      []string
}

// ARN is the cluster's ARN.
func (d DBCluster) ARN() string { return "arn:aws:rds:" + d.Region + ":123456789012:cluster:" + d.ID }

// AutoScalingGroup is an EC2 Auto Scaling group.
type AutoScalingGroup struct {
	Name, Region               string
	Min, Max, Desired, Running int
	// Policies are the names of its scaling policies.
	Policies []string
	Tags     map[string]string
}

// ARN is the group's ARN.
func (g AutoScalingGroup) ARN() string {
	return "arn:aws:autoscaling:" + g.Region + ":123456789012:autoScalingGroup:6d1c4a2e-0000-4000-8000-000000000000:autoScalingGroupName/" + g.Name
}

// ECSService is an ECS service and, when Scalable, the Application Auto
// Scaling target of its desired count (Min, Max) and its policies.
type ECSService struct {
	Cluster, Name, Region string
	Desired, Running      int
	Scalable              bool
	Min, Max              int
	Policies              []string
	Tags                  map[string]string
}

// ClusterARN is the ARN of the service's cluster.
func (e ECSService) ClusterARN() string {
	return "arn:aws:ecs:" + e.Region + ":123456789012:cluster/" + e.Cluster
}

// ARN is the service's ARN (the long format, with its cluster).
func (e ECSService) ARN() string {
	return "arn:aws:ecs:" + e.Region + ":123456789012:service/" + e.Cluster + "/" + e.Name
}

// ResourceID is the service's ID in Application Auto Scaling.
func (e ECSService) ResourceID() string { return "service/" + e.Cluster + "/" + e.Name }

// AddDBCluster adds DB clusters.
func (s *Server) AddDBCluster(d ...DBCluster) { add(s, &s.clusters, d) }

// AddAutoScalingGroup adds Auto Scaling groups.
func (s *Server) AddAutoScalingGroup(g ...AutoScalingGroup) { add(s, &s.groups, g) }

// AddECSService adds ECS services (their clusters exist with them).
func (s *Server) AddECSService(e ...ECSService) { add(s, &s.services, e) }

func (s *Server) describeDBClusters(form url.Values, region string) (string, *apiError) {
	size, e := s.rdsPageSize(form)
	if e != nil {
		return "", e
	}
	in := keep(s.clusters, func(d DBCluster) bool { return d.Region == region })
	return queryPage(s, "DescribeDBClusters", form.Get("Marker"), size, in, "DBClusters", "Marker", func(b *strings.Builder, d DBCluster) {
		fmt.Fprintf(b, `<DBCluster><DBClusterIdentifier>%s</DBClusterIdentifier><DBClusterArn>%s</DBClusterArn><Status>available</Status><Engine>aurora-postgresql</Engine><BackupRetentionPeriod>%d</BackupRetentionPeriod>%s<StorageEncrypted>%t</StorageEncrypted>%s<DeletionProtection>%t</DeletionProtection><MultiAZ>%t</MultiAZ><DBClusterMembers>`,
			esc(d.ID), esc(d.ARN()), d.BackupRetentionDays, restorableXML(d.LatestRestorable), d.Encrypted, kmsXML(d.KMSKeyID), d.DeletionProtection, d.MultiAZ)
		for i := range d.Members {
			fmt.Fprintf(b, "<DBClusterMember><DBInstanceIdentifier>%s-%d</DBInstanceIdentifier><IsClusterWriter>%t</IsClusterWriter></DBClusterMember>", esc(d.ID), i+1, i == 0)
		}
		b.WriteString("</DBClusterMembers>")
		if d.AutoMinorUpgrade != nil {
			fmt.Fprintf(b, "<AutoMinorVersionUpgrade>%t</AutoMinorVersionUpgrade>", *d.AutoMinorUpgrade)
		}
		if d.GlobalCluster != "" {
			fmt.Fprintf(b, "<GlobalClusterIdentifier>%s</GlobalClusterIdentifier>", esc(d.GlobalCluster))
		}
		b.WriteString("<ReadReplicaIdentifiers>")
		for _, r := range d.Replicas {
			fmt.Fprintf(b, "<ReadReplicaIdentifier>%s</ReadReplicaIdentifier>", esc(r))
		}
		b.WriteString("</ReadReplicaIdentifiers><TagList>" + tagXML(d.Tags) + "</TagList></DBCluster>")
	})
}

// autoScalingPageSize is the page size a DescribeAutoScalingGroups or
// DescribePolicies call asks for (MaxRecords at most 100).
func (s *Server) autoScalingPageSize(form url.Values) (int, *apiError) {
	size := s.PageSize
	if v := form.Get("MaxRecords"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, fail(400, "ValidationError", "1 validation error detected: Value '%s' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100", v)
		}
		size = min(size, n)
	}
	return size, nil
}

// members reads a Query list parameter (NAME.member.1, NAME.member.2…).
func members(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

func (s *Server) describeGroups(form url.Values, region string) (string, *apiError) {
	size, e := s.autoScalingPageSize(form)
	if e != nil {
		return "", e
	}
	names := members(form, "AutoScalingGroupNames")
	in := keep(s.groups, func(g AutoScalingGroup) bool {
		return g.Region == region && (len(names) == 0 || slices.Contains(names, g.Name))
	})
	body, e := queryPage(s, "DescribeAutoScalingGroups", form.Get("NextToken"), size, in, "AutoScalingGroups", "NextToken", func(b *strings.Builder, g AutoScalingGroup) {
		fmt.Fprintf(b, `<member><AutoScalingGroupName>%s</AutoScalingGroupName><AutoScalingGroupARN>%s</AutoScalingGroupARN><MinSize>%d</MinSize><MaxSize>%d</MaxSize><DesiredCapacity>%d</DesiredCapacity><DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>%sa</member></AvailabilityZones><HealthCheckType>EC2</HealthCheckType><CreatedTime>2026-01-01T00:00:00Z</CreatedTime><Instances>`,
			esc(g.Name), esc(g.ARN()), g.Min, g.Max, g.Desired, region)
		for i := range g.Desired {
			state := "Pending"
			if i < g.Running {
				state = "InService"
			}
			fmt.Fprintf(b, "<member><InstanceId>i-%08x</InstanceId><AvailabilityZone>%sa</AvailabilityZone><LifecycleState>%s</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>", i+1, region, state)
		}
		b.WriteString("</Instances><Tags>")
		for _, k := range sortedKeys(g.Tags) {
			fmt.Fprintf(b, "<member><Key>%s</Key><Value>%s</Value><ResourceId>%s</ResourceId><ResourceType>auto-scaling-group</ResourceType><PropagateAtLaunch>true</PropagateAtLaunch></member>", esc(k), esc(g.Tags[k]), esc(g.Name))
		}
		b.WriteString("</Tags></member>")
	})
	if e != nil && e.code == "InvalidParameterValue" {
		e.code = "InvalidNextToken"
	}
	return body, e
}

func (s *Server) describePolicies(form url.Values, region string) (string, *apiError) {
	size, e := s.autoScalingPageSize(form)
	if e != nil {
		return "", e
	}
	type policy struct{ group, name string }
	var in []policy
	group := form.Get("AutoScalingGroupName")
	for _, g := range keep(s.groups, func(g AutoScalingGroup) bool { return g.Region == region && (group == "" || group == g.Name) }) {
		for _, p := range g.Policies {
			in = append(in, policy{g.Name, p})
		}
	}
	body, e := queryPage(s, "DescribePolicies", form.Get("NextToken"), size, in, "ScalingPolicies", "NextToken", func(b *strings.Builder, p policy) {
		fmt.Fprintf(b, "<member><AutoScalingGroupName>%s</AutoScalingGroupName><PolicyName>%s</PolicyName><PolicyARN>arn:aws:autoscaling:%s:123456789012:scalingPolicy:0:autoScalingGroupName/%s:policyName/%s</PolicyARN><PolicyType>TargetTrackingScaling</PolicyType><Enabled>true</Enabled></member>",
			esc(p.group), esc(p.name), region, esc(p.group), esc(p.name))
	})
	if e != nil && e.code == "InvalidParameterValue" {
		e.code = "InvalidNextToken"
	}
	return body, e
}

// --- ECS and Application Auto Scaling (JSON 1.1, through serveJSON) ---

// capacity answers the ECS and Application Auto Scaling calls.
func (s *Server) capacity(call string, req jsonRequest, region string) (any, *apiError) {
	switch call {
	case "ecs:ListClusters":
		return s.listClusters(req.NextToken, req.MaxResults, region)
	case "ecs:ListServices":
		return s.listServices(req.Cluster, req.NextToken, req.MaxResults, region)
	case "ecs:DescribeServices":
		return s.describeServices(req.Cluster, req.Services, slices.Contains(req.Include, "TAGS"), region)
	case "application-autoscaling:DescribeScalableTargets":
		return s.describeScalableTargets(req.ServiceNamespace, req.ResourceIds, req.ScalableDimension, req.NextToken, region)
	case "application-autoscaling:DescribeScalingPolicies":
		return s.describeScalingPolicies(req.ServiceNamespace, req.ResourceID, req.NextToken, region)
	}
	return nil, fail(400, "UnknownOperationException", "%s is not implemented by this fake", call)
}

// ecsPageSize checks maxResults (1 to 100).
func (s *Server) ecsPageSize(max int) (int, *apiError) {
	if max == 0 {
		return s.PageSize, nil
	}
	if max < 1 || max > 100 {
		return 0, fail(400, "InvalidParameterException", "maxResults must be between 1 and 100")
	}
	return min(s.PageSize, max), nil
}

func (s *Server) listClusters(token string, max int, region string) (any, *apiError) {
	size, e := s.ecsPageSize(max)
	if e != nil {
		return nil, e
	}
	var arns []string
	for _, x := range s.services {
		if x.Region == region && !slices.Contains(arns, x.ClusterARN()) {
			arns = append(arns, x.ClusterARN())
		}
	}
	return jsonPage(s, "ListClusters", token, size, arns, "clusterArns", "nextToken", "InvalidParameterException", func(a string) any { return a })
}

// jsonPage answers a JSON API list call: the page of items its token
// points at, each as item makes it, under listKey, and the next page's
// token under tokenKey unless it is the last; a token the fake did not
// issue is the API's badToken error.
func jsonPage[T any](s *Server, op, token string, size int, items []T, listKey, tokenKey, badToken string, item func(T) any) (any, *apiError) {
	start, end, next, e := s.page(op, token, len(items), size)
	if e != nil {
		return nil, fail(400, badToken, "%s", e.msg)
	}
	list := []any{}
	for _, it := range items[start:end] {
		list = append(list, item(it))
	}
	out := map[string]any{listKey: list}
	if next != "" {
		out[tokenKey] = next
	}
	return out, nil
}

// inCluster lists the services of a cluster named by name or ARN; the
// cluster must exist.
func (s *Server) inCluster(cluster, region string) ([]ECSService, *apiError) {
	if cluster == "" {
		cluster = "default"
	}
	var in []ECSService
	for _, x := range s.services {
		if x.Region == region && (x.Cluster == cluster || x.ClusterARN() == cluster) {
			in = append(in, x)
		}
	}
	if len(in) == 0 {
		return nil, fail(400, "ClusterNotFoundException", "Cluster not found.")
	}
	return in, nil
}

func (s *Server) listServices(cluster, token string, max int, region string) (any, *apiError) {
	size, e := s.ecsPageSize(max)
	if e != nil {
		return nil, e
	}
	in, e := s.inCluster(cluster, region)
	if e != nil {
		return nil, e
	}
	return jsonPage(s, "ListServices", token, size, in, "serviceArns", "nextToken", "InvalidParameterException", func(x ECSService) any { return x.ARN() })
}

func (s *Server) describeServices(cluster string, names []string, tags bool, region string) (any, *apiError) {
	if len(names) == 0 || len(names) > 10 {
		return nil, fail(400, "InvalidParameterException", "services can have at most 10 items and at least 1, %d given", len(names))
	}
	in, e := s.inCluster(cluster, region)
	if e != nil {
		return nil, e
	}
	list, failures := []map[string]any{}, []map[string]any{}
	for _, name := range names {
		i := slices.IndexFunc(in, func(x ECSService) bool { return x.Name == name || x.ARN() == name })
		if i < 0 {
			failures = append(failures, map[string]any{"arn": name, "reason": "MISSING"})
			continue
		}
		x := in[i]
		svc := map[string]any{"serviceArn": x.ARN(), "serviceName": x.Name, "clusterArn": x.ClusterARN(), "status": "ACTIVE",
			"desiredCount": x.Desired, "runningCount": x.Running, "pendingCount": x.Desired - x.Running, "launchType": "FARGATE"}
		if tags {
			t := []map[string]string{}
			for _, k := range sortedKeys(x.Tags) {
				t = append(t, map[string]string{"key": k, "value": x.Tags[k]})
			}
			svc["tags"] = t
		}
		list = append(list, svc)
	}
	return map[string]any{"services": list, "failures": failures}, nil
}

func (s *Server) describeScalableTargets(namespace string, ids []string, dimension, token, region string) (any, *apiError) {
	if namespace == "" {
		return nil, fail(400, "ValidationException", "1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null")
	}
	if len(ids) > 50 {
		return nil, fail(400, "ValidationException", "resourceIds can have at most 50 items")
	}
	in := keep(s.services, func(x ECSService) bool {
		return namespace == "ecs" && x.Region == region && x.Scalable && (len(ids) == 0 || slices.Contains(ids, x.ResourceID())) &&
			(dimension == "" || dimension == "ecs:service:DesiredCount")
	})
	return jsonPage(s, "DescribeScalableTargets", token, s.PageSize, in, "ScalableTargets", "NextToken", "InvalidNextTokenException", func(x ECSService) any {
		return map[string]any{"ServiceNamespace": "ecs", "ResourceId": x.ResourceID(), "ScalableDimension": "ecs:service:DesiredCount",
			"MinCapacity": x.Min, "MaxCapacity": x.Max, "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
			"CreationTime": 1767225600}
	})
}

func (s *Server) describeScalingPolicies(namespace, resource, token, region string) (any, *apiError) {
	if namespace == "" {
		return nil, fail(400, "ValidationException", "1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null")
	}
	type policy struct {
		svc  ECSService
		name string
	}
	var in []policy
	for _, x := range keep(s.services, func(x ECSService) bool {
		return namespace == "ecs" && x.Region == region && (resource == "" || resource == x.ResourceID())
	}) {
		for _, p := range x.Policies {
			in = append(in, policy{x, p})
		}
	}
	return jsonPage(s, "DescribeScalingPolicies", token, s.PageSize, in, "ScalingPolicies", "NextToken", "InvalidNextTokenException", func(p policy) any {
		return map[string]any{"PolicyName": p.name, "ServiceNamespace": "ecs", "ResourceId": p.svc.ResourceID(),
			"ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling", "CreationTime": 1767225600,
			"PolicyARN": "arn:aws:autoscaling:" + region + ":123456789012:scalingPolicy:0:resource/ecs/" + p.svc.ResourceID() + ":policyName/" + p.name}
	})
}
