// Package awsposture is the aws-posture task type: it reads the real
// configuration of AWS resources (RDS instances, Aurora and Multi-AZ DB
// clusters, S3 buckets, ACM certificates, Secrets Manager secrets, EC2
// Auto Scaling groups, ECS services) through the AWS SDK's default
// credential chain and reports each fact as a metric, aggregated across
// the selected resources as its worst value, for gates to judge.
package awsposture

import (
	"time"

	"github.com/shipshape-dev/shipshape/internal/posture"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "aws-posture"

// Services an aws-posture task reads.
const (
	serviceRDS     = "rds"
	serviceS3      = "s3"
	serviceACM     = "acm"
	serviceSecrets = "secretsmanager"
	serviceAurora  = "aurora"
	serviceASG     = "autoscaling"
	serviceECS     = "ecs"
)

// services are the services an aws-posture task may read, in the order
// the docs list them.
var services = []string{serviceRDS, serviceAurora, serviceS3, serviceACM, serviceSecrets, serviceASG, serviceECS}

// Facts are the metrics aws-posture reports and how each aggregates.
var Facts = []posture.Fact{
	posture.Declare("rds.backup_retention", plan.UnitSeconds, posture.More, "RDS: how long automated backups are kept (BackupRetentionPeriod days, in seconds); 0 when automated backups are off."),
	posture.Declare("rds.pitr_lag", plan.UnitSeconds, posture.Less, "RDS: how far behind now the latest restorable time is (now − LatestRestorableTime): the data a point-in-time restore would lose. Not reported by an instance without one (backups off), so a gate on it fails."),
	posture.Declare("rds.encrypted", plan.UnitCount, posture.More, "RDS: 1 when storage is encrypted (the KMS key is noted), else 0."),
	posture.Declare("rds.deletion_protection", plan.UnitCount, posture.More, "RDS: 1 when deletion protection is on, else 0."),
	posture.Declare("rds.multi_az", plan.UnitCount, posture.More, "RDS: 1 when the instance is Multi-AZ, else 0."),
	posture.Declare("rds.auto_minor_upgrade", plan.UnitCount, posture.More, "RDS: 1 when minor version upgrades are applied automatically, else 0."),
	posture.Declare("rds.backup_replication", plan.UnitCount, posture.More, "RDS: 1 when automated backups are replicated to another region (the instance lists a DBInstanceAutomatedBackupsReplication), else 0."),
	posture.Declare("aurora.backup_retention", plan.UnitSeconds, posture.More, "DB clusters (Aurora, Multi-AZ DB clusters): how long automated backups are kept (BackupRetentionPeriod days, in seconds)."),
	posture.Declare("aurora.pitr_lag", plan.UnitSeconds, posture.Less, "DB clusters: how far behind now the latest restorable time is: the data a point-in-time restore would lose. Not reported by a cluster without one yet, so a gate on it fails."),
	posture.Declare("aurora.encrypted", plan.UnitCount, posture.More, "DB clusters: 1 when storage is encrypted (the KMS key is noted), else 0."),
	posture.Declare("aurora.deletion_protection", plan.UnitCount, posture.More, "DB clusters: 1 when deletion protection is on, else 0."),
	posture.Declare("aurora.multi_az", plan.UnitCount, posture.More, "DB clusters: 1 when the cluster has instances in more than one Availability Zone, else 0."),
	posture.Declare("aurora.auto_minor_upgrade", plan.UnitCount, posture.More, "DB clusters: 1 when minor version upgrades are applied automatically (the cluster's AutoMinorVersionUpgrade), else 0; not reported by a cluster that does not state it, so a gate on it fails."),
	posture.Declare("aurora.cross_region_copy", plan.UnitCount, posture.More, "DB clusters: 1 when the data has a copy in another region that survives the loss of this one: the cluster belongs to a global database, or has a read replica cluster in another region (both noted), else 0."),
	posture.Declare("aurora.instances", plan.UnitCount, posture.More, "DB clusters: how many DB instances the cluster has (a cluster of one has no failover target)."),
	posture.Declare("s3.encryption", plan.UnitCount, posture.More, "S3: 1 when the bucket has a default encryption rule, else 0."),
	posture.Declare("s3.versioning", plan.UnitCount, posture.More, "S3: 1 when versioning is Enabled, else 0 (never enabled or Suspended)."),
	posture.Declare("s3.public_access_blocked", plan.UnitCount, posture.More, "S3: 1 when the bucket's public access block sets all four flags (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets), else 0."),
	posture.Declare("s3.lifecycle.transition_days.<class>", plan.UnitSeconds, posture.Less, "S3: how soon objects move to storage class <class> (STANDARD_IA, GLACIER, DEEP_ARCHIVE…): the least Days over the bucket's enabled lifecycle rules, in seconds. Not reported by a bucket without such a rule, so a gate on it fails."),
	posture.Declare("s3.lifecycle.expiration", plan.UnitCount, posture.More, "S3: 1 when an enabled lifecycle rule expires current or noncurrent object versions, else 0."),
	posture.Declare("s3.replication", plan.UnitCount, posture.More, "S3: 1 when the bucket has an enabled replication rule, else 0."),
	posture.Declare("acm.expires_in", plan.UnitSeconds, posture.More, "ACM: time until the certificate expires (NotAfter − now); negative once expired."),
	posture.Declare("acm.renewal_eligible", plan.UnitCount, posture.More, "ACM: 1 when ACM can renew the certificate itself (RenewalEligibility ELIGIBLE), else 0."),
	posture.Declare("secret.rotation_enabled", plan.UnitCount, posture.More, "Secrets Manager: 1 when rotation is enabled, else 0."),
	posture.Declare("secret.rotated_age", plan.UnitSeconds, posture.Less, "Secrets Manager: time since the secret was last rotated (since it was created when never rotated)."),
	posture.Declare("asg.min_size", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: the group's minimum size."),
	posture.Declare("asg.max_size", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: the group's maximum size."),
	posture.Declare("asg.desired", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: the desired capacity."),
	posture.Declare("asg.headroom", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: how many instances the group can still add (maximum − desired): 0 when it cannot scale out."),
	posture.Declare("asg.in_service", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: instances InService."),
	posture.Declare("asg.scaling_policies", plan.UnitCount, posture.More, "EC2 Auto Scaling groups: how many scaling policies the group has (0: it only scales by hand or schedule)."),
	posture.Declare("ecs.desired", plan.UnitCount, posture.More, "ECS services: the desired count of tasks."),
	posture.Declare("ecs.running", plan.UnitCount, posture.More, "ECS services: tasks running."),
	posture.Declare("ecs.autoscaling", plan.UnitCount, posture.More, "ECS services: 1 when Application Auto Scaling has a target for the service's desired count, else 0."),
	posture.Declare("ecs.min_capacity", plan.UnitCount, posture.More, "ECS services: the scalable target's minimum capacity. Not reported by a service without one, so a gate on it fails."),
	posture.Declare("ecs.max_capacity", plan.UnitCount, posture.More, "ECS services: the scalable target's maximum capacity. Not reported by a service without one."),
	posture.Declare("ecs.scaling_policies", plan.UnitCount, posture.More, "ECS services: how many Application Auto Scaling policies scale the service's desired count."),
	posture.Declare("resources", plan.UnitCount, posture.More, "How many resources were checked (always at least 1: selecting none is an error)."),
}

// Decl declares the aws-posture task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Reads the configuration of AWS resources of one service (`rds`, `aurora`, `s3`, `acm`, `secretsmanager`, `autoscaling` or `ecs`) in one or more regions, through the AWS SDK's default credential chain, " +
		"and reports each fact as a metric in base units (0/1 for yes/no, seconds for days), aggregated across the resources as its WORST value, so a gate holds for every resource: " +
		"`rds.backup_retention >= 168h`, `s3.public_access_blocked == 1`. The report has one table per resource and names the worst resource of each fact. " +
		"The task fails when a call is denied (naming the API call and the IAM permission it needs), when credentials are missing, or when the selection finds no resource. " +
		"docs/posture.md lists the least-privilege IAM policy.",
	Params: []plan.Param{
		{Name: "service", Type: plan.TypeString, Required: true, Enum: services, Doc: "Which resources to read: `rds` (DB instances), `aurora` (DB clusters: Aurora and Multi-AZ DB clusters), `s3` (buckets), `acm` (certificates), `secretsmanager` (secrets), `autoscaling` (EC2 Auto Scaling groups) or `ecs` (ECS services of every cluster, with their Application Auto Scaling targets)."},
		posture.SelectionParam("DB instance or cluster identifiers or ARNs, bucket names, certificate ARNs, secret names or ARNs, Auto Scaling group names or ARNs, ECS services as NAME, CLUSTER/NAME or ARN"),
		{Name: "regions", Type: plan.TypeStringList, Doc: "Regions to read (us-east-1, eu-west-1…); empty: the SDK's default region (AWS_REGION or the profile's). S3 buckets are listed once and kept when in one of these regions (a bucket chosen by name is read in its own region)."},
		{Name: "endpointURL", Type: plan.TypeString, Doc: "Endpoint to send every call to instead of AWS's (LocalStack, a test fake); empty: AWS's."},
		{Name: "maxAttempts", Type: plan.TypeInt, Default: 5, Doc: "Attempts per API call by the SDK's retryer (throttling and transient errors are retried with backoff)."},
	},
	Metrics:     posture.Metrics(Facts),
	Timeout:     5 * time.Minute,
	MaxAttempts: 2,
}
