// Package repoposture is the repo-posture task type: it reads a code
// repository's configuration on GitHub (branch protection and rulesets of
// the release branch, Dependabot or Renovate, required files, the checks
// of a commit, open Dependabot alerts) through the REST API and reports
// each fact as a metric, aggregated across the selected repositories as
// its worst value, for gates to judge.
package repoposture

import (
	"time"

	"github.com/shipshape-dev/shipshape/internal/posture"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "repo-posture"

// Severities of Dependabot alerts, as GitHub writes them.
var severities = []string{"critical", "high", "medium", "low"}

// defaultFiles are the files a repository must have by default.
var defaultFiles = []string{"CODEOWNERS", "SECURITY.md", "PULL_REQUEST_TEMPLATE.md", "ISSUE_TEMPLATE"}

// Facts are the metrics repo-posture reports and how each aggregates.
var Facts = []posture.Fact{
	posture.Declare("repo.branch.required_reviews", plan.UnitCount, posture.More, "Approving reviews a pull request into the branch needs, the most any branch protection rule or ruleset asks; 0 when none."),
	posture.Declare("repo.branch.required_checks", plan.UnitCount, posture.More, "Status checks that must pass before merging into the branch (distinct names over branch protection and rulesets)."),
	posture.Declare("repo.branch.signed_commits", plan.UnitCount, posture.More, "1 when the branch requires signed commits, else 0."),
	posture.Declare("repo.branch.force_push_blocked", plan.UnitCount, posture.More, "1 when force pushes to the branch are blocked (branch protection without allow_force_pushes, or a non_fast_forward rule), else 0."),
	posture.Declare("repo.dependabot", plan.UnitCount, posture.More, "1 when dependency updates are configured: .github/dependabot.yml (or .yaml), or a Renovate config (renovate.json, renovate.json5, .renovaterc, .renovaterc.json, .github/renovate.json), else 0."),
	posture.Declare("repo.files.missing", plan.UnitCount, posture.Less, "How many of requiredFiles the repository lacks (each looked for at the root, in .github/ and in docs/, case-insensitively); their names are in the report."),
	posture.Declare("repo.commit.checks_green", plan.UnitCount, posture.More, "1 when the commit at ref is green: its combined status is success (or it has no statuses) and every check run completed as success, neutral or skipped, with at least one status or check run; else 0."),
	posture.Declare("repo.dependabot_alerts.<severity>", plan.UnitCount, posture.Less, "Open Dependabot alerts of that severity: critical, high, medium, low (always reported, 0 when none)."),
	posture.Declare("resources", plan.UnitCount, posture.More, "How many repositories were checked (at least 1: selecting none is an error)."),
}

// Decl declares the repo-posture task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Reads the configuration of GitHub repositories through the REST API, with a token from an environment variable: " +
		"branch protection and rulesets of the release branch (required reviews, required checks, signed commits, force pushes), Dependabot or Renovate configuration, required files (CODEOWNERS, SECURITY.md, a pull request template), " +
		"whether a commit's statuses and check runs are green, and open Dependabot alerts by severity. Each fact is a metric aggregated across the repositories as its WORST value, so a gate holds for every one: " +
		"`repo.branch.required_reviews >= 1`, `repo.dependabot_alerts.critical == 0`. The report has one table per repository and names the worst one of each fact. " +
		"The task fails when the token is missing or rejected, lacks a permission (naming it), or the selection finds no repository. docs/posture.md lists the token permissions it needs.",
	Params: []plan.Param{
		{Name: "resources", Type: plan.TypeObject, Required: true,
			Doc: "Which repositories: `ids` (OWNER/NAME list) or `org` with `topics` (the organization's repositories having every topic). A filter matching nothing, or a repository not found, is an error.",
			Fields: []plan.Param{
				{Name: "ids", Type: plan.TypeStringList, Doc: "Repositories as OWNER/NAME."},
				{Name: "org", Type: plan.TypeString, Doc: "Organization whose repositories the topic filter picks from."},
				{Name: "topics", Type: plan.TypeStringList, Doc: "Topics a repository of org must all have; empty: every (non-archived) repository of org."},
			}},
		{Name: "branch", Type: plan.TypeString, Doc: "The release branch whose protection is read; empty: each repository's default branch."},
		{Name: "ref", Type: plan.TypeString, Doc: "Branch, tag or commit whose checks are read for repo.commit.checks_green; empty: the release branch."},
		{Name: "requiredFiles", Type: plan.TypeStringList, Doc: "Files every repository must have, for repo.files.missing; a name without an extension also matches NAME.md and a directory of that name (ISSUE_TEMPLATE: the issue forms directory or ISSUE_TEMPLATE.md). Empty: CODEOWNERS, SECURITY.md, PULL_REQUEST_TEMPLATE.md, ISSUE_TEMPLATE."},
		{Name: "tokenEnv", Type: plan.TypeString, Default: "GITHUB_TOKEN", Doc: "Environment variable of the worker holding the token (a fine-grained token with read access to administration, contents, commit statuses, checks and Dependabot alerts; or a classic token with repo scope). Its value never appears in events, reports or logs."},
		{Name: "apiURL", Type: plan.TypeString, Default: "https://api.github.com", Doc: "The REST API: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."},
		{Name: "maxAttempts", Type: plan.TypeInt, Default: 5, Doc: "Attempts per request: rate limits (429, or 403 with the limit spent) are retried after Retry-After, server errors after a backoff."},
	},
	Metrics:     posture.Metrics(Facts),
	Timeout:     5 * time.Minute,
	MaxAttempts: 2,
}
