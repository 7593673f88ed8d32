package sbom_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/sbom"
)

const lockfiles = "testdata/lockfiles"

func TestLockfiles(t *testing.T) {
	tests := []struct {
		file     string
		read     func(string, []byte) (sbom.Inventory, error)
		main     string
		want     string
		warnings []string
	}{
		{file: "yarn-v1.lock", read: sbom.NpmLockfile, want: `pkg:npm/%40babel/code-frame@7.12.13 :5
pkg:npm/lodash@4.17.20 :12
pkg:npm/lodash@3.10.1 :17
pkg:npm/string-width@4.2.3 :21`},
		{file: "yarn-berry.lock", read: sbom.NpmLockfile, main: "my-app", want: `pkg:npm/%40babel/code-frame@7.12.13 :8
pkg:npm/lodash@4.17.20 :17
pkg:npm/resolve@1.22.8 :24`},
		{file: "pnpm-v5.yaml", read: sbom.PnpmLock, want: `pkg:npm/%40babel/code-frame@7.12.13 :13 dev
pkg:npm/lodash@4.17.20 :17
pkg:npm/react-dom@17.0.2 :21
pkg:npm/string_decoder@1.3.0 :27 dev`},
		{file: "pnpm-v6.yaml", read: sbom.NpmLockfile, want: `pkg:npm/%40babel/code-frame@7.12.13 :10 dev
pkg:npm/lodash@4.17.20 :14
pkg:npm/react-dom@17.0.2 :18`},
		{file: "pnpm-v9.yaml", read: sbom.PnpmLock, want: `pkg:npm/%40babel/code-frame@7.12.13 :17
pkg:npm/lodash@4.17.20 :20
pkg:npm/react-dom@17.0.2 :23
pkg:npm/tarball-dep@2.0.1 :28`},
		{file: "requirements.txt", read: sbom.PythonLockfile, want: `pkg:pypi/django@3.2.0 :3
pkg:pypi/requests@2.19.1 :6
pkg:pypi/pyyaml@5.3 :7
pkg:pypi/jinja2@2.10 :8
pkg:pypi/flask :9 (not pinned: the range >=1.0)
pkg:pypi/urllib3 :10 (not pinned: no version)`, warnings: []string{
			"requirements.txt:9: flask is not pinned to one version (the range >=1.0): not scannable; pin it (name==version) or scan a lockfile",
			"requirements.txt:10: urllib3 is not pinned to one version (no version): not scannable; pin it (name==version) or scan a lockfile",
			`requirements.txt:11: "-r dev-requirements.txt" includes another file, which is not read: list it too`,
			`requirements.txt:12: "-e git+https://github.com/example/lib.git#egg=lib" is an editable install, not a pinned version: not scannable`,
			`requirements.txt:13: "https://example.com/pkg-1.0.tar.gz" is not a name==version requirement (a URL or a path): not scannable`,
		}},
		{file: "poetry.lock", read: sbom.PythonLockfile, want: `pkg:pypi/jinja2@2.10 :3
pkg:pypi/markupsafe@2.1.3 :17
pkg:pypi/pytest@7.4.0 :26 dev`},
		{file: "Pipfile.lock", read: sbom.PythonLockfile, want: `pkg:pypi/urllib3@1.24.1 :19
pkg:pypi/werkzeug@0.15.3 :26
pkg:pypi/pytest@7.4.0 :36 dev`, warnings: []string{
			`Pipfile.lock: my-lib is not pinned to a PyPI version (./libs/my-lib): not scannable`,
		}},
		{file: "uv.lock", read: sbom.PythonLockfile, main: "my-app", want: `pkg:pypi/flask@0.12 :4
pkg:pypi/ruamel-yaml@0.17.21 :19`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(lockfiles, tt.file)
			inv, err := tt.read(path, mustRead(t, path))
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(inv); got != tt.want {
				t.Errorf("components:\n%s\nwant\n%s", got, tt.want)
			}
			main := ""
			if inv.Main != nil {
				main = inv.Main.Name
			}
			if main != tt.main {
				t.Errorf("main %q, want %q", main, tt.main)
			}
			var warnings []string
			for _, w := range inv.Warnings {
				warnings = append(warnings, strings.TrimPrefix(w, lockfiles+"/"))
			}
			if strings.Join(warnings, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(warnings, "\n"), strings.Join(tt.warnings, "\n"))
			}
			for _, c := range inv.Components {
				if c.Ecosystem == "" || c.Sources[0].File != path {
					t.Errorf("%s: ecosystem %q, source %v", c.Ref, c.Ecosystem, c.Sources)
				}
			}
		})
	}
}

func TestLockfileQueriesArePinnedVersionsOnly(t *testing.T) {
	path := filepath.Join(lockfiles, "requirements.txt")
	inv, err := sbom.Requirements(path, mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range inv.Queries() {
		got = append(got, q.Ecosystem+" "+q.Name+" "+q.Version)
	}
	want := "PyPI django 3.2.0|PyPI requests 2.19.1|PyPI pyyaml 5.3|PyPI jinja2 2.10"
	if strings.Join(got, "|") != want {
		t.Errorf("queries %v, want %s", got, want)
	}
}

func TestLockfileErrors(t *testing.T) {
	tests := []struct {
		name, file, data string
		read             func(string, []byte) (sbom.Inventory, error)
		want             string
	}{
		{"yarn v1 garbage", "yarn.lock", "not a lockfile at all", sbom.YarnLock, "is not a yarn.lock entry"},
		{"yarn berry bad yaml", "yarn.lock", "__metadata:\n  version: 8\n\"a@npm:1\":\n  resolution: [", sbom.YarnLock, "not a Yarn 2+ yarn.lock"},
		{"yarn berry resolution", "yarn.lock", "__metadata:\n  version: 8\n\"a@npm:1\":\n  version: 1.0.0\n  resolution: nothing\n", sbom.YarnLock, `resolution "nothing" names no package`},
		{"pnpm without version", "pnpm-lock.yaml", "packages:\n  /a/1.0.0: {}\n", sbom.PnpmLock, "no lockfileVersion"},
		{"pnpm bad key", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  justaname: {}\n", sbom.PnpmLock, `package key "justaname" is not name@version`},
		{"poetry not toml", "poetry.lock", "[[package]\nname=", sbom.PoetryLock, "not a poetry.lock"},
		{"poetry no version", "poetry.lock", "[[package]]\nname = \"a\"\n", sbom.PoetryLock, "has no name or version"},
		{"uv no version", "uv.lock", "[[package]]\nname = \"a\"\n", sbom.UVLock, "no version: not a uv.lock"},
		{"Pipfile.lock not JSON", "Pipfile.lock", "{", sbom.PipfileLock, "not a Pipfile.lock"},
		{"Pipfile.lock no _meta", "Pipfile.lock", `{"default": {}}`, sbom.PipfileLock, "no _meta"},
		{"empty requirements", "requirements.txt", "# nothing\n\n", sbom.Requirements, "no requirements"},
		{"unknown npm lockfile", "deps.lock", "hello", sbom.NpmLockfile, "neither a package-lock.json, a yarn.lock nor a pnpm-lock.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.read(tt.file, []byte(tt.data))
			var pe *sbom.ParseError
			if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a ParseError saying %q", err, tt.want)
			}
		})
	}
}
