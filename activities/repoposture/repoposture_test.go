package repoposture_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/repoposture"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/github/githubfake"
	"github.com/shipshape-dev/shipshape/plan"
)

const (
	token = "ghp_fake_secret_token_value"
	final = tasktest.Kind("non-retryable TaskFailed")
)

func start(t *testing.T) *githubfake.Server {
	t.Helper()
	t.Setenv("SHIPSHAPE_TEST_GH", token)
	return githubfake.Start(t, token)
}

func run(t *testing.T, f *githubfake.Server, with map[string]any) (map[string]float64, string, error) {
	t.Helper()
	with["apiURL"] = f.URL
	if _, ok := with["tokenEnv"]; !ok {
		with["tokenEnv"] = "SHIPSHAPE_TEST_GH"
	}
	out, err := tasktest.Run(t, repoposture.New(nil, nil).Type(), with)
	if err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("error leaks the token: %v", err)
	}
	if strings.Contains(out.Output, token) {
		t.Fatalf("output leaks the token")
	}
	return out.Metrics, out.Output, err
}

func wellKept() *githubfake.Repo {
	return &githubfake.Repo{Owner: "acme", Name: "api", DefaultBranch: "main", Topics: []string{"production", "go"},
		Files:      []string{"README.md", ".github/CODEOWNERS", ".github/dependabot.yml", "SECURITY.md", ".github/pull_request_template.md", ".github/ISSUE_TEMPLATE/bug.yml", "docs/index.md"},
		Protection: map[string]githubfake.Protection{"main": {RequiredReviews: 1, RequiredChecks: []string{"test", "lint"}}},
		Rules: map[string][]githubfake.Rule{"main": {{Type: "pull_request", Reviews: 2}, {Type: "required_status_checks", Checks: []string{"test", "e2e"}},
			{Type: "required_signatures"}, {Type: "deletion"}}},
		Statuses:  map[string][]string{"main": {"success", "success"}},
		CheckRuns: map[string][]githubfake.CheckRun{"main": {{Name: "build", Status: "completed", Conclusion: "success"}, {Name: "docs", Status: "completed", Conclusion: "skipped"}, {Name: "lint", Status: "completed", Conclusion: "neutral"}}},
		Alerts:    []string{"low", "medium", "low"},
	}
}

func TestWellKeptAndNeglectedRepos(t *testing.T) {
	f := start(t)
	f.PageSize = 2 // check runs, alerts and rules over several pages
	neglected := &githubfake.Repo{Owner: "acme", Name: "legacy", DefaultBranch: "master", Topics: []string{"production"},
		Files:      []string{"README.md", "renovate.json"},
		Protection: map[string]githubfake.Protection{"master": {AllowForcePushes: true}},
		Statuses:   map[string][]string{"master": {"success", "failure"}},
		CheckRuns:  map[string][]githubfake.CheckRun{"master": {{Name: "build", Status: "in_progress", Conclusion: ""}}},
		Alerts:     []string{"critical", "high", "high", "low"},
	}
	f.AddRepo(wellKept(), neglected, &githubfake.Repo{Owner: "acme", Name: "toy", DefaultBranch: "main", Topics: []string{"go"}})

	m, output, err := run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 1, "repo.branch.required_reviews": 2, "repo.branch.required_checks": 3, "repo.branch.signed_commits": 1,
		"repo.branch.force_push_blocked": 1, "repo.dependabot": 1, "repo.files.missing": 0, "repo.commit.checks_green": 1,
		"repo.dependabot_alerts.critical": 0, "repo.dependabot_alerts.high": 0, "repo.dependabot_alerts.medium": 1, "repo.dependabot_alerts.low": 2,
	}, 0)

	m, output, err = run(t, f, map[string]any{"resources": map[string]any{"org": "acme", "topics": []any{"production"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "repo.branch.required_reviews": 0, "repo.branch.required_checks": 0, "repo.branch.signed_commits": 0,
		"repo.branch.force_push_blocked": 0, "repo.dependabot": 1, "repo.files.missing": 4, "repo.commit.checks_green": 0,
		"repo.dependabot_alerts.critical": 1, "repo.dependabot_alerts.high": 2, "repo.dependabot_alerts.low": 2,
	}, 0)
	for _, want := range []string{"repo.files.missing = 4 (worst: acme/legacy)", "repo.dependabot_alerts.low = 2 (worst: acme/api)", "2 repositories checked"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}

	// Gates name every resource that fails them, not only the worst one.
	gate := func(metric, text string) plan.Gate {
		th, err := plan.ParseGateThreshold(text, plan.UnitCount)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Gate{Metric: metric, Pass: th, Weight: 1}
	}
	// A gate with a warning threshold: a value that meets only it is
	// "at warning", not failed.
	high := gate("repo.dependabot_alerts.high", "== 0")
	warn, err := plan.ParseGateThreshold("<= 2", plan.UnitCount)
	if err != nil {
		t.Fatal(err)
	}
	high.Warning = &warn
	both := &githubfake.Repo{Owner: "acme", Name: "web", DefaultBranch: "main", Topics: []string{"production"}, Files: []string{"README.md"}}
	f.AddRepo(both)
	runner := tasktest.Runner{Types: []task.Type{repoposture.New(nil, nil).Type()},
		Gates: []plan.Gate{gate("repo.files.missing", "== 0"), gate("repo.dependabot_alerts.critical", "== 0"), gate("repo.dependabot", ">= 1"), high}}
	out, err := runner.Run(t, "repo-posture", map[string]any{"apiURL": f.URL, "tokenEnv": "SHIPSHAPE_TEST_GH", "resources": map[string]any{"org": "acme", "topics": []any{"production"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gate repo.files.missing == 0 fails for 2 of 3: acme/legacy (4), acme/web (4)",
		"gate repo.dependabot_alerts.critical == 0 fails for 1 of 3: acme/legacy (1)", "gate repo.dependabot >= 1 fails for 1 of 3: acme/web (0)",
		"gate repo.dependabot_alerts.high == 0 only at warning for 1 of 3: acme/legacy (2)"} {
		if !strings.Contains(out.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, out.Output)
		}
	}
	var byGate, perRepo bool
	for _, tb := range out.Tables {
		if tb.Title == "Gates by resource" {
			byGate = len(tb.Rows) == 4 && tb.Rows[0][0] == "repo.files.missing == 0" && tb.Rows[0][3] == "acme/api" &&
				tb.Rows[3][2] == "acme/legacy (2)"
		}
		if tb.Title == "Repository acme/web" {
			for _, row := range tb.Rows {
				perRepo = perRepo || row[1] == "repo.files.missing" && row[3] == "fails == 0"
			}
		}
	}
	if !byGate || !perRepo {
		t.Errorf("tables do not say which repository fails which gate: %+v", out.Tables)
	}

	var paged bool
	for _, r := range f.Requests() {
		paged = paged || strings.Contains(r, "check-runs") && strings.Contains(r, "page=2")
	}
	if !paged {
		t.Errorf("check runs not read past page 1: %v", f.Requests())
	}
}

func TestRequiredFilesAndRef(t *testing.T) {
	f := start(t)
	r := wellKept()
	r.Branches = []string{"release"}
	r.Statuses["v1.2.0"] = []string{"pending"}
	f.AddRepo(r)
	m, output, err := run(t, f, map[string]any{"branch": "release", "ref": "v1.2.0", "requiredFiles": []any{"CODEOWNERS", "LICENSE"},
		"resources": map[string]any{"ids": []any{"acme/api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"repo.files.missing": 1, "repo.commit.checks_green": 0, "repo.branch.required_reviews": 0, "repo.branch.force_push_blocked": 0}, 0)
	if !strings.Contains(output, "LICENSE") {
		t.Errorf("the report does not name the missing LICENSE:\n%s", output)
	}

	// A name without an extension matches NAME.md and a directory:
	// ISSUE_TEMPLATE is met by .github/ISSUE_TEMPLATE/ of wellKept,
	// CONTRIBUTING by docs/CONTRIBUTING.md; the defaults include issue
	// templates.
	r2 := wellKept()
	r2.Name = "web"
	r2.Files = append(r2.Files, "docs/CONTRIBUTING.md")
	f.AddRepo(r2)
	m, _, err = run(t, f, map[string]any{"requiredFiles": []any{"ISSUE_TEMPLATE", "CONTRIBUTING"}, "resources": map[string]any{"ids": []any{"acme/web"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"repo.files.missing": 0}, 0)
	r3 := wellKept()
	r3.Name = "bare"
	r3.Files = []string{"README.md", "SECURITY.md", ".github/CODEOWNERS", ".github/pull_request_template.md"}
	f.AddRepo(r3)
	m, output, err = run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/bare"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"repo.files.missing": 1}, 0)
	if !strings.Contains(output, "ISSUE_TEMPLATE") {
		t.Errorf("the report does not name the missing issue templates:\n%s", output)
	}

	_, _, err = run(t, f, map[string]any{"branch": "nope", "resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, `acme/api has no branch "nope"`)
	_, _, err = run(t, f, map[string]any{"ref": "deadbeef", "resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, `acme/api has no commit "deadbeef"`)
}

func TestAlertsDisabledLeavesMetricsOut(t *testing.T) {
	f := start(t)
	r := wellKept()
	r.AlertsDisabled = true
	f.AddRepo(r)
	m, output, err := run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"repo.dependabot": 1}, 0, "repo.dependabot_alerts.critical")
	if !strings.Contains(output, "repo.dependabot_alerts.critical: not reported by acme/api") {
		t.Errorf("output:\n%s", output)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	f := start(t)
	f.RetryAfter = 0
	f.AddRepo(wellKept())
	f.Throttle(2)
	if _, _, err := run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}}); err != nil {
		t.Fatal(err)
	}
	f.RateLimit403 = true
	f.Throttle(1)
	began := time.Now()
	if _, _, err := run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}}); err != nil {
		t.Fatal(err)
	}
	if time.Since(began) > 10*time.Second {
		t.Errorf("took %s", time.Since(began))
	}
	// Bounded: a limit outlasting the attempts fails, retryable.
	f.RateLimit403 = false
	f.Throttle(10)
	_, _, err := run(t, f, map[string]any{"maxAttempts": 3, "resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, tasktest.Retryable, "429", "still after 3 attempts")
}

func TestTokenAndPermissionErrors(t *testing.T) {
	f := start(t)
	f.AddRepo(wellKept())
	_, _, err := run(t, f, map[string]any{"tokenEnv": "SHIPSHAPE_TEST_NO_TOKEN", "resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, "no GitHub token: the environment variable SHIPSHAPE_TEST_NO_TOKEN is empty")

	t.Setenv("SHIPSHAPE_TEST_BAD", "ghp_wrong")
	_, _, err = run(t, f, map[string]any{"tokenEnv": "SHIPSHAPE_TEST_BAD", "resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, "GitHub rejected the token in SHIPSHAPE_TEST_BAD (Bad credentials)")

	f.Deny("administration")
	_, _, err = run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, "may not read /repos/acme/api/branches/main/protection: it needs administration=read")

	// A classic token lacking rights gets a bare 404 where a fine-grained
	// one gets 403: that is not "unprotected", and the error says so
	// with the token's scopes.
	f.Classic = []string{"read:org"}
	_, _, err = run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/api"}}})
	tasktest.MustKind(t, err, final, `cannot tell whether branch "main" of acme/api is protected: GitHub answered 404 "Not Found"`, "the token has scopes: read:org", "accepted scopes: repo")
	f.Classic = nil

	_, _, err = run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"acme/gone"}}})
	tasktest.MustKind(t, err, final, "/repos/acme/gone not found")
	_, _, err = run(t, f, map[string]any{"resources": map[string]any{"org": "acme", "topics": []any{"pci"}}})
	tasktest.MustKind(t, err, final, "the filter org=acme topics=[pci] matches no repository")
	_, _, err = run(t, f, map[string]any{"resources": map[string]any{"ids": []any{"not a repo"}}})
	tasktest.MustKind(t, err, tasktest.Invalid, `"not a repo" is not OWNER/NAME`)
}
