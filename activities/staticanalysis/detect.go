package staticanalysis

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Format is the format of a findings file.
type Format string

// Formats read; FormatAuto detects one per file.
const (
	FormatAuto       Format = "auto"
	FormatSARIF      Format = "sarif"
	FormatCheckstyle Format = "checkstyle"
	FormatTSC        Format = "tsc"
)

// Formats lists the values of the format parameter.
var Formats = []Format{FormatAuto, FormatSARIF, FormatCheckstyle, FormatTSC}

// sniffBytes is how much of a file Detect looks at.
const sniffBytes = 4096

// Detect tells the format of r's content from its first bytes: JSON is
// SARIF, XML is Checkstyle, a tsc diagnostic or summary line is
// tsc output. An empty file is refused: it is tsc output without errors,
// or a tool that wrote nothing, and only format: tsc says which.
func Detect(r *bufio.Reader) (Format, error) {
	head, err := r.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return "", err
	}
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	if looksBinary(head) {
		return "", lineError(0, "binary data, not SARIF, Checkstyle XML or tsc output")
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return "", lineError(0, "empty file: with format auto an empty file is refused; set format: tsc if it is tsc output without errors")
	}
	switch trimmed[0] {
	case '{', '[':
		return FormatSARIF, nil
	case '<':
		return FormatCheckstyle, nil
	}
	first := trimmed
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	first = bytes.TrimRight(first, "\r")
	if tscDiagnostic.Match(first) || tscGlobal.Match(first) || tscSummary.Match(first) {
		return FormatTSC, nil
	}
	return "", lineError(1, "not SARIF, Checkstyle XML or tsc output: it starts with %q", truncate(string(first), 60))
}

// looksBinary reports whether b has NUL bytes or is not UTF-8 (a rune cut
// at the end of the sample aside).
func looksBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) >= utf8.UTFMax // a cut rune at the end is fine
		}
		b = b[size:]
	}
	return false
}

// Parse reads r in format (not auto) and calls emit for each finding.
func Parse(format Format, r io.Reader, emit func(Finding) error) error {
	switch format {
	case FormatSARIF:
		return ParseSARIF(r, emit)
	case FormatCheckstyle:
		return ParseCheckstyle(r, emit)
	case FormatTSC:
		return ParseTSC(r, emit)
	}
	return fmt.Errorf("unknown format %q", format)
}

// LineAt returns the 1-based line of byte offset in r.
func LineAt(r io.Reader, offset int64) (int, error) {
	br := bufio.NewReader(io.LimitReader(r, offset))
	line := 1
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return line, nil
		}
		if err != nil {
			return 0, err
		}
		if b == '\n' {
			line++
		}
	}
}
