package sbom

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

type pnpmPackage struct {
	Name       string `yaml:"name"`
	Version    string `yaml:"version"`
	Dev        *bool  `yaml:"dev"`
	Resolution struct {
		Integrity string `yaml:"integrity"`
		Directory string `yaml:"directory"`
		Tarball   string `yaml:"tarball"`
	} `yaml:"resolution"`
}

// PnpmLock reads a pnpm-lock.yaml (lockfileVersion 5.x, 6 and 9): every
// package of its packages section, once per name and version whatever
// peer dependencies pnpm resolved it with. Keys are /name/version (5.x),
// /name@version (6) or name@version (9); peer suffixes (_peer@1 or
// (peer@1)) are dropped. Local directories are not components. Packages
// that lockfiles before 9 mark dev: true are marked Dev.
func PnpmLock(file string, data []byte) (Inventory, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Inventory{}, parseErrorf(file, "not a pnpm-lock.yaml: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Inventory{}, parseErrorf(file, "not a pnpm-lock.yaml: not a mapping")
	}
	var (
		version  string
		packages *yaml.Node
	)
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "lockfileVersion":
			version = root.Content[i+1].Value
		case "packages":
			packages = root.Content[i+1]
		}
	}
	if version == "" {
		return Inventory{}, parseErrorf(file, "no lockfileVersion: not a pnpm-lock.yaml")
	}
	major, err := strconv.ParseFloat(strings.Trim(version, `'"`), 64)
	if err != nil {
		return Inventory{}, parseErrorf(file, "lockfileVersion %q is not a number", version)
	}
	var inv Inventory
	if packages == nil {
		return inv, nil // nothing installed
	}
	if packages.Kind != yaml.MappingNode {
		return Inventory{}, parseErrorf(file, "line %d: packages is not a mapping", packages.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(packages.Content); i += 2 {
		key, val := packages.Content[i], packages.Content[i+1]
		var p pnpmPackage
		if err := val.Decode(&p); err != nil {
			return Inventory{}, parseErrorf(file, "line %d: package %q: %v", key.Line, key.Value, err)
		}
		if k := strings.TrimPrefix(key.Value, "/"); strings.HasPrefix(k, "file:") || strings.HasPrefix(k, "link:") {
			continue // a local directory: first-party code
		}
		name, ver, err := pnpmKey(key.Value, major < 6)
		if err != nil {
			return Inventory{}, parseErrorf(file, "line %d: %v", key.Line, err)
		}
		if p.Resolution.Directory != "" || strings.HasPrefix(ver, "file:") || strings.HasPrefix(ver, "link:") {
			continue // a local directory: first-party code
		}
		if p.Name != "" {
			name = p.Name
		}
		if p.Version != "" {
			ver = p.Version // a tarball or git dependency names its version
		}
		c := newComponent(vulndb.EcosystemNpm, name, ver, Location{File: file, Line: key.Line})
		c.Hash = p.Resolution.Integrity
		c.Dev = p.Dev != nil && *p.Dev
		if vulndb.ValidVersion(vulndb.EcosystemNpm, ver) != nil {
			c.Note = fmt.Sprintf("version %q is not an npm version (a tarball or git dependency)", ver)
		}
		if j, ok := seen[c.Ref]; ok {
			inv.Components[j].Dev = inv.Components[j].Dev && c.Dev
			continue
		}
		seen[c.Ref] = len(inv.Components)
		inv.Components = append(inv.Components, c)
	}
	return inv, nil
}

// pnpmKey reads a packages key: /name/version_peers (lockfile 5.x),
// /name@version(peers) (6), name@version(peers) (9).
func pnpmKey(key string, v5 bool) (name, version string, err error) {
	k := strings.TrimPrefix(key, "/")
	if v5 {
		segs := strings.Split(k, "/")
		n := 1
		if strings.HasPrefix(k, "@") {
			n = 2
		}
		if len(segs) <= n {
			return "", "", fmt.Errorf("package key %q is not /name/version", key)
		}
		name = strings.Join(segs[:n], "/")
		version, _, _ = strings.Cut(strings.Join(segs[n:], "/"), "_")
		return name, version, nil
	}
	k, _, _ = strings.Cut(k, "(")
	name, version, ok := splitSpec(k)
	if !ok || version == "" {
		return "", "", fmt.Errorf("package key %q is not name@version", key)
	}
	return name, version, nil
}
