package all_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestPlanReferenceUpToDate keeps docs/plan.md what the task types declare:
// after changing a declaration, run `make docs`.
func TestPlanReferenceUpToDate(t *testing.T) {
	want := plan.Reference(all.Catalog())
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "plan.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("docs/plan.md is out of date with the task types' declarations: run `make docs`")
	}
}
