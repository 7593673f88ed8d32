package coverage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/fileglob"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the coverage task type.
const Name = "coverage"

// maxCoverageRows bounds the per-package table, which travels in the
// activity result (Temporal payloads are limited to a few MB).
const maxCoverageRows = 500

// Decl declares the coverage task type.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Reads code coverage reports (Go cover profiles, LCOV, Cobertura XML, JaCoCo XML, Xcode xccov JSON), merges them and reports statement, line and branch coverage.",
	Params: []plan.Param{
		{Name: "files", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyFile, Doc: "Coverage files to read. Each entry may be a glob (`*`, `?`, `[…]`, and `**` for any number of directories) and must match at least one file. Files are merged: a statement, line or branch covered in any file is covered."},
		{Name: "format", Type: plan.TypeString, Default: "auto", Enum: []string{"auto", "go", "lcov", "cobertura", "jacoco", "xccov"}, Doc: "Format of the files; `auto` detects it per file from its content: a Go cover profile, an LCOV tracefile, Cobertura XML, JaCoCo XML (Android and JVM: Gradle, Maven) or Xcode's `xcrun xccov view --report --json` (iOS), so Android and iOS coverage need no converter."},
		{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "Directory that relative paths in `files` start from; default: the worker's working directory. Absolute source paths below it are shown relative to it."},
	},
	Metrics: []plan.Metric{
		{Name: "coverage.statements", Unit: plan.UnitRatio, Doc: "Covered statements / statements. Go profiles count statements; LCOV and Cobertura have no statements, so their lines count instead."},
		{Name: "coverage.lines", Unit: plan.UnitRatio, Doc: "Covered lines / instrumented lines of the LCOV and Cobertura files (not reported for Go profiles alone)."},
		{Name: "coverage.branches", Unit: plan.UnitRatio, Doc: "Covered branches / branches, from LCOV BRDA (or BRF/BRH) and Cobertura condition-coverage; reported only when the files have branch data."},
		{Name: "coverage.files", Unit: plan.UnitCount, Doc: "Number of source files the coverage files describe."},
	},
	Timeout: 5 * time.Minute,
}

// Activities runs coverage tasks.
type Activities struct {
	logger *slog.Logger
}

// New returns the coverage activities; a nil logger means the default one.
func New(logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.Default()
	}
	return &Activities{logger: logger}
}

// Type is the coverage task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.Coverage} }

// Coverage reads and merges coverage files and reports their coverage,
// with a per-package (Go) or per-directory (LCOV, Cobertura) table.
func (a *Activities) Coverage(ctx context.Context, in task.Input) (task.Output, error) {
	format := Format(in.Params.String("format"))
	if format == "" {
		format = FormatAuto
	}
	if !validCoverageFormat(format) {
		return task.Output{}, task.InvalidParams("format %q is not one of auto, go, lcov, cobertura, jacoco, xccov", format)
	}
	patterns := in.Params.Strings("files")
	if len(patterns) == 0 {
		return task.Output{}, task.InvalidParams("files: list at least one coverage file")
	}
	base := in.Params.String("dir")
	if base == "" {
		base = "."
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return task.Output{}, fmt.Errorf("resolve dir: %w", err)
	}
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return task.Output{}, task.InvalidParams("dir %s is not a directory", base)
	}

	files, err := matchFiles(base, patterns)
	if err != nil {
		return task.Output{}, err
	}

	report := NewReport(base)
	for i, file := range files {
		if err := ctx.Err(); err != nil {
			return task.Output{}, err
		}
		activity.RecordHeartbeat(ctx, task.Progress{Done: float64(i) / float64(len(files)), Message: "reading " + file})
		if err := addCoverageFile(report, file, format); err != nil {
			return task.Output{}, err
		}
	}

	totals := report.Totals()
	out := task.Output{Metrics: map[string]float64{"coverage.files": float64(totals.Files)}}
	if r, ok := totals.Statements.Ratio(); ok {
		out.Metrics["coverage.statements"] = r
	}
	if r, ok := totals.Lines.Ratio(); ok && totals.HasLines {
		out.Metrics["coverage.lines"] = r
	}
	if r, ok := totals.Branches.Ratio(); ok && totals.HasBranches {
		out.Metrics["coverage.branches"] = r
	}
	out.Output = coverageSummary(totals, base, files)
	out.Tables = coverageTables(report.Packages())

	a.logger.InfoContext(ctx, "coverage read",
		slog.String("task", in.Task), slog.Int("reports", len(files)),
		slog.Int("files", totals.Files), slog.String("statements", percent(totals.Statements)))
	return out, nil
}

func validCoverageFormat(f Format) bool {
	for _, known := range Formats {
		if f == known {
			return true
		}
	}
	return false
}

func addCoverageFile(report *Report, file string, format Format) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return task.InvalidParams("coverage file %s: %v", file, err)
	}
	if err != nil {
		return fmt.Errorf("open coverage file: %w", err)
	}
	defer f.Close()
	err = report.Add(file, format, f)
	var parseErr *ParseError
	if errors.As(err, &parseErr) {
		return task.InvalidParams("coverage file %v", parseErr)
	}
	return err
}

// matchFiles expands each pattern below base. Every pattern must match at
// least one regular file; the result is sorted and has no duplicates.
func matchFiles(base string, patterns []string) ([]string, error) {
	files, err := fileglob.Match(base, patterns, "coverage file")
	if err != nil {
		return nil, task.InvalidParams("files: %v", err)
	}
	return files, nil
}

func coverageSummary(t Totals, base string, files []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "coverage: %s of statements", percent(t.Statements))
	if t.HasLines {
		fmt.Fprintf(&b, ", %s of lines", percent(t.Lines))
	}
	if t.HasBranches {
		fmt.Fprintf(&b, ", %s of branches", percent(t.Branches))
	}
	fmt.Fprintf(&b, " in %d source %s\n", t.Files, plural(t.Files, "file", "files"))
	fmt.Fprintf(&b, "from %d coverage %s:\n", len(files), plural(len(files), "file", "files"))
	for _, f := range files {
		if rel, err := filepath.Rel(base, f); err == nil && filepath.IsLocal(rel) {
			f = rel
		}
		b.WriteString("  " + f + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// coverageTables builds one table for Go packages and one for the
// directories of line-based reports, whichever the files have.
func coverageTables(pkgs []Package) []plan.Table {
	goTable := plan.Table{
		Title:   "Go coverage by package",
		Columns: []string{"Package", "Files", "Statements", "Covered", "Coverage"},
	}
	lineTable := plan.Table{
		Title:   "Coverage by directory",
		Columns: []string{"Directory", "Files", "Lines", "Covered", "Coverage", "Branches", "Branch coverage"},
	}
	for _, p := range pkgs {
		switch p.Kind {
		case KindStatements:
			goTable.Rows = append(goTable.Rows, []string{
				p.Name, strconv.Itoa(p.Files),
				strconv.Itoa(p.Statements.Total), strconv.Itoa(p.Statements.Covered), percent(p.Statements),
			})
		case KindLines:
			branches, branchPct := "-", "-"
			if p.HasBranches {
				branches = fmt.Sprintf("%d/%d", p.Branches.Covered, p.Branches.Total)
				branchPct = percent(p.Branches)
			}
			lineTable.Rows = append(lineTable.Rows, []string{
				p.Name, strconv.Itoa(p.Files),
				strconv.Itoa(p.Lines.Total), strconv.Itoa(p.Lines.Covered), percent(p.Lines),
				branches, branchPct,
			})
		}
	}
	var tables []plan.Table
	for _, t := range []plan.Table{goTable, lineTable} {
		if len(t.Rows) == 0 {
			continue
		}
		if n := len(t.Rows); n > maxCoverageRows {
			t.Rows = t.Rows[:maxCoverageRows]
			t.Title += fmt.Sprintf(" (first %d of %d)", maxCoverageRows, n)
		}
		tables = append(tables, t)
	}
	return tables
}

// percent formats a ratio as "83.3%", or "n/a" when there is nothing to cover.
func percent(c Counts) string {
	r, ok := c.Ratio()
	if !ok {
		return "n/a"
	}
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
