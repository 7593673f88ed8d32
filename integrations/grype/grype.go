// Package grype runs Anchore's grype (https://github.com/anchore/grype) on
// an SBOM and reads its JSON report (`grype -o json`).
package grype

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNotInstalled is returned by New when no grype binary is found.
var ErrNotInstalled = errors.New("grype is not installed: put the grype binary (and its database) on the worker's PATH, or use an OSV database (db: a directory)")

// Config configures the runner.
type Config struct {
	// Binary is the grype executable; "" looks for "grype" on PATH.
	Binary string
}

// Runner runs grype.
type Runner struct {
	bin string
}

// New finds the grype binary.
func New(cfg Config) (*Runner, error) {
	name := cfg.Binary
	if name == "" {
		name = "grype"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	return &Runner{bin: bin}, nil
}

// Document is grype's JSON report, the parts Shipshape reads.
type Document struct {
	Matches    []Match    `json:"matches"`
	Descriptor Descriptor `json:"descriptor"`
}

// Descriptor names the grype that wrote the report.
type Descriptor struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Match is one vulnerability matched to one package.
type Match struct {
	Vulnerability          Vulnerability `json:"vulnerability"`
	RelatedVulnerabilities []Related     `json:"relatedVulnerabilities"`
	Artifact               Artifact      `json:"artifact"`
}

// Vulnerability is what grype's database says of a vulnerability.
type Vulnerability struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource"`
	Namespace   string   `json:"namespace"`
	Severity    string   `json:"severity"`
	URLs        []string `json:"urls"`
	Description string   `json:"description"`
	CVSS        []CVSS   `json:"cvss"`
	Fix         Fix      `json:"fix"`
}

// Related is another record of the same vulnerability (its CVE).
type Related struct {
	ID          string `json:"id"`
	DataSource  string `json:"dataSource"`
	Severity    string `json:"severity"`
	Description string `json:"description"`
	CVSS        []CVSS `json:"cvss"`
}

// CVSS is a CVSS vector grype reports.
type CVSS struct {
	Source  string `json:"source"`
	Version string `json:"version"`
	Vector  string `json:"vector"`
}

// Fix says whether and in which versions a vulnerability is fixed.
type Fix struct {
	Versions []string `json:"versions"`
	State    string   `json:"state"` // fixed, not-fixed, wont-fix, unknown
}

// Artifact is the package grype matched.
type Artifact struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Type    string `json:"type"`
	PURL    string `json:"purl"`
}

// Parse reads a grype JSON report.
func Parse(data []byte) (Document, error) {
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		return Document{}, fmt.Errorf("grype report: %w", err)
	}
	if doc.Matches == nil && !bytes.Contains(data, []byte(`"matches"`)) {
		return Document{}, errors.New(`grype report: no "matches": not grype's JSON output`)
	}
	return doc, nil
}

// maxStderr bounds how much of grype's stderr an error quotes.
const maxStderr = 2000

// Scan runs grype on a CycloneDX or SPDX SBOM file and parses its report.
func (r *Runner) Scan(ctx context.Context, sbomFile string) (Document, error) {
	cmd := exec.CommandContext(ctx, r.bin, "sbom:"+sbomFile, "-o", "json", "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Document{}, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > maxStderr {
			msg = msg[len(msg)-maxStderr:]
		}
		return Document{}, fmt.Errorf("grype %s: %w: %s", sbomFile, err, msg)
	}
	return Parse(stdout.Bytes())
}
