package workflows_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// goListDeps lists the packages pkgs link, from the module root.
func goListDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("go not on PATH")
		}
		t.Skip("go not on PATH")
	}
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", strings.Join(pkgs, " "), err)
	}
	return strings.Fields(string(out))
}

// The engine, the run API, the report and the notifier speak the task
// contract only: none of them links a cloud SDK, Docker or a database
// driver, which belong to the task types that use them.
func TestEngineLinksNoTaskTypeClients(t *testing.T) {
	forbidden := []string{"github.com/aws/", "github.com/Azure/", "github.com/ory/dockertest", "github.com/docker/", "github.com/jackc/pgx"}
	for _, pkg := range []string{"./workflows", "./runs", "./report", "./cmd/notifier", "./activities/task", "./activities/taskrun"} {
		for _, dep := range goListDeps(t, pkg) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}

// The contract imports the plan and the standard library only.
func TestTaskContractIsALeaf(t *testing.T) {
	for _, dep := range goListDeps(t, "./activities/task") {
		if strings.Contains(dep, ".") && !strings.HasPrefix(dep, "vendor/") && !strings.HasPrefix(dep, "github.com/shipshape-dev/shipshape/plan") &&
			dep != "github.com/shipshape-dev/shipshape/activities/task" && !strings.HasPrefix(dep, "gopkg.in/yaml.v3") {
			t.Errorf("activities/task links %s", dep)
		}
	}
}

// Test code stays out of the binaries: protocol fakes (packages named
// …test), test helpers and dockertest are linked by tests only.
func TestBinariesLinkNoTestCode(t *testing.T) {
	for _, bin := range []string{"./cmd/worker", "./cmd/starter", "./cmd/notifier"} {
		for _, dep := range goListDeps(t, bin) {
			if strings.HasPrefix(dep, "github.com/ory/dockertest") ||
				strings.HasPrefix(dep, "github.com/shipshape-dev/shipshape/") && strings.HasSuffix(dep, "test") && !strings.HasSuffix(dep, "/loadtest") {
				t.Errorf("%s links %s", bin, dep)
			}
		}
	}
}
