// Package vulndb reads OSV advisories (https://ossf.github.io/osv-schema/),
// indexes them by package and matches package versions against them with
// OSV's exact semantics: affected[].ranges of type SEMVER and ECOSYSTEM with
// introduced, fixed, last_affected and limit events, affected[].versions,
// Go pseudo-versions and +incompatible, the Go stdlib and toolchain
// pseudo-modules, withdrawn entries ignored. Matches of advisories that
// alias each other (a GO- ID, its GHSA, its CVE) merge into one Finding.
//
// It is pure apart from Load, which reads a directory or zip of advisories,
// and Cache, which keeps loaded indexes for the life of a worker.
package vulndb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is one OSV advisory as the JSON has it: the fields matching,
// severity and reports need.
type Entry struct {
	SchemaVersion    string           `json:"schema_version,omitempty"`
	ID               string           `json:"id"`
	Modified         time.Time        `json:"modified"`
	Published        time.Time        `json:"published,omitzero"`
	Withdrawn        *time.Time       `json:"withdrawn,omitempty"`
	Aliases          []string         `json:"aliases,omitempty"`
	Summary          string           `json:"summary,omitempty"`
	Details          string           `json:"details,omitempty"`
	Severity         []SeverityScore  `json:"severity,omitempty"`
	Affected         []Affected       `json:"affected,omitempty"`
	References       []Reference      `json:"references,omitempty"`
	DatabaseSpecific DatabaseSpecific `json:"database_specific,omitzero"`
}

// SeverityScore is an OSV severity: a type (CVSS_V3, CVSS_V4, …) and its
// score, which for CVSS is the vector string.
type SeverityScore struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected is one package an advisory affects and the versions affected.
type Affected struct {
	Package          Package          `json:"package"`
	Severity         []SeverityScore  `json:"severity,omitempty"`
	Ranges           []Range          `json:"ranges,omitempty"`
	Versions         []string         `json:"versions,omitempty"`
	DatabaseSpecific DatabaseSpecific `json:"database_specific,omitzero"`
}

// Package names a package in an ecosystem.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// Range types of OSV.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Range is a list of events that bound affected versions.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one event of a range; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link about an advisory.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// DatabaseSpecific holds the database_specific fields Shipshape reads: a
// severity word (GitHub's advisories say CRITICAL, HIGH, MODERATE, LOW).
// Other fields are ignored.
type DatabaseSpecific struct {
	Severity string `json:"-"`
}

// UnmarshalJSON reads database_specific, whose shape varies by database:
// only a string "severity" is kept.
func (d *DatabaseSpecific) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil // not an object: nothing we read
	}
	if raw, ok := m["severity"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			d.Severity = s
		}
	}
	return nil
}

// MarshalJSON writes the severity back, when there is one.
func (d DatabaseSpecific) MarshalJSON() ([]byte, error) {
	if d.Severity == "" {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]string{"severity": d.Severity})
}

// ParseEntry decodes one OSV JSON advisory. It returns ok=false, with no
// error, for JSON that is not an advisory (a database's index files).
func ParseEntry(data []byte) (e *Entry, ok bool, err error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 64)], " \t\r\n"), []byte("{")) {
		return nil, false, nil
	}
	e = &Entry{}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, false, fmt.Errorf("invalid OSV JSON: %w", err)
	}
	if e.ID == "" {
		return nil, false, nil
	}
	return e, true, nil
}

// IDs returns the advisory's ID followed by its aliases.
func (e *Entry) IDs() []string {
	return append([]string{e.ID}, e.Aliases...)
}
