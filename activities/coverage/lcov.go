package coverage

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// lcovKeys are the record types of LCOV tracefiles (geninfo(1)), including
// the function and version records of lcov 2, which are read and ignored.
var lcovKeys = map[string]bool{
	"TN": true, "SF": true, "VER": true,
	"FN": true, "FNDA": true, "FNF": true, "FNH": true, "FNL": true, "FNA": true,
	"DA": true, "LF": true, "LH": true,
	"BRDA": true, "BRF": true, "BRH": true,
	"MDA": true, // some generators' method records
}

// addLCOV reads an LCOV tracefile. Lines (DA) merge by file and line,
// branches (BRDA) by file, line, block and branch. The LF/LH and BRF/BRH
// summaries count only for files that list no DA or BRDA records.
func (r *Report) addLCOV(name string, src *bufio.Reader) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	var cur *sourceFile // nil outside an SF … end_of_record section
	fail := func(format string, args ...any) error {
		return &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf(format, args...)}
	}
	records := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "end_of_record" {
			if cur == nil {
				return fail("end_of_record without SF")
			}
			cur = nil
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || !lcovKeys[key] {
			return fail("not an LCOV record: %q", truncate(line, 60))
		}
		records++
		switch key {
		case "SF":
			if cur != nil {
				return fail("SF before end_of_record of the previous file")
			}
			if value == "" {
				return fail("SF without a file name")
			}
			cur = r.file(KindLines, r.displayPath(value))
			continue
		case "TN", "VER":
			continue
		}
		if cur == nil {
			return fail("%s outside a file section (no SF before it)", key)
		}
		switch key {
		case "DA":
			// DA:<line>,<hits>[,<checksum>]
			parts := strings.Split(value, ",")
			if len(parts) < 2 {
				return fail("want DA:<line>,<hits>, got %q", line)
			}
			ln, err := strconv.Atoi(parts[0])
			if err != nil || ln < 0 {
				return fail("line number %q is not a non-negative integer", parts[0])
			}
			hits, err := strconv.ParseFloat(parts[1], 64)
			if err != nil {
				return fail("hit count %q is not a number", parts[1])
			}
			if cur.lines == nil {
				cur.lines = map[int]bool{}
			}
			cur.lines[ln] = cur.lines[ln] || hits > 0
		case "BRDA":
			// BRDA:<line>,<block>,<branch>,<taken>; taken is "-" when the
			// line never ran. lcov 2 allows commas inside <branch>.
			first := strings.IndexByte(value, ',')
			last := strings.LastIndexByte(value, ',')
			if first < 0 || last <= first {
				return fail("want BRDA:<line>,<block>,<branch>,<taken>, got %q", line)
			}
			if _, err := strconv.Atoi(value[:first]); err != nil {
				return fail("line number %q is not an integer", value[:first])
			}
			taken := value[last+1:]
			n := 0.0
			if taken != "-" {
				var err error
				if n, err = strconv.ParseFloat(taken, 64); err != nil {
					return fail("taken count %q is neither a number nor -", taken)
				}
			}
			if cur.branches == nil {
				cur.branches = map[string]bool{}
			}
			id := value[:last]
			cur.branches[id] = cur.branches[id] || n > 0
		case "LF", "LH", "BRF", "BRH":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return fail("%s count %q is not a non-negative integer", key, value)
			}
			summaryOf(cur, key).merge(key, n)
		}
		// FN, FNDA, FNF, FNH, FNL, FNA, MDA: function records, not counted.
	}
	if err := sc.Err(); err != nil {
		return &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	if cur != nil {
		return fail("file section not closed by end_of_record")
	}
	if records == 0 {
		return &ParseError{File: name, Msg: "empty LCOV tracefile"}
	}
	return nil
}

// summaryOf returns the LF/LH or BRF/BRH summary of f that key belongs to.
func summaryOf(f *sourceFile, key string) *summary {
	p := &f.lineSummary
	if key == "BRF" || key == "BRH" {
		p = &f.branchSummary
	}
	if *p == nil {
		*p = &Counts{}
	}
	return (*summary)(*p)
}

// summary merges the found/hit counts of an LCOV file seen in several
// tracefiles: without per-line data, the best report wins.
type summary Counts

func (s *summary) merge(key string, n int) {
	switch key {
	case "LF", "BRF":
		s.Total = max(s.Total, n)
	case "LH", "BRH":
		s.Covered = max(s.Covered, n)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
