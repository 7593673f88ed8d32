// Package coverage reads code coverage reports (Go cover profiles, LCOV
// tracefiles, Cobertura XML) and merges any number of them into one
// Report: a statement, line or branch covered in any report is covered.
//
// It is pure: callers open the files and hand over readers.
package coverage

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Format is the format of a coverage file.
type Format string

// Formats of coverage files. FormatAuto detects the format from the content.
const (
	FormatAuto      Format = "auto"
	FormatGo        Format = "go"
	FormatLCOV      Format = "lcov"
	FormatCobertura Format = "cobertura"
	// FormatJaCoCo is JaCoCo's XML report (Android, JVM).
	FormatJaCoCo Format = "jacoco"
	// FormatXccov is Xcode's `xcrun xccov view --report --json` (iOS).
	FormatXccov Format = "xccov"
)

// Formats lists the formats a caller may ask for, FormatAuto first.
var Formats = []Format{FormatAuto, FormatGo, FormatLCOV, FormatCobertura, FormatJaCoCo, FormatXccov}

// ParseError is a coverage file that cannot be read as its format.
type ParseError struct {
	File string
	Line int // 0 when the problem is not on one line
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Counts is a number of covered items out of a total.
type Counts struct {
	Covered int `json:"covered"`
	Total   int `json:"total"`
}

// Ratio is Covered/Total; false when there is nothing to cover.
func (c Counts) Ratio() (float64, bool) {
	if c.Total == 0 {
		return 0, false
	}
	return float64(c.Covered) / float64(c.Total), true
}

func (c *Counts) add(o Counts) {
	c.Covered += o.Covered
	c.Total += o.Total
}

// Kind says what a source file's coverage counts: Go statements, or the
// lines of an LCOV or Cobertura report.
type Kind string

// Kinds of coverage.
const (
	KindStatements Kind = "statements"
	KindLines      Kind = "lines"
)

// Totals sums the coverage of a set of source files.
type Totals struct {
	// Statements counts Go statements and, for LCOV and Cobertura files
	// that have no notion of statements, their lines.
	Statements Counts `json:"statements"`
	// Lines counts lines of LCOV and Cobertura files only.
	Lines Counts `json:"lines"`
	// Branches counts branches of files whose report has branch data.
	Branches Counts `json:"branches"`
	// HasLines and HasBranches say whether any file reported lines or
	// branches, so that 0 of 0 is told apart from "not measured".
	HasLines    bool `json:"hasLines"`
	HasBranches bool `json:"hasBranches"`
	// Files is the number of source files.
	Files int `json:"files"`
}

func (t *Totals) addFile(f *sourceFile) {
	t.Files++
	switch f.kind {
	case KindStatements:
		t.Statements.add(f.statements())
	case KindLines:
		lines := f.lineCounts()
		t.Statements.add(lines)
		t.Lines.add(lines)
		t.HasLines = true
	}
	if b, ok := f.branchCounts(); ok {
		t.Branches.add(b)
		t.HasBranches = true
	}
}

// Package is the coverage of one Go package (import path) or, for LCOV
// and Cobertura, one directory.
type Package struct {
	Name string
	Kind Kind
	Totals
}

// Report is the merged coverage of any number of coverage files.
type Report struct {
	root  string
	files map[fileKey]*sourceFile
}

// NewReport returns an empty report. Absolute source paths below root
// (LCOV and Cobertura often write them) are shown relative to it.
func NewReport(root string) *Report {
	return &Report{root: root, files: map[fileKey]*sourceFile{}}
}

// Add reads one coverage file in the given format (FormatAuto: detected
// from its content) and merges it into the report. name is used in errors.
// A file that cannot be read as its format returns a *ParseError.
func (r *Report) Add(name string, format Format, src io.Reader) error {
	br := bufio.NewReaderSize(src, 64<<10)
	if format == FormatAuto || format == "" {
		head, err := br.Peek(4096)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return fmt.Errorf("read %s: %w", name, err)
		}
		f, ok := Detect(head)
		if !ok {
			return &ParseError{File: name, Msg: "not a Go cover profile, LCOV tracefile, Cobertura or JaCoCo XML report or xccov JSON; set format"}
		}
		format = f
	}
	switch format {
	case FormatGo:
		return r.addGo(name, br)
	case FormatLCOV:
		return r.addLCOV(name, br)
	case FormatCobertura:
		return r.addCobertura(name, br)
	case FormatJaCoCo:
		return r.addJaCoCo(name, br)
	case FormatXccov:
		return r.addXccov(name, br)
	}
	return fmt.Errorf("unknown coverage format %q", format)
}

// Detect tells the format of a coverage file from its first bytes.
func Detect(head []byte) (Format, bool) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte("mode:")):
		return FormatGo, true
	case bytes.HasPrefix(head, []byte("<")):
		// JaCoCo's root is <report> (after a DOCTYPE naming JACOCO);
		// Cobertura's is <coverage>.
		if bytes.Contains(head, []byte("JACOCO")) || bytes.Contains(head, []byte("<report")) {
			return FormatJaCoCo, true
		}
		return FormatCobertura, true
	case bytes.HasPrefix(head, []byte("{")):
		return FormatXccov, true
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	key, _, ok := bytes.Cut(first, []byte(":"))
	if ok && lcovKeys[string(key)] {
		return FormatLCOV, true
	}
	return "", false
}

// Totals sums every source file of the report.
func (r *Report) Totals() Totals {
	var t Totals
	for _, f := range r.files {
		t.addFile(f)
	}
	return t
}

// Packages breaks the report down by Go package or directory, sorted by
// name (Go packages first when a report mixes formats).
func (r *Report) Packages() []Package {
	byName := map[fileKey]*Package{}
	for key, f := range r.files {
		dir := path.Dir(key.name)
		pk := fileKey{kind: key.kind, name: dir}
		p := byName[pk]
		if p == nil {
			p = &Package{Name: dir, Kind: key.kind}
			byName[pk] = p
		}
		p.addFile(f)
	}
	out := make([]Package, 0, len(byName))
	for _, p := range byName {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == KindStatements
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// fileKey names a source file: Go import paths and file system paths live
// in different name spaces, so formats of different kinds never merge.
type fileKey struct {
	kind Kind
	name string
}

// sourceFile is the merged coverage of one source file.
type sourceFile struct {
	kind Kind

	// Go: statements per block, and whether any report covered the block.
	blocks map[goBlock]goBlockState

	// LCOV, Cobertura: hit or not, per line.
	lines map[int]bool
	// lineSummary is LCOV's LF/LH, used only when a file has no DA lines.
	lineSummary *Counts

	// branches is LCOV's BRDA: taken or not, per "line,block,branch".
	branches map[string]bool
	// conditions is Cobertura's condition-coverage per line. Reports do not
	// say which conditions were covered, so merging keeps the best line.
	conditions map[int]Counts
	// branchSummary is LCOV's BRF/BRH, used only when a file has no BRDA.
	branchSummary *Counts
}

func (r *Report) file(kind Kind, name string) *sourceFile {
	key := fileKey{kind: kind, name: name}
	f := r.files[key]
	if f == nil {
		f = &sourceFile{kind: kind}
		r.files[key] = f
	}
	return f
}

// displayPath cleans a source path of a line-based report and makes an
// absolute path below the report's root relative to it.
func (r *Report) displayPath(p string) string {
	p = filepath.ToSlash(p)
	if r.root != "" && path.IsAbs(p) {
		root := filepath.ToSlash(r.root)
		if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(root, "/")+"/"); ok {
			p = rel
		}
	}
	return path.Clean(p)
}

func (f *sourceFile) statements() Counts {
	var c Counts
	for _, b := range f.blocks {
		c.Total += b.statements
		if b.covered {
			c.Covered += b.statements
		}
	}
	return c
}

func (f *sourceFile) lineCounts() Counts {
	if len(f.lines) == 0 && f.lineSummary != nil {
		return clamp(*f.lineSummary)
	}
	c := Counts{Total: len(f.lines)}
	for _, hit := range f.lines {
		if hit {
			c.Covered++
		}
	}
	return c
}

func (f *sourceFile) branchCounts() (Counts, bool) {
	var c Counts
	has := false
	if len(f.branches) > 0 {
		has = true
		c.Total += len(f.branches)
		for _, taken := range f.branches {
			if taken {
				c.Covered++
			}
		}
	} else if f.branchSummary != nil {
		has = true
		c.add(clamp(*f.branchSummary))
	}
	for _, cond := range f.conditions {
		has = true
		c.add(cond)
	}
	return c, has
}

// clamp keeps a summary from an inconsistent report (more hit than found)
// from yielding a ratio above 1.
func clamp(c Counts) Counts {
	c.Covered = min(c.Covered, c.Total)
	return c
}
