package vulndb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

func intro(v string) vulndb.Event { return vulndb.Event{Introduced: v} }
func fixed(v string) vulndb.Event { return vulndb.Event{Fixed: v} }
func last(v string) vulndb.Event  { return vulndb.Event{LastAffected: v} }
func limit(v string) vulndb.Event { return vulndb.Event{Limit: v} }

func ecoRange(events ...vulndb.Event) vulndb.Range {
	return vulndb.Range{Type: vulndb.RangeEcosystem, Events: events}
}

func semverRange(events ...vulndb.Event) vulndb.Range {
	return vulndb.Range{Type: vulndb.RangeSemver, Events: events}
}

// TestRangeEdgeCases evaluates OSV ranges on the versions where they are
// easy to get wrong; want lists, per version, whether it is affected and
// the version FixedVersion should name.
func TestRangeEdgeCases(t *testing.T) {
	type check struct {
		version  string
		affected bool
		fixed    string
	}
	tests := []struct {
		name      string
		ecosystem string
		affected  []vulndb.Affected
		checks    []check
	}{
		{
			name: "introduced 0 and fixed", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"), fixed("1.2.0"))}}},
			checks: []check{
				{"v0.0.1", true, "1.2.0"}, {"v1.1.9", true, "1.2.0"},
				{"v1.2.0", false, ""}, {"v1.2.1", false, ""}, {"v2.0.0", false, ""},
			},
		},
		{
			name: "introduced 0 with no fix affects every version", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"))}}},
			checks:   []check{{"v0.0.0", true, ""}, {"v99.1.0", true, ""}},
		},
		{
			name: "v prefixes on either side", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("v1.0.0"), fixed("v1.0.5"))}}},
			checks:   []check{{"1.0.4", true, "v1.0.5"}, {"v1.0.4", true, "v1.0.5"}, {"0.9.0", false, ""}, {"v1.0.5", false, ""}},
		},
		{
			name: "multiple ranges and intervals", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{
				semverRange(intro("0"), fixed("1.2.3"), intro("1.3.0"), fixed("1.3.5")),
				semverRange(intro("2.0.0"), fixed("2.0.1")),
			}}},
			checks: []check{
				{"v1.2.2", true, "1.2.3"}, {"v1.2.3", false, ""}, {"v1.2.99", false, ""},
				{"v1.3.0", true, "1.3.5"}, {"v1.3.4", true, "1.3.5"}, {"v1.3.5", false, ""},
				{"v2.0.0", true, "2.0.1"}, {"v2.0.1", false, ""},
			},
		},
		{
			name: "events in any order", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(fixed("1.3.5"), intro("1.3.0"), fixed("1.2.3"), intro("0"))}}},
			checks:   []check{{"v1.0.0", true, "1.2.3"}, {"v1.2.5", false, ""}, {"v1.3.1", true, "1.3.5"}},
		},
		{
			name: "last_affected is inclusive and names no fix", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("1.5.0"), last("1.5.3"))}}},
			checks:   []check{{"v1.4.9", false, ""}, {"v1.5.0", true, ""}, {"v1.5.3", true, ""}, {"v1.5.4", false, ""}},
		},
		{
			name: "one version only: introduced and last_affected equal", ecosystem: "npm",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("3.1.0"), last("3.1.0")}}}}},
			checks:   []check{{"3.0.9", false, ""}, {"3.1.0", true, ""}, {"3.1.1", false, ""}},
		},
		{
			name: "pre-releases order before their release", ecosystem: "npm",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("2.0.0-rc.1"), fixed("2.0.0"))}}},
			checks: []check{
				{"2.0.0-beta.3", false, ""}, {"2.0.0-rc.1", true, "2.0.0"}, {"2.0.0-rc.2", true, "2.0.0"},
				{"2.0.0", false, ""}, {"1.9.9", false, ""},
			},
		},
		{
			name: "fixed in a pre-release", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"), fixed("0.17.0-rc.1"))}}},
			checks:   []check{{"v0.16.9", true, "0.17.0-rc.1"}, {"v0.17.0-rc.0", true, "0.17.0-rc.1"}, {"v0.17.0", false, ""}},
		},
		{
			name: "Go pseudo-versions", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{
				semverRange(intro("0"), fixed("0.0.0-20220315160706-3147a52a75dd")),
			}}},
			checks: []check{
				{"v0.0.0-20210921155107-089bfa567519", true, "0.0.0-20220315160706-3147a52a75dd"},
				{"v0.0.0-20220315160706-3147a52a75dd", false, ""},
				{"v0.0.0-20230101000000-aaaaaaaaaaaa", false, ""},
				{"v0.1.0", false, ""},
			},
		},
		{
			name: "pseudo-version between two releases", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("1.2.3"), fixed("1.2.4"))}}},
			checks: []check{
				// v1.2.4-0.… is a commit after v1.2.3 and before v1.2.4.
				{"v1.2.4-0.20210101000000-abcdefabcdef", true, "1.2.4"},
				{"v1.2.3-0.20210101000000-abcdefabcdef", false, ""},
			},
		},
		{
			name: "+incompatible compares by its version", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"), fixed("20.10.11+incompatible"))}}},
			checks: []check{
				{"v20.10.10+incompatible", true, "20.10.11+incompatible"},
				{"v20.10.11+incompatible", false, ""}, {"v23.0.0+incompatible", false, ""},
			},
		},
		{
			name: "stdlib as Go tags", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"), fixed("1.20.9"), intro("1.21.0-0"), fixed("1.21.2"))}}},
			checks: []check{
				{"go1.20.8", true, "1.20.9"}, {"go1.20.9", false, ""}, {"go1.21rc2", true, "1.21.2"},
				{"go1.21.0", true, "1.21.2"}, {"go1.21.1", true, "1.21.2"}, {"go1.21.2", false, ""},
				{"v1.19.0", true, "1.20.9"},
			},
		},
		{
			name: "limit caps a range", ecosystem: "npm",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("1.0.0"), limit("1.5.0"))}}},
			checks:   []check{{"1.4.0", true, ""}, {"1.5.0", false, ""}},
		},
		{
			name: "later range reopens after a fix: the fix must clear every range", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{
				semverRange(intro("0"), fixed("1.1.0")),
				semverRange(intro("1.1.0"), fixed("1.1.2")),
			}}},
			checks: []check{{"v1.0.0", true, "1.1.2"}, {"v1.1.1", true, "1.1.2"}, {"v1.1.2", false, ""}},
		},
		{
			name: "explicit versions list", ecosystem: "PyPI",
			affected: []vulndb.Affected{{Versions: []string{"1.0", "1.1"}}},
			checks:   []check{{"1.0", true, ""}, {"1.1", true, ""}, {"1.2", false, ""}},
		},
		{
			name: "ECOSYSTEM ranges of ecosystems whose order is not known are not guessed", ecosystem: "Maven",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{ecoRange(intro("0"), fixed("2.0"))}}},
			checks:   []check{{"1.0.0", false, ""}},
		},
		{
			name: "PyPI ranges in PEP 440 order", ecosystem: "PyPI",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{ecoRange(intro("1.9"), fixed("1.10"))}}},
			checks: []check{
				{"1.9", true, "1.10"}, {"1.9.0", true, "1.10"}, {"1.9.5", true, "1.10"}, {"1.10rc1", true, "1.10"},
				{"1.10.0.dev3", true, "1.10"}, {"1.10", false, ""}, {"1.10.0", false, ""}, {"1.10.post1", false, ""},
				{"1.8.99", false, ""}, {"1!1.9.5", false, ""}, {"1.9.5+local.1", true, "1.10"},
				{"not-a-version", false, ""},
			},
		},
		{
			name: "PyPI: a fix's pre-release is still affected, its post-release is not", ecosystem: "PyPI",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{ecoRange(intro("0"), fixed("2.0.0"))}}},
			checks:   []check{{"2.0.0b1", true, "2.0.0"}, {"2.0", false, ""}, {"2.0.0.post1", false, ""}},
		},
		{
			name: "PyPI versions list compares in PEP 440 order", ecosystem: "PyPI",
			affected: []vulndb.Affected{{Versions: []string{"1.0", "2.1rc1"}}},
			checks:   []check{{"1.0.0", true, ""}, {"2.1.0rc1", true, ""}, {"2.1", false, ""}},
		},
		{
			name: "npm ECOSYSTEM ranges in node-semver order", ecosystem: "npm",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{ecoRange(intro("0"), fixed("4.17.21"))}}},
			checks: []check{
				{"4.17.20", true, "4.17.21"}, {"v4.17.20", true, "4.17.21"}, {"4.17.21-beta.1", true, "4.17.21"},
				{"4.17.21", false, ""}, {"4.17.21+build.7", false, ""}, {"4.18.0", false, ""},
			},
		},
		{
			name: "an impossible range matches nothing; the advisory's other ranges still do", ecosystem: "PyPI",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{
				ecoRange(intro("2.0"), fixed("1.0")),
				ecoRange(intro("3.0"), fixed("banana split")),
				ecoRange(intro("5.0"), fixed("5.1")),
			}}},
			checks: []check{{"0.5", false, ""}, {"1.5", false, ""}, {"2.5", false, ""}, {"3.5", false, ""}, {"5.0.1", true, "5.1"}},
		},
		{
			name: "GIT ranges are ignored", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{{Type: vulndb.RangeGit, Events: []vulndb.Event{intro("0"), fixed("abc123")}}}}},
			checks:   []check{{"v1.0.0", false, ""}},
		},
		{
			name: "no ranges and no versions: every version", ecosystem: "Go",
			affected: []vulndb.Affected{{}},
			checks:   []check{{"v1.0.0", true, ""}},
		},
		{
			name: "not a semantic version never matches a range", ecosystem: "Go",
			affected: []vulndb.Affected{{Ranges: []vulndb.Range{semverRange(intro("0"))}}},
			checks:   []check{{"(devel)", false, ""}, {"", false, ""}, {"latest", false, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.checks {
				got := vulndb.Affects(tt.affected, tt.ecosystem, c.version)
				if got != c.affected {
					t.Errorf("Affects(%s) = %v, want %v", c.version, got, c.affected)
				}
				if !got {
					continue
				}
				if f := vulndb.FixedVersion(tt.affected, tt.ecosystem, c.version); f != c.fixed {
					t.Errorf("FixedVersion(%s) = %q, want %q", c.version, f, c.fixed)
				}
			}
		})
	}
}

func TestGoTags(t *testing.T) {
	tests := []struct{ tag, semver, back string }{
		{"go1", "v1.0.0", "go1"},
		{"go1.20", "v1.20.0", "go1.20"},
		{"go1.20.14", "v1.20.14", "go1.20.14"},
		{"go1.21.0", "v1.21.0", "go1.21.0"},
		{"go1.22rc1", "v1.22.0-rc.1", "go1.22rc1"},
		{"go1.9beta2", "v1.9.0-beta.2", "go1.9beta2"},
		{"go1.22.5 X:boringcrypto", "v1.22.5", "go1.22.5"},
		{"devel go1.23-abcdef", "", ""},
	}
	for _, tt := range tests {
		got := vulndb.GoTagToSemver(tt.tag)
		if got != tt.semver {
			t.Errorf("GoTagToSemver(%q) = %q, want %q", tt.tag, got, tt.semver)
		}
		if got == "" {
			continue
		}
		if back := vulndb.SemverToGoTag(got); back != tt.back {
			t.Errorf("SemverToGoTag(%q) = %q, want %q", got, back, tt.back)
		}
	}
}

func TestLookupAndMerge(t *testing.T) {
	withdrawn := time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC)
	critical := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	entries := []*vulndb.Entry{
		{
			ID: "GO-2099-0001", Aliases: []string{"CVE-2099-1000", "GHSA-xxxx-yyyy-zzzz"}, Summary: "Go advisory",
			Affected: []vulndb.Affected{{Package: vulndb.Package{Ecosystem: "Go", Name: "example.com/lib"},
				Ranges: []vulndb.Range{semverRange(intro("0"), fixed("1.2.0"))}}},
		},
		{
			// The same vulnerability as GitHub files it: rated, and fixed later.
			ID: "GHSA-xxxx-yyyy-zzzz", Aliases: []string{"CVE-2099-1000"}, Summary: "GitHub advisory",
			Severity: []vulndb.SeverityScore{{Type: "CVSS_V3", Score: critical}},
			Affected: []vulndb.Affected{{Package: vulndb.Package{Ecosystem: "Go", Name: "example.com/lib"},
				Ranges: []vulndb.Range{semverRange(intro("0"), fixed("1.2.1"))}}},
		},
		{
			ID: "GO-2099-0002", Summary: "one advisory, two packages",
			DatabaseSpecific: vulndb.DatabaseSpecific{Severity: "MODERATE"},
			Affected: []vulndb.Affected{
				{Package: vulndb.Package{Ecosystem: "Go", Name: "example.com/lib"}, Ranges: []vulndb.Range{semverRange(intro("0"), last("1.1.0"))}},
				{Package: vulndb.Package{Ecosystem: "Go", Name: "stdlib"}, Ranges: []vulndb.Range{semverRange(intro("0"), fixed("1.22.1"))}},
			},
		},
		{
			ID: "GO-2099-0003", Withdrawn: &withdrawn,
			Affected: []vulndb.Affected{{Package: vulndb.Package{Ecosystem: "Go", Name: "example.com/lib"}}},
		},
	}
	idx := vulndb.NewIndex(entries)
	if idx.Advisories != 3 || idx.Withdrawn != 1 {
		t.Errorf("indexed %d, withdrawn %d; want 3 and 1", idx.Advisories, idx.Withdrawn)
	}
	findings := idx.Match([]vulndb.Query{
		{Ref: "lib", Ecosystem: "Go", Name: "example.com/lib", Version: "v1.1.0"},
		{Ref: "std", Ecosystem: "Go", Name: "stdlib", Version: "go1.22.0"},
		{Ref: "other", Ecosystem: "npm", Name: "example.com/lib", Version: "1.0.0"},
	})
	if len(findings) != 2 {
		t.Fatalf("findings: %+v, want 2", findings)
	}
	f := findings[0]
	if f.ID != "GO-2099-0001" || len(f.Aliases) != 2 || f.Aliases[0] != "CVE-2099-1000" || f.Aliases[1] != "GHSA-xxxx-yyyy-zzzz" {
		t.Errorf("merged finding %s aliases %v, want GO-2099-0001 with CVE and GHSA aliases", f.ID, f.Aliases)
	}
	if f.Rating.Severity != vulndb.Critical || f.Rating.Score != 9.8 || f.Rating.Source != "CVSS_V3" {
		t.Errorf("merged rating %+v, want CRITICAL 9.8 from the GHSA vector", f.Rating)
	}
	if len(f.Packages) != 1 || f.Packages[0].Fixed != "1.2.1" || f.Packages[0].DisplayFixed() != "v1.2.1" || !f.Fixable() {
		t.Errorf("merged packages %+v, want one, fixed by the later fix v1.2.1", f.Packages)
	}
	g := findings[1]
	if g.ID != "GO-2099-0002" || g.Rating.Severity != vulndb.Medium || g.Rating.Source != "database_specific" {
		t.Errorf("second finding %s %+v, want GO-2099-0002 MEDIUM from database_specific", g.ID, g.Rating)
	}
	if len(g.Packages) != 2 || g.Fixable() {
		t.Errorf("second finding packages %+v: want lib (no fix) and stdlib, not fixable", g.Packages)
	}
	if std := g.Packages[1]; std.Name != "stdlib" || std.DisplayVersion() != "go1.22.0" || std.DisplayFixed() != "go1.22.1" {
		t.Errorf("stdlib package %+v shows %s → %s, want go1.22.0 → go1.22.1", std, std.DisplayVersion(), std.DisplayFixed())
	}
	if !f.HasID("cve-2099-1000") || f.HasID("GO-2099-0002") {
		t.Error("HasID does not match IDs and aliases case-insensitively")
	}
}

func TestRangeProblems(t *testing.T) {
	pkg := vulndb.Package{Ecosystem: "PyPI", Name: "example"}
	tests := []struct {
		name      string
		ecosystem string
		ranges    []vulndb.Range
		want      []string
	}{
		{"valid", "PyPI", []vulndb.Range{ecoRange(intro("0"), fixed("1.0")), ecoRange(fixed("3.1"), intro("3.0"))}, nil},
		{"introduced after fixed", "PyPI", []vulndb.Range{ecoRange(intro("2.0"), fixed("1.0"))},
			[]string{"ECOSYSTEM range 1 of PyPI example: introduced 2.0 after fixed 1.0 (range not evaluated)"}},
		{"last_affected below introduced", "PyPI", []vulndb.Range{ecoRange(intro("0"), fixed("1")), ecoRange(intro("2.0"), last("1.5"))},
			[]string{"ECOSYSTEM range 2 of PyPI example: introduced 2.0 after last_affected 1.5 (range not evaluated)"}},
		{"not a PEP 440 version", "PyPI", []vulndb.Range{ecoRange(intro("0"), fixed("1.0-banana-split"))},
			[]string{`ECOSYSTEM range 1 of PyPI example: fixed "1.0-banana-split" is not a PEP 440 version (range not evaluated)`}},
		{"not a semantic version in a SEMVER range", "npm", []vulndb.Range{semverRange(intro("1.0"), fixed("2.x"))},
			[]string{`SEMVER range 1 of PyPI example: fixed "2.x" is not an npm version (range not evaluated)`}},
		{"nothing introduced", "PyPI", []vulndb.Range{ecoRange(fixed("1.0"))},
			[]string{"ECOSYSTEM range 1 of PyPI example: fixed 1.0 but nothing introduced (range not evaluated)"}},
		{"GIT ranges and unknown orders are not checked", "Maven", []vulndb.Range{
			{Type: vulndb.RangeGit, Events: []vulndb.Event{intro("0"), fixed("abc")}}, ecoRange(intro("2"), fixed("1")),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vulndb.RangeProblems([]vulndb.Affected{{Package: pkg, Ranges: tt.ranges}}, tt.ecosystem)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("RangeProblems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
