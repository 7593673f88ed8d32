package vulndb

import (
	"fmt"
	"math"
	"strings"

	cvss40 "github.com/pandatix/go-cvss/40"
)

// cvss3Weights are the CVSS v3.x base metric weights (specification §7.4);
// PR's weights for a changed scope are in cvss3PRChanged.
var cvss3Weights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"PR": {"N": 0.85, "L": 0.62, "H": 0.27},
	"UI": {"N": 0.85, "R": 0.62},
	"S":  {"U": 0, "C": 0},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

var cvss3PRChanged = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}

// cvss3Optional are the temporal and environmental metrics a v3.x vector
// may also carry; they do not change the base score.
var cvss3Optional = map[string]bool{
	"E": true, "RL": true, "RC": true, "CR": true, "IR": true, "AR": true,
	"MAV": true, "MAC": true, "MPR": true, "MUI": true, "MS": true, "MC": true, "MI": true, "MA": true,
}

// CVSS3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" → 9.8) with the
// specification's formulas; v3.0 and v3.1 differ only in rounding.
func CVSS3BaseScore(vector string) (float64, error) {
	parts := strings.Split(strings.TrimSpace(vector), "/")
	version := parts[0]
	if version != "CVSS:3.0" && version != "CVSS:3.1" {
		return 0, fmt.Errorf("cvss vector %q: want a CVSS:3.0 or CVSS:3.1 prefix", vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		key, val, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("cvss vector %q: metric %q is not KEY:VALUE", vector, p)
		}
		if _, dup := m[key]; dup {
			return 0, fmt.Errorf("cvss vector %q: metric %s given twice", vector, key)
		}
		if w, base := cvss3Weights[key]; base {
			if _, ok := w[val]; !ok {
				return 0, fmt.Errorf("cvss vector %q: %s:%s is not a valid value", vector, key, val)
			}
		} else if !cvss3Optional[key] {
			return 0, fmt.Errorf("cvss vector %q: unknown metric %s", vector, key)
		}
		m[key] = val
	}
	for key := range cvss3Weights {
		if _, ok := m[key]; !ok {
			return 0, fmt.Errorf("cvss vector %q: base metric %s missing", vector, key)
		}
	}
	changed := m["S"] == "C"
	pr := cvss3Weights["PR"][m["PR"]]
	if changed {
		pr = cvss3PRChanged[m["PR"]]
	}
	iss := 1 - (1-cvss3Weights["C"][m["C"]])*(1-cvss3Weights["I"][m["I"]])*(1-cvss3Weights["A"][m["A"]])
	impact := 6.42 * iss
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	exploitability := 8.22 * cvss3Weights["AV"][m["AV"]] * cvss3Weights["AC"][m["AC"]] * pr * cvss3Weights["UI"][m["UI"]]
	if impact <= 0 {
		return 0, nil
	}
	roundUp := roundUp31
	if version == "CVSS:3.0" {
		roundUp = roundUp30
	}
	if changed {
		return roundUp(math.Min(1.08*(impact+exploitability), 10)), nil
	}
	return roundUp(math.Min(impact+exploitability, 10)), nil
}

// roundUp31 is CVSS v3.1's Roundup (Appendix A): the smallest number with
// one decimal at or above x, computed on integers so that floating-point
// noise (4.000000001) does not round up.
func roundUp31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return (math.Floor(float64(i)/10000) + 1) / 10
}

// roundUp30 is CVSS v3.0's Roundup: ceiling to one decimal.
func roundUp30(x float64) float64 { return math.Ceil(x*10) / 10 }

// CVSS4Score computes the score of a CVSS v4.0 vector from its metrics
// (the base score, CVSS-B, for a vector of base metrics), using the
// specification's macro-vector lookup and interpolation as implemented by
// github.com/pandatix/go-cvss: its 270-entry table is better checked there
// than copied here.
func CVSS4Score(vector string) (float64, error) {
	v, err := cvss40.ParseVector(strings.TrimSpace(vector))
	if err != nil {
		return 0, fmt.Errorf("cvss vector %q: %w", vector, err)
	}
	return v.Score(), nil
}
