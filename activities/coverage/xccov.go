package coverage

import (
	"bufio"
	"encoding/json"
	"fmt"
)

// xccovReport is what `xcrun xccov view --report --json` writes: per
// target, per file, covered and executable lines (no per-line data).
type xccovReport struct {
	CoveredLines    *int          `json:"coveredLines"`
	ExecutableLines *int          `json:"executableLines"`
	Targets         []xccovTarget `json:"targets"`
}

type xccovTarget struct {
	Name  string      `json:"name"`
	Files []xccovFile `json:"files"`
}

type xccovFile struct {
	Name            string `json:"name"`
	Path            string `json:"path"`
	CoveredLines    int    `json:"coveredLines"`
	ExecutableLines int    `json:"executableLines"`
}

// addXccov reads Xcode's coverage report as `xcrun xccov view --report
// --json` writes it: each file's covered and executable lines count as its
// lines (files of several targets merge by path, keeping the best).
func (r *Report) addXccov(name string, src *bufio.Reader) error {
	dec := json.NewDecoder(src)
	var rep xccovReport
	if err := dec.Decode(&rep); err != nil {
		return &ParseError{File: name, Msg: "not an xccov JSON report (xcrun xccov view --report --json): " + err.Error()}
	}
	if rep.Targets == nil && rep.CoveredLines == nil {
		return &ParseError{File: name, Msg: "no targets and no coveredLines: not an xccov JSON report (xcrun xccov view --report --json)"}
	}
	for _, t := range rep.Targets {
		for _, f := range t.Files {
			file := f.Path
			if file == "" {
				file = f.Name
			}
			if file == "" {
				return &ParseError{File: name, Msg: fmt.Sprintf("a file of target %q has neither path nor name", t.Name)}
			}
			if f.CoveredLines < 0 || f.ExecutableLines < 0 || f.CoveredLines > f.ExecutableLines {
				return &ParseError{File: name, Msg: fmt.Sprintf("%s: %d covered of %d executable lines", file, f.CoveredLines, f.ExecutableLines)}
			}
			sf := r.file(KindLines, r.displayPath(file))
			if sf.lineSummary == nil || f.CoveredLines > sf.lineSummary.Covered {
				sf.lineSummary = &Counts{Covered: f.CoveredLines, Total: f.ExecutableLines}
			}
		}
	}
	return nil
}
