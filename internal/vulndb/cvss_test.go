package vulndb_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"

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

// TestCVSS3AgainstIndependentImplementation scores every one of the 2,592
// base vectors of v3.0 and v3.1 and compares with go-cvss, an independent
// implementation of the same specification.
func TestCVSS3AgainstIndependentImplementation(t *testing.T) {
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
		v31 := "CVSS:3.1" + metrics
		want31, err := cvss31.ParseVector(v31)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := vulndb.CVSS3BaseScore(v31); err != nil || got != want31.BaseScore() {
			t.Errorf("%s: got %v (%v), go-cvss %v", v31, got, err, want31.BaseScore())
		}
		v30 := "CVSS:3.0" + metrics
		want30, err := cvss30.ParseVector(v30)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := vulndb.CVSS3BaseScore(v30); err != nil || math.Abs(got-want30.BaseScore()) > 1e-9 {
			t.Errorf("%s: got %v (%v), go-cvss %v", v30, got, err, want30.BaseScore())
		}
	}
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
