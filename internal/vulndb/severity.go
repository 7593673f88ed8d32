package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity is a vulnerability's qualitative severity.
type Severity int

// Severities, lowest first; Unknown when an advisory gives nothing to
// rate it by.
const (
	Unknown Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (s Severity) String() string {
	if s < Unknown || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name, as ParseSeverity.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok && !strings.EqualFold(string(b), "unknown") {
		return fmt.Errorf("unknown severity %q", b)
	}
	*s = v
	return nil
}

// MarshalJSON writes the severity's name as a JSON string.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// ParseSeverity reads a severity word in any case: critical, high,
// medium (or GitHub's moderate), low. ok is false for anything else,
// which rates Unknown.
func ParseSeverity(word string) (Severity, bool) {
	switch strings.ToUpper(strings.TrimSpace(word)) {
	case "CRITICAL":
		return Critical, true
	case "HIGH", "IMPORTANT":
		return High, true
	case "MEDIUM", "MODERATE":
		return Medium, true
	case "LOW":
		return Low, true
	}
	return Unknown, false
}

// SeverityOfScore is the CVSS qualitative rating of a base score: 9.0 and
// up critical, 7.0 high, 4.0 medium, above 0 low. A score of 0.0 ("none")
// rates Low: it is still a finding.
func SeverityOfScore(score float64) Severity {
	switch {
	case score >= 9.0:
		return Critical
	case score >= 7.0:
		return High
	case score >= 4.0:
		return Medium
	}
	return Low
}

// Rating is how a vulnerability was rated, and from what.
type Rating struct {
	Severity Severity `json:"severity"`
	// Score is the CVSS base score computed from Vector; 0 when the
	// severity came from elsewhere.
	Score  float64 `json:"score,omitempty"`
	Vector string  `json:"vector,omitempty"`
	// Source says what the rating rests on: "CVSS_V3", "CVSS_V4",
	// "database_specific", "grype", or "" for Unknown.
	Source string `json:"source,omitempty"`
}

// Higher reports whether r rates above o: a higher severity, or the same
// with a higher score.
func (r Rating) Higher(o Rating) bool {
	if r.Severity != o.Severity {
		return r.Severity > o.Severity
	}
	return r.Score > o.Score
}

// RateEntry rates an advisory: the highest base score computed from its
// CVSS v3.x and v4.0 vectors (the advisory's own and its affected
// packages'), never a number it states; else its database_specific
// severity word; else Unknown. Vectors that do not parse are skipped.
func RateEntry(e *Entry) Rating {
	scores := append([]SeverityScore(nil), e.Severity...)
	for _, a := range e.Affected {
		scores = append(scores, a.Severity...)
	}
	best, found := Rating{}, false
	for _, s := range scores {
		r, err := RateVector(s.Type, s.Score)
		if err != nil {
			continue
		}
		if !found || r.Higher(best) {
			best, found = r, true
		}
	}
	if found {
		return best
	}
	words := []string{e.DatabaseSpecific.Severity}
	for _, a := range e.Affected {
		words = append(words, a.DatabaseSpecific.Severity)
	}
	for _, w := range words {
		if s, ok := ParseSeverity(w); ok && s > best.Severity {
			best = Rating{Severity: s, Source: "database_specific"}
		}
	}
	return best
}

// RateVector computes the base score of an OSV severity of type CVSS_V3
// or CVSS_V4 from its vector. The vector's own prefix decides the
// version, so a CVSS:3.0 vector filed as CVSS_V3 scores as 3.0.
func RateVector(typ, vector string) (Rating, error) {
	vector = strings.TrimSpace(vector)
	var (
		score float64
		err   error
	)
	switch {
	case strings.HasPrefix(vector, "CVSS:3.0/"), strings.HasPrefix(vector, "CVSS:3.1/"):
		score, err = CVSS3BaseScore(vector)
		typ = "CVSS_V3"
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		score, err = CVSS4Score(vector)
		typ = "CVSS_V4"
	default:
		return Rating{}, fmt.Errorf("severity %s %q: not a CVSS v3.x or v4.0 vector", typ, vector)
	}
	if err != nil {
		return Rating{}, err
	}
	return Rating{Severity: SeverityOfScore(score), Score: score, Vector: vector, Source: typ}, nil
}
