package vulndb

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Query is one package version to look up.
type Query struct {
	// Ref is the caller's reference to the package (a CycloneDX bom-ref),
	// carried into findings unchanged.
	Ref       string
	Ecosystem string
	Name      string
	Version   string
}

// Advisory is an advisory as an index keeps it: what a finding reports.
type Advisory struct {
	ID        string
	Aliases   []string
	Summary   string
	Details   string
	URL       string
	Published time.Time
	Modified  time.Time
	Rating    Rating
}

// IDs returns the advisory's ID followed by its aliases.
func (a *Advisory) IDs() []string { return append([]string{a.ID}, a.Aliases...) }

// maxDetails bounds the details an index keeps per advisory: reports show
// a summary, and a 50,000-advisory index should not hold every essay.
const maxDetails = 1000

// NewAdvisory keeps what reports need of an entry and rates its severity.
func NewAdvisory(e *Entry) *Advisory {
	a := &Advisory{
		ID: e.ID, Aliases: slices.Clone(e.Aliases), Summary: strings.TrimSpace(e.Summary),
		Details: truncate(strings.TrimSpace(e.Details), maxDetails),
		URL:     advisoryURL(e), Published: e.Published, Modified: e.Modified,
		Rating: RateEntry(e),
	}
	if a.Summary == "" {
		a.Summary = truncate(firstLine(a.Details), 160)
	}
	return a
}

func advisoryURL(e *Entry) string {
	for _, t := range []string{"ADVISORY", "WEB", "REPORT"} {
		for _, r := range e.References {
			if r.Type == t && r.URL != "" {
				return r.URL
			}
		}
	}
	switch {
	case strings.HasPrefix(e.ID, "GO-"):
		return "https://pkg.go.dev/vuln/" + e.ID
	case strings.HasPrefix(e.ID, "GHSA-"):
		return "https://github.com/advisories/" + e.ID
	}
	return "https://osv.dev/vulnerability/" + e.ID
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Index is a set of advisories indexed by ecosystem and package name.
// It is immutable once built and safe for concurrent use.
type Index struct {
	packages map[string][]posting
	// Advisories counts the advisories indexed; Withdrawn those skipped
	// because they were withdrawn.
	Advisories int
	Withdrawn  int
}

// posting is an advisory's affected entries for one package.
type posting struct {
	adv      *Advisory
	affected []Affected
}

// NewIndex indexes entries. Withdrawn entries are left out.
func NewIndex(entries []*Entry) *Index {
	idx := &Index{packages: make(map[string][]posting)}
	for _, e := range entries {
		idx.add(e)
	}
	return idx
}

func (idx *Index) add(e *Entry) {
	if e.Withdrawn != nil {
		idx.Withdrawn++
		return
	}
	idx.Advisories++
	adv := NewAdvisory(e)
	// An advisory may list one package more than once (several import
	// paths of one module): one posting per package holds them all.
	byKey := map[string]int{}
	for _, aff := range e.Affected {
		key := packageKey(aff.Package.Ecosystem, aff.Package.Name)
		if i, ok := byKey[key]; ok {
			list := idx.packages[key]
			list[i].affected = append(list[i].affected, aff)
			continue
		}
		byKey[key] = len(idx.packages[key])
		idx.packages[key] = append(idx.packages[key], posting{adv: adv, affected: []Affected{aff}})
	}
}

// Packages counts the distinct packages the index has advisories for.
func (idx *Index) Packages() int { return len(idx.packages) }

// packageKey is the index key of a package: its ecosystem without a
// release suffix, and its name as the ecosystem compares names.
func packageKey(ecosystem, name string) string {
	eco := baseEcosystem(ecosystem)
	if eco == "PyPI" {
		// PEP 503: case-insensitive, runs of -, _ and . are equal.
		name = strings.ToLower(name)
		name = strings.NewReplacer("_", "-", ".", "-").Replace(name)
	}
	return eco + "\x00" + name
}

// Match is one advisory that affects one queried package version.
type Match struct {
	Advisory *Advisory
	Package  AffectedPackage
}

// AffectedPackage is a package version an advisory affects, and the
// lowest later version that no range of the advisory affects ("" when no
// fix is known).
type AffectedPackage struct {
	Ref       string `json:"ref,omitempty"`
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Fixed     string `json:"fixed,omitempty"`
}

// DisplayVersion is the installed version as its ecosystem writes it
// (go1.21.3 for the standard library).
func (p AffectedPackage) DisplayVersion() string {
	return displayVersion(p.Ecosystem, p.Name, p.Version)
}

// DisplayFixed is the fixed version as its ecosystem writes it.
func (p AffectedPackage) DisplayFixed() string { return displayVersion(p.Ecosystem, p.Name, p.Fixed) }

// Lookup returns the advisories that affect q's version.
func (idx *Index) Lookup(q Query) []Match {
	var out []Match
	for _, p := range idx.packages[packageKey(q.Ecosystem, q.Name)] {
		if !Affects(p.affected, q.Ecosystem, q.Version) {
			continue
		}
		out = append(out, Match{Advisory: p.adv, Package: AffectedPackage{
			Ref: q.Ref, Ecosystem: q.Ecosystem, Name: q.Name, Version: q.Version,
			Fixed: FixedVersion(p.affected, q.Ecosystem, q.Version),
		}})
	}
	return out
}

// Match looks up every query and merges the matches into findings.
func (idx *Index) Match(queries []Query) []Finding {
	var matches []Match
	for _, q := range queries {
		matches = append(matches, idx.Lookup(q)...)
	}
	return Merge(matches)
}

// Affects reports whether version of a package in ecosystem is affected by
// any of an advisory's affected entries for that package, per OSV: the
// version is listed in versions, or lies in a SEMVER range, or in an
// ECOSYSTEM range of an ecosystem whose versions order as semantic
// versions. An entry with neither ranges nor versions affects every
// version. GIT ranges name commits, which packages do not carry: ignored.
// A version that is not a semantic version matches only a versions list.
func Affects(affected []Affected, ecosystem, version string) bool {
	for _, aff := range affected {
		if len(aff.Ranges) == 0 && len(aff.Versions) == 0 {
			return true
		}
		if listed(aff.Versions, version) {
			return true
		}
		for _, r := range aff.Ranges {
			if evaluable(r, ecosystem) && RangeContains(r, version) {
				return true
			}
		}
	}
	return false
}

func evaluable(r Range, ecosystem string) bool {
	switch r.Type {
	case RangeSemver:
		return true
	case RangeEcosystem:
		return SemverEcosystem(ecosystem)
	}
	return false
}

func listed(versions []string, v string) bool {
	cv := Canonical(v)
	for _, lv := range versions {
		if lv == v || cv != "" && Canonical(lv) == cv {
			return true
		}
	}
	return false
}

// event kinds in the order events at one version apply.
const (
	kindIntroduced = iota
	kindLastAffected
	kindFixed
	kindLimit
)

type event struct {
	kind    int
	version string // canonical; "" for introduced "0"
}

// RangeContains evaluates one range's events on version as the OSV schema
// specifies: events sorted by version (introduced "0" first, and at equal
// versions introduced before last_affected before fixed), the last event at
// or below the version decides: introduced affects, fixed unaffects from its
// version on, last_affected from the next version on, limit caps the range.
// Events whose versions are not semantic versions are skipped.
func RangeContains(r Range, version string) bool {
	v := Canonical(version)
	if v == "" {
		return false
	}
	events := make([]event, 0, len(r.Events))
	for _, e := range r.Events {
		kind, raw := kindIntroduced, e.Introduced
		switch {
		case e.Introduced != "":
		case e.Fixed != "":
			kind, raw = kindFixed, e.Fixed
		case e.LastAffected != "":
			kind, raw = kindLastAffected, e.LastAffected
		case e.Limit != "":
			kind, raw = kindLimit, e.Limit
		default:
			continue
		}
		if kind == kindIntroduced && raw == "0" {
			events = append(events, event{kind: kind})
			continue
		}
		if kind == kindLimit && raw == "*" {
			continue // no limit
		}
		c := Canonical(raw)
		if c == "" {
			continue
		}
		events = append(events, event{kind: kind, version: c})
	}
	slices.SortStableFunc(events, func(a, b event) int {
		if a.version == "" || b.version == "" {
			// Introduced "0" sorts before everything.
			return cmp.Compare(boolInt(a.version != ""), boolInt(b.version != ""))
		}
		if c, _ := compareVersions(a.version, b.version); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})
	affected := false
	for _, e := range events {
		var c int
		if e.version != "" {
			c, _ = compareVersions(v, e.version)
		}
		switch e.kind {
		case kindIntroduced:
			if e.version == "" || c >= 0 {
				affected = true
			}
		case kindFixed:
			if c >= 0 {
				affected = false
			}
		case kindLastAffected:
			if c > 0 {
				affected = false
			}
		case kindLimit:
			if c >= 0 {
				return false
			}
		}
	}
	return affected
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FixedVersion returns the lowest fixed version above version that no
// affected entry of the advisory affects: the version to upgrade to. It is
// "" when the advisory names no such version (only last_affected, or no
// fix yet).
func FixedVersion(affected []Affected, ecosystem, version string) string {
	var candidates []string
	for _, aff := range affected {
		for _, r := range aff.Ranges {
			if !evaluable(r, ecosystem) {
				continue
			}
			for _, e := range r.Events {
				if c, ok := compareVersions(e.Fixed, version); ok && c > 0 {
					candidates = append(candidates, e.Fixed)
				}
			}
		}
	}
	slices.SortFunc(candidates, func(a, b string) int {
		c, _ := compareVersions(a, b)
		return c
	})
	for _, c := range candidates {
		if !Affects(affected, ecosystem, c) {
			return c
		}
	}
	return ""
}
