package awsposture_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/awsposture"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/awsposture/awsfake"
	"github.com/shipshape-dev/shipshape/internal/awstest"
	"github.com/shipshape-dev/shipshape/plan"
)

const deniedKind = tasktest.Kind("non-retryable TaskFailed")

func start(t *testing.T) *awsfake.Server {
	t.Helper()
	awstest.Credentials(t)
	return awsfake.Start(t)
}

func run(t *testing.T, f *awsfake.Server, with map[string]any) (map[string]float64, string, []plan.Table, error) {
	t.Helper()
	with["endpointURL"] = f.URL
	out, err := tasktest.Run(t, awsposture.New(nil).Type(), with)
	return out.Metrics, out.Output, out.Tables, err
}

func TestRDSWorstAcrossInstancesWithPagingAndThrottling(t *testing.T) {
	f := start(t)
	f.PageSize = 1
	now := time.Now()
	prod := map[string]string{"env": "prod"}
	f.AddDBInstance(
		awsfake.DBInstance{ID: "orders", Region: "us-east-1", BackupRetentionDays: 14, LatestRestorable: now.Add(-5 * time.Minute),
			Encrypted: true, DeletionProtection: true, MultiAZ: true, AutoMinorUpgrade: true, ReplicatedTo: "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-1", Tags: prod},
		awsfake.DBInstance{ID: "staging", Region: "us-east-1", BackupRetentionDays: 1, Tags: map[string]string{"env": "staging"}},
		awsfake.DBInstance{ID: "billing", Region: "us-east-1", BackupRetentionDays: 7, LatestRestorable: now.Add(-20 * time.Minute),
			Encrypted: true, DeletionProtection: false, MultiAZ: true, AutoMinorUpgrade: true, Tags: map[string]string{"env": "prod", "team": "pay"}},
	)
	f.Throttle("DescribeDBInstances", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "rds", "resources": map[string]any{"tags": map[string]any{"env": "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "rds.backup_retention": 7 * 86400, "rds.encrypted": 1, "rds.deletion_protection": 0,
		"rds.multi_az": 1, "rds.auto_minor_upgrade": 1, "rds.backup_replication": 0,
	}, 0)
	if lag := m["rds.pitr_lag"]; lag < 20*60-5 || lag > 20*60+30 {
		t.Errorf("rds.pitr_lag = %v, want the worst, about 1200 s", lag)
	}
	for _, want := range []string{"rds.backup_retention = 604800 s (7.0 days) (worst: billing)", "rds.deletion_protection = 0 (worst: billing)", "2 RDS instances checked"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if len(tables) != 3 || tables[1].Title != "RDS instance orders" || tables[2].Title != "RDS instance billing" || tables[1].Columns[0] != "resource" {
		t.Errorf("tables %+v: want the worst values and one per instance", tables)
	}
	// Three pages of one instance each, the first throttled once and retried.
	if n := f.Count("DescribeDBInstances"); n != 4 {
		t.Errorf("DescribeDBInstances served %d times, want 4 (1 throttled + 3 pages): %v", n, f.Calls())
	}
}

func TestRDSByIDsAndARNsAcrossRegions(t *testing.T) {
	f := start(t)
	f.AddDBInstance(
		awsfake.DBInstance{ID: "orders", Region: "us-east-1", BackupRetentionDays: 14},
		awsfake.DBInstance{ID: "orders", Region: "eu-west-1", BackupRetentionDays: 3},
	)
	m, output, _, err := run(t, f, map[string]any{"service": "rds", "regions": []any{"us-east-1", "eu-west-1"},
		"resources": map[string]any{"ids": []any{"orders", "arn:aws:rds:eu-west-1:123456789012:db:orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "rds.backup_retention": 3 * 86400}, 0, "rds.pitr_lag")
	if !strings.Contains(output, "worst: eu-west-1/orders") || !strings.Contains(output, "rds.pitr_lag: not reported by us-east-1/orders, eu-west-1/orders") {
		t.Errorf("output:\n%s", output)
	}

	_, _, _, err = run(t, f, map[string]any{"service": "rds", "resources": map[string]any{"ids": []any{"orders", "gone"}}})
	tasktest.MustKind(t, err, deniedKind, "RDS instances not found in the default region: gone")
}

func TestSelectionErrors(t *testing.T) {
	f := start(t)
	f.AddDBInstance(awsfake.DBInstance{ID: "orders", Region: "us-east-1", Tags: map[string]string{"env": "prod"}})
	_, _, _, err := run(t, f, map[string]any{"service": "rds", "resources": map[string]any{"tags": map[string]any{"env": "prd"}}})
	tasktest.MustKind(t, err, deniedKind, "the tag filter env=prd matches no RDS instances")
	_, _, _, err = run(t, f, map[string]any{"service": "rds", "resources": map[string]any{}})
	tasktest.MustKind(t, err, tasktest.Invalid, "give ids")
	_, _, _, err = run(t, f, map[string]any{"service": "rds", "regions": []any{"mars-1"}, "resources": map[string]any{"ids": []any{"orders"}}})
	tasktest.MustKind(t, err, tasktest.Invalid, `"mars-1" is not an AWS region`)
}

func TestDeniedCallNamesPermission(t *testing.T) {
	f := start(t)
	f.AddBucket(awsfake.Bucket{Name: "logs", Region: "us-east-1"})
	f.Deny("GetPublicAccessBlock")
	_, _, _, err := run(t, f, map[string]any{"service": "s3", "resources": map[string]any{"ids": []any{"logs"}}})
	tasktest.MustKind(t, err, deniedKind, "GetPublicAccessBlock in us-east-1 was denied (AccessDenied): the identity needs s3:GetBucketPublicAccessBlock")

	f.Deny("DescribeDBInstances")
	_, _, _, err = run(t, f, map[string]any{"service": "rds", "resources": map[string]any{"ids": []any{"x"}}})
	tasktest.MustKind(t, err, deniedKind, "the identity needs rds:DescribeDBInstances")
}

func TestNoCredentials(t *testing.T) {
	f := start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	_, _, _, err := run(t, f, map[string]any{"service": "rds", "maxAttempts": 1, "resources": map[string]any{"ids": []any{"x"}}})
	tasktest.MustKind(t, err, deniedKind, "no AWS credentials for DescribeDBInstances in us-east-1")
	if strings.Contains(err.Error(), "shipshape-test-secret") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestS3Buckets(t *testing.T) {
	f := start(t)
	f.PageSize = 2
	all := &awsfake.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
	data := map[string]string{"class": "data"}
	f.AddBucket(
		awsfake.Bucket{Name: "orders-data", Region: "us-east-1", Tags: data, Encryption: "aws:kms", Versioning: "Enabled", PublicAccessBlock: all,
			Lifecycle:   []awsfake.LifecycleRule{{Transitions: map[string]int{"STANDARD_IA": 30, "GLACIER": 90}, NoncurrentExpireDays: 30}, {Transitions: map[string]int{"GLACIER": 60}}},
			ReplicateTo: "arn:aws:s3:::orders-data-replica"},
		awsfake.Bucket{Name: "scratch", Region: "us-east-1"},
		awsfake.Bucket{Name: "eu-data", Region: "eu-west-1", Tags: data, Encryption: "AES256", Versioning: "Suspended",
			PublicAccessBlock: &awsfake.PublicAccessBlock{BlockPublicAcls: true},
			Lifecycle:         []awsfake.LifecycleRule{{Transitions: map[string]int{"GLACIER": 180}, ExpirationDays: 365}, {Disabled: true, Transitions: map[string]int{"GLACIER": 1}}}},
	)
	f.Throttle("GetBucketVersioning", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "s3", "resources": map[string]any{"tags": map[string]any{"class": "*"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "s3.encryption": 1, "s3.versioning": 0, "s3.public_access_blocked": 0, "s3.replication": 0,
		"s3.lifecycle.expiration": 1, "s3.lifecycle.transition_days.GLACIER": 180 * 86400,
	}, 0, "s3.lifecycle.transition_days.STANDARD_IA")
	if !strings.Contains(output, "s3.lifecycle.transition_days.GLACIER = 15552000 s (180.0 days) (worst: eu-data)") ||
		!strings.Contains(output, "s3.lifecycle.transition_days.STANDARD_IA: not reported by eu-data") {
		t.Errorf("output:\n%s", output)
	}
	if len(tables) != 3 {
		t.Errorf("tables %+v", tables)
	}
	// eu-data is read in its own region (the fake redirects otherwise).
	for _, c := range f.Calls() {
		if strings.Contains(c, "eu-data") {
			t.Errorf("call %s", c)
		}
	}

	m, _, _, err = run(t, f, map[string]any{"service": "s3", "resources": map[string]any{"ids": []any{"orders-data"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"s3.versioning": 1, "s3.public_access_blocked": 1, "s3.replication": 1,
		"s3.lifecycle.transition_days.GLACIER": 60 * 86400, "s3.lifecycle.transition_days.STANDARD_IA": 30 * 86400, "s3.lifecycle.expiration": 1}, 0)

	_, _, _, err = run(t, f, map[string]any{"service": "s3", "regions": []any{"ap-south-1"}, "resources": map[string]any{"tags": map[string]any{"class": "data"}}})
	tasktest.MustKind(t, err, deniedKind, "the tag filter class=data matches no S3 buckets in ap-south-1")
}

func TestACMAndSecrets(t *testing.T) {
	f := start(t)
	f.PageSize = 1
	now := time.Now()
	f.AddCertificate(
		awsfake.Certificate{ARN: "arn:aws:acm:us-east-1:123456789012:certificate/a", Domain: "api.example.com", Region: "us-east-1", NotAfter: now.Add(60 * 24 * time.Hour), Eligible: true, Tags: map[string]string{"app": "api"}},
		awsfake.Certificate{ARN: "arn:aws:acm:us-east-1:123456789012:certificate/b", Domain: "old.example.com", Region: "us-east-1", NotAfter: now.Add(10 * 24 * time.Hour), Tags: map[string]string{"app": "api"}},
		// ECDSA: listed only when ListCertificates asks for every key type.
		awsfake.Certificate{ARN: "arn:aws:acm:us-east-1:123456789012:certificate/c", Domain: "ec.example.com", Region: "us-east-1", NotAfter: now.Add(90 * 24 * time.Hour), Eligible: true, KeyType: "EC_prime256v1", Tags: map[string]string{"app": "api"}},
	)
	f.AddSecret(
		awsfake.Secret{Name: "db/password", Region: "us-east-1", RotationEnabled: true, Created: now.Add(-400 * 24 * time.Hour), LastRotated: now.Add(-20 * 24 * time.Hour), Tags: map[string]string{"app": "api"}},
		awsfake.Secret{Name: "api/key", Region: "us-east-1", Created: now.Add(-100 * 24 * time.Hour), Tags: map[string]string{"app": "api"}},
	)
	f.Throttle("ListSecrets", 1)
	m, output, _, err := run(t, f, map[string]any{"service": "acm", "resources": map[string]any{"tags": map[string]any{"app": "api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 3, "acm.renewal_eligible": 0, "acm.expires_in": 10 * 86400}, 5)
	if m["resources"] != 3 || !strings.Contains(output, "worst: arn:aws:acm:us-east-1:123456789012:certificate/b") {
		t.Errorf("output:\n%s", output)
	}
	m, output, _, err = run(t, f, map[string]any{"service": "secretsmanager", "resources": map[string]any{"ids": []any{"db/password", "api/key"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "secret.rotation_enabled": 0, "secret.rotated_age": 100 * 86400}, 5)
	if !strings.Contains(output, "(100.0 days) (worst: api/key)") {
		t.Errorf("output:\n%s", output)
	}
}

func TestAuroraClusters(t *testing.T) {
	f := start(t)
	f.PageSize = 1
	now := time.Now()
	f.AddDBCluster(
		awsfake.DBCluster{ID: "orders", Region: "us-east-1", BackupRetentionDays: 14, LatestRestorable: now.Add(-5 * time.Minute), Encrypted: true,
			KMSKeyID: "arn:aws:kms:us-east-1:123456789012:key/orders", DeletionProtection: true, MultiAZ: true, Members: 3, Tags: map[string]string{"env": "prod"},
			AutoMinorUpgrade: new(true), GlobalCluster: "orders-global"},
		awsfake.DBCluster{ID: "reports", Region: "us-east-1", BackupRetentionDays: 1, Encrypted: true, Members: 1, Tags: map[string]string{"env": "prod"},
			AutoMinorUpgrade: new(false), Replicas: []string{"reports-reader"}},
		awsfake.DBCluster{ID: "ledger", Region: "us-east-1", BackupRetentionDays: 7, Encrypted: true, Members: 2, Tags: map[string]string{"env": "audit"},
			Replicas: []string{"arn:aws:rds:eu-west-1:123456789012:cluster:ledger-dr"}},
		awsfake.DBCluster{ID: "dev", Region: "us-east-1", Tags: map[string]string{"env": "dev"}},
	)
	f.Throttle("DescribeDBClusters", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "aurora", "resources": map[string]any{"tags": map[string]any{"env": "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "aurora.backup_retention": 86400, "aurora.encrypted": 1, "aurora.deletion_protection": 0,
		"aurora.multi_az": 0, "aurora.instances": 1, "aurora.auto_minor_upgrade": 0, "aurora.cross_region_copy": 0,
	}, 0, "aurora.pitr_lag")
	for _, want := range []string{"aurora.instances = 1 (worst: reports)", "aurora.pitr_lag: not reported by reports", "2 DB clusters checked"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if len(tables) != 3 || tables[1].Title != "DB cluster orders" || !strings.Contains(fmtTable(tables[1]), "KMS key arn:aws:kms:us-east-1:123456789012:key/orders") {
		t.Errorf("tables %+v: want the worst values and one per cluster, the KMS key noted", tables)
	}
	// Four pages of one cluster each, the first throttled once and retried.
	if n := f.Count("DescribeDBClusters"); n != 5 {
		t.Errorf("DescribeDBClusters served %d times, want 5: %v", n, f.Calls())
	}

	// A replica cluster in another region is a cross-region copy (one in
	// the same region, as reports has, is not); a cluster not stating
	// AutoMinorVersionUpgrade leaves the fact unreported.
	m, output, _, err = run(t, f, map[string]any{"service": "aurora", "resources": map[string]any{"tags": map[string]any{"env": "audit"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"aurora.cross_region_copy": 1}, 0, "aurora.auto_minor_upgrade")
	if !strings.Contains(output, "aurora.auto_minor_upgrade: not reported by ledger") {
		t.Errorf("output:\n%s", output)
	}
	m, _, tables, err = run(t, f, map[string]any{"service": "aurora", "resources": map[string]any{"ids": []any{"orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"aurora.cross_region_copy": 1, "aurora.auto_minor_upgrade": 1}, 0)
	if !strings.Contains(fmtTable(tables[1]), "global database orders-global") {
		t.Errorf("the global database is not noted: %s", fmtTable(tables[1]))
	}

	f.Deny("DescribeDBClusters")
	_, _, _, err = run(t, f, map[string]any{"service": "aurora", "resources": map[string]any{"ids": []any{"orders"}}})
	tasktest.MustKind(t, err, deniedKind, "the identity needs rds:DescribeDBClusters")
}

func TestAutoScalingGroups(t *testing.T) {
	f := start(t)
	f.PageSize = 1
	f.AddAutoScalingGroup(
		awsfake.AutoScalingGroup{Name: "web", Region: "us-east-1", Min: 2, Max: 10, Desired: 4, Running: 4, Policies: []string{"cpu-60", "requests"}, Tags: map[string]string{"app": "shop"}},
		awsfake.AutoScalingGroup{Name: "worker", Region: "us-east-1", Min: 1, Max: 3, Desired: 3, Running: 2, Tags: map[string]string{"app": "shop"}},
		awsfake.AutoScalingGroup{Name: "batch", Region: "us-east-1", Max: 1},
	)
	f.Throttle("DescribePolicies", 1)
	m, output, _, err := run(t, f, map[string]any{"service": "autoscaling", "resources": map[string]any{"tags": map[string]any{"app": "shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "asg.min_size": 1, "asg.max_size": 3, "asg.desired": 3, "asg.headroom": 0, "asg.in_service": 2, "asg.scaling_policies": 0,
	}, 0)
	for _, want := range []string{"asg.headroom = 0 (worst: worker)", "asg.scaling_policies = 0 (worst: worker)"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	m, _, _, err = run(t, f, map[string]any{"service": "autoscaling", "resources": map[string]any{"ids": []any{"web"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"asg.scaling_policies": 2, "asg.headroom": 6, "asg.min_size": 2}, 0)

	f.Deny("DescribePolicies")
	_, _, _, err = run(t, f, map[string]any{"service": "autoscaling", "resources": map[string]any{"ids": []any{"web"}}})
	tasktest.MustKind(t, err, deniedKind, "DescribePolicies in us-east-1 was denied (AccessDenied): the identity needs autoscaling:DescribePolicies")
}

func TestECSServices(t *testing.T) {
	f := start(t)
	f.PageSize = 1
	shop := map[string]string{"app": "shop"}
	f.AddECSService(
		awsfake.ECSService{Cluster: "prod", Name: "api", Region: "us-east-1", Desired: 4, Running: 4, Scalable: true, Min: 2, Max: 20, Policies: []string{"cpu-target"}, Tags: shop},
		awsfake.ECSService{Cluster: "prod", Name: "cron", Region: "us-east-1", Desired: 1, Running: 1, Tags: shop},
		awsfake.ECSService{Cluster: "staging", Name: "api", Region: "us-east-1", Desired: 1, Running: 0, Scalable: true, Min: 1, Max: 2},
	)
	f.Throttle("DescribeScalableTargets", 1)
	m, output, _, err := run(t, f, map[string]any{"service": "ecs", "resources": map[string]any{"tags": map[string]any{"app": "shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "ecs.desired": 1, "ecs.running": 1, "ecs.autoscaling": 0, "ecs.scaling_policies": 0,
	}, 0, "ecs.min_capacity", "ecs.max_capacity")
	for _, want := range []string{"ecs.autoscaling = 0 (worst: prod/cron)", "ecs.min_capacity: not reported by prod/cron"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}

	// By CLUSTER/NAME and by ARN; a bare name in two clusters is both.
	m, _, _, err = run(t, f, map[string]any{"service": "ecs", "resources": map[string]any{"ids": []any{"prod/api", "arn:aws:ecs:us-east-1:123456789012:service/staging/api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "ecs.running": 0, "ecs.max_capacity": 2, "ecs.scaling_policies": 0, "ecs.autoscaling": 1}, 0)

	_, _, _, err = run(t, f, map[string]any{"service": "ecs", "resources": map[string]any{"ids": []any{"prod/gone"}}})
	tasktest.MustKind(t, err, deniedKind, "ECS services not found in the default region: prod/gone")

	f.Deny("DescribeScalingPolicies")
	_, _, _, err = run(t, f, map[string]any{"service": "ecs", "resources": map[string]any{"ids": []any{"prod/api"}}})
	tasktest.MustKind(t, err, deniedKind, "the identity needs application-autoscaling:DescribeScalingPolicies")
}

// fmtTable prints a table's rows, for searching.
func fmtTable(tb plan.Table) string {
	var b strings.Builder
	for _, row := range tb.Rows {
		b.WriteString(strings.Join(row, " | ") + "\n")
	}
	return b.String()
}

// TestThrottlingBeyondMaxAttempts: throttling that outlasts the SDK's
// retryer is a retryable task error naming the call and the region (the
// activity's own retry policy takes over), never a pass.
func TestThrottlingBeyondMaxAttempts(t *testing.T) {
	f := start(t)
	f.AddDBInstance(awsfake.DBInstance{ID: "orders", Region: "us-east-1", BackupRetentionDays: 7})
	f.Throttle("DescribeDBInstances", 10)
	_, _, _, err := run(t, f, map[string]any{"service": "rds", "maxAttempts": 2, "regions": []any{"us-east-1"}, "resources": map[string]any{"ids": []any{"orders"}}})
	tasktest.MustKind(t, err, tasktest.Retryable, "DescribeDBInstances in us-east-1", "Throttling", "exceeded maximum number of attempts, 2")
	if n := f.Count("DescribeDBInstances"); n != 2 {
		t.Errorf("DescribeDBInstances served %d times, want 2 (maxAttempts)", n)
	}
}

// TestUnknownRegion: a well-formed region that does not exist fails at
// once, naming the region, rather than as a network error retried until
// the task times out. The endpoint host is under .invalid (RFC 6761),
// which no resolver answers.
func TestUnknownRegion(t *testing.T) {
	awstest.Credentials(t)
	if _, err := net.LookupHost("rds.xx-nowhere-9.invalid"); !isNotFound(err) {
		t.Skipf("this machine's resolver does not answer NXDOMAIN for .invalid (%v); the test needs one", err)
	}
	_, err := tasktest.Run(t, awsposture.New(nil).Type(), map[string]any{"service": "rds", "maxAttempts": 1, "regions": []any{"xx-nowhere-9"},
		"endpointURL": "http://rds.xx-nowhere-9.invalid", "resources": map[string]any{"ids": []any{"orders"}}})
	tasktest.MustKind(t, err, tasktest.Kind("non-retryable TaskFailed"), "DescribeDBInstances in xx-nowhere-9: the endpoint host rds.xx-nowhere-9.invalid does not exist: check that xx-nowhere-9 is an AWS region")
}

func isNotFound(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}
