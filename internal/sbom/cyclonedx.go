package sbom

import (
	"fmt"
	"io"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// SpecVersion is the CycloneDX version written: 1.6, which GitHub,
// Dependency-Track, grype and syft all read.
const SpecVersion = cdx.SpecVersion1_6

// MediaType is the media type of a CycloneDX JSON SBOM.
const MediaType = "application/vnd.cyclonedx+json"

// WriteOptions are what a written SBOM says beyond its components.
type WriteOptions struct {
	// SerialNumber is the BOM's urn:uuid:… serial number; "" omits it.
	SerialNumber string
	Timestamp    time.Time
	ToolName     string
	ToolVersion  string
	// Findings are written as the BOM's vulnerabilities, each pointing at
	// the components it affects.
	Findings []vulndb.Finding
	// Accepted maps the IDs of findings that an allow-list accepts to the
	// reason; they are written with an analysis that says so.
	Accepted map[string]string
}

// WriteCycloneDX writes inv as a CycloneDX 1.6 JSON SBOM.
func WriteCycloneDX(w io.Writer, inv Inventory, opts WriteOptions) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = opts.SerialNumber
	meta := &cdx.Metadata{}
	if !opts.Timestamp.IsZero() {
		meta.Timestamp = opts.Timestamp.UTC().Format(time.RFC3339)
	}
	if opts.ToolName != "" {
		meta.Tools = &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: opts.ToolName, Version: opts.ToolVersion,
		}}}
	}
	if inv.Main != nil {
		main := toCDX(*inv.Main)
		main.Type = cdx.ComponentTypeApplication
		main.BOMRef = "main:" + inv.Main.Ref
		meta.Component = &main
	}
	bom.Metadata = meta
	comps := make([]cdx.Component, 0, len(inv.Components))
	refs := map[string]bool{}
	for _, c := range inv.Components {
		comps = append(comps, toCDX(c))
		refs[c.Ref] = true
	}
	bom.Components = &comps
	if vulns := vulnerabilities(opts.Findings, opts.Accepted, refs); len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, SpecVersion); err != nil {
		return fmt.Errorf("encode CycloneDX: %w", err)
	}
	return nil
}

func toCDX(c Component) cdx.Component {
	out := cdx.Component{
		BOMRef: c.Ref, Type: cdx.ComponentTypeLibrary, Name: c.Name, Version: c.Version, PackageURL: c.PURL,
	}
	if c.Dev {
		out.Scope = cdx.ScopeOptional
	}
	var props []cdx.Property
	for _, s := range c.Sources {
		v := s.File
		if s.Line > 0 {
			v += fmt.Sprintf(":%d", s.Line)
		}
		props = append(props, cdx.Property{Name: "shipshape:source", Value: v})
	}
	if c.Hash != "" {
		props = append(props, cdx.Property{Name: "shipshape:checksum", Value: c.Hash})
	}
	if c.Dev {
		props = append(props, cdx.Property{Name: "shipshape:npm:dev", Value: "true"})
	}
	if c.Note != "" {
		props = append(props, cdx.Property{Name: "shipshape:note", Value: c.Note})
	}
	if len(props) > 0 {
		out.Properties = &props
	}
	return out
}

func vulnerabilities(findings []vulndb.Finding, accepted map[string]string, refs map[string]bool) []cdx.Vulnerability {
	var out []cdx.Vulnerability
	for _, f := range findings {
		v := cdx.Vulnerability{
			BOMRef: "vuln:" + f.ID, ID: f.ID, Source: source(f.ID, f.URL), Description: f.Summary, Detail: f.Details,
		}
		if !f.Published.IsZero() {
			v.Published = f.Published.UTC().Format(time.RFC3339)
		}
		if len(f.Aliases) > 0 {
			var aliases []cdx.VulnerabilityReference
			for _, a := range f.Aliases {
				aliases = append(aliases, cdx.VulnerabilityReference{ID: a, Source: source(a, "")})
			}
			v.References = &aliases
		}
		rating := cdx.VulnerabilityRating{Severity: cdxSeverity(f.Rating.Severity), Vector: f.Rating.Vector}
		switch {
		case strings.HasPrefix(f.Rating.Vector, "CVSS:3.1/"):
			rating.Method = cdx.ScoringMethodCVSSv31
		case strings.HasPrefix(f.Rating.Vector, "CVSS:3.0/"):
			rating.Method = cdx.ScoringMethodCVSSv3
		case strings.HasPrefix(f.Rating.Vector, "CVSS:4.0/"):
			rating.Method = cdx.ScoringMethodCVSSv4
		}
		if rating.Method != "" {
			score := f.Rating.Score
			rating.Score = &score
		}
		v.Ratings = &[]cdx.VulnerabilityRating{rating}
		var affects []cdx.Affects
		var fixes []string
		for _, p := range f.Packages {
			if !refs[p.Ref] {
				continue
			}
			affects = append(affects, cdx.Affects{Ref: p.Ref, Range: &[]cdx.AffectedVersions{{Version: p.Version, Status: cdx.VulnerabilityStatusAffected}}})
			if p.Fixed != "" {
				fixes = append(fixes, fmt.Sprintf("%s to %s", p.Name, p.DisplayFixed()))
			}
		}
		if len(affects) > 0 {
			v.Affects = &affects
		}
		if len(fixes) > 0 {
			v.Recommendation = "Upgrade " + strings.Join(fixes, ", ") + "."
		}
		if reason, ok := accepted[f.ID]; ok {
			v.Analysis = &cdx.VulnerabilityAnalysis{
				State: cdx.IASExploitable, Response: &[]cdx.ImpactAnalysisResponse{cdx.IARWillNotFix},
				Detail: "Accepted by the plan's allow-list: " + reason,
			}
		}
		out = append(out, v)
	}
	return out
}

func source(id, url string) *cdx.Source {
	s := &cdx.Source{URL: url}
	switch {
	case strings.HasPrefix(id, "GO-"):
		s.Name = "Go Vulnerability Database"
	case strings.HasPrefix(id, "GHSA-"):
		s.Name = "GitHub Advisory Database"
	case strings.HasPrefix(id, "CVE-"):
		s.Name = "NVD"
		if url == "" {
			s.URL = "https://nvd.nist.gov/vuln/detail/" + id
		}
	default:
		s.Name = "OSV"
	}
	return s
}

func cdxSeverity(s vulndb.Severity) cdx.Severity {
	switch s {
	case vulndb.Critical:
		return cdx.SeverityCritical
	case vulndb.High:
		return cdx.SeverityHigh
	case vulndb.Medium:
		return cdx.SeverityMedium
	case vulndb.Low:
		return cdx.SeverityLow
	}
	return cdx.SeverityUnknown
}
