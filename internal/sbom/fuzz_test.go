package sbom_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/sbom"
)

// fuzzLockfile checks that a lockfile parser never panics, and that what
// it accepts is usable: every component has a ref, an ecosystem and a
// source.
func fuzzLockfile(f *testing.F, seeds []string, read func(string, []byte) (sbom.Inventory, error)) {
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join(lockfiles, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := read("lockfile", data)
		if err != nil {
			return
		}
		for _, c := range inv.Components {
			if c.Ref == "" || c.Ecosystem == "" || len(c.Sources) == 0 {
				t.Fatalf("component %+v: no ref, ecosystem or source", c)
			}
			c.Query()
		}
		inv.Queries()
	})
}

func FuzzYarnLock(f *testing.F) {
	fuzzLockfile(f, []string{"yarn-v1.lock", "yarn-berry.lock"}, sbom.YarnLock)
}

func FuzzPnpmLock(f *testing.F) {
	fuzzLockfile(f, []string{"pnpm-v5.yaml", "pnpm-v6.yaml", "pnpm-v9.yaml"}, sbom.PnpmLock)
}

func FuzzRequirements(f *testing.F) {
	fuzzLockfile(f, []string{"requirements.txt"}, sbom.Requirements)
}

func FuzzPoetryLock(f *testing.F) {
	fuzzLockfile(f, []string{"poetry.lock"}, sbom.PoetryLock)
}

func FuzzPipfileLock(f *testing.F) {
	fuzzLockfile(f, []string{"Pipfile.lock"}, sbom.PipfileLock)
}

func FuzzUVLock(f *testing.F) {
	fuzzLockfile(f, []string{"uv.lock"}, sbom.UVLock)
}
