package awsposture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/posture"
)

// Checker runs aws-posture tasks. It makes its AWS clients per task, from
// the SDK's default configuration and credential chain.
type Checker struct {
	logger *slog.Logger
	now    func() time.Time
}

// New returns a Checker logging to logger (nil: discard).
func New(logger *slog.Logger) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{logger: logger, now: time.Now}
}

// Type is the aws-posture task type, run by c.
func (c *Checker) Type() task.Type { return task.Type{Decl: Decl, Run: c.Run} }

var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// params are a task's parameters, checked.
type params struct {
	service     string
	sel         posture.Selection
	regions     []string
	endpoint    string
	maxAttempts int
}

func parse(p task.Params) (params, error) {
	sel, err := posture.ParseSelection(p)
	if err != nil {
		return params{}, err
	}
	o := params{service: p.String("service"), sel: sel, regions: p.Strings("regions"),
		endpoint: strings.TrimSpace(p.String("endpointURL")), maxAttempts: p.Int("maxAttempts")}
	if !slices.Contains(services, o.service) {
		return params{}, task.InvalidParams("service %q: want one of %s", o.service, strings.Join(services, ", "))
	}
	for _, r := range o.regions {
		if !regionName.MatchString(r) {
			return params{}, task.InvalidParams("regions: %q is not an AWS region name (like us-east-1)", r)
		}
	}
	if o.endpoint != "" && !strings.HasPrefix(o.endpoint, "http://") && !strings.HasPrefix(o.endpoint, "https://") {
		return params{}, task.InvalidParams("endpointURL %q: want an http:// or https:// URL", o.endpoint)
	}
	if o.maxAttempts <= 0 {
		o.maxAttempts = 5
	}
	return o, nil
}

// Run reads the selected resources and aggregates their facts.
func (c *Checker) Run(ctx context.Context, in task.Input) (task.Output, error) {
	p, err := parse(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	regions := p.regions
	if len(regions) == 0 {
		regions = []string{""}
	}
	var resources []posture.Resource
	what, read := c.reader(p.service)
	for i, region := range regions {
		cfg, err := c.config(ctx, p, region)
		if err != nil {
			return task.Output{}, err
		}
		task.Report(ctx, task.Progress{Done: float64(i) / float64(len(regions)), Message: fmt.Sprintf("reading %s in %s", p.service, cfg.Region)})
		got, err := read(ctx, cfg, p)
		if err != nil {
			return task.Output{}, c.classify(err, cfg.Region)
		}
		resources = append(resources, got...)
		if p.service == serviceS3 {
			break // buckets are listed once, across regions
		}
	}
	if err := checkSelection(p, resources, what); err != nil {
		return task.Output{}, err
	}
	out, worst := posture.Aggregate(Facts, what, resources, in.Gates)
	out.Metrics["resources"] = float64(len(resources))
	c.logger.InfoContext(ctx, "aws posture", slog.String("task", in.Task), slog.String("service", p.service),
		slog.Int("resources", len(resources)), slog.Int("facts", len(worst)))
	return out, nil
}

// reader is what a service's resources are called and the method that
// reads them.
func (c *Checker) reader(service string) (string, func(context.Context, aws.Config, params) ([]posture.Resource, error)) {
	switch service {
	case serviceS3:
		return "S3 buckets", c.s3
	case serviceACM:
		return "ACM certificates", c.acm
	case serviceSecrets:
		return "secrets", c.secrets
	case serviceAurora:
		return "DB clusters", c.aurora
	case serviceASG:
		return "Auto Scaling groups", c.autoScaling
	case serviceECS:
		return "ECS services", c.ecsServices
	}
	return "RDS instances", c.rds
}

// checkSelection fails a selection that found nothing, or not every ID.
func checkSelection(p params, resources []posture.Resource, what string) error {
	if p.sel.ByTags() {
		if len(resources) == 0 {
			return task.Failed(task.Output{}, true, "aws-posture: the tag filter %s matches no %s in %s", p.sel.FilterText(), what, regionsText(p.regions))
		}
		return nil
	}
	missing := p.sel.Missing(resources)
	if len(missing) > 0 {
		return task.Failed(task.Output{}, true, "aws-posture: %s not found in %s: %s", what, regionsText(p.regions), strings.Join(missing, ", "))
	}
	return nil
}

func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "the default region"
	}
	return strings.Join(regions, ", ")
}

// config loads the SDK's default configuration for region (empty: its
// default), the retryer bounded by maxAttempts.
func (c *Checker) config(ctx context.Context, p params, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(p.maxAttempts)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if p.endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(p.endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, task.Failed(task.Output{}, true, "aws-posture: AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, task.InvalidParams("aws-posture: no region: set regions, or AWS_REGION where the worker runs")
	}
	return cfg, nil
}

// permissions maps an API call to the IAM permission it needs.
var permissions = map[string]string{
	"DescribeDBInstances":             "rds:DescribeDBInstances",
	"DescribeDBClusters":              "rds:DescribeDBClusters",
	"DescribeAutoScalingGroups":       "autoscaling:DescribeAutoScalingGroups",
	"DescribePolicies":                "autoscaling:DescribePolicies",
	"ListClusters":                    "ecs:ListClusters",
	"ListServices":                    "ecs:ListServices",
	"DescribeServices":                "ecs:DescribeServices",
	"DescribeScalableTargets":         "application-autoscaling:DescribeScalableTargets",
	"DescribeScalingPolicies":         "application-autoscaling:DescribeScalingPolicies",
	"ListBuckets":                     "s3:ListAllMyBuckets",
	"GetBucketTagging":                "s3:GetBucketTagging",
	"GetBucketEncryption":             "s3:GetEncryptionConfiguration",
	"GetBucketVersioning":             "s3:GetBucketVersioning",
	"GetPublicAccessBlock":            "s3:GetBucketPublicAccessBlock",
	"GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
	"GetBucketReplication":            "s3:GetReplicationConfiguration",
	"ListCertificates":                "acm:ListCertificates",
	"DescribeCertificate":             "acm:DescribeCertificate",
	"ListTagsForCertificate":          "acm:ListTagsForCertificate",
	"ListSecrets":                     "secretsmanager:ListSecrets",
}

var deniedCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"}

// classify turns an SDK error into a task error: a denied call names its
// permission; missing credentials say so. Neither is retried.
func (c *Checker) classify(err error, region string) error {
	if _, ok := task.AsError(err); ok {
		return err
	}
	var op *smithy.OperationError
	call := ""
	if errors.As(err, &op) {
		call = op.OperationName
	}
	// The SDK has no type for a failed credential lookup: it says "get
	// identity: get credentials: …" (older: a SigningError).
	var signing *v4.SigningError
	if errors.As(err, &signing) || strings.Contains(err.Error(), "get identity: get credentials") {
		return task.Failed(task.Output{}, true, "aws-posture: no AWS credentials for %s in %s (the default chain found none: environment, shared files, SSO, instance role): %v", call, region, err)
	}
	// A well-formed region that does not exist fails at the DNS lookup
	// of its regional endpoint, which would otherwise read as a network
	// error retried until the task times out.
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return task.Failed(task.Output{}, true, "aws-posture: %s in %s: the endpoint host %s does not exist: check that %s is an AWS region enabled for the account (or the endpoint parameter): %v", call, region, dns.Name, region, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && slices.Contains(deniedCodes, api.ErrorCode()) {
		perm := permissions[call]
		if perm == "" {
			perm = "the permission for " + call
		}
		return task.Failed(task.Output{}, true, "aws-posture: %s in %s was denied (%s): the identity needs %s: %s", call, region, api.ErrorCode(), perm, api.ErrorMessage())
	}
	return fmt.Errorf("aws-posture %s in %s: %w", call, region, err)
}

// days is a count of days in seconds.
func days(n int32) float64 { return float64(n) * 86400 }
