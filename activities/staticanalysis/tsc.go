package staticanalysis

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// maxTSCLine bounds one line of tsc output.
const maxTSCLine = 1 << 20

var (
	// src/app.ts(6,35): error TS2322: Type 'string' is not assignable …
	tscDiagnostic = regexp.MustCompile(`^(.+)\((\d+),(\d+)\): (error|warning|message) (TS\d+): (.*)$`)
	// error TS5023: Unknown compiler option 'x'. (no file)
	tscGlobal = regexp.MustCompile(`^(error|warning|message) (TS\d+): (.*)$`)
	// Found 4 errors in the same file, starting at: src/app.ts:6
	tscSummary = regexp.MustCompile(`^Found (\d+) errors?\b`)
)

// ParseTSC reads the output of `tsc --noEmit --pretty false` from r and
// calls emit for each diagnostic: `path(line,col): error TS2322: message`,
// or `error TS5023: message` without a file. Indented lines continue the
// diagnostic above (tsc's elaboration) and are joined to its message.
// An empty input is a compilation without errors. A "Found N errors"
// summary, when present, must agree with the errors read.
func ParseTSC(r io.Reader, emit func(Finding) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxTSCLine)
	var (
		pending     *Finding
		errorsRead  int
		summary     = -1
		summaryLine int
		lineNo      int
	)
	flush := func() error {
		if pending == nil {
			return nil
		}
		f := *pending
		pending = nil
		f.Fingerprint = HashFingerprint(f.Rule, f.File, f.Message)
		return emit(f)
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if pending == nil {
				return lineError(lineNo, "indented line before any diagnostic: not tsc --pretty false output")
			}
			pending.Message += "\n" + strings.TrimSpace(line)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if m := tscDiagnostic.FindStringSubmatch(line); m != nil {
			l, _ := strconv.Atoi(m[2])
			c, _ := strconv.Atoi(m[3])
			pending = &Finding{Tool: "tsc", File: m[1], Line: l, Column: c, Level: tscLevel(m[4]), Rule: m[5], Message: m[6]}
		} else if m := tscGlobal.FindStringSubmatch(line); m != nil {
			pending = &Finding{Tool: "tsc", Level: tscLevel(m[1]), Rule: m[2], Message: m[3]}
		} else if m := tscSummary.FindStringSubmatch(line); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return lineError(lineNo, "summary %q: %v", line, err)
			}
			summary, summaryLine = n, lineNo
			continue
		} else {
			return lineError(lineNo, "%q is not a tsc diagnostic (want `file(line,col): error TSnnnn: message`, from tsc --pretty false)", truncate(line, 80))
		}
		if pending.Level == LevelError {
			errorsRead++
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return lineError(lineNo+1, "line longer than %d bytes: not tsc output", maxTSCLine)
		}
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if summary >= 0 && summary != errorsRead {
		return lineError(summaryLine, "the summary says %d errors but the output lists %d", summary, errorsRead)
	}
	return nil
}

func tscLevel(category string) Level {
	switch category {
	case "error":
		return LevelError
	case "warning":
		return LevelWarning
	}
	return LevelNote
}
