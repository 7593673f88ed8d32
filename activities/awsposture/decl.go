// Package awsposture is the aws-posture task type: it reads the real
// configuration of AWS resources (RDS instances, S3 buckets, ACM
// certificates, Secrets Manager secrets) through the AWS SDK's default
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
)

// Facts are the metrics aws-posture reports and how each aggregates.
var Facts = []posture.Fact{
	posture.Declare("rds.backup_retention", plan.UnitSeconds, posture.More, "RDS: how long automated backups are kept (BackupRetentionPeriod days, in seconds); 0 when automated backups are off."),
	posture.Declare("rds.pitr_lag", plan.UnitSeconds, posture.Less, "RDS: how far behind now the latest restorable time is (now − LatestRestorableTime): the data a point-in-time restore would lose. Not reported by an instance without one (backups off), so a gate on it fails."),
	posture.Declare("rds.encrypted", plan.UnitCount, posture.More, "RDS: 1 when storage is encrypted, else 0."),
	posture.Declare("rds.deletion_protection", plan.UnitCount, posture.More, "RDS: 1 when deletion protection is on, else 0."),
	posture.Declare("rds.multi_az", plan.UnitCount, posture.More, "RDS: 1 when the instance is Multi-AZ, else 0."),
	posture.Declare("rds.auto_minor_upgrade", plan.UnitCount, posture.More, "RDS: 1 when minor version upgrades are applied automatically, else 0."),
	posture.Declare("rds.backup_replication", plan.UnitCount, posture.More, "RDS: 1 when automated backups are replicated to another region (the instance lists a DBInstanceAutomatedBackupsReplication), else 0."),
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
	posture.Declare("resources", plan.UnitCount, posture.More, "How many resources were checked (always at least 1: selecting none is an error)."),
}

// Decl declares the aws-posture task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Reads the configuration of AWS resources of one service (`rds`, `s3`, `acm` or `secretsmanager`) in one or more regions, through the AWS SDK's default credential chain, " +
		"and reports each fact as a metric in base units (0/1 for yes/no, seconds for days), aggregated across the resources as its WORST value, so a gate holds for every resource: " +
		"`rds.backup_retention >= 168h`, `s3.public_access_blocked == 1`. The report has one table per resource and names the worst resource of each fact. " +
		"The task fails when a call is denied (naming the API call and the IAM permission it needs), when credentials are missing, or when the selection finds no resource. " +
		"docs/posture.md lists the least-privilege IAM policy.",
	Params: []plan.Param{
		{Name: "service", Type: plan.TypeString, Required: true, Enum: []string{serviceRDS, serviceS3, serviceACM, serviceSecrets}, Doc: "Which resources to read: `rds` (DB instances), `s3` (buckets), `acm` (certificates) or `secretsmanager` (secrets)."},
		posture.SelectionParam("DB instance identifiers or ARNs, bucket names, certificate ARNs, secret names or ARNs"),
		{Name: "regions", Type: plan.TypeStringList, Doc: "Regions to read (us-east-1, eu-west-1…); empty: the SDK's default region (AWS_REGION or the profile's). S3 buckets are listed once and kept when in one of these regions (a bucket chosen by name is read in its own region)."},
		{Name: "endpointURL", Type: plan.TypeString, Doc: "Endpoint to send every call to instead of AWS's (LocalStack, a test fake); empty: AWS's."},
		{Name: "maxAttempts", Type: plan.TypeInt, Default: 5, Doc: "Attempts per API call by the SDK's retryer (throttling and transient errors are retried with backoff)."},
	},
	Metrics:     posture.Metrics(Facts),
	Timeout:     5 * time.Minute,
	MaxAttempts: 2,
}
