package vulndb_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

func TestCVSS3KnownScores(t *testing.T) {
	tests := []struct {
		vector string
		score  float64
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		// Temporal and environmental metrics do not change the base score.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C/MAV:L", 9.8},
	}
	for _, tt := range tests {
		got, err := vulndb.CVSS3BaseScore(tt.vector)
		if err != nil || got != tt.score {
			t.Errorf("CVSS3BaseScore(%s) = %v, %v; want %v", tt.vector, got, err, tt.score)
		}
	}
}

// TestCVSS3BucketsUnchanged scores every one of the 2,592 base vectors of
// v3.0 and v3.1 with go-cvss and with the formulas Shipshape computed
// before it used the library (kept below as the reference): the scores,
// and so the severity buckets gates count, must not move.
func TestCVSS3BucketsUnchanged(t *testing.T) {
	values := [][]string{
		{"AV:N", "AV:A", "AV:L", "AV:P"}, {"AC:L", "AC:H"}, {"PR:N", "PR:L", "PR:H"}, {"UI:N", "UI:R"},
		{"S:U", "S:C"}, {"C:H", "C:L", "C:N"}, {"I:H", "I:L", "I:N"}, {"A:H", "A:L", "A:N"},
	}
	vectors := []string{""}
	for _, choices := range values {
		var next []string
		for _, v := range vectors {
			for _, c := range choices {
				next = append(next, v+"/"+c)
			}
		}
		vectors = next
	}
	if len(vectors) != 2592 {
		t.Fatalf("%d vectors, want 2592", len(vectors))
	}
	for _, metrics := range vectors {
		for _, version := range []string{"CVSS:3.0", "CVSS:3.1"} {
			vector := version + metrics
			want := referenceCVSS3(vector)
			got, err := vulndb.CVSS3BaseScore(vector)
			if err != nil || math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: got %v (%v), reference %v", vector, got, err, want)
			}
			r, err := vulndb.RateVector("CVSS_V3", vector)
			if err != nil || r.Severity != vulndb.SeverityOfScore(want) {
				t.Errorf("%s: rated %v (%v), reference bucket %v", vector, r.Severity, err, vulndb.SeverityOfScore(want))
			}
		}
	}
}

// referenceCVSS3 is the CVSS v3.x base score formula (specification §7)
// as Shipshape had it written by hand, for a vector of the eight base
// metrics only.
func referenceCVSS3(vector string) float64 {
	weights := map[string]map[string]float64{
		"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
		"AC": {"L": 0.77, "H": 0.44},
		"PR": {"N": 0.85, "L": 0.62, "H": 0.27},
		"UI": {"N": 0.85, "R": 0.62},
		"C":  {"H": 0.56, "L": 0.22, "N": 0},
		"I":  {"H": 0.56, "L": 0.22, "N": 0},
		"A":  {"H": 0.56, "L": 0.22, "N": 0},
	}
	prChanged := map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	parts := strings.Split(vector, "/")
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, ":")
		m[k] = v
	}
	changed := m["S"] == "C"
	pr := weights["PR"][m["PR"]]
	if changed {
		pr = prChanged[m["PR"]]
	}
	iss := 1 - (1-weights["C"][m["C"]])*(1-weights["I"][m["I"]])*(1-weights["A"][m["A"]])
	impact := 6.42 * iss
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	exploitability := 8.22 * weights["AV"][m["AV"]] * weights["AC"][m["AC"]] * pr * weights["UI"][m["UI"]]
	if impact <= 0 {
		return 0
	}
	roundUp := func(x float64) float64 { // v3.1, Appendix A
		i := int64(math.Round(x * 100000))
		if i%10000 == 0 {
			return float64(i) / 100000
		}
		return (math.Floor(float64(i)/10000) + 1) / 10
	}
	if parts[0] == "CVSS:3.0" {
		roundUp = func(x float64) float64 { return math.Ceil(x*10) / 10 }
	}
	if changed {
		return roundUp(math.Min(1.08*(impact+exploitability), 10))
	}
	return roundUp(math.Min(impact+exploitability, 10))
}

func TestCVSSInvalidVectors(t *testing.T) {
	for _, v := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",          // A missing
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",      // bad value
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // twice
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", // unknown metric
		"CVSS:2.0/AV:N",
		"AV:N/AC:L/Au:N/C:P/I:P/A:P", // CVSS v2: not rated from
	} {
		if _, err := vulndb.CVSS3BaseScore(v); err == nil {
			t.Errorf("CVSS3BaseScore(%s) accepted an invalid vector", v)
		}
		if _, err := vulndb.RateVector("CVSS_V3", v); err == nil {
			t.Errorf("RateVector(%s) accepted an invalid vector", v)
		}
	}
	if _, err := vulndb.CVSS4Score("CVSS:4.0/AV:N/AC:L"); err == nil {
		t.Error("CVSS4Score accepted a vector without its mandatory metrics")
	}
}

func TestCVSS4Scores(t *testing.T) {
	tests := []struct {
		vector string
		score  float64
	}{
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0},
	}
	for _, tt := range tests {
		r, err := vulndb.RateVector("CVSS_V4", tt.vector)
		if err != nil || r.Score != tt.score || r.Source != "CVSS_V4" {
			t.Errorf("RateVector(%s) = %+v, %v; want score %v from CVSS_V4", tt.vector, r, err, tt.score)
		}
	}
}

func TestRateEntry(t *testing.T) {
	v3 := vulndb.SeverityScore{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"} // 5.9
	v4 := vulndb.SeverityScore{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}
	tests := []struct {
		name  string
		entry vulndb.Entry
		want  string
	}{
		{"highest of v3 and v4", vulndb.Entry{Severity: []vulndb.SeverityScore{v3, v4}}, "CRITICAL 9.3 CVSS_V4"},
		{"vector, not the stated word", vulndb.Entry{Severity: []vulndb.SeverityScore{v3}, DatabaseSpecific: vulndb.DatabaseSpecific{Severity: "CRITICAL"}}, "MEDIUM 5.9 CVSS_V3"},
		{"per-package vector", vulndb.Entry{Affected: []vulndb.Affected{{Severity: []vulndb.SeverityScore{v3}}}}, "MEDIUM 5.9 CVSS_V3"},
		{"unparsable vector falls back to the word", vulndb.Entry{
			Severity:         []vulndb.SeverityScore{{Type: "CVSS_V3", Score: "9.8"}},
			DatabaseSpecific: vulndb.DatabaseSpecific{Severity: "HIGH"},
		}, "HIGH 0 database_specific"},
		{"GitHub's MODERATE", vulndb.Entry{DatabaseSpecific: vulndb.DatabaseSpecific{Severity: "MODERATE"}}, "MEDIUM 0 database_specific"},
		{"nothing to rate by", vulndb.Entry{DatabaseSpecific: vulndb.DatabaseSpecific{Severity: "whatever"}}, "UNKNOWN 0 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vulndb.RateEntry(&tt.entry)
			got := strings.Join([]string{r.Severity.String(), strconv.FormatFloat(r.Score, 'g', -1, 64), r.Source}, " ")
			if got != tt.want {
				t.Errorf("RateEntry = %q, want %q", got, tt.want)
			}
		})
	}
}
