package report_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

// docsPath is the page that documents report.json as a public contract.
const docsPath = "../docs/report.md"

// The example of docs/report.md is the fixture's report.json, between
// these two lines.
const (
	exampleHeading = "### Example\n"
	exampleOpen    = "```json\n"
	exampleClose   = "```\n"
)

func MustReadDocs(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(docsPath)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func TestDocsExampleIsTheCurrentReportJSON(t *testing.T) {
	docs := MustReadDocs(t)
	i := strings.Index(docs, exampleHeading)
	if i < 0 {
		t.Fatalf("%s has no %q section", docsPath, strings.TrimSpace(exampleHeading))
	}
	start := strings.Index(docs[i:], exampleOpen)
	if start < 0 {
		t.Fatalf("the example section of %s has no json block", docsPath)
	}
	start += i + len(exampleOpen)
	end := strings.Index(docs[start:], "\n"+exampleClose)
	if end < 0 {
		t.Fatalf("the json block of %s is not closed", docsPath)
	}
	end += start + 1
	want := string(MustRender(t, report.JSON, MustFixture(t)))
	if *update {
		if err := os.WriteFile(docsPath, []byte(docs[:start]+want+docs[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := docs[start:end]; got != want {
		t.Errorf("the example in %s is not the current report.json of the fixture (go test ./report -update rewrites it):\n%s", docsPath, want)
	}
}

// TestDocsDescribeEveryField fails when RunResult gains a field that
// docs/report.md does not describe: the page is the contract, so a field
// is not in report.json until it is on the page.
func TestDocsDescribeEveryField(t *testing.T) {
	docs := MustReadDocs(t)
	for _, path := range jsonPaths(reflect.TypeFor[plan.RunResult](), "") {
		if !strings.Contains(docs, "| `"+path+"` |") {
			t.Errorf("%s does not describe the field %s in a table row", docsPath, path)
		}
	}
}

// jsonPaths lists the JSON paths of t's fields in the jq-like notation of
// docs/report.md: "phases[].tasks[].gates[].value".
func jsonPaths(t reflect.Type, prefix string) []string {
	var paths []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := prefix + name
		paths = append(paths, path)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			paths = append(paths, jsonPaths(ft.Elem(), path+"[].")...)
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]():
			paths = append(paths, jsonPaths(ft, path+".")...)
		}
	}
	return paths
}
