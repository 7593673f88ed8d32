package vulndb

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Finding is one vulnerability found: the advisories that describe it (a
// GO- advisory, its GHSA and its CVE merge into one), rated once, with
// every package version it affects.
type Finding struct {
	ID        string            `json:"id"`
	Aliases   []string          `json:"aliases,omitempty"`
	Summary   string            `json:"summary,omitempty"`
	Details   string            `json:"details,omitempty"`
	URL       string            `json:"url,omitempty"`
	Published time.Time         `json:"published,omitzero"`
	Rating    Rating            `json:"rating"`
	Packages  []AffectedPackage `json:"packages"`
}

// Fixable reports whether a fixed version is known for every package the
// finding affects: upgrading removes it.
func (f Finding) Fixable() bool {
	if len(f.Packages) == 0 {
		return false
	}
	for _, p := range f.Packages {
		if p.Fixed == "" {
			return false
		}
	}
	return true
}

// HasID reports whether id is the finding's ID or one of its aliases.
func (f Finding) HasID(id string) bool {
	id = strings.TrimSpace(id)
	if strings.EqualFold(f.ID, id) {
		return true
	}
	for _, a := range f.Aliases {
		if strings.EqualFold(a, id) {
			return true
		}
	}
	return false
}

// Merge groups matches whose advisories share an ID or alias, so one
// vulnerability counts once however many databases describe it. A
// finding's ID is an advisory ID of its group, ecosystem databases' (GO-,
// RUSTSEC-, PYSEC-…) preferred over GHSA-, GHSA- over CVE-; its rating the
// highest of its advisories'. Findings come sorted by severity, highest
// first, then ID.
func Merge(matches []Match) []Finding {
	uf := unionFind{}
	for _, m := range matches {
		ids := m.Advisory.IDs()
		for _, id := range ids[1:] {
			uf.union(ids[0], id)
		}
	}
	type group struct {
		advisories []*Advisory
		packages   []AffectedPackage
	}
	groups := map[string]*group{}
	var order []string
	for _, m := range matches {
		root := uf.find(m.Advisory.ID)
		g, ok := groups[root]
		if !ok {
			g = &group{}
			groups[root] = g
			order = append(order, root)
		}
		if !slices.Contains(g.advisories, m.Advisory) {
			g.advisories = append(g.advisories, m.Advisory)
		}
		g.packages = addPackage(g.packages, m.Package)
	}
	findings := make([]Finding, 0, len(groups))
	for _, root := range order {
		g := groups[root]
		slices.SortFunc(g.advisories, func(a, b *Advisory) int {
			return cmp.Or(cmp.Compare(idRank(a.ID), idRank(b.ID)), strings.Compare(a.ID, b.ID))
		})
		primary := g.advisories[0]
		f := Finding{
			ID: primary.ID, Summary: primary.Summary, Details: primary.Details, URL: primary.URL,
			Published: primary.Published, Rating: primary.Rating, Packages: g.packages,
		}
		ids := map[string]bool{}
		for _, a := range g.advisories {
			for _, id := range a.IDs() {
				if id != f.ID {
					ids[id] = true
				}
			}
			if f.Summary == "" {
				f.Summary, f.Details = a.Summary, a.Details
			}
			if a.Rating.Higher(f.Rating) {
				f.Rating = a.Rating
			}
		}
		for id := range ids {
			f.Aliases = append(f.Aliases, id)
		}
		slices.Sort(f.Aliases)
		slices.SortFunc(f.Packages, func(a, b AffectedPackage) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version), strings.Compare(a.Ref, b.Ref))
		})
		findings = append(findings, f)
	}
	SortFindings(findings)
	return findings
}

// SortFindings orders findings by severity, highest first, then by ID.
func SortFindings(findings []Finding) {
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Rating.Severity, a.Rating.Severity),
			cmp.Compare(b.Rating.Score, a.Rating.Score),
			strings.Compare(a.ID, b.ID))
	})
}

// addPackage adds p to the list unless it is there; when two advisories
// of one vulnerability name different fixes, the higher one removes both.
func addPackage(list []AffectedPackage, p AffectedPackage) []AffectedPackage {
	for i, q := range list {
		if q.Ref != p.Ref || q.Ecosystem != p.Ecosystem || q.Name != p.Name || q.Version != p.Version {
			continue
		}
		switch {
		case q.Fixed == "" || p.Fixed == "":
			// One advisory knows no fix: then no version is known to fix all.
			list[i].Fixed = ""
		default:
			if c, ok := CompareVersions(p.Ecosystem, p.Fixed, q.Fixed); ok && c > 0 {
				list[i].Fixed = p.Fixed
			}
		}
		return list
	}
	return append(list, p)
}

// idRank orders ID prefixes for choosing a finding's ID: an ecosystem
// database's own ID first, then GitHub's, then CVE.
func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 2
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	}
	return 0
}

// unionFind groups IDs that alias each other.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok || p == x {
			return x
		}
		// Path halving keeps later finds short.
		if gp, ok := u[p]; ok {
			u[x] = gp
		}
		x = p
	}
}

func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if ra > rb {
		ra, rb = rb, ra
	}
	u[rb] = ra
	if _, ok := u[ra]; !ok {
		u[ra] = ra
	}
}
