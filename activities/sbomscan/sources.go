package sbomscan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/grype"
	"github.com/shipshape-dev/shipshape/integrations/osv"
	"github.com/shipshape-dev/shipshape/integrations/syft"
	"github.com/shipshape-dev/shipshape/internal/sbom"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// sbomGenerator catalogues a container image or directory into a
// CycloneDX JSON SBOM (syft).
type sbomGenerator interface {
	Generate(ctx context.Context, source, dir string) ([]byte, error)
}

// grypeScanner scans an SBOM file with grype's own database.
type grypeScanner interface {
	Scan(ctx context.Context, sbomFile string) (grype.Document, error)
}

// osvAPI asks an OSV API which advisories affect package versions.
type osvAPI interface {
	Vulnerabilities(ctx context.Context, queries []osv.Query) ([]json.RawMessage, error)
}

var (
	_ sbomGenerator = (*syft.Runner)(nil)
	_ grypeScanner  = (*grype.Runner)(nil)
	_ osvAPI        = (*osv.Client)(nil)
)

func newSyft() (sbomGenerator, error) { return syft.New(syft.Config{}) }

// advisoryMatch is what matching an inventory found: the findings, what
// the advisories came from, and the problems of advisories that could not
// be evaluated as written.
type advisoryMatch struct {
	findings []vulndb.Finding
	source   string
	problems []vulndb.Problem
}

// findVulnerabilities matches the inventory against the task's source and
// says what the source was.
func (s *Scanner) findVulnerabilities(ctx context.Context, p sbomScanParams, inv sbom.Inventory, prog *taskrun.Progress) (advisoryMatch, error) {
	switch {
	case p.db == "grype":
		scanner, err := grype.New(grype.Config{})
		if err != nil {
			return advisoryMatch{}, task.InvalidParams("db grype: %v", err)
		}
		return whileRunning(ctx, prog, task.Progress{Done: 0.4, Message: "grype: scanning the SBOM"}, func() (advisoryMatch, error) {
			return grypeFindings(ctx, scanner, inv)
		})
	case p.db == "osv.dev" || strings.HasPrefix(p.db, "https://") || strings.HasPrefix(p.db, "http://"):
		base := p.db
		if base == "osv.dev" {
			base = osv.DefaultAPIURL
		}
		client := osv.New(osv.Config{APIURL: base, HTTPClient: s.httpClient, UserAgent: "shipshape/" + toolVersion()})
		return whileRunning(ctx, prog, task.Progress{Done: 0.4, Message: "querying " + base}, func() (advisoryMatch, error) {
			return osvAPIFindings(ctx, client, base, inv)
		})
	}
	// Relative to the worker's working directory, like `starter vulndb
	// sync --dir`: the database belongs to the worker, not to the code.
	path, err := filepath.Abs(p.db)
	if err != nil {
		return advisoryMatch{}, fmt.Errorf("resolve db: %w", err)
	}
	type got struct {
		idx  *vulndb.Index
		look vulndb.Lookup
	}
	g, err := whileRunning(ctx, prog, task.Progress{Done: 0.4, Message: "indexing " + p.db}, func() (got, error) {
		idx, look, err := s.vulns.Get(ctx, path)
		return got{idx, look}, err
	})
	idx, look := g.idx, g.look
	if errors.Is(err, vulndb.ErrNoDatabase) {
		return advisoryMatch{}, task.InvalidParams("db: %v (run `starter vulndb sync`, or set db to a directory or zip of OSV advisories)", err)
	}
	if err != nil {
		return advisoryMatch{}, fmt.Errorf("advisory database: %w", err)
	}
	how := "cached index"
	if !look.Cached {
		how = "indexed in " + look.LoadTime.Round(time.Millisecond).String()
	}
	source := fmt.Sprintf("%s (%d advisories for %d packages, %d withdrawn skipped; %s)",
		p.db, idx.Advisories, idx.Packages(), idx.Withdrawn, how)
	queries := inv.Queries()
	return advisoryMatch{findings: idx.Match(queries), source: source, problems: idx.Problems(queries)}, nil
}

// osvAPIFindings asks the API which advisories concern the components,
// then matches them locally, so that the API and an offline database give
// the same answer for the same advisories.
func osvAPIFindings(ctx context.Context, api osvAPI, base string, inv sbom.Inventory) (advisoryMatch, error) {
	queries := inv.Queries()
	req := make([]osv.Query, 0, len(queries))
	for _, q := range queries {
		req = append(req, osv.Query{Ecosystem: q.Ecosystem, Name: q.Name, Version: apiVersion(q)})
	}
	raw, err := api.Vulnerabilities(ctx, req)
	if err != nil {
		return advisoryMatch{}, fmt.Errorf("osv api %s: %w", base, err)
	}
	entries := make([]*vulndb.Entry, 0, len(raw))
	for _, r := range raw {
		e, ok, err := vulndb.ParseEntry(r)
		if err != nil {
			return advisoryMatch{}, fmt.Errorf("osv api %s: %w", base, err)
		}
		if ok {
			entries = append(entries, e)
		}
	}
	idx := vulndb.NewIndex(entries)
	return advisoryMatch{
		findings: idx.Match(queries), problems: idx.Problems(queries),
		source: fmt.Sprintf("OSV API %s (%d advisories concern these components)", base, len(entries)),
	}, nil
}

// apiVersion is a version as the OSV API wants it: Go's stdlib and
// toolchain as plain semantic versions (1.22.5).
func apiVersion(q vulndb.Query) string {
	if q.Ecosystem == vulndb.EcosystemGo && (q.Name == vulndb.ModuleStdlib || q.Name == vulndb.ModuleToolchain) {
		return strings.TrimPrefix(vulndb.Canonical(q.Version), "v")
	}
	return q.Version
}

// grypeFindings writes the SBOM to a temporary file, runs grype on it and
// turns its matches into findings: aliases from its related records,
// severity computed from the CVSS vectors it quotes (never its scores),
// else its severity word.
func grypeFindings(ctx context.Context, scanner grypeScanner, inv sbom.Inventory) (advisoryMatch, error) {
	tmp, err := os.CreateTemp("", "shipshape-sbom-*.cdx.json")
	if err != nil {
		return advisoryMatch{}, fmt.Errorf("grype: temporary SBOM: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = sbom.WriteCycloneDX(tmp, inv, sbom.WriteOptions{ToolName: "shipshape"})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return advisoryMatch{}, fmt.Errorf("grype: write SBOM: %w", err)
	}
	doc, err := scanner.Scan(ctx, tmp.Name())
	if err != nil {
		return advisoryMatch{}, err
	}
	findings := findingsFromGrype(doc, inv)
	return advisoryMatch{findings: findings, source: fmt.Sprintf("grype %s (its own database)", doc.Descriptor.Version)}, nil
}

func findingsFromGrype(doc grype.Document, inv sbom.Inventory) []vulndb.Finding {
	var matches []vulndb.Match
	advisories := map[string]*vulndb.Advisory{}
	for _, m := range doc.Matches {
		v := m.Vulnerability
		adv, ok := advisories[v.ID]
		if !ok {
			adv = &vulndb.Advisory{ID: v.ID, Summary: firstSentence(v.Description), URL: v.DataSource}
			var vectors []vulndb.SeverityScore
			for _, c := range v.CVSS {
				vectors = append(vectors, vulndb.SeverityScore{Type: "CVSS_V3", Score: c.Vector})
			}
			for _, r := range m.RelatedVulnerabilities {
				adv.Aliases = append(adv.Aliases, r.ID)
				for _, c := range r.CVSS {
					vectors = append(vectors, vulndb.SeverityScore{Type: "CVSS_V3", Score: c.Vector})
				}
				if adv.Summary == "" {
					adv.Summary = firstSentence(r.Description)
				}
			}
			adv.Rating = vulndb.RateEntry(&vulndb.Entry{Severity: vectors})
			if adv.Rating.Severity == vulndb.Unknown {
				if s, ok := vulndb.ParseSeverity(v.Severity); ok {
					adv.Rating = vulndb.Rating{Severity: s, Source: "grype"}
				}
			}
			advisories[v.ID] = adv
		}
		pkg := vulndb.AffectedPackage{Ref: m.Artifact.PURL, Name: m.Artifact.Name, Version: m.Artifact.Version}
		if c, ok := inv.Component(m.Artifact.PURL); ok {
			pkg.Ecosystem, pkg.Name, pkg.Version = c.Ecosystem, c.Name, c.Version
		} else if p, err := sbom.ParsePURL(m.Artifact.PURL); err == nil {
			pkg.Ecosystem, _, _ = p.Coordinates()
		}
		if v.Fix.State == "fixed" && len(v.Fix.Versions) > 0 {
			pkg.Fixed = v.Fix.Versions[0]
		}
		matches = append(matches, vulndb.Match{Advisory: adv, Package: pkg})
	}
	return vulndb.Merge(matches)
}

// heartbeatEvery is how often a long step reports progress, well inside
// the task's heartbeat timeout.
const heartbeatEvery = 15 * time.Second

// whileRunning runs fn, reporting p as progress every heartbeatEvery until
// it returns, so that a long step (syft, grype, the OSV API, indexing a
// large database) keeps the task's heartbeat.
func whileRunning[T any](ctx context.Context, prog *taskrun.Progress, p task.Progress, fn func() (T, error)) (T, error) {
	defer prog.Every(ctx, heartbeatEvery, func() task.Progress { return p })()
	return fn()
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i > 0 && i < 200 {
		return s[:i+1]
	}
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func newUUID() string { return uuid.NewString() }

// toolVersion is Shipshape's module version, from the build information.
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
