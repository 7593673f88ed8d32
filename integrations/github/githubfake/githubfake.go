// Package githubfake is a protocol-level FAKE of the GitHub REST API
// endpoints repo-posture reads, for tests: an httptest server the real
// client (integrations/github) is pointed at through apiURL. It is not
// GitHub.
//
// Semantics enforced (from the REST API reference):
//   - a token is required (401 "Bad credentials" without Token), sent
//     as "Bearer" or "token", with Accept application/vnd.github+json;
//   - lists (organization repositories, ruleset rules, check runs,
//     Dependabot alerts) are paged by per_page (at most 100; PageSize
//     caps it) and page, with a Link header naming rel="next" and
//     rel="last";
//   - a branch without protection answers 404 "Branch not protected"; an
//     unknown repository, branch, ref or directory 404 "Not Found"; a
//     ref answers 422 "No commit found for SHA" when it names nothing;
//   - Deny(permission) makes the calls needing that fine-grained
//     permission (administration, contents, statuses, checks,
//     dependabot_alerts, metadata) answer 403 "Resource not accessible by
//     personal access token" with X-Accepted-GitHub-Permissions, as
//     GitHub does for a token lacking it;
//   - with Classic set (a classic personal access token), every answer
//     carries X-OAuth-Scopes (the token's scopes), and a call needing a
//     denied permission answers 404 "Not Found" with
//     X-Accepted-OAuth-Scopes "repo" instead of 403, as GitHub hides what
//     a classic token may not read (branch protection without admin
//     rights, private contents without the repo scope);
//   - Throttle(n) answers the next n requests 429 with Retry-After
//     RetryAfter seconds (or 403 with X-RateLimit-Remaining 0 and
//     X-RateLimit-Reset when RateLimit403 is set).
package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Protection is a branch protection rule.
type Protection struct {
	RequiredReviews  int
	RequiredChecks   []string
	SignedCommits    bool
	AllowForcePushes bool
}

// Rule is an active ruleset rule as GET /rules/branches/{branch} lists
// it: Type pull_request, required_status_checks, required_signatures,
// non_fast_forward…
type Rule struct {
	Type string
	// Reviews for pull_request; Checks for required_status_checks.
	Reviews int
	Checks  []string
}

// CheckRun is a check run of a commit.
type CheckRun struct {
	Name, Status, Conclusion string
}

// Repo is a repository.
type Repo struct {
	Owner, Name, DefaultBranch string
	Topics                     []string
	Archived                   bool
	// Branches that exist (DefaultBranch always does).
	Branches []string
	// Files are paths at the default branch: CODEOWNERS, .github/dependabot.yml…
	Files      []string
	Protection map[string]Protection
	Rules      map[string][]Rule
	// Statuses are the states of the commit statuses of a ref
	// (success, pending, failure, error); CheckRuns its check runs.
	Statuses  map[string][]string
	CheckRuns map[string][]CheckRun
	// Alerts are the severities of open Dependabot alerts;
	// AlertsDisabled answers 403 as GitHub does when they are off.
	Alerts         []string
	AlertsDisabled bool
}

// Server is a running fake.
type Server struct {
	URL   string
	Token string
	// PageSize caps per_page (default 100).
	PageSize int
	// RetryAfter is the Retry-After of a throttled answer (default 1 s);
	// RateLimit403 throttles the primary-rate-limit way instead.
	RetryAfter   int
	RateLimit403 bool
	// Classic, when not nil, makes the token a classic one with these
	// scopes (see the package comment).
	Classic []string

	mu       sync.Mutex
	repos    []*Repo
	denied   map[string]bool
	throttle int
	requests []string
}

// Start serves the fake until the test ends; token is the one it accepts.
func Start(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{Token: token, PageSize: 100, RetryAfter: 1, denied: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddRepo adds repositories.
func (s *Server) AddRepo(r ...*Repo) { s.mu.Lock(); s.repos = append(s.repos, r...); s.mu.Unlock() }

// Deny makes calls needing permission answer 403.
func (s *Server) Deny(permission string) { s.mu.Lock(); s.denied[permission] = true; s.mu.Unlock() }

// Throttle makes the next n requests answer rate limited.
func (s *Server) Throttle(n int) { s.mu.Lock(); s.throttle = n; s.mu.Unlock() }

// Requests lists the paths served (with their queries), in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, status int, msg string) {
	write(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RequestURI())
	if s.Classic != nil {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.Classic, ", "))
	}
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.Token && auth != "token "+s.Token {
		message(w, 401, "Bad credentials")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/vnd.github") && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		message(w, 415, "Unsupported Media Type")
		return
	}
	if s.throttle > 0 {
		s.throttle--
		if s.RateLimit403 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(s.RetryAfter)*time.Second).Unix(), 10))
			message(w, 403, "API rate limit exceeded")
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(s.RetryAfter))
		message(w, 429, "You have exceeded a secondary rate limit")
		return
	}
	if r.Method != http.MethodGet {
		message(w, 404, "Not Found")
		return
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(p) == 3 && p[0] == "orgs" && p[2] == "repos" {
		s.orgRepos(w, r, p[1])
		return
	}
	if len(p) < 3 || p[0] != "repos" {
		message(w, 404, "Not Found")
		return
	}
	i := slices.IndexFunc(s.repos, func(x *Repo) bool { return strings.EqualFold(x.Owner, p[1]) && strings.EqualFold(x.Name, p[2]) })
	if i < 0 {
		message(w, 404, "Not Found")
		return
	}
	s.repo(w, r, s.repos[i], p[3:])
}

// need answers 403 when permission is denied.
func (s *Server) need(w http.ResponseWriter, permission string) bool {
	if !s.denied[permission] {
		return true
	}
	if s.Classic != nil {
		w.Header().Set("X-Accepted-OAuth-Scopes", "repo")
		message(w, 404, "Not Found")
		return false
	}
	w.Header().Set("X-Accepted-GitHub-Permissions", permission+"=read")
	message(w, 403, "Resource not accessible by personal access token")
	return false
}

// list writes one page of items with its Link header.
func (s *Server) list(w http.ResponseWriter, r *http.Request, items []any, wrap func([]any) any) {
	q := r.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			message(w, 422, "per_page must be a positive number")
			return
		}
		per = min(n, 100)
	}
	per = min(per, s.PageSize)
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			message(w, 422, "page must be a positive number")
			return
		}
		page = n
	}
	last := max((len(items)+per-1)/per, 1)
	start, end := min((page-1)*per, len(items)), min(page*per, len(items))
	link := func(n int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := append([]any{}, items[start:end]...)
	if wrap != nil {
		write(w, 200, wrap(out))
		return
	}
	write(w, 200, out)
}

func (s *Server) orgRepos(w http.ResponseWriter, r *http.Request, org string) {
	if !s.need(w, "metadata") {
		return
	}
	var items []any
	found := false
	for _, x := range s.repos {
		if strings.EqualFold(x.Owner, org) {
			found = true
			items = append(items, map[string]any{"full_name": x.Owner + "/" + x.Name, "name": x.Name, "archived": x.Archived, "topics": x.Topics, "default_branch": x.DefaultBranch})
		}
	}
	if !found {
		message(w, 404, "Not Found")
		return
	}
	s.list(w, r, items, nil)
}

func (x *Repo) hasBranch(b string) bool {
	return b == x.DefaultBranch || slices.Contains(x.Branches, b)
}

// hasRef: a branch, or a ref the test gave statuses or check runs.
func (x *Repo) hasRef(ref string) bool {
	_, st := x.Statuses[ref]
	_, cr := x.CheckRuns[ref]
	return x.hasBranch(ref) || st || cr
}

func (s *Server) repo(w http.ResponseWriter, r *http.Request, x *Repo, rest []string) {
	if !s.need(w, "metadata") {
		return
	}
	switch {
	case len(rest) == 0:
		write(w, 200, map[string]any{"full_name": x.Owner + "/" + x.Name, "default_branch": x.DefaultBranch, "archived": x.Archived, "topics": x.Topics})
	case len(rest) == 2 && rest[0] == "branches":
		if !x.hasBranch(rest[1]) {
			message(w, 404, "Branch not found")
			return
		}
		write(w, 200, map[string]any{"name": rest[1], "protected": hasKey(x.Protection, rest[1])})
	case len(rest) == 3 && rest[0] == "branches" && rest[2] == "protection":
		if !s.need(w, "administration") {
			return
		}
		if !x.hasBranch(rest[1]) {
			message(w, 404, "Branch not found")
			return
		}
		p, ok := x.Protection[rest[1]]
		if !ok {
			message(w, 404, "Branch not protected")
			return
		}
		out := map[string]any{"allow_force_pushes": map[string]bool{"enabled": p.AllowForcePushes}, "required_signatures": map[string]bool{"enabled": p.SignedCommits}}
		if p.RequiredReviews > 0 {
			out["required_pull_request_reviews"] = map[string]any{"required_approving_review_count": p.RequiredReviews}
		}
		if len(p.RequiredChecks) > 0 {
			var checks []map[string]any
			for _, c := range p.RequiredChecks {
				checks = append(checks, map[string]any{"context": c, "app_id": nil})
			}
			out["required_status_checks"] = map[string]any{"strict": true, "contexts": p.RequiredChecks, "checks": checks}
		}
		write(w, 200, out)
	case len(rest) == 3 && rest[0] == "rules" && rest[1] == "branches":
		var items []any
		for _, rule := range x.Rules[rest[2]] {
			item := map[string]any{"type": rule.Type, "ruleset_source_type": "Repository", "ruleset_id": 1}
			switch rule.Type {
			case "pull_request":
				item["parameters"] = map[string]any{"required_approving_review_count": rule.Reviews}
			case "required_status_checks":
				var checks []map[string]string
				for _, c := range rule.Checks {
					checks = append(checks, map[string]string{"context": c})
				}
				item["parameters"] = map[string]any{"required_status_checks": checks}
			}
			items = append(items, item)
		}
		s.list(w, r, items, nil)
	case len(rest) >= 1 && rest[0] == "contents":
		if !s.need(w, "contents") {
			return
		}
		if ref := r.URL.Query().Get("ref"); ref != "" && !x.hasBranch(ref) {
			message(w, 404, "No commit found for the ref "+ref)
			return
		}
		dir := strings.Join(rest[1:], "/")
		var entries []map[string]string
		seen := map[string]bool{}
		for _, f := range x.Files {
			rel, ok := strings.CutPrefix(f, dir+"/")
			if dir == "" {
				rel, ok = f, true
			}
			if !ok {
				continue
			}
			name, _, sub := strings.Cut(rel, "/")
			path := strings.TrimPrefix(dir+"/"+name, "/")
			if seen[path] {
				continue
			}
			seen[path] = true
			typ := "file"
			if sub {
				typ = "dir"
			}
			entries = append(entries, map[string]string{"name": name, "path": path, "type": typ})
		}
		if dir != "" && len(entries) == 0 {
			message(w, 404, "Not Found")
			return
		}
		write(w, 200, entries)
	case len(rest) == 3 && rest[0] == "commits" && rest[2] == "status":
		if !s.need(w, "statuses") {
			return
		}
		if !x.hasRef(rest[1]) {
			message(w, 422, "No commit found for SHA: "+rest[1])
			return
		}
		states := x.Statuses[rest[1]]
		state := "pending"
		switch {
		case slices.Contains(states, "failure") || slices.Contains(states, "error"):
			state = "failure"
		case len(states) > 0 && !slices.Contains(states, "pending"):
			state = "success"
		}
		var statuses []map[string]string
		for i, st := range states {
			statuses = append(statuses, map[string]string{"state": st, "context": fmt.Sprintf("ci/%d", i)})
		}
		write(w, 200, map[string]any{"state": state, "total_count": len(states), "statuses": statuses, "sha": "0123456789abcdef"})
	case len(rest) == 3 && rest[0] == "commits" && rest[2] == "check-runs":
		if !s.need(w, "checks") {
			return
		}
		if !x.hasRef(rest[1]) {
			message(w, 422, "No commit found for SHA: "+rest[1])
			return
		}
		var items []any
		for _, c := range x.CheckRuns[rest[1]] {
			run := map[string]any{"name": c.Name, "status": c.Status, "conclusion": nil}
			if c.Conclusion != "" {
				run["conclusion"] = c.Conclusion
			}
			items = append(items, run)
		}
		total := len(items)
		s.list(w, r, items, func(page []any) any { return map[string]any{"total_count": total, "check_runs": page} })
	case len(rest) == 2 && rest[0] == "dependabot" && rest[1] == "alerts":
		if !s.need(w, "dependabot_alerts") {
			return
		}
		if x.AlertsDisabled {
			message(w, 403, "Dependabot alerts are disabled for this repository.")
			return
		}
		if st := r.URL.Query().Get("state"); st != "open" {
			message(w, 422, "this fake serves state=open only")
			return
		}
		var items []any
		for i, sev := range x.Alerts {
			items = append(items, map[string]any{"number": i + 1, "state": "open",
				"security_advisory": map[string]any{"severity": sev}, "security_vulnerability": map[string]any{"severity": sev}})
		}
		s.list(w, r, items, nil)
	default:
		message(w, 404, "Not Found")
	}
}

func hasKey(m map[string]Protection, k string) bool { _, ok := m[k]; return ok }
