package plan_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// setsOf reads the overrides a test plan asks for in comment lines of the
// form "# --set vars.NAME=value", the way a user would pass them.
func setsOf(tb testing.TB, data []byte) map[string]string {
	tb.Helper()
	var sets []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if set, ok := strings.CutPrefix(sc.Text(), "# --set "); ok {
			sets = append(sets, set)
		}
	}
	overrides, err := plan.ParseSets(sets)
	if err != nil {
		tb.Fatalf("overrides: %v", err)
	}
	return overrides
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./plan -update if the change is right)\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func testFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	return files
}

// TestInvalidPlans parses every plan in testdata/invalid and compares the
// errors, exactly as a user sees them, with the .golden file next to it.
func TestInvalidPlans(t *testing.T) {
	for _, file := range testFiles(t, "testdata/invalid/*.yaml") {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Parse(name, data, testCatalog(), setsOf(t, data))
			if err == nil {
				t.Fatalf("Parse accepted an invalid plan: %+v", p)
			}
			var errs plan.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse returned %T, want plan.Errors: %v", err, err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// TestValidPlans parses every plan in testdata/valid and compares the
// resolved plan, as JSON (the form the workflow receives), with the .json
// file next to it.
func TestValidPlans(t *testing.T) {
	for _, file := range testFiles(t, "testdata/valid/*.yaml") {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Parse(name, data, testCatalog(), setsOf(t, data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false) // keep "< 200ms" readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(p); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".json", got.Bytes())
		})
	}
}
