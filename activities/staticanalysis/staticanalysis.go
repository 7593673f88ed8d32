// Package staticanalysis is the static-analysis task type: it reads the
// files linters, type checkers and scanners already write (SARIF 2.1.0
// from any tool, Checkstyle XML, tsc's text output), counts their
// findings by level, tool and novelty against a baseline, and reports
// the rules with the most findings and the first findings, so a plan can
// gate on "0 TypeScript errors", "lint clean" or "no new errors".
package staticanalysis

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "static-analysis"

// Defaults of the parameters.
const (
	defaultShow        = 20
	defaultMaxFileSize = "256MiB"
)

// Decl declares the static-analysis task type.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Reads the findings static analysis tools wrote (SARIF 2.1.0 from any tool, Checkstyle XML, `tsc --pretty false` output), counts them by level, tool and novelty against a baseline, and lists the rules with the most findings.",
	Params: []plan.Param{
		{Name: "files", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyFile, Doc: "Findings files to read. Each entry may be a glob (`*`, `?`, `[…]`, and `**` for any number of directories) and must match at least one file; the findings of every file are counted together."},
		{Name: "format", Type: plan.TypeString, Default: string(FormatAuto), Enum: formatNames(), Doc: "Format of the files: `sarif` (SARIF 2.1.0: golangci-lint, ESLint, Semgrep, CodeQL, Trivy, Checkov, hadolint, ZAP…), `checkstyle` (Checkstyle XML: ESLint `-f checkstyle`, SwiftLint, Detekt, ktlint), `tsc` (`tsc --noEmit --pretty false` output), or `auto` to tell each file by its content. `auto` refuses an empty file; tsc writes nothing when there are no errors, so read its output with `format: tsc`."},
		{Name: "baseline", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "An earlier findings file (SARIF, or any format above) to compare with: a finding is new when its fingerprint is not in it. The fingerprint is the result's first partialFingerprints value (then fingerprints), else a hash of its rule ID, file and message. Without a baseline, a SARIF result's own baselineState says whether it is new; a finding without one counts as new."},
		{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "Directory that relative paths in `files` and `baseline` start from; default: the worker's working directory. Finding paths below it are shown relative to it."},
		{Name: "show", Type: plan.TypeInt, Default: defaultShow, Doc: "How many rules and findings the report lists (the findings most severe first, each level in the order read)."},
		{Name: "maxFileSize", Type: plan.TypeBytes, Default: defaultMaxFileSize, Doc: "Largest file read. Files are streamed, one SARIF result or XML element at a time, keeping counts and the findings the report lists; what a file may still hold in memory at once is one SARIF result, a run's tool descriptor (rule IDs and levels), and a run's results that come before its tool descriptor; and the fingerprints of `baseline`."},
	},
	Metrics: []plan.Metric{
		{Name: "findings.total", Unit: plan.UnitCount, Doc: "Findings of every level (SARIF level none included); suppressed results and results a baseline marks absent are not findings."},
		{Name: "findings.error", Unit: plan.UnitCount, Doc: "Findings of level error (SARIF error, Checkstyle error, tsc error)."},
		{Name: "findings.warning", Unit: plan.UnitCount, Doc: "Findings of level warning. A SARIF result without a level takes its rule's defaultConfiguration.level, else warning."},
		{Name: "findings.note", Unit: plan.UnitCount, Doc: "Findings of level note (Checkstyle info)."},
		{Name: "findings.new", Unit: plan.UnitCount, Doc: "Findings that are new: not in `baseline`; without one, all but the SARIF results whose baselineState is unchanged or updated."},
		{Name: "findings.suppressed", Unit: plan.UnitCount, Doc: "SARIF results with an accepted suppression, not counted as findings."},
		{Name: "findings.tool.<name>", Unit: plan.UnitCount, Doc: "Findings per tool: the SARIF driver name, the Checkstyle source's tool (eslint, detekt, else checkstyle), or tsc; lower case, anything but letters, digits, - and _ as - (findings.tool.golangci-lint)."},
		{Name: "findings.files", Unit: plan.UnitCount, Doc: "Findings files read."},
	},
	Timeout: 5 * time.Minute,
}

func formatNames() []string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return names
}

// Analyzer runs static-analysis tasks.
type Analyzer struct {
	logger *slog.Logger
}

// New returns an Analyzer logging to logger (nil: discard).
func New(logger *slog.Logger) *Analyzer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Analyzer{logger: logger}
}

// Type returns the task type, run by a.
func (a *Analyzer) Type() task.Type { return task.Type{Decl: Decl, Run: a.Run} }

// Run reads the task's findings files and reports their counts.
func (a *Analyzer) Run(ctx context.Context, in task.Input) (task.Output, error) {
	format := Format(in.Params.String("format"))
	if format == "" {
		format = FormatAuto
	}
	if !slices.Contains(Formats, format) {
		return task.Output{}, task.InvalidParams("format %q is not one of %s", format, strings.Join(formatNames(), ", "))
	}
	patterns := in.Params.Strings("files")
	if len(patterns) == 0 {
		return task.Output{}, task.InvalidParams("files: list at least one findings file")
	}
	show := defaultShow
	if _, set := in.Params["show"]; set {
		show = in.Params.Int("show")
	}
	if show < 0 {
		return task.Output{}, task.InvalidParams("show: %d is negative", show)
	}
	maxSize, err := plan.ParseBytes(cmp.Or(in.Params.String("maxFileSize"), defaultMaxFileSize))
	if err != nil {
		return task.Output{}, task.InvalidParams("maxFileSize: %v", err)
	}
	base, err := filepath.Abs(cmp.Or(in.Params.String("dir"), "."))
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
	r := reader{base: base, format: format, maxSize: maxSize}

	var baseline map[string]bool
	baselineFile := in.Params.String("baseline")
	if baselineFile != "" {
		if !filepath.IsAbs(baselineFile) {
			baselineFile = filepath.Join(base, baselineFile)
		}
		baseline = map[string]bool{}
		task.Report(ctx, task.Progress{Done: 0, Message: "reading baseline " + r.display(baselineFile)})
		err := r.read(ctx, "baseline", baselineFile, FormatAuto, func(f Finding) error {
			if f.BaselineState != BaselineAbsent {
				baseline[f.Fingerprint] = true
			}
			return nil
		})
		if err != nil {
			return task.Output{}, err
		}
	}

	tally := NewTally(baseline, show)
	for i, file := range files {
		task.Report(ctx, task.Progress{Done: float64(i) / float64(len(files)), Message: "reading " + r.display(file)})
		if err := r.read(ctx, "findings file", file, format, func(f Finding) error { tally.Add(f); return nil }); err != nil {
			return task.Output{}, err
		}
	}

	out := task.Output{
		Metrics: tally.Metrics(len(files)),
		Output:  summary(tally, files, baselineFile, r.display),
		Tables:  tally.Tables(show, r.display),
	}
	if out.Artifacts, err = keepFindings(in, files, r.display); err != nil {
		return task.Output{}, err
	}
	a.logger.InfoContext(ctx, "static analysis read",
		slog.String("task", in.Task), slog.Int("files", len(files)), slog.Int("findings", tally.Total),
		slog.Int("errors", tally.ByLevel[LevelError]), slog.Int("new", tally.New))
	return out, nil
}

// reader reads findings files below base.
type reader struct {
	base    string
	format  Format
	maxSize int64
}

// display shows a path relative to base when it is below it.
func (r reader) display(file string) string {
	if filepath.IsAbs(file) {
		if rel, err := filepath.Rel(r.base, file); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return file
}

// read parses one file, calling emit for each finding. Problems with the
// file are InvalidParams errors naming it (as what: "findings file",
// "baseline"), and its line when known.
func (r reader) read(ctx context.Context, what, file string, format Format, emit func(Finding) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := what + " " + r.display(file)
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return task.InvalidParams("%s: %v", name, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if st.IsDir() {
		return task.InvalidParams("%s is a directory", name)
	}
	if st.Size() > r.maxSize {
		return task.InvalidParams("%s is %d bytes, more than maxFileSize (%d bytes)", name, st.Size(), r.maxSize)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, r.maxSize+1), 64*1024)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" { // Windows tools write one
		br.Discard(3)
	}
	if format == FormatAuto {
		if format, err = Detect(br); err != nil {
			return r.parseError(f, name, "", err)
		}
	}
	n := 0
	err = Parse(format, br, func(fd Finding) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return emit(fd)
	})
	return r.parseError(f, name, format, err)
}

// parseError names the file, the format and the line of a ParseError.
func (r reader) parseError(f *os.File, name string, format Format, err error) error {
	var pe *ParseError
	if !errors.As(err, &pe) {
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		return nil
	}
	where := name
	line := pe.Line
	if line == 0 && pe.Offset >= 0 {
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			line, _ = LineAt(f, pe.Offset)
		}
	}
	if line > 0 {
		where = fmt.Sprintf("%s:%d", name, line)
	}
	as := ""
	if format != "" {
		as = " (read as " + string(format) + ")"
	}
	return task.InvalidParams("%s%s: %s", where, as, pe.Msg)
}

func summary(t *Tally, files []string, baseline string, display func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s (%d errors, %d warnings, %d notes) in %d %s",
		t.Total, plural(t.Total, "finding", "findings"), t.ByLevel[LevelError], t.ByLevel[LevelWarning],
		t.ByLevel[LevelNote], len(files), plural(len(files), "file", "files"))
	if baseline != "" {
		fmt.Fprintf(&b, "; %d new against %s", t.New, display(baseline))
	} else {
		fmt.Fprintf(&b, "; %d new", t.New)
	}
	if t.Suppressed > 0 {
		fmt.Fprintf(&b, "; %d suppressed", t.Suppressed)
	}
	if t.Absent > 0 {
		fmt.Fprintf(&b, "; %d fixed (absent)", t.Absent)
	}
	tools := make([]string, 0, len(t.ByTool))
	for tool := range t.ByTool {
		tools = append(tools, tool)
	}
	slices.Sort(tools)
	for i, tool := range tools {
		if i == 0 {
			b.WriteString("\nby tool:")
		}
		fmt.Fprintf(&b, " %s %d", tool, t.ByTool[tool])
	}
	b.WriteString("\nfrom:")
	for _, f := range files {
		b.WriteString("\n  " + display(f))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// keepFindings copies the findings files read into the run's artifact
// directory (when it keeps artifacts), so the report links them and
// `starter evidence` bundles them: the SARIF an auditor asks for is the
// one the gate read.
func keepFindings(in task.Input, files []string, display func(string) string) ([]plan.Artifact, error) {
	if in.ArtifactDir == "" {
		return nil, nil
	}
	var artifacts []plan.Artifact
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("keep %s: %w", display(file), err)
		}
		rel, err := in.KeepFile(fmt.Sprintf("findings-%d-%s", i+1, filepath.Base(file)), data)
		if err != nil {
			return nil, err
		}
		media := "application/json"
		if strings.HasSuffix(strings.ToLower(file), ".sarif") || strings.HasSuffix(strings.ToLower(file), ".sarif.json") {
			media = "application/sarif+json"
		} else if !json.Valid(data) {
			media = "text/plain"
		}
		artifacts = append(artifacts, plan.Artifact{Name: "findings: " + display(file), Path: rel, MediaType: media})
	}
	return artifacts, nil
}
