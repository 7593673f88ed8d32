package testresults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Format is the format of a test report.
type Format string

// Formats of test reports. FormatAuto detects the format from the content.
const (
	FormatAuto   Format = "auto"
	FormatJUnit  Format = "junit"
	FormatGoTest Format = "gotest-json"
	FormatTAP    Format = "tap"
)

// Formats lists the formats a plan may ask for, FormatAuto first.
var Formats = []Format{FormatAuto, FormatJUnit, FormatGoTest, FormatTAP}

// Options say how to read a report.
type Options struct {
	Format Format
	// MaxMessage is how many characters of a failure message to keep; 0
	// keeps none.
	MaxMessage int
}

// ParseError is a report that cannot be read as its format.
type ParseError struct {
	File string
	Line int // 0 when the problem is not on one line
	Msg  string
	// notReport marks content that is not a report of the format at all
	// (an XML file of another kind, JSON that is not go test events).
	notReport bool
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Bounds on what one report may hold, so that a huge or hostile file
// costs bounded memory.
const (
	// maxLine is the longest line of a line format (go test -json, TAP).
	maxLine = 1 << 20
	// maxRun is the longest text, attribute value, comment or CDATA
	// section of an XML report kept; the rest is skipped.
	maxRun = 64 << 10
	// maxTag is the longest XML tag (names and attributes).
	maxTag = 1 << 20
	// maxDepth is the deepest XML element nesting.
	maxDepth = 1000
	// checkEvery is how many lines or tokens pass between checks of the
	// context.
	checkEvery = 4096
)

const sniffSize = 4096

// Parse reads one test report from r; name is its file name, for errors
// and as the suite of cases that name none. It returns a *ParseError for
// content that is not a report of the format (or of any format, for
// FormatAuto), and any other error for a failed read.
func Parse(ctx context.Context, r io.Reader, name string, opt Options) (*Summary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opt.Format
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if format == FormatAuto || format == "" {
		f, why := detect(head)
		if f == "" {
			return nil, &ParseError{File: name, Msg: "not a JUnit XML, go test -json or TAP report: " + why}
		}
		format = f
	} else if why := binary(head); why != "" {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("not a %s report: %s", formatName(format), why)}
	}
	var s *Summary
	switch format {
	case FormatJUnit:
		s, err = parseJUnit(ctx, br, name, opt)
	case FormatGoTest:
		s, err = parseGoTest(ctx, br, name, opt)
	case FormatTAP:
		s, err = parseTAP(ctx, br, name, opt)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	var perr *ParseError
	if errors.As(err, &perr) && perr.notReport {
		if opt.Format == FormatAuto || opt.Format == "" {
			perr.Msg = "not a JUnit XML, go test -json or TAP report: " + perr.Msg
		} else {
			perr.Msg = fmt.Sprintf("not a %s report: %s", formatName(format), perr.Msg)
		}
	}
	if err != nil {
		return nil, err
	}
	if s.Total == 0 {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("no test cases in this %s report", formatName(format))}
	}
	s.Files = 1
	return s, nil
}

func formatName(f Format) string {
	switch f {
	case FormatJUnit:
		return "JUnit XML"
	case FormatGoTest:
		return "go test -json"
	case FormatTAP:
		return "TAP"
	}
	return string(f)
}

// detect tells the format of a report from its first bytes, or why it has
// none.
func detect(head []byte) (Format, string) {
	if why := binary(head); why != "" {
		return "", why
	}
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	text = bytes.TrimLeft(text, " \t\r\n")
	if len(text) == 0 {
		return "", "the file is empty"
	}
	switch text[0] {
	case '<':
		return FormatJUnit, ""
	case '{':
		return FormatGoTest, ""
	}
	line := text
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	for _, prefix := range []string{"TAP version", "1..", "ok", "not ok", "# Subtest", "Bail out!"} {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return FormatTAP, ""
		}
	}
	return "", fmt.Sprintf("it starts with %q", truncateBytes(line, 40))
}

// binary says why head is not text, or "".
func binary(head []byte) string {
	if bytes.IndexByte(head, 0) >= 0 {
		return "binary content (a NUL byte in the first 4 KiB)"
	}
	check := head
	// The sniffed bytes may end inside a rune.
	if len(check) == sniffSize {
		for i := 1; i <= utf8.UTFMax; i++ {
			if utf8.RuneStart(check[len(check)-i]) {
				if !utf8.FullRune(check[len(check)-i:]) {
					check = check[:len(check)-i]
				}
				break
			}
		}
	}
	if !utf8.Valid(check) && !bytes.Contains(head[:min(len(head), 200)], []byte("encoding=")) {
		return "binary content (not UTF-8 text)"
	}
	return ""
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// lineReader reads lines of at most maxLine bytes; longer lines are cut
// and the rest of them skipped.
type lineReader struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

// next returns the next line without its end of line, whether it was cut,
// and io.EOF after the last line.
func (l *lineReader) next() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	cut := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if len(l.buf)+len(chunk) > maxLine {
			chunk = chunk[:max(0, maxLine-len(l.buf))]
			cut = true
		}
		l.buf = append(l.buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || len(l.buf) == 0) {
			return nil, false, err
		}
		l.line++
		return bytes.TrimRight(l.buf, "\r\n"), cut, nil
	}
}
