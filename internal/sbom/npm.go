package sbom

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// packageLock is the part of package-lock.json (lockfileVersion 2 and 3,
// npm 7 and later) that lists installed packages, keyed by their path
// below the project ("node_modules/a/node_modules/b"); v1's nested
// dependencies are read when packages is absent.
type packageLock struct {
	Name            string                     `json:"name"`
	Version         string                     `json:"version"`
	LockfileVersion int                        `json:"lockfileVersion"`
	Packages        map[string]lockPackage     `json:"packages"`
	Dependencies    map[string]lockDependency1 `json:"dependencies"`
}

type lockPackage struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Resolved  string `json:"resolved"`
	Integrity string `json:"integrity"`
	Link      bool   `json:"link"`
	Dev       bool   `json:"dev"`
	Optional  bool   `json:"optional"`
}

type lockDependency1 struct {
	Version      string                     `json:"version"`
	Integrity    string                     `json:"integrity"`
	Dev          bool                       `json:"dev"`
	Dependencies map[string]lockDependency1 `json:"dependencies"`
}

// NpmLock reads an npm package-lock.json: every installed package under
// node_modules, once per name and version however often npm nested it.
// The root project is the inventory's Main; workspace packages (links)
// are first-party code, not components. Development-only packages are
// marked Dev.
func NpmLock(file string, data []byte) (Inventory, error) {
	var lock packageLock
	if err := json.Unmarshal(data, &lock); err != nil {
		return Inventory{}, parseErrorf(file, "not a package-lock.json: %v", err)
	}
	if lock.LockfileVersion == 0 || lock.Packages == nil && lock.Dependencies == nil {
		return Inventory{}, parseErrorf(file, "no lockfileVersion and packages: not a package-lock.json")
	}
	var inv Inventory
	if lock.Name != "" {
		inv.Main = &Component{Ref: lock.Name, Ecosystem: vulndb.EcosystemNpm, Name: lock.Name, Version: lock.Version,
			PURL: PURLFor(vulndb.EcosystemNpm, lock.Name, lock.Version), Sources: []Location{{File: file}}}
	}
	lines := lockLines(data)
	seen := map[string]int{}
	add := func(name, version, integrity string, dev bool, line int) {
		if name == "" || version == "" {
			return
		}
		c := newComponent(vulndb.EcosystemNpm, name, version, Location{File: file, Line: line})
		c.Hash, c.Dev = integrity, dev
		if i, ok := seen[c.Ref]; ok {
			// Needed by production code anywhere: not dev-only.
			inv.Components[i].Dev = inv.Components[i].Dev && dev
			return
		}
		seen[c.Ref] = len(inv.Components)
		inv.Components = append(inv.Components, c)
	}
	if lock.Packages != nil {
		keys := make([]string, 0, len(lock.Packages))
		for k := range lock.Packages {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			p := lock.Packages[key]
			i := strings.LastIndex(key, "node_modules/")
			if key == "" || i < 0 || p.Link {
				continue // the root project, a workspace package, or a link to one
			}
			name := p.Name // set when installed under an alias (npm:other@1)
			if name == "" {
				name = key[i+len("node_modules/"):]
			}
			add(name, p.Version, p.Integrity, p.Dev, lines[key])
		}
		return inv, nil
	}
	var walk func(deps map[string]lockDependency1)
	walk = func(deps map[string]lockDependency1) {
		names := make([]string, 0, len(deps))
		for n := range deps {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			d := deps[n]
			if !strings.HasPrefix(d.Version, "file:") && !strings.HasPrefix(d.Version, "link:") {
				add(n, d.Version, d.Integrity, d.Dev, 0)
			}
			walk(d.Dependencies)
		}
	}
	walk(lock.Dependencies)
	return inv, nil
}

// lockLines finds the line of every "node_modules/…" key of a lockfile,
// for reports that point at where a package is pinned.
func lockLines(data []byte) map[string]int {
	lines := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, `"`) || !strings.HasSuffix(text, "{") {
			continue
		}
		key, _, ok := strings.Cut(text[1:], `"`)
		if ok && strings.Contains(key, "node_modules/") {
			if _, dup := lines[key]; !dup {
				lines[key] = n
			}
		}
	}
	return lines
}
