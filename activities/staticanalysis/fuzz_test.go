package staticanalysis_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/staticanalysis"
)

// Run each for a while (make fuzz runs each for 20 s) with, for example:
//
//	go test -run '^$' -fuzz '^FuzzSARIF$' -fuzztime 20s -fuzzminimizetime 200x ./activities/staticanalysis
//
// The short minimization keeps a loaded machine fuzzing: by default a
// worker spends up to a minute minimizing each new input, executing
// nothing new meanwhile.

func FuzzSARIF(f *testing.F) {
	seed(f, "sarif/*.sarif", "eslint/*.sarif", "bad/*.sarif", "bad/*.json")
	f.Fuzz(func(t *testing.T, data []byte) { mustParse(t, staticanalysis.ParseSARIF, data) })
}

func FuzzCheckstyle(f *testing.F) {
	seed(f, "eslint/*.xml", "bad/*.xml")
	f.Fuzz(func(t *testing.T, data []byte) { mustParse(t, staticanalysis.ParseCheckstyle, data) })
}

func FuzzTSC(f *testing.F) {
	seed(f, "tsc/*.txt", "bad/*.txt")
	f.Fuzz(func(t *testing.T, data []byte) { mustParse(t, staticanalysis.ParseTSC, data) })
}

func seed(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join("testdata", p))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed matches %s: %v", p, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// mustParse checks what a parser may do with any input: return nil or a
// *ParseError, never panic, and emit only findings with a known level.
// Then detection and LineAt must not panic on it either.
func mustParse(t *testing.T, parse func(io.Reader, func(staticanalysis.Finding) error) error, data []byte) {
	err := parse(bytes.NewReader(data), func(f staticanalysis.Finding) error {
		switch f.Level {
		case staticanalysis.LevelError, staticanalysis.LevelWarning, staticanalysis.LevelNote, staticanalysis.LevelNone:
		default:
			t.Fatalf("finding with level %q: %+v", f.Level, f)
		}
		if f.Fingerprint == "" {
			t.Fatalf("finding without a fingerprint: %+v", f)
		}
		return nil
	})
	var pe *staticanalysis.ParseError
	if err != nil && !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a ParseError", err, err)
	}
	if pe != nil && pe.Offset >= 0 {
		if _, err := staticanalysis.LineAt(bytes.NewReader(data), pe.Offset); err != nil {
			t.Fatal(err)
		}
	}
}
