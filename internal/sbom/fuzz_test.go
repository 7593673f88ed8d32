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

// FuzzNpmLock: package-lock.json of any shape.
func FuzzNpmLock(f *testing.F) {
	f.Add([]byte(`{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/lodash":{"version":"4.17.20"}}}`))
	f.Add([]byte(`{"lockfileVersion":1,"dependencies":{"lodash":{"version":"4.17.20","dependencies":{"x":{"version":"1.0.0"}}}}}`))
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"node_modules/a":{"version":null}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := sbom.NpmLock("package-lock.json", data)
		if err != nil {
			return
		}
		inv.Queries()
	})
}

// FuzzDocument: CycloneDX and SPDX documents handed to sbom-scan, of any
// shape, are read or refused, never a crash.
func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"django","versionInfo":"3.2.0","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:pypi/django@3.2.0"}]}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"purl":"pkg:%zz"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := sbom.Document("sbom.json", data)
		if err != nil {
			return
		}
		inv.Queries()
		_, _ = sbom.ParsePURL(string(data))
	})
}
