package vulndb

import (
	"cmp"
	"fmt"
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
	if eco == EcosystemPyPI {
		name = NormalizePyPI(name)
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

// Problem is something wrong with an advisory that a scan could not
// evaluate as written: it is reported, never matched on a guess.
type Problem struct {
	Advisory  string `json:"advisory"`
	Ecosystem string `json:"ecosystem"`
	Package   string `json:"package"`
	Problem   string `json:"problem"`
}

func (p Problem) String() string {
	return fmt.Sprintf("advisory %s (%s %s): %s", p.Advisory, p.Ecosystem, p.Package, p.Problem)
}

// Problems lists the problems of the advisories that concern the queried
// packages (see RangeProblems), once per advisory and package.
func (idx *Index) Problems(queries []Query) []Problem {
	var out []Problem
	seen := map[string]bool{}
	for _, q := range queries {
		key := packageKey(q.Ecosystem, q.Name)
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, p := range idx.packages[key] {
			for _, msg := range RangeProblems(p.affected, q.Ecosystem) {
				out = append(out, Problem{Advisory: p.adv.ID, Ecosystem: q.Ecosystem, Package: q.Name, Problem: msg})
			}
		}
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
// version is listed in versions, or lies in a SEMVER range (ordered as
// Semantic Versioning says; for npm as node-semver reads it), or in an
// ECOSYSTEM range of an ecosystem whose order is known (PEP 440 for PyPI,
// node-semver for npm, semantic versions for Go, crates.io…). An entry
// with neither ranges nor versions affects every version. GIT ranges name
// commits, which packages do not carry: ignored. A version that does not
// parse in a range's order matches only a versions list. A range that is
// impossible (see RangeProblems) is not evaluated.
func Affects(affected []Affected, ecosystem, version string) bool {
	for _, aff := range affected {
		if len(aff.Ranges) == 0 && len(aff.Versions) == 0 {
			return true
		}
		if listed(aff.Versions, ecosystem, version) {
			return true
		}
		for _, r := range aff.Ranges {
			order, ok := rangeOrder(r.Type, ecosystem)
			if !ok {
				continue
			}
			if in, err := order.contains(r, version); err == nil && in {
				return true
			}
		}
	}
	return false
}

// listed reports whether v is in an advisory's versions list: written the
// same, or equal in the ecosystem's order ("1.0" is "1.0.0" in PEP 440).
func listed(versions []string, ecosystem, v string) bool {
	order, ok := ecosystemOrder(ecosystem)
	if !ok {
		order = goOrder
	}
	pv, err := order.parse(v)
	for _, lv := range versions {
		if lv == v {
			return true
		}
		if err != nil {
			continue
		}
		if plv, lerr := order.parse(lv); lerr == nil && pv.compare(plv) == 0 {
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

var kindNames = [...]string{"introduced", "last_affected", "fixed", "limit"}

type event struct {
	kind    int
	raw     string
	version orderedVersion // nil for introduced "0"
}

// events reads a range's events in order o, as written; an event whose
// version does not parse is an error: the range cannot be evaluated.
func (o versionOrder) events(r Range) ([]event, error) {
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
			events = append(events, event{kind: kind, raw: raw})
			continue
		}
		if kind == kindLimit && raw == "*" {
			continue // no limit
		}
		v, err := o.parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s %q is not %s", kindNames[kind], raw, o.name)
		}
		events = append(events, event{kind: kind, raw: raw, version: v})
	}
	return events, nil
}

// check finds what makes a range impossible: an event version that does
// not parse, a range with no introduced event, or one fixed (or last
// affected) below every version it introduces. Events may come in any
// order, as OSV's evaluation sorts them.
func (o versionOrder) check(r Range) error {
	events, err := o.events(r)
	if err != nil {
		return err
	}
	var first *event
	for i := range events {
		e := &events[i]
		if e.kind != kindIntroduced {
			continue
		}
		if e.version == nil {
			return nil // introduced "0": nothing is below it
		}
		if first == nil || e.version.compare(first.version) < 0 {
			first = e
		}
	}
	for _, e := range events {
		if e.kind != kindFixed && e.kind != kindLastAffected {
			continue
		}
		if first == nil {
			return fmt.Errorf("%s %s but nothing introduced", kindNames[e.kind], e.raw)
		}
		if e.version.compare(first.version) < 0 {
			return fmt.Errorf("introduced %s after %s %s", first.raw, kindNames[e.kind], e.raw)
		}
	}
	return nil
}

// contains evaluates one range's events on version as the OSV schema
// specifies: events sorted by version (introduced "0" first, and at equal
// versions introduced before last_affected before fixed), the last event
// at or below the version decides: introduced affects, fixed unaffects
// from its version on, last_affected from the next version on, limit caps
// the range. An impossible range is an error; so is a version that does
// not parse.
func (o versionOrder) contains(r Range, version string) (bool, error) {
	if err := o.check(r); err != nil {
		return false, err
	}
	v, err := o.parse(version)
	if err != nil {
		return false, err
	}
	events, _ := o.events(r)
	slices.SortStableFunc(events, func(a, b event) int {
		if a.version == nil || b.version == nil {
			// Introduced "0" sorts before everything.
			return cmp.Compare(boolInt(a.version != nil), boolInt(b.version != nil))
		}
		if c := a.version.compare(b.version); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})
	affected := false
	for _, e := range events {
		var c int
		if e.version != nil {
			c = v.compare(e.version)
		}
		switch e.kind {
		case kindIntroduced:
			if e.version == nil || c >= 0 {
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
				return false, nil
			}
		}
	}
	return affected, nil
}

// RangeContains evaluates one SEMVER range on a semantic version (Go's
// reading: pseudo-versions, release tags); false when either cannot be
// read.
func RangeContains(r Range, version string) bool {
	in, err := goOrder.contains(r, version)
	return err == nil && in
}

// RangeProblems lists what makes an advisory's ranges for a package of
// ecosystem impossible to evaluate: event versions that are not versions
// of the range's order, intervals fixed before they are introduced. Such
// ranges match nothing; callers report them as problems of the advisory.
func RangeProblems(affected []Affected, ecosystem string) []string {
	var out []string
	for _, aff := range affected {
		for i, r := range aff.Ranges {
			order, ok := rangeOrder(r.Type, ecosystem)
			if !ok {
				continue
			}
			if err := order.check(r); err != nil {
				out = append(out, fmt.Sprintf("%s range %d of %s %s: %v (range not evaluated)",
					r.Type, i+1, aff.Package.Ecosystem, aff.Package.Name, err))
			}
		}
	}
	return out
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
	type candidate struct {
		raw string
		v   orderedVersion
	}
	var candidates []candidate
	order, ok := ecosystemOrder(ecosystem)
	if !ok {
		order = goOrder
	}
	for _, aff := range affected {
		for _, r := range aff.Ranges {
			ro, ok := rangeOrder(r.Type, ecosystem)
			if !ok || ro.check(r) != nil {
				continue
			}
			for _, e := range r.Events {
				if e.Fixed == "" {
					continue
				}
				if c, ok := ro.compare(e.Fixed, version); !ok || c <= 0 {
					continue
				}
				if v, err := order.parse(e.Fixed); err == nil {
					candidates = append(candidates, candidate{e.Fixed, v})
				}
			}
		}
	}
	slices.SortStableFunc(candidates, func(a, b candidate) int { return a.v.compare(b.v) })
	for _, c := range candidates {
		if !Affects(affected, ecosystem, c.raw) {
			return c.raw
		}
	}
	return ""
}
