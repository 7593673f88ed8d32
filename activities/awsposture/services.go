package awsposture

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/internal/posture"
)

// selected reports whether a resource with these names and tags is one
// the plan chose.
func selected(sel posture.Selection, tags map[string]string, names ...string) bool {
	if sel.ByTags() {
		return sel.MatchTags(tags)
	}
	return slices.ContainsFunc(sel.IDs, func(id string) bool { return slices.Contains(names, id) })
}

// rds reads the DB instances of cfg's region (every page of
// DescribeDBInstances) and keeps the selected ones.
func (c *Checker) rds(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := rds.NewFromConfig(cfg)
	now := c.now()
	var out []posture.Resource
	pages := rds.NewDescribeDBInstancesPaginator(client, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, db := range page.DBInstances {
			tags := map[string]string{}
			for _, t := range db.TagList {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			id, arn := aws.ToString(db.DBInstanceIdentifier), aws.ToString(db.DBInstanceArn)
			if !selected(p.sel, tags, id, arn) {
				continue
			}
			r := posture.Resource{ID: resourceID(p, cfg.Region, id), Aliases: []string{id, arn}, Kind: "RDS instance"}
			r.Set("rds.backup_retention", days(aws.ToInt32(db.BackupRetentionPeriod)))
			if db.LatestRestorableTime != nil {
				r.Set("rds.pitr_lag", now.Sub(*db.LatestRestorableTime).Seconds())
			} else {
				r.Note("rds.pitr_lag", "no latest restorable time (automated backups off?)")
			}
			r.SetBool("rds.encrypted", aws.ToBool(db.StorageEncrypted))
			if k := aws.ToString(db.KmsKeyId); k != "" {
				r.Note("rds.encrypted", "KMS key "+k)
			}
			r.SetBool("rds.deletion_protection", aws.ToBool(db.DeletionProtection))
			r.SetBool("rds.multi_az", aws.ToBool(db.MultiAZ))
			r.SetBool("rds.auto_minor_upgrade", aws.ToBool(db.AutoMinorVersionUpgrade))
			r.SetBool("rds.backup_replication", len(db.DBInstanceAutomatedBackupsReplications) > 0)
			for _, rep := range db.DBInstanceAutomatedBackupsReplications {
				r.Note("rds.backup_replication", "to "+aws.ToString(rep.DBInstanceAutomatedBackupsArn))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// resourceID names a resource: as the plan did when it chose by ID, with
// its region when the task reads several.
func resourceID(p params, region, id string) string {
	if len(p.regions) > 1 {
		return region + "/" + id
	}
	return id
}

// s3 lists the buckets once (ListBuckets pages), keeps the selected ones
// and reads each in its own region.
func (c *Checker) s3(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	opts := func(o *s3.Options) { o.UsePathStyle = p.endpoint != "" }
	client := s3.NewFromConfig(cfg, opts)
	type bucket struct{ name, region string }
	var buckets []bucket
	pages := s3.NewListBucketsPaginator(client, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Buckets {
			region := aws.ToString(b.BucketRegion)
			if region == "" {
				region = cfg.Region
			}
			buckets = append(buckets, bucket{aws.ToString(b.Name), region})
		}
	}
	var out []posture.Resource
	for _, b := range buckets {
		if !p.sel.ByTags() && !slices.Contains(p.sel.IDs, b.name) && !slices.Contains(p.sel.IDs, "arn:aws:s3:::"+b.name) {
			continue
		}
		if p.sel.ByTags() && len(p.regions) > 0 && !slices.Contains(p.regions, b.region) {
			continue
		}
		in := func(o *s3.Options) { opts(o); o.Region = b.region }
		if p.sel.ByTags() {
			tags, err := bucketTags(ctx, client, b.name, in)
			if err != nil {
				return nil, err
			}
			if !p.sel.MatchTags(tags) {
				continue
			}
		}
		r, err := readBucket(ctx, client, b.name, in)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func bucketTags(ctx context.Context, client *s3.Client, name string, in func(*s3.Options)) (map[string]string, error) {
	tags := map[string]string{}
	res, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)}, in)
	if isCode(err, "NoSuchTagSet") {
		return tags, nil
	}
	if err != nil {
		return nil, err
	}
	for _, t := range res.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func isCode(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}

// readBucket reads one bucket's facts. A configuration the bucket does
// not have (no encryption rule, no public access block, no lifecycle, no
// replication) is the fact's 0, not an error.
func readBucket(ctx context.Context, client *s3.Client, name string, in func(*s3.Options)) (posture.Resource, error) {
	r := posture.Resource{ID: name, Aliases: []string{"arn:aws:s3:::" + name}, Kind: "S3 bucket"}
	bucket := aws.String(name)

	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket}, in)
	switch {
	case isCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
		r.SetBool("s3.encryption", false)
	case err != nil:
		return r, err
	default:
		rules := enc.ServerSideEncryptionConfiguration
		r.SetBool("s3.encryption", rules != nil && len(rules.Rules) > 0)
		if rules != nil && len(rules.Rules) > 0 && rules.Rules[0].ApplyServerSideEncryptionByDefault != nil {
			r.Note("s3.encryption", string(rules.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm))
		}
	}

	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket}, in)
	if err != nil {
		return r, err
	}
	r.SetBool("s3.versioning", ver.Status == s3types.BucketVersioningStatusEnabled)
	if ver.Status != "" {
		r.Note("s3.versioning", string(ver.Status))
	}

	pab, err := client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket}, in)
	switch {
	case isCode(err, "NoSuchPublicAccessBlockConfiguration"):
		r.SetBool("s3.public_access_blocked", false)
		r.Note("s3.public_access_blocked", "no public access block")
	case err != nil:
		return r, err
	default:
		c := pab.PublicAccessBlockConfiguration
		all := c != nil && aws.ToBool(c.BlockPublicAcls) && aws.ToBool(c.IgnorePublicAcls) && aws.ToBool(c.BlockPublicPolicy) && aws.ToBool(c.RestrictPublicBuckets)
		r.SetBool("s3.public_access_blocked", all)
	}

	lc, err := client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: bucket}, in)
	switch {
	case isCode(err, "NoSuchLifecycleConfiguration"):
		r.SetBool("s3.lifecycle.expiration", false)
	case err != nil:
		return r, err
	default:
		expires := false
		for _, rule := range lc.Rules {
			if rule.Status != s3types.ExpirationStatusEnabled {
				continue
			}
			if rule.Expiration != nil && (aws.ToInt32(rule.Expiration.Days) > 0 || rule.Expiration.Date != nil) || rule.NoncurrentVersionExpiration != nil {
				expires = true
			}
			for _, t := range rule.Transitions {
				if t.Days == nil {
					continue
				}
				m := "s3.lifecycle.transition_days." + string(t.StorageClass)
				if v, ok := r.Facts[m]; !ok || days(*t.Days) < v {
					r.Set(m, days(*t.Days))
				}
			}
		}
		r.SetBool("s3.lifecycle.expiration", expires)
	}

	rep, err := client.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: bucket}, in)
	switch {
	case isCode(err, "ReplicationConfigurationNotFoundError"):
		r.SetBool("s3.replication", false)
	case err != nil:
		return r, err
	default:
		on := false
		if rep.ReplicationConfiguration != nil {
			for _, rule := range rep.ReplicationConfiguration.Rules {
				if rule.Status == s3types.ReplicationRuleStatusEnabled {
					on = true
					if rule.Destination != nil {
						r.Note("s3.replication", "to "+aws.ToString(rule.Destination.Bucket))
					}
				}
			}
		}
		r.SetBool("s3.replication", on)
	}
	return r, nil
}

// acm lists the certificates of cfg's region and reads the selected ones.
func (c *Checker) acm(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := acm.NewFromConfig(cfg)
	now := c.now()
	var out []posture.Resource
	// Without Includes, ListCertificates lists RSA 1024 and 2048 keys
	// only: ECDSA and larger RSA certificates would be missed.
	pages := acm.NewListCertificatesPaginator(client, &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: acmtypes.KeyAlgorithm("").Values()}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.CertificateSummaryList {
			arn := aws.ToString(s.CertificateArn)
			tags := map[string]string{}
			if p.sel.ByTags() {
				res, err := client.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: s.CertificateArn})
				if err != nil {
					return nil, err
				}
				for _, t := range res.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			if !selected(p.sel, tags, arn, aws.ToString(s.DomainName)) {
				continue
			}
			d, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: s.CertificateArn})
			if err != nil {
				return nil, err
			}
			cert := d.Certificate
			r := posture.Resource{ID: resourceID(p, cfg.Region, arn), Aliases: []string{arn, aws.ToString(s.DomainName)}, Kind: "ACM certificate"}
			if cert.NotAfter != nil {
				r.Set("acm.expires_in", cert.NotAfter.Sub(now).Seconds())
			}
			r.SetBool("acm.renewal_eligible", cert.RenewalEligibility == acmtypes.RenewalEligibilityEligible)
			r.Note("acm.renewal_eligible", strings.TrimSpace(string(cert.Type)+" "+string(cert.Status)))
			out = append(out, r)
		}
	}
	return out, nil
}

// secrets lists the secrets of cfg's region and keeps the selected ones.
func (c *Checker) secrets(ctx context.Context, cfg aws.Config, p params) ([]posture.Resource, error) {
	client := secretsmanager.NewFromConfig(cfg)
	now := c.now()
	var out []posture.Resource
	pages := secretsmanager.NewListSecretsPaginator(client, &secretsmanager.ListSecretsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.SecretList {
			tags := map[string]string{}
			for _, t := range s.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			name, arn := aws.ToString(s.Name), aws.ToString(s.ARN)
			if !selected(p.sel, tags, name, arn) {
				continue
			}
			r := posture.Resource{ID: resourceID(p, cfg.Region, name), Aliases: []string{name, arn}, Kind: "Secret"}
			r.SetBool("secret.rotation_enabled", aws.ToBool(s.RotationEnabled))
			switch {
			case s.LastRotatedDate != nil:
				r.Set("secret.rotated_age", now.Sub(*s.LastRotatedDate).Seconds())
			case s.CreatedDate != nil:
				r.Set("secret.rotated_age", now.Sub(*s.CreatedDate).Seconds())
				r.Note("secret.rotated_age", "never rotated: age since creation")
			}
			out = append(out, r)
		}
	}
	return out, nil
}
