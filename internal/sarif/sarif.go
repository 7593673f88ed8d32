// Package sarif writes vulnerability findings as a SARIF 2.1.0 log
// (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), the format GitHub code
// scanning and other tools ingest: one rule per vulnerability, one result
// per vulnerable package, located at the line of the manifest that pins
// it (go.mod, package-lock.json) when known.
//
// It is pure: it writes to an io.Writer.
package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/sbom"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// Version and schema of the logs written.
const (
	Version   = "2.1.0"
	SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	MediaType = "application/sarif+json"
)

// Report is what a log is written from.
type Report struct {
	ToolName, ToolVersion, ToolURI string
	Findings                       []vulndb.Finding
	// Inventory locates each finding's packages (their Sources).
	Inventory sbom.Inventory
	// Accepted maps IDs of findings an allow-list accepts to the reason;
	// their results carry an accepted suppression.
	Accepted map[string]string
	// BaseDir is what artifact URIs are relative to (the repository
	// root, for GitHub); files outside it get absolute file URIs.
	BaseDir string
}

// Log is a SARIF log, with the properties Shipshape writes.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one run of a tool.
type Run struct {
	Tool    Tool     `json:"tool"`
	Results []Result `json:"results"`
}

// Tool names the tool and its rules.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is the tool's main component.
type Driver struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	InformationURI string `json:"informationUri,omitempty"`
	Rules          []Rule `json:"rules"`
}

// Rule describes one vulnerability.
type Rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     *Message       `json:"shortDescription,omitempty"`
	FullDescription      *Message       `json:"fullDescription,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	Help                 *Message       `json:"help,omitempty"`
	DefaultConfiguration *Configuration `json:"defaultConfiguration,omitempty"`
	Properties           map[string]any `json:"properties,omitempty"`
}

// Configuration is a rule's default level.
type Configuration struct {
	Level string `json:"level"`
}

// Message is plain text, optionally with Markdown.
type Message struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

// Result is one vulnerable package.
type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             Message           `json:"message"`
	Locations           []Location        `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Suppressions        []Suppression     `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

// Location is where a result is.
type Location struct {
	PhysicalLocation PhysicalLocation `json:"physicalLocation"`
}

// PhysicalLocation is a file and a region of it.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file's URI.
type ArtifactLocation struct {
	URI string `json:"uri"`
}

// Region is a line of a file.
type Region struct {
	StartLine int `json:"startLine"`
}

// Suppression marks a result the team accepted.
type Suppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

// Build turns a report into a SARIF log.
func Build(r Report) Log {
	driver := Driver{Name: r.ToolName, Version: r.ToolVersion, InformationURI: r.ToolURI, Rules: []Rule{}}
	results := []Result{}
	for i, f := range r.Findings {
		driver.Rules = append(driver.Rules, rule(f))
		for _, p := range f.Packages {
			results = append(results, result(r, i, f, p))
		}
	}
	return Log{Schema: SchemaURI, Version: Version, Runs: []Run{{Tool: Tool{Driver: driver}, Results: results}}}
}

// Write writes the report's SARIF log as indented JSON.
func Write(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Build(r)); err != nil {
		return fmt.Errorf("encode SARIF: %w", err)
	}
	return nil
}

func rule(f vulndb.Finding) Rule {
	summary := f.Summary
	if summary == "" {
		summary = f.ID
	}
	r := Rule{
		ID: f.ID, Name: ruleName(f.ID), ShortDescription: &Message{Text: summary}, HelpURI: f.URL,
		DefaultConfiguration: &Configuration{Level: level(f.Rating.Severity)},
		Properties: map[string]any{
			"tags":      []string{"security", "vulnerability", strings.ToLower(f.Rating.Severity.String())},
			"precision": "very-high",
		},
	}
	if f.Details != "" {
		r.FullDescription = &Message{Text: f.Details}
	}
	if s, ok := securitySeverity(f.Rating); ok {
		r.Properties["security-severity"] = s
	}
	if len(f.Aliases) > 0 {
		r.Properties["aliases"] = f.Aliases
	}
	help := fmt.Sprintf("%s: %s\n\nSeverity: %s", f.ID, summary, f.Rating.Severity)
	md := fmt.Sprintf("**%s**: %s\n\nSeverity: %s", f.ID, summary, f.Rating.Severity)
	if f.Rating.Vector != "" {
		help += fmt.Sprintf(" (%.1f, %s)", f.Rating.Score, f.Rating.Vector)
		md += fmt.Sprintf(" (%.1f, `%s`)", f.Rating.Score, f.Rating.Vector)
	}
	if len(f.Aliases) > 0 {
		help += "\nAliases: " + strings.Join(f.Aliases, ", ")
		md += "\n\nAliases: " + strings.Join(f.Aliases, ", ")
	}
	if f.URL != "" {
		help += "\nMore: " + f.URL
		md += fmt.Sprintf("\n\n[%s](%s)", f.ID, f.URL)
	}
	r.Help = &Message{Text: help, Markdown: md}
	return r
}

// ruleName is a PascalCase name from the ID, as SARIF suggests.
func ruleName(id string) string {
	return "Vulnerability" + strings.NewReplacer("-", "", "_", "").Replace(id)
}

func result(r Report, index int, f vulndb.Finding, p vulndb.AffectedPackage) Result {
	msg := fmt.Sprintf("%s %s is affected by %s", p.Name, p.DisplayVersion(), f.ID)
	if len(f.Aliases) > 0 {
		msg += " (" + strings.Join(f.Aliases, ", ") + ")"
	}
	if f.Summary != "" {
		msg += ": " + strings.TrimSuffix(f.Summary, ".")
	}
	if p.Fixed != "" {
		msg += fmt.Sprintf(". Fixed in %s.", p.DisplayFixed())
	} else {
		msg += ". No fixed version is known."
	}
	res := Result{
		RuleID: f.ID, RuleIndex: index, Level: level(f.Rating.Severity), Message: Message{Text: msg},
		Properties: map[string]any{"package": p.Name, "installedVersion": p.DisplayVersion(), "severity": f.Rating.Severity.String()},
	}
	if p.Fixed != "" {
		res.Properties["fixedVersion"] = p.DisplayFixed()
	}
	var sources []sbom.Location
	if c, ok := r.Inventory.Component(p.Ref); ok {
		sources = c.Sources
	}
	for _, s := range sources {
		loc := Location{PhysicalLocation: PhysicalLocation{ArtifactLocation: ArtifactLocation{URI: fileURI(r.BaseDir, s.File)}}}
		if s.Line > 0 {
			loc.PhysicalLocation.Region = &Region{StartLine: s.Line}
		}
		res.Locations = append(res.Locations, loc)
	}
	if len(res.Locations) == 0 {
		// GitHub wants a location on every result: the package itself.
		res.Locations = []Location{{PhysicalLocation: PhysicalLocation{ArtifactLocation: ArtifactLocation{URI: p.Ref}}}}
	}
	sum := sha256.Sum256([]byte(f.ID + "\x00" + p.Name + "\x00" + res.Locations[0].PhysicalLocation.ArtifactLocation.URI))
	res.PartialFingerprints = map[string]string{"shipshapeVulnerability/v1": hex.EncodeToString(sum[:16])}
	if reason, ok := r.Accepted[f.ID]; ok {
		res.Suppressions = []Suppression{{Kind: "external", Status: "accepted", Justification: reason}}
	}
	return res
}

// level maps a severity to a SARIF level: critical and high are errors,
// medium and unknown warnings, low notes.
func level(s vulndb.Severity) string {
	switch s {
	case vulndb.Critical, vulndb.High:
		return "error"
	case vulndb.Low:
		return "note"
	}
	return "warning"
}

// securitySeverity is GitHub's "security-severity" rule property: the
// CVSS score, or a score inside the band of a severity word.
func securitySeverity(r vulndb.Rating) (string, bool) {
	if r.Vector != "" {
		return strconv.FormatFloat(r.Score, 'f', 1, 64), true
	}
	switch r.Severity {
	case vulndb.Critical:
		return "9.5", true
	case vulndb.High:
		return "8.0", true
	case vulndb.Medium:
		return "5.5", true
	case vulndb.Low:
		return "2.0", true
	}
	return "", false
}

// fileURI is file relative to base with forward slashes, or an absolute
// file: URI when it lies outside base.
func fileURI(base, file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	if base != "" {
		if rel, err := filepath.Rel(base, abs); err == nil && filepath.IsLocal(rel) {
			return (&url.URL{Path: filepath.ToSlash(rel)}).EscapedPath()
		}
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}
