// Package sbom turns what a release is built from (a Go module's go.mod
// and go.sum, a Go binary's build info, an npm package-lock.json, an
// existing CycloneDX or SPDX JSON SBOM) into components with package URLs,
// and writes them as a CycloneDX SBOM.
//
// It is pure: callers read the files and hand over their bytes.
package sbom

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// Component is one package a release contains.
type Component struct {
	// Ref identifies the component in a BOM: its purl, or a name when it
	// has none.
	Ref string `json:"ref"`
	// Ecosystem is the OSV ecosystem ("Go", "npm", "PyPI"…); "" when
	// unknown, and then no advisory can match it.
	Ecosystem string `json:"ecosystem,omitempty"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	PURL      string `json:"purl,omitempty"`
	// Sources are the inputs that list the component, with the line where
	// they do when known.
	Sources []Location `json:"sources"`
	// Dev marks npm development-only packages.
	Dev bool `json:"dev,omitempty"`
	// Hash is a checksum the input records (go.sum's h1:…), kept as is.
	Hash string `json:"hash,omitempty"`
	// Note explains why the component cannot be matched (a local
	// replacement, a version that is not one).
	Note string `json:"note,omitempty"`
}

// Location is where an input lists a component.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// Query is the vulnerability lookup for the component; ok is false when
// it cannot be looked up (no ecosystem or no version).
func (c Component) Query() (vulndb.Query, bool) {
	if c.Ecosystem == "" || c.Version == "" || c.Note != "" {
		return vulndb.Query{}, false
	}
	return vulndb.Query{Ref: c.Ref, Ecosystem: c.Ecosystem, Name: c.Name, Version: c.Version}, true
}

// Inventory is the components read from one or more inputs.
type Inventory struct {
	// Main is the module, package or image the inputs describe (the first
	// input's), the SBOM's subject; nil when no input names one.
	Main       *Component  `json:"main,omitempty"`
	Components []Component `json:"components"`
	// Warnings are problems that did not stop reading.
	Warnings []string `json:"warnings,omitempty"`
}

// Add merges another inventory in: a component both list (same Ref) is
// kept once with both sources.
func (inv *Inventory) Add(other Inventory) {
	if inv.Main == nil {
		inv.Main = other.Main
	}
	inv.Warnings = append(inv.Warnings, other.Warnings...)
	index := make(map[string]int, len(inv.Components))
	for i, c := range inv.Components {
		index[c.Ref] = i
	}
	for _, c := range other.Components {
		if i, ok := index[c.Ref]; ok {
			existing := &inv.Components[i]
			for _, s := range c.Sources {
				if !slices.Contains(existing.Sources, s) {
					existing.Sources = append(existing.Sources, s)
				}
			}
			existing.Dev = existing.Dev && c.Dev
			existing.Hash = cmp.Or(existing.Hash, c.Hash)
			continue
		}
		index[c.Ref] = len(inv.Components)
		inv.Components = append(inv.Components, c)
	}
}

// Sort orders components by ecosystem, name and version.
func (inv *Inventory) Sort() {
	slices.SortFunc(inv.Components, func(a, b Component) int {
		return cmp.Or(strings.Compare(a.Ecosystem, b.Ecosystem), strings.Compare(a.Name, b.Name),
			strings.Compare(a.Version, b.Version), strings.Compare(a.Ref, b.Ref))
	})
}

// Queries returns the lookups of every component that can be looked up.
func (inv *Inventory) Queries() []vulndb.Query {
	var qs []vulndb.Query
	for _, c := range inv.Components {
		if q, ok := c.Query(); ok {
			qs = append(qs, q)
		}
	}
	return qs
}

// Component returns the component with ref.
func (inv *Inventory) Component(ref string) (Component, bool) {
	for _, c := range inv.Components {
		if c.Ref == ref {
			return c, true
		}
	}
	return Component{}, false
}

// ParseError is an input that cannot be read as its format.
type ParseError struct {
	File string
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s: %s", e.File, e.Msg) }

func parseErrorf(file, format string, args ...any) error {
	return &ParseError{File: file, Msg: fmt.Sprintf(format, args...)}
}

// newComponent builds a component from its ecosystem coordinates, with
// its purl as its ref.
func newComponent(ecosystem, name, version string, at Location) Component {
	c := Component{Ecosystem: ecosystem, Name: name, Version: version, Sources: []Location{at}}
	c.PURL = PURLFor(ecosystem, name, version)
	c.Ref = cmp.Or(c.PURL, name+"@"+version)
	return c
}
