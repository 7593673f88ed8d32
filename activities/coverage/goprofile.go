package coverage

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// goBlock is a block of a Go cover profile: a span of a source file.
type goBlock struct {
	startLine, startCol, endLine, endCol int
}

type goBlockState struct {
	statements int
	covered    bool
}

// addGo reads a Go cover profile ("go test -coverprofile"): a mode line,
// then one line per block, "file:startLine.startCol,endLine.endCol
// statements count". Blocks are merged by file and span.
func (r *Report) addGo(name string, src *bufio.Reader) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	sawMode := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !sawMode {
			mode, ok := strings.CutPrefix(line, "mode:")
			mode = strings.TrimSpace(mode)
			if !ok || (mode != "set" && mode != "count" && mode != "atomic") {
				return &ParseError{File: name, Line: lineNo, Msg: `want "mode: set", "mode: count" or "mode: atomic" as the first line of a Go cover profile`}
			}
			sawMode = true
			continue
		}
		// Profiles concatenated with cat repeat the mode line.
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		file, block, stmts, count, err := parseGoBlock(line)
		if err != nil {
			return &ParseError{File: name, Line: lineNo, Msg: err.Error()}
		}
		f := r.file(KindStatements, file)
		if f.blocks == nil {
			f.blocks = map[goBlock]goBlockState{}
		}
		prev, seen := f.blocks[block]
		if seen && prev.statements != stmts {
			return &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf(
				"block %s:%d.%d,%d.%d has %d statements here and %d in another profile: profiles of different sources cannot be merged",
				file, block.startLine, block.startCol, block.endLine, block.endCol, stmts, prev.statements)}
		}
		f.blocks[block] = goBlockState{statements: stmts, covered: prev.covered || count > 0}
	}
	if err := sc.Err(); err != nil {
		return &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	if !sawMode {
		return &ParseError{File: name, Msg: "empty Go cover profile: no mode line"}
	}
	return nil
}

// parseGoBlock reads "file:12.34,15.2 3 1".
func parseGoBlock(line string) (file string, b goBlock, stmts int, count int64, err error) {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return "", b, 0, 0, fmt.Errorf("want \"file:line.col,line.col statements count\", got %q", line)
	}
	n := len(fields)
	count, err = strconv.ParseInt(fields[n-1], 10, 64)
	if err != nil || count < 0 {
		return "", b, 0, 0, fmt.Errorf("count %q is not a non-negative integer", fields[n-1])
	}
	stmts, err = strconv.Atoi(fields[n-2])
	if err != nil || stmts < 0 {
		return "", b, 0, 0, fmt.Errorf("statement count %q is not a non-negative integer", fields[n-2])
	}
	// The file name may hold spaces and colons; the span follows the last colon.
	loc := strings.Join(fields[:n-2], " ")
	colon := strings.LastIndexByte(loc, ':')
	if colon <= 0 {
		return "", b, 0, 0, fmt.Errorf("want \"file:line.col,line.col\", got %q", loc)
	}
	file, span := loc[:colon], loc[colon+1:]
	start, end, ok := strings.Cut(span, ",")
	if !ok {
		return "", b, 0, 0, fmt.Errorf("span %q is not line.col,line.col", span)
	}
	if b.startLine, b.startCol, err = parseLineCol(start); err == nil {
		b.endLine, b.endCol, err = parseLineCol(end)
	}
	if err != nil {
		return "", b, 0, 0, fmt.Errorf("span %q is not line.col,line.col", span)
	}
	return file, b, stmts, count, nil
}

func parseLineCol(s string) (line, col int, err error) {
	l, c, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, fmt.Errorf("no column in %q", s)
	}
	if line, err = strconv.Atoi(l); err != nil {
		return 0, 0, err
	}
	col, err = strconv.Atoi(c)
	return line, col, err
}
