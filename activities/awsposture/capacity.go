package awsposture

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/internal/posture"
)

// aurora reads the DB clusters of cfg's region (Aurora and Multi-AZ DB
// clusters, every page of DescribeDBClusters) and keeps the selected
// ones.
func (c *Checker) aurora(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := rds.NewFromConfig(cfg)
	now := c.now()
	var out []posture.Resource
	pages := rds.NewDescribeDBClustersPaginator(client, &rds.DescribeDBClustersInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, db := range page.DBClusters {
			tags := map[string]string{}
			for _, t := range db.TagList {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			id, arn := aws.ToString(db.DBClusterIdentifier), aws.ToString(db.DBClusterArn)
			if !selected(p.sel, tags, id, arn) {
				continue
			}
			r := posture.Resource{ID: resourceID(p, cfg.Region, id), Aliases: []string{id, arn}, Kind: "DB cluster"}
			r.Set("aurora.backup_retention", days(aws.ToInt32(db.BackupRetentionPeriod)))
			if db.LatestRestorableTime != nil {
				r.Set("aurora.pitr_lag", now.Sub(*db.LatestRestorableTime).Seconds())
			} else {
				r.Note("aurora.pitr_lag", "no latest restorable time yet")
			}
			r.SetBool("aurora.encrypted", aws.ToBool(db.StorageEncrypted))
			if k := aws.ToString(db.KmsKeyId); k != "" {
				r.Note("aurora.encrypted", "KMS key "+k)
			}
			r.SetBool("aurora.deletion_protection", aws.ToBool(db.DeletionProtection))
			r.SetBool("aurora.multi_az", aws.ToBool(db.MultiAZ))
			r.Set("aurora.instances", float64(len(db.DBClusterMembers)))
			if db.AutoMinorVersionUpgrade != nil {
				r.SetBool("aurora.auto_minor_upgrade", *db.AutoMinorVersionUpgrade)
			} else {
				r.Note("aurora.auto_minor_upgrade", "the cluster does not report AutoMinorVersionUpgrade")
			}
			// A copy in another region: a global database's secondary
			// cluster or a cross-region read replica cluster (replica
			// identifiers of other regions are ARNs naming their region).
			var copies []string
			if g := aws.ToString(db.GlobalClusterIdentifier); g != "" {
				copies = append(copies, "global database "+g)
			}
			for _, rep := range db.ReadReplicaIdentifiers {
				if region := arnRegion(rep); region != "" && region != cfg.Region {
					copies = append(copies, "replica "+rep)
				}
			}
			r.SetBool("aurora.cross_region_copy", len(copies) > 0)
			if len(copies) > 0 {
				r.Note("aurora.cross_region_copy", strings.Join(copies, "; "))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// autoScaling reads the EC2 Auto Scaling groups of cfg's region (every
// page of DescribeAutoScalingGroups), keeps the selected ones and counts
// each one's scaling policies.
func (c *Checker) autoScaling(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := autoscaling.NewFromConfig(cfg)
	var out []posture.Resource
	pages := autoscaling.NewDescribeAutoScalingGroupsPaginator(client, &autoscaling.DescribeAutoScalingGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.AutoScalingGroups {
			tags := map[string]string{}
			for _, t := range g.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			name, arn := aws.ToString(g.AutoScalingGroupName), aws.ToString(g.AutoScalingGroupARN)
			if !selected(p.sel, tags, name, arn) {
				continue
			}
			r := posture.Resource{ID: resourceID(p, cfg.Region, name), Aliases: []string{name, arn}, Kind: "Auto Scaling group"}
			minSize, maxSize, desired := aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity)
			r.Set("asg.min_size", float64(minSize))
			r.Set("asg.max_size", float64(maxSize))
			r.Set("asg.desired", float64(desired))
			r.Set("asg.headroom", float64(maxSize-desired))
			inService := 0
			for _, i := range g.Instances {
				if i.LifecycleState == "InService" {
					inService++
				}
			}
			r.Set("asg.in_service", float64(inService))
			policies, err := groupPolicies(ctx, client, name)
			if err != nil {
				return nil, err
			}
			r.Set("asg.scaling_policies", float64(len(policies)))
			if len(policies) > 0 {
				r.Note("asg.scaling_policies", strings.Join(policies, ", "))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// groupPolicies lists the names of a group's scaling policies.
func groupPolicies(ctx context.Context, client *autoscaling.Client, group string) ([]string, error) {
	var names []string
	pages := autoscaling.NewDescribePoliciesPaginator(client, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String(group)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, pol := range page.ScalingPolicies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	return names, nil
}

// ecsServices reads the ECS services of every cluster of cfg's region
// (ListClusters, ListServices, DescribeServices ten at a time), keeps the
// selected ones and reads the Application Auto Scaling target and
// policies of each one's desired count.
func (c *Checker) ecsServices(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := ecs.NewFromConfig(cfg)
	scaling := applicationautoscaling.NewFromConfig(cfg)
	var out []posture.Resource
	clusters := ecs.NewListClustersPaginator(client, &ecs.ListClustersInput{})
	for clusters.HasMorePages() {
		page, err := clusters.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, cluster := range page.ClusterArns {
			got, err := c.clusterServices(ctx, client, scaling, cfg.Region, cluster, p)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
	}
	return out, nil
}

func (c *Checker) clusterServices(ctx context.Context, client *ecs.Client, scaling *applicationautoscaling.Client, region, cluster string, p params) ([]posture.Resource, error) {
	var arns []string
	pages := ecs.NewListServicesPaginator(client, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		arns = append(arns, page.ServiceArns...)
	}
	var out []posture.Resource
	for len(arns) > 0 {
		batch := arns[:min(10, len(arns))]
		arns = arns[len(batch):]
		res, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch,
			Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
		if err != nil {
			return nil, err
		}
		for _, s := range res.Services {
			tags := map[string]string{}
			for _, t := range s.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			name, arn := aws.ToString(s.ServiceName), aws.ToString(s.ServiceArn)
			clusterName := cluster[strings.LastIndex(cluster, "/")+1:]
			if !selected(p.sel, tags, name, clusterName+"/"+name, arn) {
				continue
			}
			r := posture.Resource{ID: resourceID(p, region, clusterName+"/"+name), Aliases: []string{name, clusterName + "/" + name, arn}, Kind: "ECS service"}
			r.Set("ecs.desired", float64(s.DesiredCount))
			r.Set("ecs.running", float64(s.RunningCount))
			if err := serviceScaling(ctx, scaling, "service/"+clusterName+"/"+name, &r); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// serviceScaling sets the facts of a service's Application Auto Scaling
// target: min and max capacity and policies; a service without a target
// reports ecs.autoscaling 0 and no capacities.
func serviceScaling(ctx context.Context, scaling *applicationautoscaling.Client, resource string, r *posture.Resource) error {
	targets, err := scaling.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resource},
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	if err != nil {
		return err
	}
	if len(targets.ScalableTargets) == 0 {
		r.SetBool("ecs.autoscaling", false)
		r.Note("ecs.min_capacity", "no scalable target: the service does not scale")
		r.Note("ecs.max_capacity", "no scalable target: the service does not scale")
		r.Set("ecs.scaling_policies", 0)
		return nil
	}
	t := targets.ScalableTargets[0]
	r.SetBool("ecs.autoscaling", true)
	r.Set("ecs.min_capacity", float64(aws.ToInt32(t.MinCapacity)))
	r.Set("ecs.max_capacity", float64(aws.ToInt32(t.MaxCapacity)))
	var names []string
	pages := applicationautoscaling.NewDescribeScalingPoliciesPaginator(scaling, &applicationautoscaling.DescribeScalingPoliciesInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scaling policies of %s: %w", resource, err)
		}
		for _, pol := range page.ScalingPolicies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	r.Set("ecs.scaling_policies", float64(len(names)))
	if len(names) > 0 {
		r.Note("ecs.scaling_policies", strings.Join(names, ", "))
	}
	return nil
}

// arnRegion is the region an ARN names, or "" for anything else.
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
