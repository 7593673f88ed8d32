package plan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/plan/when"
)

// TestReuseInvalid loads every plan in testdata/reuse/invalid (their
// includes in parts/) and compares the errors with the .golden file next
// to it: each error in the file where it is, with its include chain.
func TestReuseInvalid(t *testing.T) {
	for _, file := range testFiles(t, "testdata/reuse/invalid/*.yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.LoadWith(file, testCatalog(), setsOf(t, data), plan.Options{Conditions: when.Conditions{}})
			if err == nil {
				t.Fatalf("Load accepted an invalid plan: %+v", p)
			}
			var errs plan.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load returned %T, want plan.Errors: %v", err, err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// TestReuseValid loads every plan in testdata/reuse/valid and compares
// the resolved plan, includes, templates and matrices expanded, with the
// .json file next to it.
func TestReuseValid(t *testing.T) {
	for _, file := range testFiles(t, "testdata/reuse/valid/*.yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.LoadWith(file, testCatalog(), setsOf(t, data), plan.Options{Conditions: when.Conditions{}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(p); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".json", got.Bytes())
		})
	}
}
