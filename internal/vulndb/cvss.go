package vulndb

import (
	"fmt"
	"strings"

	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"
)

// CVSS3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" → 9.8), with the
// specification's formulas and each version's rounding as implemented by
// github.com/pandatix/go-cvss. Temporal and environmental metrics the
// vector may carry are checked but do not change the base score.
func CVSS3BaseScore(vector string) (float64, error) {
	vector = strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := cvss30.ParseVector(vector)
		if err != nil {
			return 0, fmt.Errorf("cvss vector %q: %w", vector, err)
		}
		return v.BaseScore(), nil
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := cvss31.ParseVector(vector)
		if err != nil {
			return 0, fmt.Errorf("cvss vector %q: %w", vector, err)
		}
		return v.BaseScore(), nil
	}
	return 0, fmt.Errorf("cvss vector %q: want a CVSS:3.0 or CVSS:3.1 prefix", vector)
}

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
