package sbom

import (
	"bufio"
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// YarnLock reads a yarn.lock: Yarn 1's own format ("# yarn lockfile v1")
// or Yarn 2 and later's (Berry) YAML with its __metadata. Every resolved
// package is a component once per name and version; aliases
// (name@npm:other@1) are the package they install; workspace and local
// packages (workspace:, link:, portal:, file:) are first-party code, not
// components. yarn.lock does not say which packages are development-only.
func YarnLock(file string, data []byte) (Inventory, error) {
	if berryLock(data) {
		return yarnBerry(file, data)
	}
	return yarnV1(file, data)
}

// berryLock reports whether a yarn.lock is Yarn 2+'s: a __metadata key.
func berryLock(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "__metadata:") {
			return true
		}
	}
	return false
}

// yarnV1 reads Yarn 1's format: entries start unindented with one or more
// comma-separated specs ("a@^1.0.0", "a@^1.1.0":) and hold indented
// "version" and "resolved" lines.
func yarnV1(file string, data []byte) (Inventory, error) {
	var inv Inventory
	seen := map[string]bool{}
	var (
		name      string
		line      int
		version   string
		integrity string
		local     bool
	)
	flush := func() {
		if name != "" && version != "" && !local {
			c := newComponent(vulndb.EcosystemNpm, name, version, Location{File: file, Line: line})
			c.Hash = integrity
			if !seen[c.Ref] {
				seen[c.Ref] = true
				inv.Components = append(inv.Components, c)
			}
		}
		name, version, integrity, local = "", "", "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n, entries := 0, 0
	for sc.Scan() {
		n++
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if !strings.HasPrefix(text, " ") && !strings.HasPrefix(text, "\t") {
			flush()
			if !strings.HasSuffix(trimmed, ":") {
				return Inventory{}, parseErrorf(file, "line %d: %q is not a yarn.lock entry (specs ending in a colon)", n, trimmed)
			}
			spec := strings.TrimSpace(strings.Split(strings.TrimSuffix(trimmed, ":"), ",")[0])
			spec = strings.Trim(spec, `"`)
			pkg, rng, ok := splitSpec(spec)
			if !ok {
				return Inventory{}, parseErrorf(file, "line %d: %q names no package@range", n, spec)
			}
			entries++
			name, line = pkg, n
			if alias, ok := strings.CutPrefix(rng, "npm:"); ok {
				if real, _, ok := splitSpec(alias); ok {
					name = real
				}
			}
			local = localRange(rng)
			continue
		}
		if strings.HasPrefix(text, "    ") || strings.HasPrefix(text, "\t\t") {
			continue // a dependency list's entries
		}
		key, value, _ := strings.Cut(trimmed, " ")
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch key {
		case "version":
			version = value
		case "integrity":
			integrity = value
		case "resolved":
			if strings.HasPrefix(value, "file:") {
				local = true
			}
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return Inventory{}, parseErrorf(file, "%v", err)
	}
	if entries == 0 && !bytes.Contains(data, []byte("yarn lockfile v1")) {
		return Inventory{}, parseErrorf(file, "no entries and no \"# yarn lockfile v1\" header: not a yarn.lock")
	}
	return inv, nil
}

// splitSpec splits "name@range" ("@scope/name@range" too) at the @ after
// the name.
func splitSpec(spec string) (name, rng string, ok bool) {
	i := strings.IndexByte(spec[min(1, len(spec)):], '@')
	if i < 0 {
		return "", "", false
	}
	i++
	name, rng = spec[:i], spec[i+1:]
	return name, rng, name != "" && name != "@"
}

// localRange reports whether a dependency range names first-party code.
func localRange(rng string) bool {
	for _, p := range []string{"workspace:", "link:", "portal:", "file:"} {
		if strings.HasPrefix(rng, p) {
			return true
		}
	}
	return false
}

type berryEntry struct {
	Version    string `yaml:"version"`
	Resolution string `yaml:"resolution"`
	Checksum   string `yaml:"checksum"`
}

// yarnBerry reads Yarn 2+'s lockfile, YAML whose keys are the specs and
// whose resolution says what was installed ("lodash@npm:4.17.20", a
// workspace, a patch of an npm package).
func yarnBerry(file string, data []byte) (Inventory, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Inventory{}, parseErrorf(file, "not a Yarn 2+ yarn.lock: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Inventory{}, parseErrorf(file, "not a Yarn 2+ yarn.lock: not a mapping")
	}
	var inv Inventory
	seen := map[string]bool{}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if key.Value == "__metadata" {
			continue
		}
		var e berryEntry
		if err := val.Decode(&e); err != nil {
			return Inventory{}, parseErrorf(file, "line %d: entry %q: %v", key.Line, key.Value, err)
		}
		name, rng, ok := splitSpec(e.Resolution)
		if !ok {
			return Inventory{}, parseErrorf(file, "line %d: entry %q: resolution %q names no package", key.Line, key.Value, e.Resolution)
		}
		if rng == "workspace:." {
			if inv.Main == nil {
				inv.Main = &Component{Ref: name, Ecosystem: vulndb.EcosystemNpm, Name: name, Sources: []Location{{File: file, Line: key.Line}}}
			}
			continue
		}
		if localRange(rng) || e.Version == "" {
			continue
		}
		c := newComponent(vulndb.EcosystemNpm, name, e.Version, Location{File: file, Line: key.Line})
		if e.Checksum != "" {
			c.Hash = e.Checksum
		}
		if !seen[c.Ref] {
			seen[c.Ref] = true
			inv.Components = append(inv.Components, c)
		}
	}
	return inv, nil
}
