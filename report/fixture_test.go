package report_test

import (
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// at is a moment of the fixture run: minutes and seconds after 09:00 UTC.
func at(min, sec int) time.Time {
	return time.Date(2026, 5, 4, 9, min, sec, 0, time.UTC)
}

func value(v float64) *float64 { return &v }

// MustFixture returns a finished run of a checkout service's plan that has
// something of every kind a report shows: gates that pass, warn and fail, key
// gates, a task that errored without gates and one that errored with them,
// an approved and a rejected (timed out) approval, phases skipped because a
// need blocked them (their tasks' gates not run, as the workflow skips them),
// tables, an output tail full of backticks, and artifacts. Its score, result
// and error come from plan.Score, as the workflow's do.
func MustFixture(tb testing.TB) *plan.RunResult {
	tb.Helper()
	r := &plan.RunResult{
		Plan:       "checkout-api",
		RunID:      "checkout-api-20260504-090000-7f3a",
		Labels:     map[string]string{"team": "payments", "env": "staging"},
		Scoring:    plan.Scoring{Pass: 90, Warning: 75},
		StartedAt:  at(0, 0),
		FinishedAt: at(28, 0),
		Phases: []plan.PhaseResult{
			{
				Name:       "build",
				Status:     plan.StatusPass,
				StartedAt:  at(0, 0),
				FinishedAt: at(1, 3),
				Tasks: []plan.TaskResult{
					{
						Name:       "unit-tests",
						Uses:       "command",
						Status:     plan.StatusPass,
						Attempts:   1,
						StartedAt:  at(0, 0),
						FinishedAt: at(0, 58),
						Metrics: map[string]float64{
							"command.exit_code": 0,
							"command.duration":  48.25,
							"tests.passed":      412,
							"tests.failed":      0,
						},
						Gates: []plan.GateResult{
							{Metric: "tests.failed", Value: value(0), Pass: "== 0", Status: plan.StatusPass, Weight: 1, Key: true},
						},
						Output: "ok  \tcheckout/cart\t1.2s\nok  \tcheckout/payment\t3.4s\n",
					},
					{
						Name:       "coverage",
						Uses:       "coverage",
						Status:     plan.StatusPass,
						Attempts:   1,
						StartedAt:  at(0, 58),
						FinishedAt: at(0, 59),
						Metrics:    map[string]float64{"coverage.statements": 0.8734, "coverage.files": 57},
						Gates: []plan.GateResult{
							{Metric: "coverage.statements", Value: value(0.8734), Pass: ">= 80%", Warning: ">= 70%", Status: plan.StatusPass, Weight: 2},
						},
						Tables: []plan.Table{{
							Title:   "Coverage by package",
							Columns: []string{"Package", "Coverage"},
							Rows: [][]string{
								{"checkout/cart", "91.2%"},
								{"checkout/pay|ment", "78.0%"},
								{"checkout/internal/legacy"},
							},
						}},
						Artifacts: []plan.Artifact{
							{Name: "coverage.html", Path: "artifacts/build/coverage/coverage.html", MediaType: "text/html"},
							{Name: "profile (raw)", Path: "artifacts/build/coverage/cover profile.out", MediaType: "text/plain"},
						},
					},
					{
						Name:       "image",
						Uses:       "command",
						Status:     plan.StatusPass,
						Attempts:   1,
						StartedAt:  at(0, 59),
						FinishedAt: at(1, 3),
						Metrics:    map[string]float64{"command.exit_code": 0, "command.duration": 3.9, "image.size": 187_000_000},
						Gates: []plan.GateResult{
							{Metric: "image.size", Value: value(187_000_000), Pass: "<= 250MiB", Status: plan.StatusPass, Weight: 1},
						},
					},
				},
			},
			{
				Name:       "smoke",
				Status:     plan.StatusError,
				Needs:      []string{"build"},
				StartedAt:  at(1, 3),
				FinishedAt: at(11, 48),
				Tasks: []plan.TaskResult{
					{
						Name:       "health",
						Uses:       "http-check",
						Status:     plan.StatusFail,
						Attempts:   1,
						StartedAt:  at(1, 3),
						FinishedAt: at(1, 4),
						Metrics: map[string]float64{
							"http.status":     200,
							"http.latency":    0.183,
							"http.bytes":      5120,
							"headers.missing": 1,
							"tls.days_left":   41.5,
						},
						Gates: []plan.GateResult{
							{Metric: "http.status", Value: value(200), Pass: "== 200", Status: plan.StatusPass, Weight: 1},
							{Metric: "http.latency", Value: value(0.183), Pass: "< 150ms", Warning: "< 250ms", Status: plan.StatusWarning, Weight: 1},
							{Metric: "headers.missing", Value: value(1), Pass: "== 0", Status: plan.StatusFail, Weight: 1},
						},
						Output: "missing headers: Strict-Transport-Security\n",
					},
					{
						Name:       "load",
						Uses:       "command",
						Status:     plan.StatusFail,
						Attempts:   1,
						StartedAt:  at(1, 3),
						FinishedAt: at(1, 45),
						Metrics: map[string]float64{
							"command.exit_code": 0,
							"command.duration":  41.7,
							"http.latency.p50":  0.121,
							"http.latency.p95":  0.612,
							"http.errors.rate":  0.004,
							"http.requests":     1200,
						},
						Gates: []plan.GateResult{
							{Metric: "http.latency.p95", Value: value(0.612), Pass: "< 200ms", Warning: "< 500ms", Status: plan.StatusFail, Weight: 2},
							{Metric: "http.errors.rate", Value: value(0.004), Pass: "< 1%", Status: plan.StatusPass, Weight: 1},
						},
					},
					{
						Name:       "migrate",
						Uses:       "command",
						Status:     plan.StatusError,
						Error:      `exit status 1: relation "orders" already exists`,
						Attempts:   3,
						StartedAt:  at(1, 3),
						FinishedAt: at(1, 40),
						Metrics:    map[string]float64{"command.exit_code": 1, "command.duration": 2.4},
						Gates:      []plan.GateResult{},
						Output: "Applying `0042_orders.sql`\n" +
							"```sql\nCREATE TABLE orders (id bigint);\n```\n" +
							"ERROR: relation \"orders\" already exists <orders> & co\n",
					},
					{
						Name:       "restore-drill",
						Uses:       "command",
						Status:     plan.StatusError,
						Error:      "restore timed out after 10m0s\nlast step: pg_restore --jobs 4",
						Attempts:   1,
						StartedAt:  at(1, 45),
						FinishedAt: at(11, 48),
						Metrics:    map[string]float64{},
						Gates: plan.FailGates([]plan.Gate{
							{Metric: "restore.rto", Pass: plan.Threshold{Op: "<", Value: 900, Text: "< 15m"}, Weight: 3, Key: true},
						}, "task failed: restore timed out after 10m0s"),
					},
				},
			},
			{
				Name:       "staging-approval",
				Status:     plan.StatusApproved,
				Needs:      []string{"build"},
				StartedAt:  at(1, 3),
				FinishedAt: at(8, 0),
				Approval: &plan.ApprovalResult{
					Decision: plan.StatusApproved,
					By:       "alice",
					Reason:   "smoke failures are known flakes, see INC-123",
					At:       at(8, 0),
				},
				Tasks: []plan.TaskResult{},
			},
			{
				Name:   "perf",
				Status: plan.StatusSkipped,
				Needs:  []string{"smoke"},
				Reason: "skipped: task smoke/migrate ended error",
				Tasks: []plan.TaskResult{{
					Name:    "soak",
					Uses:    "command",
					Status:  plan.StatusSkipped,
					Metrics: map[string]float64{},
					Gates: plan.SkipGates([]plan.Gate{
						{Metric: "http.latency.p95", Pass: plan.Threshold{Op: "<", Value: 0.3, Text: "< 300ms"}, Weight: 1},
					}, "skipped: task smoke/migrate ended error"),
				}},
			},
			{
				Name:       "prod-approval",
				Status:     plan.StatusRejected,
				Needs:      []string{"staging-approval"},
				StartedAt:  at(8, 0),
				FinishedAt: at(28, 0),
				Reason:     "rejected: no decision within 20m0s",
				Approval: &plan.ApprovalResult{
					Decision: plan.StatusRejected,
					Reason:   "no decision within 20m0s",
					At:       at(28, 0),
					TimedOut: true,
				},
				Tasks: []plan.TaskResult{},
			},
			{
				Name:   "canary",
				Status: plan.StatusSkipped,
				Needs:  []string{"prod-approval"},
				Reason: "skipped: phase prod-approval was rejected",
				Tasks: []plan.TaskResult{
					{Name: "rollout", Uses: "command", Status: plan.StatusSkipped, Metrics: map[string]float64{}, Gates: []plan.GateResult{}},
				},
			},
		},
	}
	r.Score, r.Result, r.Error = plan.Score(r)
	r.NotRun = plan.NotRun(r)
	return r
}
