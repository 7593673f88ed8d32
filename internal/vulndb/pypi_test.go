package vulndb_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// realPyPIDB is the PyPA advisory database that lives beside the
// repository (../shared/data/osv-pypi/entries from the repository root):
// 2,661 real PyPI advisories in OSV JSON, CC-BY-4.0.
func realPyPIDB(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "osv-pypi", "entries"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "the shared PyPA advisory database at "+dir, "it lives outside the repository, in shared/data/osv-pypi")
	}
	return dir
}

// pypiPins are pinned versions and EXACTLY the advisories whose ranges or
// versions lists cover them, computed independently with Python's own
// PEP 440 implementation (packaging.version) over the snapshot's files
// and listed here by hand.
var pypiPins = []struct {
	name, version string
	want          []string
}{
	{"Django", "3.2.0", []string{
		"PYSEC-2021-109", "PYSEC-2021-439", "PYSEC-2021-7", "PYSEC-2021-8", "PYSEC-2021-98", "PYSEC-2021-99",
		"PYSEC-2022-1", "PYSEC-2022-19", "PYSEC-2022-190", "PYSEC-2022-191", "PYSEC-2022-2", "PYSEC-2022-20",
		"PYSEC-2022-213", "PYSEC-2022-245", "PYSEC-2022-3", "PYSEC-2022-304", "PYSEC-2023-100", "PYSEC-2023-12",
		"PYSEC-2023-13", "PYSEC-2023-222", "PYSEC-2023-225", "PYSEC-2023-226", "PYSEC-2023-61", "PYSEC-2024-28",
		"PYSEC-2024-47",
	}},
	{"requests", "2.19.1", []string{"PYSEC-2018-28", "PYSEC-2023-74"}},
	{"Jinja2", "2.10", []string{"PYSEC-2019-217", "PYSEC-2021-66"}},
	{"PyYAML", "5.3", []string{"PYSEC-2020-96", "PYSEC-2021-142"}},
	{"urllib3", "1.24.1", []string{"PYSEC-2019-132", "PYSEC-2019-133", "PYSEC-2020-148", "PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-207", "PYSEC-2023-212"}},
	{"Flask", "0.12", []string{"PYSEC-2018-66", "PYSEC-2019-179", "PYSEC-2023-62"}},
	{"werkzeug", "0.15.3", []string{"PYSEC-2022-203", "PYSEC-2023-221", "PYSEC-2023-57", "PYSEC-2023-58"}},
	// Spelled otherwise: PEP 503 names, PEP 440 equal versions.
	{"pyyaml", "5.3.0", []string{"PYSEC-2020-96", "PYSEC-2021-142"}},
	{"JINJA_2", "2.10", nil}, // another project: no advisory
	{"requests", "2.32.3", nil},
}

func TestRealPyPIDatabaseMatchesExactly(t *testing.T) {
	idx := mustLoad(t, realPyPIDB(t))
	if total := idx.Advisories + idx.Withdrawn; total != 2661 {
		t.Errorf("read %d advisories, want the 2,661 of the snapshot", total)
	}
	for _, pin := range pypiPins {
		var got []string
		for _, m := range idx.Lookup(vulndb.Query{Ecosystem: "PyPI", Name: pin.name, Version: pin.version}) {
			got = append(got, m.Advisory.ID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(pin.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s==%s: advisories\n got %v\nwant %v", pin.name, pin.version, got, want)
		}
	}
	// A fix the finding names is a version no advisory range covers.
	for _, m := range idx.Lookup(vulndb.Query{Ecosystem: "PyPI", Name: "requests", Version: "2.19.1"}) {
		if m.Advisory.ID == "PYSEC-2018-28" && m.Package.Fixed != "2.20.0" {
			t.Errorf("PYSEC-2018-28 fixed = %q, want 2.20.0", m.Package.Fixed)
		}
	}
}

// TestRealPyPIAdvisoryProblems: the two advisories of the snapshot whose
// ranges cannot be read in PEP 440 are reported, for the packages they
// concern only, and scanning them does not fail.
func TestRealPyPIAdvisoryProblems(t *testing.T) {
	dir := realPyPIDB(t)
	entries, err := vulndb.ReadEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, e := range entries {
		for _, p := range vulndb.RangeProblems(e.Affected, "PyPI") {
			all = append(all, e.ID+": "+p)
		}
	}
	want := []string{
		`PYSEC-2019-125: ECOSYSTEM range 1 of PyPI steam: fixed "2019-09-12" is not a PEP 440 version (range not evaluated)`,
		`PYSEC-2021-371: ECOSYSTEM range 2 of PyPI binderhub: fixed "0.2.0-n653" is not a PEP 440 version (range not evaluated)`,
	}
	slices.Sort(all)
	if !slices.Equal(all, want) {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	idx := mustLoad(t, dir)
	queries := []vulndb.Query{{Ecosystem: "PyPI", Name: "Steam", Version: "0.1"}, {Ecosystem: "PyPI", Name: "django", Version: "3.2"}}
	probs := idx.Problems(queries)
	if len(probs) != 1 || probs[0].Advisory != "PYSEC-2019-125" || !strings.Contains(probs[0].String(), "not a PEP 440 version") {
		t.Errorf("Problems = %v, want PYSEC-2019-125's alone", probs)
	}
	_ = idx.Match(queries) // no panic, no error
}

// TestRealPyPIVersionsListsAgreeWithRanges checks the range evaluation
// against the advisories' own enumeration: PyPA lists, beside each range,
// the released versions it covers. Every listed PEP 440 version must lie
// in the ranges, except where the snapshot's lists and ranges disagree
// (pre-releases listed below an "introduced" release, a version listed
// that its range fixes), named here after reading those files.
func TestRealPyPIVersionsListsAgreeWithRanges(t *testing.T) {
	entries, err := vulndb.ReadEntries(realPyPIDB(t))
	if err != nil {
		t.Fatal(err)
	}
	var disagree []string
	checked := 0
	for _, e := range entries {
		for _, a := range e.Affected {
			ranges := a
			ranges.Versions = nil
			if len(ranges.Ranges) == 0 {
				continue
			}
			for _, v := range a.Versions {
				if vulndb.ValidVersion("PyPI", v) != nil {
					continue // legacy versions (0.3m1, 2.0.0-final) match only the list
				}
				checked++
				if !vulndb.Affects([]vulndb.Affected{ranges}, "PyPI", v) {
					disagree = append(disagree, e.ID+" "+a.Package.Name+" "+v)
				}
			}
		}
	}
	want := []string{
		"PYSEC-2021-114 wagtail 2.11.6",
		"PYSEC-2022-236 pyspark 3.1.1", "PYSEC-2022-236 pyspark 3.1.2",
		"PYSEC-2023-177 gevent 23.9.0", "PYSEC-2023-177 gevent 23.9.0.post1",
		"PYSEC-2023-61 django 3.2a1", "PYSEC-2023-61 django 3.2b1", "PYSEC-2023-61 django 3.2rc1",
		"PYSEC-2023-61 django 4.2a1", "PYSEC-2023-61 django 4.2b1", "PYSEC-2023-61 django 4.2rc1",
		"PYSEC-2023-72 pyspark 3.1.1", "PYSEC-2023-72 pyspark 3.1.2", "PYSEC-2023-72 pyspark 3.1.3",
	}
	slices.Sort(disagree)
	if !slices.Equal(disagree, want) {
		t.Errorf("listed versions outside their ranges:\n%s", strings.Join(disagree, "\n"))
	}
	if checked < 100000 {
		t.Errorf("checked %d listed versions, want the snapshot's 140,000 or so", checked)
	}
}
