//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/awsposture/awsfake"
	"github.com/shipshape-dev/shipshape/integrations/github/githubfake"
	"github.com/shipshape-dev/shipshape/internal/awstest"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestPostureExampleDev runs the posture example with `starter run --dev`
// against the AWS and GitHub fakes: a well-kept estate passes every gate;
// then one production database without encryption fails the run on its
// key gate, and the report names it as the worst resource.
func TestPostureExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	awstest.Credentials(t)
	const token = "ghp_e2e_posture_token"
	t.Setenv("GITHUB_TOKEN", token)
	aws := awsfake.Start(t)
	aws.PageSize = 1
	now := time.Now()
	prod := map[string]string{"env": "prod"}
	good := awsfake.DBInstance{ID: "orders", Region: "eu-west-1", BackupRetentionDays: 14, LatestRestorable: now.Add(-2 * time.Minute),
		Encrypted: true, DeletionProtection: true, MultiAZ: true, AutoMinorUpgrade: true, ReplicatedTo: "arn:aws:rds:eu-central-1:123456789012:auto-backup:ab", Tags: prod}
	aws.AddDBInstance(good, awsfake.DBInstance{ID: "scratch", Region: "eu-west-1", Tags: map[string]string{"env": "dev"}})
	all := &awsfake.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
	aws.AddBucket(awsfake.Bucket{Name: "orders-exports", Region: "eu-west-1", Tags: prod, Encryption: "aws:kms", Versioning: "Enabled", PublicAccessBlock: all,
		Lifecycle: []awsfake.LifecycleRule{{Transitions: map[string]int{"GLACIER": 30}, ExpirationDays: 365}}})
	aws.AddECSService(awsfake.ECSService{Cluster: "prod", Name: "orders-api", Region: "eu-west-1", Desired: 3, Running: 3, Scalable: true, Min: 2, Max: 12,
		Policies: []string{"cpu-60"}, Tags: prod})
	gh := githubfake.Start(t, token)
	gh.AddRepo(&githubfake.Repo{Owner: "acme", Name: "api", DefaultBranch: "main",
		Files:      []string{".github/CODEOWNERS", ".github/dependabot.yml", "SECURITY.md", ".github/pull_request_template.md", ".github/ISSUE_TEMPLATE/bug.yml"},
		Protection: map[string]githubfake.Protection{"main": {RequiredReviews: 2, RequiredChecks: []string{"test"}}},
		Statuses:   map[string][]string{"main": {"success"}},
		CheckRuns:  map[string][]githubfake.CheckRun{"main": {{Name: "test", Status: "completed", Conclusion: "success"}}},
		Alerts:     []string{"low"},
	})
	args := func(out string) []string {
		return []string{"run", "--dev", "--state-dir", t.TempDir(), "--report-dir", out,
			"--set", "vars.awsRegion=eu-west-1", "--set", "vars.awsEndpoint=" + aws.URL, "--set", "vars.githubAPI=" + gh.URL,
			"--set", "vars.repo=acme/api", "examples/plans/posture.yaml"}
	}

	out := t.TempDir()
	res := starter(t, ctx, args(out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Fatalf("result %s, want pass", r.Result)
	}
	db, repo := r.Task("posture", "databases"), r.Task("posture", "repository")
	if db == nil || db.Metrics["rds.backup_retention"] != 14*86400 || db.Metrics["resources"] != 1 {
		t.Errorf("databases: %+v", db)
	}
	if svc := r.Task("posture", "services"); svc == nil || svc.Metrics["ecs.min_capacity"] != 2 || svc.Metrics["ecs.scaling_policies"] != 1 {
		t.Errorf("services: %+v", svc)
	}
	if repo == nil || repo.Metrics["repo.branch.required_reviews"] != 2 || repo.Metrics["repo.dependabot_alerts.low"] != 1 {
		t.Errorf("repository: %+v", repo)
	}
	for _, f := range []string{"report.md", "report.json", "report.html"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), token) || strings.Contains(string(data), "shipshape-test-secret") {
			t.Errorf("%s leaks a credential", f)
		}
	}
	// The worker runs in the starter's process in --dev: its logs, and
	// the starter's, are on stderr.
	if strings.Contains(res.stdout+res.stderr, token) || strings.Contains(res.stdout+res.stderr, "shipshape-test-secret") {
		t.Errorf("the starter's or worker's output leaks a credential")
	}

	bad := good
	bad.ID, bad.Encrypted = "billing", false
	aws.AddDBInstance(bad)
	out = t.TempDir()
	res = starter(t, ctx, args(out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	db = r.Task("posture", "databases")
	if r.Result != plan.StatusFail || db == nil || db.Metrics["rds.encrypted"] != 0 || db.Metrics["resources"] != 2 {
		t.Fatalf("result %s, databases %+v", r.Result, db)
	}
	if !strings.Contains(db.Output, "rds.encrypted = 0 (worst: billing)") {
		t.Errorf("output does not name the worst database:\n%s", db.Output)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "RDS instance billing") {
		t.Errorf("report.md lacks the per-instance table:\n%s", md)
	}
}
