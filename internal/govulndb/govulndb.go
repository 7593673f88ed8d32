// Package govulndb lays out a directory of Go OSV advisories the way
// govulncheck's -db file:// option reads a vulnerability database
// (index/db.json, index/modules.json, index/vulns.json, ID/<id>.json), so
// that tests and benchmarks can compare Shipshape's scan with govulncheck
// offline.
package govulndb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []struct {
				Fixed string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// Write lays out the advisories of entriesDir (one OSV JSON file each)
// under dst, with the entries symlinked rather than copied.
func Write(dst, entriesDir string) error {
	abs, err := filepath.Abs(entriesDir)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(abs, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no advisories in %s", entriesDir)
	}
	if err := os.MkdirAll(filepath.Join(dst, "index"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(abs, filepath.Join(dst, "ID")); err != nil && !os.IsExist(err) {
		return err
	}
	var latest time.Time
	modules := map[string]*module{}
	var vulns []vuln
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			mv := moduleVuln{ID: e.ID, Modified: e.Modified}
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if ev.Fixed != "" {
						mv.Fixed = ev.Fixed
					}
				}
			}
			m.Vulns = append(m.Vulns, mv)
		}
	}
	list := make([]*module, 0, len(modules))
	for _, m := range modules {
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{"db.json": map[string]time.Time{"modified": latest}, "modules.json": list, "vulns.json": vulns} {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, "index", name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
