package plan_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// doc wraps the body of spec (indented by two spaces) in a plan document.
func doc(spec string) string {
	return "apiVersion: shipshape.dev/v1\nkind: ReadinessPlan\nmetadata: {name: test}\nspec:\n" + spec
}

// MustParse parses a plan that must be valid.
func MustParse(tb testing.TB, yaml string, overrides map[string]string) *plan.Plan {
	tb.Helper()
	p, err := plan.Parse("plan.yaml", []byte(yaml), testCatalog(), overrides)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return p
}

// MustTask returns a task of a parsed plan.
func MustTask(tb testing.TB, p *plan.Plan, phase, task string) plan.Task {
	tb.Helper()
	_, t, ok := p.Task(phase, task)
	if !ok {
		tb.Fatalf("plan has no task %s/%s", phase, task)
	}
	return t
}

func equal(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		overrides map[string]string
		check     func(t *testing.T, p *plan.Plan)
	}{
		{
			name: "defaults come from the plan language and the task type",
			yaml: doc(`  phases:
    - name: smoke
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://a/health"}
          gates: [{metric: http.latency, pass: "< 200ms"}]
        - {name: cover, uses: coverage, with: {files: [c.out]}}
        - {name: vet, uses: command, with: {run: go vet ./...}}
    - name: go-live
      needs: [smoke]
      approval: {}
`),
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "scoring", p.Spec.Scoring, plan.Scoring{Pass: 90, Warning: 75})
				equal(t, "concurrency", p.Spec.Concurrency, 4)
				equal(t, "source", p.Source, "plan.yaml")
				health := MustTask(t, p, "smoke", "health")
				equal(t, "health.timeout", health.Timeout.Std(), 30*time.Second)
				equal(t, "health.heartbeat", health.Heartbeat.Std(), time.Duration(0))
				equal(t, "health.retry", health.Retry, plan.Retry{
					MaxAttempts:     2,
					InitialInterval: plan.Duration(time.Second),
					MaxInterval:     plan.Duration(time.Minute),
					Backoff:         2,
				})
				equal(t, "health.with", health.With, map[string]any{
					"url":             "http://a/health",
					"method":          "GET",
					"expectStatus":    float64(200),
					"timeout":         "10s",
					"maxBody":         "1MiB",
					"followRedirects": true,
				})
				equal(t, "health.gates", health.Gates, []plan.Gate{{
					Metric: "http.latency",
					Pass:   plan.Threshold{Op: "<", Value: 0.2, Text: "< 200ms"},
					Weight: 1,
				}})
				cover := MustTask(t, p, "smoke", "cover")
				equal(t, "cover.timeout", cover.Timeout.Std(), 10*time.Minute)
				equal(t, "cover.retry.maxAttempts", cover.Retry.MaxAttempts, 3)
				equal(t, "cover.with.exclude", cover.With["exclude"], []any{"*_test.go"})
				vet := MustTask(t, p, "smoke", "vet")
				equal(t, "vet.heartbeat", vet.Heartbeat.Std(), 30*time.Second)
				equal(t, "vet.retry.maxAttempts", vet.Retry.MaxAttempts, 1)
				equal(t, "go-live approval", p.Spec.Phases[1].Approval, &plan.Approval{Required: true, Timeout: plan.Duration(24 * time.Hour)})
			},
		},
		{
			name: "values in the plan win over defaults",
			yaml: doc(`  scoring: {pass: 95, warning: 50.5}
  concurrency: 16
  phases:
    - name: smoke
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://a/", method: POST, expectStatus: 201, followRedirects: false}
          timeout: 2m
          heartbeat: 5s
          retry: {maxAttempts: 10, initialInterval: 500ms, maxInterval: 5m, backoff: 1.5}
          gates: [{metric: http.status, pass: "== 201", warning: "< 500", weight: 2.5, key: true}]
    - name: go-live
      approval: {required: false, timeout: 90m}
`),
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "scoring", p.Spec.Scoring, plan.Scoring{Pass: 95, Warning: 50.5})
				equal(t, "concurrency", p.Spec.Concurrency, 16)
				health := MustTask(t, p, "smoke", "health")
				equal(t, "method", health.With["method"], "POST")
				equal(t, "expectStatus", health.With["expectStatus"], float64(201))
				equal(t, "followRedirects", health.With["followRedirects"], false)
				equal(t, "timeout", health.Timeout.Std(), 2*time.Minute)
				equal(t, "heartbeat", health.Heartbeat.Std(), 5*time.Second)
				equal(t, "retry", health.Retry, plan.Retry{
					MaxAttempts:     10,
					InitialInterval: plan.Duration(500 * time.Millisecond),
					MaxInterval:     plan.Duration(5 * time.Minute),
					Backoff:         1.5,
				})
				equal(t, "gate", health.Gates[0], plan.Gate{
					Metric:  "http.status",
					Pass:    plan.Threshold{Op: "==", Value: 201, Text: "== 201"},
					Warning: &plan.Threshold{Op: "<", Value: 500, Text: "< 500"},
					Weight:  2.5,
					Key:     true,
				})
				equal(t, "approval", p.Spec.Phases[1].Approval, &plan.Approval{Required: false, Timeout: plan.Duration(90 * time.Minute)})
			},
		},
		{
			name: "vars resolve in every string under phases, at any depth",
			yaml: doc(`  vars: {host: shop.internal, p95: 300ms, budget: 5m, env: prod}
  phases:
    - name: load
      tasks:
        - name: checkout
          uses: load-test
          with:
            duration: ${vars.budget}
            targets:
              - url: https://${vars.host}/cart
                headers: {X-Env: "${vars.env}-${vars.env}", "X-${vars.env}": "1"}
          timeout: ${vars.budget}
          gates: [{metric: load.latency.p95, pass: "< ${vars.p95}"}]
`),
			check: func(t *testing.T, p *plan.Plan) {
				task := MustTask(t, p, "load", "checkout")
				equal(t, "duration", task.With["duration"], "5m")
				target := task.With["targets"].([]any)[0].(map[string]any)
				equal(t, "target url", target["url"], "https://shop.internal/cart")
				equal(t, "target headers", target["headers"], map[string]any{"X-Env": "prod-prod", "X-prod": "1"})
				equal(t, "timeout", task.Timeout.Std(), 5*time.Minute)
				equal(t, "pass", task.Gates[0].Pass, plan.Threshold{Op: "<", Value: 0.3, Text: "< 300ms"})
				equal(t, "vars", p.Spec.Vars, map[string]string{"host": "shop.internal", "p95": "300ms", "budget": "5m", "env": "prod"})
			},
		},
		{
			name:      "overrides replace declared vars",
			overrides: map[string]string{"baseURL": "https://staging.example.com"},
			yaml: doc(`  vars: {baseURL: "http://127.0.0.1:8080", other: x}
  phases:
    - name: smoke
      tasks: [{name: health, uses: http-check, with: {url: "${vars.baseURL}/health"}}]
`),
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "url", MustTask(t, p, "smoke", "health").With["url"], "https://staging.example.com/health")
				equal(t, "vars", p.Spec.Vars, map[string]string{"baseURL": "https://staging.example.com", "other": "x"})
			},
		},
		{
			name: "vars are substituted before types are checked",
			yaml: doc(`  vars: {code: 503, rate: "25", follow: "false", share: 0.5}
  phases:
    - name: smoke
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://a/", expectStatus: "${vars.code}", followRedirects: "${vars.follow}"}
        - name: load
          uses: load-test
          with: {duration: 1m, rate: "${vars.rate}", targets: [{url: "http://a/", weight: "${vars.share}"}]}
`),
			check: func(t *testing.T, p *plan.Plan) {
				health := MustTask(t, p, "smoke", "health")
				equal(t, "expectStatus", health.With["expectStatus"], float64(503))
				equal(t, "followRedirects", health.With["followRedirects"], false)
				load := MustTask(t, p, "smoke", "load")
				equal(t, "rate", load.With["rate"], float64(25))
				equal(t, "weight", load.With["targets"].([]any)[0].(map[string]any)["weight"], 0.5)
			},
		},
		{
			name: "$${ is a literal ${ and a lone $ stays",
			yaml: doc(`  vars: {greeting: "a $${b} c"}
  phases:
    - name: build
      tasks: [{name: echo, uses: command, with: {run: "echo $${HOME} $$ $PATH ${vars.greeting}"}}]
`),
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "run", MustTask(t, p, "build", "echo").With["run"], "echo ${HOME} $$ $PATH a ${b} c")
			},
		},
		{
			name: "values are normalised to JSON types, sizes and durations kept as text",
			yaml: doc(`  phases:
    - name: load
      tasks:
        - name: all
          uses: load-test
          with:
            duration: 1h30m
            rate: 1_000
            auth: {type: basic, secretRef: "local://pw"}
            targets:
              - {url: "http://a/", method: POST, weight: 3, headers: {N: 1, B: true}}
        - name: http
          uses: http-check
          with: {url: 8080, maxBody: " 1.5 KB ", requireHeaders: [A, 2], minTLS: 1.3, expectStatus: 2e2}
`),
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "load with", MustTask(t, p, "load", "all").With, map[string]any{
					"duration": "1h30m",
					"rate":     float64(1000),
					"auth":     map[string]any{"type": "basic", "secretRef": "local://pw", "header": "Authorization"},
					"targets": []any{map[string]any{
						"url": "http://a/", "method": "POST", "weight": float64(3),
						"headers": map[string]any{"N": "1", "B": "true"},
					}},
				})
				equal(t, "http with", MustTask(t, p, "load", "http").With, map[string]any{
					"url": "8080", "maxBody": "1.5 KB", "requireHeaders": []any{"A", "2"}, "minTLS": 1.3,
					"expectStatus": float64(200), "method": "GET", "timeout": "10s", "followRedirects": true,
				})
			},
		},
		{
			name: "manual task types are valid uses",
			yaml: doc(`  phases:
    - name: sign-off
      tasks: [{name: review, uses: checklist, with: {items: [notes written]}}]
`),
			check: func(t *testing.T, p *plan.Plan) {
				review := MustTask(t, p, "sign-off", "review")
				equal(t, "timeout", review.Timeout.Std(), 24*time.Hour)
				equal(t, "with", review.With, map[string]any{"items": []any{"notes written"}, "timeout": "24h"})
			},
		},
		{
			name: "metric patterns and units",
			yaml: doc(`  phases:
    - name: checks
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://a/"}
          gates:
            - {metric: http.status.503, pass: "== 0"}
            - {metric: http.body_size, pass: "<= 10MiB"}
        - name: script
          uses: command
          with: {run: ./bench.sh}
          gates:
            - {metric: bench.p99, pass: "< 2s"}
            - {metric: bench.hit_ratio, pass: ">= 95%"}
        - name: cover
          uses: coverage
          with: {files: [c.out]}
          gates: [{metric: coverage.package.api, pass: ">= 70"}]
`),
			check: func(t *testing.T, p *plan.Plan) {
				health := MustTask(t, p, "checks", "health")
				equal(t, "status", health.Gates[0].Pass.Value, 0.0)
				equal(t, "body", health.Gates[1].Pass.Value, float64(10<<20))
				script := MustTask(t, p, "checks", "script")
				equal(t, "p99", script.Gates[0].Pass.Value, 2.0)
				equal(t, "hit ratio", script.Gates[1].Pass.Value, 0.95)
				cover := MustTask(t, p, "checks", "cover")
				if !cover.Gates[0].Pass.Holds(7.0 / 10) {
					t.Errorf("coverage of 7/10 does not meet %q (value %v)", cover.Gates[0].Pass.Text, cover.Gates[0].Pass.Value)
				}
			},
		},
		{
			name: "a field written as null counts as left out",
			yaml: doc(`  vars:
  scoring:
  phases:
    - name: smoke
      needs:
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://a/", method: ~, timeout: null}
          timeout:
          retry:
          gates:
`),
			check: func(t *testing.T, p *plan.Plan) {
				health := MustTask(t, p, "smoke", "health")
				equal(t, "method", health.With["method"], "GET")
				equal(t, "with timeout", health.With["timeout"], "10s")
				equal(t, "timeout", health.Timeout.Std(), 30*time.Second)
				equal(t, "gates", health.Gates, []plan.Gate(nil))
				equal(t, "vars", p.Spec.Vars, map[string]string(nil))
			},
		},
		{
			name: "aliases are followed",
			yaml: doc(`  phases:
    - name: smoke
      tasks:
        - name: a
          uses: http-check
          with: &with {url: "http://a/"}
          gates: &gates [{metric: http.latency, pass: "< 1s"}]
        - {name: b, uses: http-check, with: *with, gates: *gates}
`),
			check: func(t *testing.T, p *plan.Plan) {
				a, b := MustTask(t, p, "smoke", "a"), MustTask(t, p, "smoke", "b")
				equal(t, "b.with", b.With, a.With)
				equal(t, "b.gates", b.Gates, a.Gates)
			},
		},
		{
			name: "a string anchored outside phases is resolved where it is used",
			yaml: `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: test, labels: {url: &url "http://${vars.host}/$${y}"}}
spec:
  vars: {host: x}
  phases:
    - name: p
      tasks:
        - {name: a, uses: http-check, with: {url: *url}}
        - {name: b, uses: http-check, with: {url: *url}}
`,
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "a.url", MustTask(t, p, "p", "a").With["url"], "http://x/${y}")
				equal(t, "b.url", MustTask(t, p, "p", "b").With["url"], "http://x/${y}")
			},
		},
		{
			name: "strings keep their text",
			yaml: `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: "007", labels: {version: 1.10, tier: 1, on: yes}}
spec:
  phases: [{name: p, tasks: [{name: t, uses: http-check, with: {url: 0x10}}]}]
`,
			check: func(t *testing.T, p *plan.Plan) {
				equal(t, "name", p.Metadata.Name, "007")
				equal(t, "labels", p.Metadata.Labels, map[string]string{"version": "1.10", "tier": "1", "on": "yes"})
				equal(t, "url", MustTask(t, p, "p", "t").With["url"], "0x10")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MustParse(t, tt.yaml, tt.overrides)
			tt.check(t, p)

			// The plan is the workflow's input: it must come through
			// Temporal's JSON payload converter unchanged.
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var back plan.Plan
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			equal(t, "plan after a JSON round trip", &back, p)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		overrides map[string]string
		want      []string
	}{
		{
			name: "empty input",
			yaml: "",
			want: []string{"plan.yaml: empty document: a plan starts with apiVersion: shipshape.dev/v1 and kind: ReadinessPlan"},
		},
		{
			name: "a document that is only null",
			yaml: "~\n",
			want: []string{"plan.yaml: empty document: a plan starts with apiVersion: shipshape.dev/v1 and kind: ReadinessPlan"},
		},
		{
			name: "a root that is not a mapping",
			yaml: "- apiVersion: shipshape.dev/v1\n",
			want: []string{"plan.yaml:1:1: a plan must be a mapping with apiVersion, kind, metadata and spec, got a list"},
		},
		{
			name: "required top-level fields",
			yaml: "apiVersion: shipshape.dev/v1\nmetadata: {}\n",
			want: []string{
				"plan.yaml:1:1: kind: required",
				"plan.yaml:1:1: spec: required",
				"plan.yaml:2:11: metadata.name: required",
			},
		},
		{
			name: "phases required and not empty",
			yaml: doc("  phases: []\n"),
			want: []string{"plan.yaml:5:11: phases: at least one phase is required"},
		},
		{
			name:      "overrides need declared vars",
			overrides: map[string]string{"x": "1"},
			yaml:      doc("  phases: [{name: p, approval: {}}]\n"),
			want:      []string{"plan.yaml: vars.x: set with --set, but the plan declares no vars"},
		},
		{
			name: "a broken var is reported once, not at every reference",
			yaml: doc(`  vars: {list: [a], "bad name": x}
  phases:
    - name: p
      tasks: [{name: t, uses: http-check, with: {url: "${vars.list}"}}]
`),
			want: []string{
				"plan.yaml:5:16: vars.list: must be a string, number or boolean, got a list",
				"plan.yaml:5:21: vars.bad name: invalid var name \"bad name\": use letters, digits, _ and -, starting with a letter or _",
			},
		},
		{
			name: "vars that are not a mapping hide no reference errors",
			yaml: doc(`  vars: [a]
  phases:
    - name: p
      tasks: [{name: t, uses: http-check, with: {url: "${vars.a}", expectStatus: "${vars.b}"}}]
`),
			want: []string{"plan.yaml:5:9: vars: must be a mapping of var names to values, got a list"},
		},
		{
			name: "an unknown reference is not also a wrong type",
			yaml: doc(`  phases:
    - name: p
      tasks: [{name: t, uses: http-check, with: {url: "http://a/", expectStatus: "${env.CODE}"}}]
`),
			want: []string{`plan.yaml:7:82: phases[0].tasks[0].with.expectStatus: unknown reference "${env.CODE}": write ${vars.NAME}, or $${ for a literal ${`},
		},
		{
			name: "numbers must be finite and in range",
			yaml: doc(`  scoring: {pass: 120, warning: .nan}
  concurrency: 2.5
  phases:
    - name: p
      tasks:
        - name: t
          uses: http-check
          with: {url: "http://a/", minTLS: .inf}
          gates: [{metric: http.body_size, pass: "< 1e308TB", weight: -1}]
`),
			want: []string{
				"plan.yaml:5:19: scoring.pass: must be from 0 to 100, got 120",
				`plan.yaml:5:33: scoring.warning: must be a number, got ".nan"`,
				`plan.yaml:6:16: concurrency: must be an int, got "2.5"`,
				`plan.yaml:12:44: phases[0].tasks[0].with.minTLS: must be a number, got ".inf"`,
				`plan.yaml:13:50: phases[0].tasks[0].gates[0].pass: threshold "< 1e308TB" is out of range`,
				"plan.yaml:13:71: phases[0].tasks[0].gates[0].weight: must be more than 0, got -1",
			},
		},
		{
			name: "weights are bounded, so that scores stay finite",
			yaml: doc(`  phases:
    - name: p
      tasks:
        - name: t
          uses: http-check
          with: {url: "http://a/"}
          gates:
            - {metric: http.status, pass: "== 200", weight: 1e307}
            - {metric: http.status, pass: "== 200", weight: 1000.5}
            - {metric: http.status, pass: "== 200", weight: 1000}
`),
			want: []string{
				"plan.yaml:12:61: phases[0].tasks[0].gates[0].weight: must be at most 1000, got 1e+307",
				"plan.yaml:13:61: phases[0].tasks[0].gates[1].weight: must be at most 1000, got 1000.5",
			},
		},
		{
			name: "thresholds that can never hold",
			yaml: doc(`  phases:
    - name: p
      tasks:
        - name: t
          uses: http-check
          with: {url: "http://a/"}
          gates:
            - {metric: http.latency, pass: "< -5s"}
            - {metric: http.latency, pass: "< 0s", warning: "<= -1ms"}
            - {metric: http.body_size, pass: "== -1KB"}
            - {metric: http.status, pass: "< 0"}
            - {metric: http.latency, pass: "<= 0s", warning: "> -1s"}
            - {metric: http.status, pass: "!= -1"}
        - name: c
          uses: coverage
          with: {files: [c.out]}
          gates:
            - {metric: coverage.statements, pass: "> 100%"}
            - {metric: coverage.statements, pass: ">= 101", warning: "== 120%"}
            - {metric: coverage.statements, pass: "< 0%"}
            - {metric: coverage.statements, pass: ">= 100%", warning: "<= 0%"}
`),
			want: []string{
				`plan.yaml:12:44: phases[0].tasks[0].gates[0].pass: threshold "< -5s" can never hold: a duration is never below 0s`,
				`plan.yaml:13:44: phases[0].tasks[0].gates[1].pass: threshold "< 0s" can never hold: a duration is never below 0s`,
				`plan.yaml:13:61: phases[0].tasks[0].gates[1].warning: threshold "<= -1ms" can never hold: a duration is never below 0s`,
				`plan.yaml:14:46: phases[0].tasks[0].gates[2].pass: threshold "== -1KB" can never hold: a size is never below 0 bytes`,
				`plan.yaml:15:43: phases[0].tasks[0].gates[3].pass: threshold "< 0" can never hold: a count is never below 0`,
				`plan.yaml:22:51: phases[0].tasks[1].gates[0].pass: threshold "> 100%" can never hold: a ratio is from 0 to 100%`,
				`plan.yaml:23:51: phases[0].tasks[1].gates[1].pass: threshold ">= 101" can never hold: a ratio is from 0 to 100%`,
				`plan.yaml:23:70: phases[0].tasks[1].gates[1].warning: threshold "== 120%" can never hold: a ratio is from 0 to 100%`,
				`plan.yaml:24:51: phases[0].tasks[1].gates[2].pass: threshold "< 0%" can never hold: a ratio is from 0 to 100%`,
			},
		},
		{
			name: "durations, sizes and retry intervals",
			yaml: doc(`  phases:
    - name: p
      tasks:
        - name: t
          uses: http-check
          with: {url: "http://a/", maxBody: 1.5B, timeout: 1d}
          heartbeat: -1s
          retry: {initialInterval: 10s, maxInterval: 5s}
`),
			want: []string{
				`plan.yaml:10:45: phases[0].tasks[0].with.maxBody: size "1.5B" is not a whole number of bytes`,
				`plan.yaml:10:60: phases[0].tasks[0].with.timeout: must be a duration with a unit (ns, us, ms, s, m, h) such as 30s or 5m, got "1d"`,
				`plan.yaml:11:22: phases[0].tasks[0].heartbeat: must not be negative, got "-1s"`,
				"plan.yaml:12:54: phases[0].tasks[0].retry.maxInterval: must not be shorter than initialInterval (10s)",
			},
		},
		{
			name: "keys are strings and unique",
			yaml: doc(`  phases:
    - name: p
      name: q
      tasks:
        - name: t
          uses: http-check
          with:
            url: "http://a/"
            ? [x]
            : y
`),
			want: []string{
				`plan.yaml:7:7: phases[0]: duplicate key "name" (first at line 6)`,
				"plan.yaml:13:15: phases[0].tasks[0].with: a key must be a string, got a list",
			},
		},
		{
			name: "an alias inside the node it names",
			yaml: doc(`  phases: &phases
    - name: p
      needs: *phases
      approval: {}
`),
			want: []string{"plan.yaml:7:14: alias *phases refers to a node that contains it"},
		},
		{
			name: "aliases that expand without bound",
			yaml: laughs(7),
			// At the first alias that alone expands beyond the bound.
			want: []string{"plan.yaml:13:12: aliases expand the plan to more than 1000000 nodes"},
		},
		{
			name: "invalid UTF-8, at its first invalid byte",
			yaml: doc("  phases:\n    - name: p\n      approval: {approvers: [\"r\xc3\xa9mi\", \"z\xc3\"]}\n"),
			want: []string{"plan.yaml:7:40: invalid YAML: invalid trailing UTF-8 octet"},
		},
		{
			name: "invalid UTF-8 in a comment",
			yaml: doc("  phases: [{name: p, approval: {}}] # \xff\n"),
			want: []string{"plan.yaml:5:39: invalid YAML: invalid leading UTF-8 octet"},
		},
		{
			name: "a control character",
			yaml: doc("  phases: [{name: p, approval: {}}]\n  # \x01\n"),
			want: []string{"plan.yaml:6:5: invalid YAML: control characters are not allowed"},
		},
		{
			name: "a large var referenced many times",
			yaml: varBomb(100_000, 200),
			want: []string{`plan.yaml:116:17: phases[0].tasks[0].with.files[103]: var "b" (100000 bytes) is referenced so often that the plan grows beyond 10 MiB with its vars (the larger of 10 MiB and 10 times the file): refer to large values fewer times`},
		},
		{
			name: "aliases of a large var",
			yaml: doc(`  vars: {b: "` + strings.Repeat("x", 100_000) + `"}
  phases:
    - name: p
      tasks:
        - name: t
          uses: coverage
          with:
            files: [&b "${vars.b}"]
            exclude: [` + strings.TrimSuffix(strings.Repeat("*b, ", 200), ", ") + `]
`),
			want: []string{`plan.yaml:13:23: phases: aliases repeat values so often that the plan grows beyond 10 MiB with its vars (the larger of 10 MiB and 10 times the file)`},
		},
		{
			name: "a phase with more tasks than its history can hold",
			yaml: manyTasks(5001),
			want: []string{"plan.yaml:8:9: phases[0].tasks: a phase may have at most 5000 tasks, got 5001: each task adds about 5 events to its phase's history, which Temporal ends at 51,200; split the tasks into several phases"},
		},
		{
			name: "a plan too large to start a run with",
			yaml: doc(`  phases:
    - name: p
      tasks:
        - {name: a, uses: command, with: {run: "echo ` + strings.Repeat("x", 800_000) + `"}}
        - {name: b, uses: command, with: {run: "echo ` + strings.Repeat("y", 800_000) + `"}}
`),
			want: []string{"plan.yaml:5:3: phases: the plan is 1600540 bytes as JSON, more than the 1572864 (1.5 MiB) a run can carry (Temporal refuses a workflow input above 2 MB): split it into several plans, or make it smaller"},
		},
		{
			name: "a second document",
			yaml: doc("  phases: [{name: p, approval: {}}]\n") + "---\nspec: {}\n",
			want: []string{"plan.yaml:7:1: a plan file holds one YAML document; this is a second one"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Parse("plan.yaml", []byte(tt.yaml), testCatalog(), tt.overrides)
			if err == nil {
				t.Fatalf("Parse accepted an invalid plan: %+v", p)
			}
			var errs plan.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse returned %T, want plan.Errors", err)
			}
			if p != nil {
				t.Errorf("Parse returned a plan with its errors")
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadReadsTheFile(t *testing.T) {
	p, err := plan.Load("testdata/valid/release.yaml", testCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "source", p.Source, "testdata/valid/release.yaml")
	if _, err := plan.Load("testdata/valid/missing.yaml", testCatalog(), nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestParseSets(t *testing.T) {
	tests := []struct {
		name    string
		sets    []string
		want    map[string]string
		wantErr string
	}{
		{name: "none", sets: nil, want: map[string]string{}},
		{
			name: "values may hold = and be empty; the last one wins",
			sets: []string{"vars.url=http://a/?x=1", "vars.empty=", "vars.n=1", "vars.n=2"},
			want: map[string]string{"url": "http://a/?x=1", "empty": "", "n": "2"},
		},
		{name: "not a var", sets: []string{"spec.concurrency=2"}, wantErr: `--set "spec.concurrency=2": want vars.NAME=value`},
		{name: "no value", sets: []string{"vars.x"}, wantErr: `--set "vars.x": want vars.NAME=value`},
		{name: "bad name", sets: []string{"vars.a b=1"}, wantErr: `--set "vars.a b=1": invalid var name "a b": use letters, digits, _ and -, starting with a letter or _`},
		{
			name:    "every bad argument is named",
			sets:    []string{"x=1", "vars.ok=1", "vars.=2"},
			wantErr: "--set \"x=1\": want vars.NAME=value\n--set \"vars.=2\": invalid var name \"\": use letters, digits, _ and -, starting with a letter or _",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := plan.ParseSets(tt.sets)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "overrides", got, tt.want)
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "512", want: 512},
		{in: "512B", want: 512},
		{in: "1KB", want: 1000},
		{in: "1.1KB", want: 1100},
		{in: "10 MiB", want: 10 << 20},
		{in: " 2GiB ", want: 2 << 30},
		{in: "1.5GB", want: 1_500_000_000},
		{in: "3TB", want: 3e12},
		{in: "1TiB", want: 1 << 40},
		{in: "", wantErr: `size "" must start with a number, as in 512KB or 10MiB`},
		{in: "MiB", wantErr: `size "MiB" must start with a number, as in 512KB or 10MiB`},
		{in: "10mb", wantErr: `size "10mb": unknown unit "mb" (want B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`},
		{in: "-1KB", wantErr: `size "-1KB" must not be negative`},
		{in: "0.5B", wantErr: `size "0.5B" is not a whole number of bytes`},
		{in: "1.2.3KB", wantErr: `size "1.2.3KB": "1.2.3" is not a number`},
		{in: "9999999TiB", wantErr: `size "9999999TiB" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := plan.ParseBytes(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseBytes(%q) error = %v, want %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

// A ratio threshold must equal the ratio a task computes for the same
// percentage, or a coverage of exactly 70 % would miss ">= 70".
func TestRatioThresholdsAreExact(t *testing.T) {
	for pct := 0; pct <= 100; pct++ {
		th, err := plan.ParseThreshold(">= "+strconv.Itoa(pct), plan.UnitRatio)
		if err != nil {
			t.Fatal(err)
		}
		if !th.Holds(float64(pct) / 100) {
			t.Errorf("%q does not hold for %d/100 (value %v)", th.Text, pct, th.Value)
		}
	}
}

// laughs returns a plan whose aliases nest levels deep, ten to a level: a
// few hundred bytes that expand to 10^levels nodes.
func laughs(levels int) string {
	var b strings.Builder
	b.WriteString(doc("  phases: [{name: p, approval: {}}]\n"))
	b.WriteString("x:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		ref := "*l" + strconv.Itoa(i-1)
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(ref+", ", 10), ", "))
	}
	return b.String()
}

// varBomb returns a plan with a var of size bytes that a list refers to
// refs times.
func varBomb(size, refs int) string {
	var b strings.Builder
	b.WriteString(doc("  vars: {b: \"" + strings.Repeat("x", size) + "\"}\n"))
	b.WriteString("  phases:\n    - name: p\n      tasks:\n        - name: t\n          uses: coverage\n          with:\n            files:\n")
	for range refs {
		b.WriteString("              - ${vars.b}\n")
	}
	return b.String()
}

// manyTasks returns a plan of one phase of n tasks.
func manyTasks(n int) string {
	var b strings.Builder
	b.WriteString(doc("  phases:\n    - name: p\n      tasks:\n"))
	for i := range n {
		fmt.Fprintf(&b, "        - {name: t%d, uses: command, with: {run: \"true\"}}\n", i)
	}
	return b.String()
}
