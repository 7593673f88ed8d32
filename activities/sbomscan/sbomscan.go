// Package sbomscan is the sbom-scan task type: it builds a CycloneDX SBOM
// of Go modules, Go binaries, npm lockfiles (package-lock.json, yarn.lock,
// pnpm-lock.yaml), Python lockfiles (requirements.txt, poetry.lock,
// Pipfile.lock, uv.lock), existing SBOMs or (with syft) container images, matches it against OSV advisories (internal/vulndb, an
// offline database, the OSV API or grype) and reports the vulnerabilities
// by severity, with SARIF (internal/sarif) for code scanning.
package sbomscan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/sarif"
	"github.com/shipshape-dev/shipshape/internal/sbom"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the sbom-scan task type.
const Name = "sbom-scan"

// Files an sbom-scan task writes.
const (
	sbomFile     = "sbom.cdx.json"
	sarifFile    = "vulnerabilities.sarif"
	findingsFile = "findings.json"
)

// maxFindingRows bounds the findings table, which travels in the activity
// result; every finding is in findings.json and the SARIF file.
const maxFindingRows = 300

// Decl declares the sbom-scan task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Builds a CycloneDX SBOM of Go modules, Go binaries, npm and Python lockfiles, existing SBOMs or (with syft) container images, " +
		"matches it against OSV advisories and reports vulnerabilities by severity, with SARIF for code scanning.",
	Params: []plan.Param{
		{Name: "goModules", Type: plan.TypeStringList, Safety: plan.SafetyFile, Doc: "Go modules to scan: directories holding a go.mod, or go.mod files. Every required module counts (replacements applied), with the go.sum checksums beside it, plus the standard library and the go command (`stdlib` and `toolchain`) at `goVersion`."},
		{Name: "goBinaries", Type: plan.TypeStringList, Safety: plan.SafetyFile, Doc: "Built Go binaries to scan: the modules and Go release recorded in their build information."},
		{Name: "npmLockfiles", Type: plan.TypeStringList, Safety: plan.SafetyFile, Doc: "npm-ecosystem lockfiles, told apart by name, else by content: `package-lock.json` (lockfileVersion 2 or 3; 1 is read too), `yarn.lock` (Yarn 1, and Yarn 2+'s YAML), `pnpm-lock.yaml` (lockfileVersion 5, 6 or 9). Every installed package counts, development-only ones included (and marked where the lockfile says); workspace and local packages are first-party code. Versions compare as node-semver orders them."},
		{Name: "pythonLockfiles", Type: plan.TypeStringList, Safety: plan.SafetyFile, Doc: "Python lockfiles, told apart by name, else by content: pip requirements files (`requirements*.txt`, `*.in`), `poetry.lock`, `Pipfile.lock`, `uv.lock`. Names are compared as PEP 503 normalises them, versions in PEP 440 order. Only requirements pinned to one version (`name==1.2.3`) can be scanned: any other line (a range, no version, a URL, an editable install, a `-r` include) is reported as not scannable."},
		{Name: "sboms", Type: plan.TypeStringList, Safety: plan.SafetyFile, Doc: "Existing SBOMs to scan, CycloneDX JSON or SPDX JSON: components are matched by their package URLs."},
		{Name: "images", Type: plan.TypeStringList, Doc: "Container images or directories for `syft` to catalogue (`alpine:3.20`, `dir:build/`, any syft source). Needs the syft binary on the worker's PATH."},
		{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "Directory that relative input paths start from, and that SARIF locations are relative to; default: the worker's working directory."},
		{Name: "goVersion", Type: plan.TypeString, Doc: "The Go release that builds the modules in `goModules` (`go1.22.5`), for `stdlib` and `toolchain`; default: each go.mod's toolchain directive, else its go directive (the oldest release allowed to build it)."},
		{Name: "db", Type: plan.TypeString, Default: vulndb.DefaultDir, Doc: "Where advisories come from. A directory (searched recursively for OSV `*.json` files and `*.zip` archives of them, such as `starter vulndb sync` writes) or a zip file: offline, indexed once per worker. `osv.dev` (or the https URL of an OSV API) queries the osv.dev API. `grype` runs the grype binary on the SBOM with its own database. A relative path starts from the worker's working directory, where `starter vulndb sync` writes by default."},
		{Name: "unknownAs", Type: plan.TypeString, Default: "high", Enum: []string{"critical", "high", "medium", "low", "none"}, Doc: "How a finding of UNKNOWN severity (an advisory with no CVSS vector and no severity word, such as every Go advisory) counts in the severity metrics gates use; `none`: in no severity metric. `vulns.unknown` always has the raw count."},
		{Name: "allow", Type: plan.TypeObjectList, Doc: "Accepted findings. An entry suppresses the finding whose ID or alias is `id` until `expires`; after that date the finding counts again and the output says so.", Fields: []plan.Param{
			{Name: "id", Type: plan.TypeString, Required: true, Doc: "An advisory ID or alias: GO-2024-2687, GHSA-…, CVE-…."},
			{Name: "reason", Type: plan.TypeString, Required: true, Doc: "Why the finding is accepted; shown in the report, the SARIF suppression and the SBOM."},
			{Name: "expires", Type: plan.TypeString, Required: true, Doc: "Last day the acceptance holds, as YYYY-MM-DD (UTC)."},
		}},
		{Name: "outputDir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "A directory to also write the SBOM (`sbom.cdx.json`), the SARIF log (`vulnerabilities.sarif`) and the findings (`findings.json`) to, for a CI job to upload; relative to the worker's working directory."},
	},
	Metrics: []plan.Metric{
		{Name: "vulns.critical", Unit: plan.UnitCount, Doc: "Vulnerabilities rated CRITICAL (CVSS 9.0-10), not accepted by the allow-list; UNKNOWN ones too when `unknownAs: critical`."},
		{Name: "vulns.high", Unit: plan.UnitCount, Doc: "Vulnerabilities rated HIGH (CVSS 7.0-8.9), not accepted; UNKNOWN ones too with `unknownAs: high`, the default."},
		{Name: "vulns.medium", Unit: plan.UnitCount, Doc: "Vulnerabilities rated MEDIUM (CVSS 4.0-6.9), not accepted; UNKNOWN ones too with `unknownAs: medium`."},
		{Name: "vulns.low", Unit: plan.UnitCount, Doc: "Vulnerabilities rated LOW (CVSS below 4.0), not accepted; UNKNOWN ones too with `unknownAs: low`."},
		{Name: "vulns.unknown", Unit: plan.UnitCount, Doc: "Vulnerabilities with no severity to rate them by, not accepted, whatever `unknownAs` says."},
		{Name: "vulns.total", Unit: plan.UnitCount, Doc: "Vulnerabilities found and not accepted. One vulnerability counts once however many advisories (GO-, GHSA-, CVE-) and packages it has."},
		{Name: "vulns.fixable", Unit: plan.UnitCount, Doc: "Of vulns.total, those with a fixed version for every package they affect."},
		{Name: "vulns.accepted", Unit: plan.UnitCount, Doc: "Vulnerabilities found but suppressed by an allow-list entry that has not expired."},
		{Name: "sbom.components", Unit: plan.UnitCount, Doc: "Components in the SBOM."},
	},
	Timeout:   10 * time.Minute,
	Heartbeat: time.Minute,
}

// sbomScanParams are a task's parameters, checked.
type sbomScanParams struct {
	base                                        string
	goModules, goBinaries, lockfiles, documents []string
	pythonLockfiles                             []string
	images                                      []string
	goVersion, db, outputDir                    string
	unknownAs                                   vulndb.Severity
	unknownNone                                 bool
	allow                                       []allowEntry
}

type allowEntry struct {
	id, reason string
	expires    time.Time // the first instant the entry no longer holds
	day        string
}

// Config holds what a Scanner needs. Zero values are sensible defaults.
type Config struct {
	Logger *slog.Logger
	// HTTPClient queries the OSV API (db: osv.dev); nil: a default client.
	HTTPClient *http.Client
	// Events receives task.progress events; nil: none.
	Events taskrun.EventPublisher
	// Vulns keeps the advisory databases scans indexed, so a worker reads
	// each once; nil: a cache of the Scanner's own.
	Vulns *vulndb.Cache
}

// Scanner runs sbom-scan tasks. Build it once per worker: it keeps the
// indexed advisory databases between scans.
type Scanner struct {
	logger     *slog.Logger
	httpClient *http.Client
	events     taskrun.EventPublisher
	vulns      *vulndb.Cache
}

// New returns a Scanner of cfg.
func New(cfg Config) *Scanner {
	s := &Scanner{logger: cfg.Logger, httpClient: cfg.HTTPClient, events: cfg.Events, vulns: cfg.Vulns}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.vulns == nil {
		s.vulns = vulndb.NewCache(0)
	}
	return s
}

// Type is the sbom-scan task type, run by s.
func (s *Scanner) Type() task.Type { return task.Type{Decl: Decl, Run: s.Scan} }

// Scan builds an SBOM of the task's inputs, matches it against the
// advisory source and reports the vulnerabilities found.
func (s *Scanner) Scan(ctx context.Context, in task.Input) (task.Output, error) {
	p, err := sbomScanParamsOf(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	prog := taskrun.NewProgress(s.events, s.logger, in)
	prog.Report(ctx, task.Progress{Done: 0, Message: "reading inputs"})

	inv, err := s.sbomInventory(ctx, p, prog)
	if err != nil {
		return task.Output{}, err
	}
	inv.Sort()

	prog.Report(ctx, task.Progress{Done: 0.3, Message: fmt.Sprintf("matching %d components against %s", len(inv.Components), p.db)})
	start := time.Now()
	match, err := s.findVulnerabilities(ctx, p, inv, prog)
	if err != nil {
		return task.Output{}, err
	}
	found, source := match.findings, match.source
	matchTime := time.Since(start)

	now := time.Now().UTC()
	verdict := applyAllowList(found, p.allow, now)
	out := task.Output{Metrics: vulnMetrics(verdict.counted, p)}
	out.Metrics["vulns.accepted"] = float64(len(verdict.accepted))
	out.Metrics["sbom.components"] = float64(len(inv.Components))

	prog.Report(ctx, task.Progress{Done: 0.8, Message: "writing SBOM and SARIF", Metrics: out.Metrics})
	files, err := renderScanFiles(inv, match, verdict, p, now)
	if err != nil {
		return task.Output{}, err
	}
	if out.Artifacts, err = writeScanFiles(in, p, files); err != nil {
		return task.Output{}, err
	}
	out.Tables = findingTables(found, verdict)
	out.Output = scanSummary(inv, match, verdict, matchTime, p)

	s.logger.InfoContext(ctx, "sbom scanned",
		slog.String("task", in.Task), slog.Int("components", len(inv.Components)),
		slog.Int("vulnerabilities", len(verdict.counted)), slog.Int("accepted", len(verdict.accepted)),
		slog.String("source", source), slog.Duration("match", matchTime))
	return out, nil
}

func sbomScanParamsOf(params task.Params) (sbomScanParams, error) {
	p := sbomScanParams{
		goModules: params.Strings("goModules"), goBinaries: params.Strings("goBinaries"),
		lockfiles: params.Strings("npmLockfiles"), documents: params.Strings("sboms"), images: params.Strings("images"),
		pythonLockfiles: params.Strings("pythonLockfiles"),
		goVersion:       strings.TrimSpace(params.String("goVersion")), db: strings.TrimSpace(params.String("db")),
		outputDir: params.String("outputDir"),
	}
	if len(p.goModules)+len(p.goBinaries)+len(p.lockfiles)+len(p.pythonLockfiles)+len(p.documents)+len(p.images) == 0 {
		return p, task.InvalidParams("nothing to scan: list at least one of goModules, goBinaries, npmLockfiles, pythonLockfiles, sboms, images")
	}
	if p.goVersion != "" && vulndb.GoTagToSemver(ensureGoPrefix(p.goVersion)) == "" {
		return p, task.InvalidParams("goVersion %q is not a Go release such as go1.22.5", p.goVersion)
	}
	if p.db == "" {
		p.db = vulndb.DefaultDir
	}
	switch u := params.String("unknownAs"); u {
	case "none":
		p.unknownNone = true
	case "":
		p.unknownAs = vulndb.High
	default:
		s, ok := vulndb.ParseSeverity(u)
		if !ok {
			return p, task.InvalidParams("unknownAs %q is not one of critical, high, medium, low, none", u)
		}
		p.unknownAs = s
	}
	base := params.String("dir")
	if base == "" {
		base = "."
	}
	abs, err := filepath.Abs(base)
	if err != nil {
		return p, fmt.Errorf("resolve dir: %w", err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return p, task.InvalidParams("dir %s is not a directory", abs)
	}
	p.base = abs
	for i, e := range params.Objects("allow") {
		id, reason, expires := strings.TrimSpace(e.String("id")), strings.TrimSpace(e.String("reason")), strings.TrimSpace(e.String("expires"))
		day, err := time.Parse(time.DateOnly, expires)
		if err != nil {
			return p, task.InvalidParams("allow[%d].expires %q is not a date written YYYY-MM-DD", i, expires)
		}
		if id == "" || reason == "" {
			return p, task.InvalidParams("allow[%d]: id and reason must not be empty", i)
		}
		p.allow = append(p.allow, allowEntry{id: id, reason: reason, expires: day.AddDate(0, 0, 1), day: expires})
	}
	return p, nil
}

func ensureGoPrefix(v string) string {
	if strings.HasPrefix(v, "go") {
		return v
	}
	return "go" + v
}

func (p sbomScanParams) path(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(p.base, name)
}

// readInput reads an input file; a missing or unreadable one is the
// plan's mistake, not worth a retry.
func readInput(kind, file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, task.InvalidParams("%s %s: %v", kind, file, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, file, err)
	}
	return data, nil
}

// inputError turns a parse error into an invalid-params error.
func inputError(err error) error {
	var pe *sbom.ParseError
	if errors.As(err, &pe) {
		return task.InvalidParams("%v", pe)
	}
	return err
}

// sbomInventory reads every input into one inventory.
func (s *Scanner) sbomInventory(ctx context.Context, p sbomScanParams, prog *taskrun.Progress) (sbom.Inventory, error) {
	var inv sbom.Inventory
	for _, m := range p.goModules {
		file := p.path(m)
		if st, err := os.Stat(file); filepath.Base(file) != "go.mod" && (err != nil || st.IsDir()) {
			file = filepath.Join(file, "go.mod")
		}
		gomod, err := readInput("goModules: go.mod", file)
		if err != nil {
			return inv, err
		}
		gosum, err := os.ReadFile(filepath.Join(filepath.Dir(file), "go.sum"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return inv, fmt.Errorf("read go.sum: %w", err)
		}
		got, err := sbom.GoModule(file, gomod, gosum, p.goVersion)
		if err != nil {
			return inv, inputError(err)
		}
		inv.Add(got)
	}
	for _, b := range p.goBinaries {
		file := p.path(b)
		f, err := os.Open(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return inv, task.InvalidParams("goBinaries: %v", err)
		}
		if err != nil {
			return inv, fmt.Errorf("open Go binary: %w", err)
		}
		got, err := sbom.GoBinary(file, f)
		f.Close()
		if err != nil {
			return inv, inputError(err)
		}
		inv.Add(got)
	}
	for _, l := range p.lockfiles {
		file := p.path(l)
		data, err := readInput("npmLockfiles:", file)
		if err != nil {
			return inv, err
		}
		got, err := sbom.NpmLockfile(file, data)
		if err != nil {
			return inv, inputError(err)
		}
		inv.Add(got)
	}
	for _, l := range p.pythonLockfiles {
		file := p.path(l)
		data, err := readInput("pythonLockfiles:", file)
		if err != nil {
			return inv, err
		}
		got, err := sbom.PythonLockfile(file, data)
		if err != nil {
			return inv, inputError(err)
		}
		inv.Add(got)
	}
	for _, d := range p.documents {
		file := p.path(d)
		data, err := readInput("sboms:", file)
		if err != nil {
			return inv, err
		}
		got, err := sbom.Document(file, data)
		if err != nil {
			return inv, inputError(err)
		}
		inv.Add(got)
	}
	if len(p.images) > 0 {
		gen, err := newSyft()
		if err != nil {
			return inv, task.InvalidParams("images: %v", err)
		}
		for _, img := range p.images {
			data, err := whileRunning(ctx, prog, task.Progress{Done: 0.1, Message: "syft: cataloguing " + img}, func() ([]byte, error) {
				return gen.Generate(ctx, img, p.base)
			})
			if err != nil {
				return inv, fmt.Errorf("syft %s: %w", img, err)
			}
			got, err := sbom.Document("syft:"+img, data)
			if err != nil {
				return inv, fmt.Errorf("syft %s: %w", img, err)
			}
			inv.Add(got)
		}
	}
	return inv, nil
}

// scanVerdict is the findings split by the allow-list.
type scanVerdict struct {
	counted  []vulndb.Finding
	accepted map[string]allowEntry // finding ID → the entry that accepts it
	expired  map[string]allowEntry // finding ID → the expired entry naming it
	unused   []allowEntry          // entries that name no finding
}

func applyAllowList(findings []vulndb.Finding, allow []allowEntry, now time.Time) scanVerdict {
	v := scanVerdict{accepted: map[string]allowEntry{}, expired: map[string]allowEntry{}}
	used := make([]bool, len(allow))
	for _, f := range findings {
		accepted := false
		for i, e := range allow {
			if !f.HasID(e.id) {
				continue
			}
			used[i] = true
			if now.Before(e.expires) {
				v.accepted[f.ID] = e
				accepted = true
				break
			}
			v.expired[f.ID] = e
		}
		if accepted {
			delete(v.expired, f.ID)
			continue
		}
		v.counted = append(v.counted, f)
	}
	for i, e := range allow {
		if !used[i] {
			v.unused = append(v.unused, e)
		}
	}
	return v
}

func vulnMetrics(counted []vulndb.Finding, p sbomScanParams) map[string]float64 {
	m := map[string]float64{
		"vulns.critical": 0, "vulns.high": 0, "vulns.medium": 0, "vulns.low": 0,
		"vulns.unknown": 0, "vulns.total": 0, "vulns.fixable": 0,
	}
	names := map[vulndb.Severity]string{vulndb.Critical: "vulns.critical", vulndb.High: "vulns.high", vulndb.Medium: "vulns.medium", vulndb.Low: "vulns.low"}
	for _, f := range counted {
		m["vulns.total"]++
		if f.Fixable() {
			m["vulns.fixable"]++
		}
		sev := f.Rating.Severity
		if sev == vulndb.Unknown {
			m["vulns.unknown"]++
			if p.unknownNone {
				continue
			}
			sev = p.unknownAs
		}
		m[names[sev]]++
	}
	return m
}

// scanFile is a rendered output file.
type scanFile struct {
	name, mediaType, title string
	data                   []byte
}

func renderScanFiles(inv sbom.Inventory, match advisoryMatch, v scanVerdict, p sbomScanParams, now time.Time) ([]scanFile, error) {
	found := match.findings
	accepted := map[string]string{}
	for id, e := range v.accepted {
		accepted[id] = fmt.Sprintf("%s (accepted until %s)", e.reason, e.day)
	}
	var bom bytes.Buffer
	err := sbom.WriteCycloneDX(&bom, inv, sbom.WriteOptions{
		SerialNumber: "urn:uuid:" + newUUID(), Timestamp: now, ToolName: "shipshape", ToolVersion: toolVersion(),
		Findings: found, Accepted: accepted,
	})
	if err != nil {
		return nil, err
	}
	var log bytes.Buffer
	err = sarif.Write(&log, sarif.Report{
		ToolName: "shipshape", ToolVersion: toolVersion(), ToolURI: "https://github.com/shipshape-dev/shipshape",
		Findings: found, Inventory: inv, Accepted: accepted, BaseDir: p.base,
	})
	if err != nil {
		return nil, err
	}
	type findingJSON struct {
		vulndb.Finding
		Accepted string `json:"accepted,omitempty"`
		Expired  string `json:"allowListExpired,omitempty"`
	}
	list := make([]findingJSON, 0, len(found))
	for _, f := range found {
		fj := findingJSON{Finding: f}
		if e, ok := v.accepted[f.ID]; ok {
			fj.Accepted = accepted[f.ID]
			_ = e
		}
		if e, ok := v.expired[f.ID]; ok {
			fj.Expired = fmt.Sprintf("allow-list entry %s expired %s: %s", e.id, e.day, e.reason)
		}
		list = append(list, fj)
	}
	doc := map[string]any{"components": len(inv.Components), "findings": list}
	if len(match.problems) > 0 {
		doc["advisoryProblems"] = match.problems
	}
	if len(inv.Warnings) > 0 {
		doc["warnings"] = inv.Warnings
	}
	findings, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode findings: %w", err)
	}
	return []scanFile{
		{name: sbomFile, mediaType: sbom.MediaType, title: "SBOM (CycloneDX 1.6)", data: bom.Bytes()},
		{name: sarifFile, mediaType: sarif.MediaType, title: "Vulnerabilities (SARIF 2.1.0)", data: log.Bytes()},
		{name: findingsFile, mediaType: "application/json", title: "Findings (JSON)", data: append(findings, '\n')},
	}, nil
}

// writeScanFiles keeps the files with the run (under the artifact
// directory) and in outputDir, and links them as artifacts.
func writeScanFiles(in task.Input, p sbomScanParams, files []scanFile) ([]plan.Artifact, error) {
	var artifacts []plan.Artifact
	if in.ArtifactDir != "" {
		for _, f := range files {
			rel, err := in.KeepFile(f.name, f.data)
			if err != nil {
				return nil, err
			}
			artifacts = append(artifacts, plan.Artifact{Name: f.name, Path: rel, MediaType: f.mediaType})
		}
	}
	if p.outputDir != "" {
		dir, err := filepath.Abs(p.outputDir)
		if err != nil {
			return nil, fmt.Errorf("resolve outputDir: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, task.InvalidParams("outputDir %s: %v", dir, err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
				return nil, fmt.Errorf("write %s: %w", f.name, err)
			}
			if in.ArtifactDir == "" {
				artifacts = append(artifacts, plan.Artifact{Name: f.name, Path: filepath.Join(dir, f.name), MediaType: f.mediaType})
			}
		}
	}
	return artifacts, nil
}

func findingTables(found []vulndb.Finding, v scanVerdict) []plan.Table {
	t := plan.Table{
		Title:   "Vulnerabilities",
		Kind:    plan.TableFindings,
		Columns: []string{"ID", "Aliases", "Package", "Installed → fixed", "Severity", "Summary"},
	}
	for _, f := range found {
		var pkgs, versions []string
		for _, p := range f.Packages {
			pkgs = append(pkgs, p.Name)
			fixed := p.DisplayFixed()
			if fixed == "" {
				fixed = "no fix"
			}
			versions = append(versions, p.DisplayVersion()+" → "+fixed)
		}
		sev := f.Rating.Severity.String()
		if f.Rating.Vector != "" {
			sev += " " + strconv.FormatFloat(f.Rating.Score, 'f', 1, 64)
		}
		summary := f.Summary
		if e, ok := v.accepted[f.ID]; ok {
			summary = fmt.Sprintf("[accepted until %s: %s] %s", e.day, e.reason, summary)
		} else if e, ok := v.expired[f.ID]; ok {
			summary = fmt.Sprintf("[allow-list entry expired %s: counts again] %s", e.day, summary)
		}
		t.Rows = append(t.Rows, []string{f.ID, strings.Join(f.Aliases, ", "), strings.Join(pkgs, "; "),
			strings.Join(versions, "; "), sev, summary})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	if n := len(t.Rows); n > maxFindingRows {
		t.Rows = t.Rows[:maxFindingRows]
		t.Title += fmt.Sprintf(" (first %d of %d; all in %s)", maxFindingRows, n, findingsFile)
	}
	return []plan.Table{t}
}

func scanSummary(inv sbom.Inventory, match advisoryMatch, v scanVerdict, matchTime time.Duration, p sbomScanParams) string {
	source := match.source
	var b strings.Builder
	fmt.Fprintf(&b, "sbom: %d components", len(inv.Components))
	if inv.Main != nil {
		fmt.Fprintf(&b, " of %s", inv.Main.Name)
	}
	unmatched := 0
	for _, c := range inv.Components {
		if _, ok := c.Query(); !ok {
			unmatched++
		}
	}
	if unmatched > 0 {
		fmt.Fprintf(&b, " (%d not looked up: local, unversioned or without a package URL)", unmatched)
	}
	fmt.Fprintf(&b, "\nadvisories: %s; looked up in %s\n", source, matchTime.Round(time.Millisecond))
	counts := map[vulndb.Severity]int{}
	for _, f := range v.counted {
		counts[f.Rating.Severity]++
	}
	fmt.Fprintf(&b, "vulnerabilities: %d (%d critical, %d high, %d medium, %d low, %d unknown", len(v.counted),
		counts[vulndb.Critical], counts[vulndb.High], counts[vulndb.Medium], counts[vulndb.Low], counts[vulndb.Unknown])
	if counts[vulndb.Unknown] > 0 {
		if p.unknownNone {
			b.WriteString(", unknown counted in no severity")
		} else {
			fmt.Fprintf(&b, ", unknown counted as %s", strings.ToLower(p.unknownAs.String()))
		}
	}
	fmt.Fprintf(&b, "), %d accepted by the allow-list\n", len(v.accepted))
	ids := make([]string, 0, len(v.expired))
	for id := range v.expired {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := v.expired[id]
		fmt.Fprintf(&b, "allow-list entry %s expired on %s and counts again: %s (was: %s)\n", e.id, e.day, id, e.reason)
	}
	for _, e := range v.unused {
		fmt.Fprintf(&b, "allow-list entry %s matches no finding: remove it\n", e.id)
	}
	for _, w := range inv.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	for _, pr := range match.problems {
		b.WriteString("advisory problem: " + pr.String() + "\n")
	}
	for i, f := range v.counted {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more in %s\n", len(v.counted)-20, findingsFile)
			break
		}
		var pkgs []string
		for _, p := range f.Packages {
			fix := p.DisplayFixed()
			if fix == "" {
				fix = "no fix"
			}
			pkgs = append(pkgs, fmt.Sprintf("%s %s → %s", p.Name, p.DisplayVersion(), fix))
		}
		fmt.Fprintf(&b, "  %-8s %s %s: %s\n", f.Rating.Severity, f.ID, strings.Join(pkgs, ", "), f.Summary)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
