package repoposture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/github"
	"github.com/shipshape-dev/shipshape/internal/posture"
)

// Checker runs repo-posture tasks.
type Checker struct {
	logger *slog.Logger
	http   *http.Client
	getenv func(string) string
}

// New returns a Checker calling GitHub through hc (nil: a default client)
// and logging to logger (nil: discard).
func New(logger *slog.Logger, hc *http.Client) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{logger: logger, http: hc, getenv: os.Getenv}
}

// Type is the repo-posture task type, run by c.
func (c *Checker) Type() task.Type { return task.Type{Decl: Decl, Run: c.Run} }

var (
	repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

type params struct {
	ids           []string
	org           string
	topics        []string
	branch, ref   string
	requiredFiles []string
	tokenEnv      string
	apiURL        string
	maxAttempts   int
}

func parse(p task.Params) (params, error) {
	r := p.Object("resources")
	o := params{ids: r.Strings("ids"), org: strings.TrimSpace(r.String("org")), topics: r.Strings("topics"),
		branch: strings.TrimSpace(p.String("branch")), ref: strings.TrimSpace(p.String("ref")),
		requiredFiles: p.Strings("requiredFiles"), tokenEnv: p.String("tokenEnv"), apiURL: p.String("apiURL"), maxAttempts: p.Int("maxAttempts")}
	switch {
	case len(o.ids) == 0 && o.org == "":
		return o, task.InvalidParams("resources: give ids (OWNER/NAME list) or org (with topics)")
	case len(o.ids) > 0 && o.org != "":
		return o, task.InvalidParams("resources: give ids or org, not both")
	case len(o.topics) > 0 && o.org == "":
		return o, task.InvalidParams("resources.topics needs resources.org")
	}
	for _, id := range o.ids {
		if !repoName.MatchString(id) {
			return o, task.InvalidParams("resources.ids: %q is not OWNER/NAME", id)
		}
	}
	if o.tokenEnv == "" {
		o.tokenEnv = "GITHUB_TOKEN"
	}
	if !envName.MatchString(o.tokenEnv) {
		return o, task.InvalidParams("tokenEnv %q is not an environment variable name", o.tokenEnv)
	}
	if o.apiURL == "" {
		o.apiURL = "https://api.github.com"
	}
	if len(o.requiredFiles) == 0 {
		o.requiredFiles = defaultFiles
	}
	if o.maxAttempts <= 0 {
		o.maxAttempts = 5
	}
	return o, nil
}

// Run reads the selected repositories and aggregates their facts.
func (c *Checker) Run(ctx context.Context, in task.Input) (task.Output, error) {
	p, err := parse(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	token := c.getenv(p.tokenEnv)
	if strings.TrimSpace(token) == "" {
		return task.Output{}, task.Failed(task.Output{}, true, "repo-posture: no GitHub token: the environment variable %s is empty where the worker runs", p.tokenEnv)
	}
	gh, err := github.New(p.apiURL, token, c.http)
	if err != nil {
		return task.Output{}, task.InvalidParams("apiURL: %v", err)
	}
	gh.MaxAttempts = p.maxAttempts

	repos := p.ids
	if p.org != "" {
		if repos, err = c.orgRepos(ctx, gh, p); err != nil {
			return task.Output{}, classify(err, p)
		}
	}
	var resources []posture.Resource
	for i, repo := range repos {
		task.Report(ctx, task.Progress{Done: float64(i) / float64(len(repos)), Message: "reading " + repo})
		r, err := c.repo(ctx, gh, p, repo)
		if err != nil {
			return task.Output{}, classify(err, p)
		}
		resources = append(resources, r)
	}
	out, _ := posture.Aggregate(Facts, "repositories", resources, in.Gates)
	out.Metrics["resources"] = float64(len(resources))
	c.logger.InfoContext(ctx, "repo posture", slog.String("task", in.Task), slog.Int("repositories", len(resources)))
	return out, nil
}

// classify turns API errors into task errors: a rejected token and a
// missing permission are final and say what to fix; a repository, branch
// or ref not found too.
func classify(err error, p params) error {
	if _, ok := task.AsError(err); ok {
		return err
	}
	var e *github.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("repo-posture: %w", err)
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return task.Failed(task.Output{}, true, "repo-posture: GitHub rejected the token in %s (%s): %v", p.tokenEnv, e.Message, e)
	case e.Status == http.StatusForbidden || e.Status == http.StatusNotFound && e.Permissions != "":
		need := e.Permissions
		if need == "" {
			need = "read access to what " + e.Path + " reads"
		}
		return task.Failed(task.Output{}, true, "repo-posture: the token in %s may not read %s: it needs %s: %v", p.tokenEnv, e.Path, need, e)
	case e.Status == http.StatusNotFound:
		return task.Failed(task.Output{}, true, "repo-posture: %s not found (or not visible to the token in %s): %v", e.Path, p.tokenEnv, e)
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return fmt.Errorf("repo-posture: %w", err)
	}
	return task.Failed(task.Output{}, true, "repo-posture: %v", e)
}

func esc(s string) string { return url.PathEscape(s) }

// orgRepos lists the organization's non-archived repositories having
// every topic.
func (c *Checker) orgRepos(ctx context.Context, gh *github.Client, p params) ([]string, error) {
	var repos []string
	err := gh.GetAll(ctx, "orgs/"+esc(p.org)+"/repos?per_page=100", func(body []byte) error {
		var page []struct {
			FullName string   `json:"full_name"`
			Archived bool     `json:"archived"`
			Topics   []string `json:"topics"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		for _, r := range page {
			if !r.Archived && !slices.ContainsFunc(p.topics, func(t string) bool { return !slices.Contains(r.Topics, t) }) {
				repos = append(repos, r.FullName)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(repos) == 0 {
		return nil, task.Failed(task.Output{}, true, "repo-posture: the filter org=%s topics=[%s] matches no repository (archived ones are left out)", p.org, strings.Join(p.topics, ", "))
	}
	return repos, nil
}

// repo reads one repository's facts.
func (c *Checker) repo(ctx context.Context, gh *github.Client, p params, full string) (posture.Resource, error) {
	r := posture.Resource{ID: full, Kind: "Repository"}
	base := "repos/" + full
	var meta struct {
		DefaultBranch string `json:"default_branch"`
	}
	if err := gh.Get(ctx, base, &meta); err != nil {
		return r, err
	}
	branch := p.branch
	if branch == "" {
		branch = meta.DefaultBranch
	}
	var b struct{ Name string }
	if err := gh.Get(ctx, base+"/branches/"+esc(branch), &b); err != nil {
		if github.IsStatus(err, http.StatusNotFound) {
			return r, task.Failed(task.Output{}, true, "repo-posture: %s has no branch %q", full, branch)
		}
		return r, err
	}
	if err := c.branchRules(ctx, gh, base, branch, &r); err != nil {
		return r, err
	}
	if err := c.files(ctx, gh, base, branch, p.requiredFiles, &r); err != nil {
		return r, err
	}
	ref := p.ref
	if ref == "" {
		ref = branch
	}
	if err := c.checks(ctx, gh, base, ref, &r); err != nil {
		return r, err
	}
	return r, c.alerts(ctx, gh, base, &r)
}

// branchRules reads the branch's protection (404: none) and the active
// ruleset rules that apply to it, and keeps the strictest of both.
func (c *Checker) branchRules(ctx context.Context, gh *github.Client, base, branch string, r *posture.Resource) error {
	var prot struct {
		Reviews *struct {
			Count int `json:"required_approving_review_count"`
		} `json:"required_pull_request_reviews"`
		Checks *struct {
			Contexts []string `json:"contexts"`
			Checks   []struct {
				Context string `json:"context"`
			} `json:"checks"`
		} `json:"required_status_checks"`
		Signatures *struct {
			Enabled bool `json:"enabled"`
		} `json:"required_signatures"`
		ForcePushes *struct {
			Enabled bool `json:"enabled"`
		} `json:"allow_force_pushes"`
	}
	reviews, signed, blocked := 0, false, false
	checks := map[string]bool{}
	var sources []string
	err := gh.Get(ctx, base+"/branches/"+esc(branch)+"/protection", &prot)
	var apiErr *github.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && apiErr.Message == "Branch not protected":
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		// GitHub answers a plain 404 when the token may not read the
		// protection: that is not "unprotected", and saying so would
		// fail (or worse, pass) a gate on a fact nobody read.
		return task.Failed(task.Output{}, true, "repo-posture: cannot tell whether branch %q of %s is protected: GitHub answered 404 %q, as it does when the token lacks administration=read (fine-grained) or the repo scope and admin rights (classic): %v",
			branch, strings.TrimPrefix(base, "repos/"), apiErr.Message, apiErr)
	case err != nil:
		return err
	default:
		sources = append(sources, "branch protection")
		if prot.Reviews != nil {
			reviews = prot.Reviews.Count
		}
		if prot.Checks != nil {
			for _, c := range prot.Checks.Contexts {
				checks[c] = true
			}
			for _, c := range prot.Checks.Checks {
				checks[c.Context] = true
			}
		}
		signed = prot.Signatures != nil && prot.Signatures.Enabled
		blocked = prot.ForcePushes == nil || !prot.ForcePushes.Enabled
	}
	nrules := 0
	err = gh.GetAll(ctx, base+"/rules/branches/"+esc(branch)+"?per_page=100", func(body []byte) error {
		var rules []struct {
			Type       string          `json:"type"`
			Parameters json.RawMessage `json:"parameters"`
		}
		if err := json.Unmarshal(body, &rules); err != nil {
			return err
		}
		for _, rule := range rules {
			nrules++
			switch rule.Type {
			case "pull_request":
				var p struct {
					Count int `json:"required_approving_review_count"`
				}
				_ = json.Unmarshal(rule.Parameters, &p)
				reviews = max(reviews, p.Count)
			case "required_status_checks":
				var p struct {
					Checks []struct {
						Context string `json:"context"`
					} `json:"required_status_checks"`
				}
				_ = json.Unmarshal(rule.Parameters, &p)
				for _, c := range p.Checks {
					checks[c.Context] = true
				}
			case "required_signatures":
				signed = true
			case "non_fast_forward":
				blocked = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if nrules > 0 {
		sources = append(sources, fmt.Sprintf("%d ruleset rules", nrules))
	}
	r.Set("repo.branch.required_reviews", float64(reviews))
	r.Set("repo.branch.required_checks", float64(len(checks)))
	r.SetBool("repo.branch.signed_commits", signed)
	r.SetBool("repo.branch.force_push_blocked", blocked)
	note := "branch " + branch + ": no protection, no ruleset"
	if len(sources) > 0 {
		note = "branch " + branch + ": " + strings.Join(sources, " + ")
	}
	r.Note("repo.branch.required_reviews", note)
	if len(checks) > 0 {
		names := make([]string, 0, len(checks))
		for c := range checks {
			names = append(names, c)
		}
		slices.Sort(names)
		r.Note("repo.branch.required_checks", strings.Join(names, ", "))
	}
	return nil
}

var renovateFiles = []string{"renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json", ".github/renovate.json", ".github/renovate.json5"}

// files lists the root, .github/ and docs/ at branch and looks for the
// required files and a dependency update configuration.
func (c *Checker) files(ctx context.Context, gh *github.Client, base, branch string, required []string, r *posture.Resource) error {
	have := map[string]bool{} // lower-case paths
	for _, dir := range []string{"", ".github", "docs"} {
		var entries []struct {
			Path string `json:"path"`
		}
		err := gh.Get(ctx, base+"/contents/"+dir+"?ref="+url.QueryEscape(branch), &entries)
		if github.IsStatus(err, http.StatusNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			have[strings.ToLower(e.Path)] = true
		}
	}
	var missing []string
	for _, f := range required {
		f = strings.Trim(f, "/")
		names := []string{f}
		if path.Ext(f) == "" {
			names = append(names, f+".md")
		}
		found := false
		for _, n := range names {
			found = found || slices.ContainsFunc([]string{n, ".github/" + n, "docs/" + n}, func(p string) bool { return have[strings.ToLower(p)] })
		}
		if !found {
			missing = append(missing, f)
		}
	}
	r.Set("repo.files.missing", float64(len(missing)))
	if len(missing) > 0 {
		r.Note("repo.files.missing", strings.Join(missing, ", "))
	}
	dependabot := have[".github/dependabot.yml"] || have[".github/dependabot.yaml"]
	renovate := slices.ContainsFunc(renovateFiles, func(p string) bool { return have[p] })
	r.SetBool("repo.dependabot", dependabot || renovate)
	switch {
	case dependabot:
		r.Note("repo.dependabot", "Dependabot")
	case renovate:
		r.Note("repo.dependabot", "Renovate")
	}
	return nil
}

// checks reads the combined status and the check runs of ref.
func (c *Checker) checks(ctx context.Context, gh *github.Client, base, ref string, r *posture.Resource) error {
	var status struct {
		State      string `json:"state"`
		TotalCount int    `json:"total_count"`
	}
	if err := gh.Get(ctx, base+"/commits/"+esc(ref)+"/status", &status); err != nil {
		if github.IsStatus(err, http.StatusNotFound) || github.IsStatus(err, http.StatusUnprocessableEntity) {
			return task.Failed(task.Output{}, true, "repo-posture: %s has no commit %q", strings.TrimPrefix(base, "repos/"), ref)
		}
		return err
	}
	runs, bad := 0, []string{}
	err := gh.GetAll(ctx, base+"/commits/"+esc(ref)+"/check-runs?per_page=100", func(body []byte) error {
		var page struct {
			CheckRuns []struct {
				Name       string `json:"name"`
				Status     string `json:"status"`
				Conclusion string `json:"conclusion"`
			} `json:"check_runs"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		for _, cr := range page.CheckRuns {
			runs++
			if cr.Status != "completed" {
				bad = append(bad, cr.Name+": "+cr.Status)
			} else if !slices.Contains([]string{"success", "neutral", "skipped"}, cr.Conclusion) {
				bad = append(bad, cr.Name+": "+cr.Conclusion)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	green := len(bad) == 0 && (status.TotalCount == 0 || status.State == "success") && status.TotalCount+runs > 0
	r.SetBool("repo.commit.checks_green", green)
	switch {
	case status.TotalCount+runs == 0:
		r.Note("repo.commit.checks_green", ref+": no status and no check run")
	case !green:
		note := fmt.Sprintf("%s: combined status %s (%d)", ref, status.State, status.TotalCount)
		if len(bad) > 0 {
			note += "; check runs not green: " + strings.Join(bad, ", ")
		}
		r.Note("repo.commit.checks_green", note)
	default:
		r.Note("repo.commit.checks_green", fmt.Sprintf("%s: %d statuses, %d check runs", ref, status.TotalCount, runs))
	}
	return nil
}

// alerts counts open Dependabot alerts by severity. Alerts disabled on
// the repository leave the metrics out (a gate on them fails).
func (c *Checker) alerts(ctx context.Context, gh *github.Client, base string, r *posture.Resource) error {
	count := map[string]int{}
	err := gh.GetAll(ctx, base+"/dependabot/alerts?state=open&per_page=100", func(body []byte) error {
		var page []struct {
			Advisory struct {
				Severity string `json:"severity"`
			} `json:"security_advisory"`
			Vulnerability struct {
				Severity string `json:"severity"`
			} `json:"security_vulnerability"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		for _, a := range page {
			sev := a.Advisory.Severity
			if sev == "" {
				sev = a.Vulnerability.Severity
			}
			count[strings.ToLower(sev)]++
		}
		return nil
	})
	var e *github.Error
	if errors.As(err, &e) && e.Status == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "disabled") {
		for _, s := range severities {
			r.Note("repo.dependabot_alerts."+s, "Dependabot alerts are disabled")
		}
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range severities {
		r.Set("repo.dependabot_alerts."+s, float64(count[s]))
	}
	return nil
}
