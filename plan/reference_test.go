package plan_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

// TestReference compares the reference generated from the fixture catalog
// with testdata/reference.md, and checks what a reader relies on.
func TestReference(t *testing.T) {
	catalog := testCatalog()
	ref := plan.Reference(catalog)
	checkGolden(t, "testdata/reference.md", []byte(ref))

	if again := plan.Reference(testCatalog()); again != ref {
		t.Error("Reference is not deterministic")
	}
	for _, want := range []string{
		// Every field of the document, with its default.
		"| `concurrency` | int | no | `4` |",
		"| `timeout` | duration | no | `24h` |",
		"| `maxAttempts` | int | no | the task type's, else `3` |",
		"| `gatez`", // must not appear: checked below
		// Parameters, with nested fields as rows of their own.
		"| `targets` | list of objects | yes |  | The endpoints to load. |",
		"| `targets[].url` | string | yes |  | The URL to request. |",
		"| `targets[].url` | string | yes |  | The URL to request. *Host must be allowed* ([Load safety](#load-safety)). |",
		"| `rate` | rate | no |  | Requests per unit of time. *At most spec.limits.maxRate*",
		"| `stages[].target` | rate | yes |  | The rate to reach. *At most spec.limits.maxRate*",
		"| `allowedHosts` | list of strings | no |",
		"| `maxRate` | rate | no |",
		"| `abortOnFail` | bool | no | `false` |",
		"## Load safety",
		"Measures as it goes: a gate with `abortOnFail: true` stops it early",
		"| `targets[].method` | string | no | `GET` | The HTTP method. One of `GET`, `POST`. |",
		"| `auth.header` | string | no | `Authorization` |",
		"| `exclude` | list of strings | no | `[*_test.go]` |",
		"| `timeout` | duration | no | `24h` | How long to wait for confirmations. |",
		// A pipe in a description does not break the table.
		`The lowest TLS version \| accepted.`,
		// Metrics and task type defaults.
		"| `http.status.<code>` | count | 1 when the status was &lt;code>. |",
		"Defaults: timeout `30s`, heartbeat none, attempts 2.",
		"Defaults: timeout `1h`, heartbeat `10s`, attempts 3.",
		"Manual: the workflow runs it",
		// Thresholds and scoring.
		"`80%` and a bare `80` both mean 80 %",
		"| `!=` | not equal to |",
		"score = 100 × earned weight / total weight",
	} {
		if want == "| `gatez`" {
			if strings.Contains(ref, want) {
				t.Errorf("reference documents a field that does not exist: %s", want)
			}
			continue
		}
		if !strings.Contains(ref, want) {
			t.Errorf("reference lacks %q", want)
		}
	}

	// Task types appear in catalog.Names() order, one section each.
	_, types, _ := strings.Cut(ref, "## Task types")
	headings := regexp.MustCompile("(?m)^### `([a-z-]+)`$").FindAllStringSubmatch(types, -1)
	var got []string
	for _, h := range headings {
		got = append(got, h[1])
	}
	if want := catalog.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("task type sections %v, want %v", got, want)
	}
}

// Every threshold example in the reference must parse for its unit.
func TestReferenceThresholdExamples(t *testing.T) {
	ref := plan.Reference(testCatalog())
	row := regexp.MustCompile("(?m)^\\| (seconds|bytes|ratio|count|any) \\| .* \\| (.*) \\|$")
	rows := row.FindAllStringSubmatch(ref, -1)
	if len(rows) != 5 {
		t.Fatalf("found %d unit rows, want 5", len(rows))
	}
	for _, r := range rows {
		for _, example := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(r[2], -1) {
			if _, err := plan.ParseThreshold(example[1], plan.Unit(r[1])); err != nil {
				t.Errorf("example %q for %s: %v", example[1], r[1], err)
			}
		}
	}
}

func TestReferenceWithoutTaskTypes(t *testing.T) {
	if ref := plan.Reference(plan.NewCatalog()); !strings.Contains(ref, "No task types are registered.") {
		t.Error("an empty catalog does not say so")
	}
}
