package plan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// An include may not leave the plan's directory tree, through .. or a
// link, unless the loader allows the directory it reaches
// (Options.IncludeRoots, SHIPSHAPE_INCLUDE_ROOTS for starter).
func TestIncludeRoots(t *testing.T) {
	shared := t.TempDir()
	fragment := "apiVersion: shipshape.dev/v1\nkind: PlanFragment\nspec:\n  phases:\n    - {name: shared, approval: {required: false}}\n"
	if err := os.WriteFile(filepath.Join(shared, "baseline.yaml"), []byte(fragment), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(shared, "baseline.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, filepath.Join(shared, "baseline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, include := range []string{"link.yaml", rel} {
		t.Run(include, func(t *testing.T) {
			file := filepath.Join(dir, "plan.yaml")
			data := "apiVersion: shipshape.dev/v1\nkind: ReadinessPlan\nmetadata: {name: roots}\nspec:\n  include: [" + strconv.Quote(include) + "]\n"
			if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := plan.Load(file, testCatalog(), nil)
			if err == nil || !strings.Contains(err.Error(), "outside the plan's directory tree") {
				t.Fatalf("Load without roots: %v, want the include refused", err)
			}
			p, err := plan.LoadWith(file, testCatalog(), nil, plan.Options{IncludeRoots: []string{shared}})
			if err != nil {
				t.Fatalf("Load with %s allowed: %v", shared, err)
			}
			if len(p.Spec.Phases) != 1 || p.Spec.Phases[0].Name != "shared" {
				t.Errorf("phases %+v, want the shared one", p.Spec.Phases)
			}
		})
	}
}
