package coverage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/coverage"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		head string
		want coverage.Format
		ok   bool
	}{
		{"go profile", "mode: atomic\nx.go:1.1,2.2 1 0\n", coverage.FormatGo, true},
		{"cobertura with BOM and declaration", "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<coverage>", coverage.FormatCobertura, true},
		{"lcov starting with TN", "TN:\nSF:a.js\n", coverage.FormatLCOV, true},
		{"lcov starting with SF", "SF:/src/a.c\nDA:1,1\n", coverage.FormatLCOV, true},
		{"lcov 2 version record", "VER:2.0\nSF:a.c\n", coverage.FormatLCOV, true},
		{"json is xccov's", `{"total": 80}`, coverage.FormatXccov, true},
		{"jacoco", "<?xml version=\"1.0\"?><!DOCTYPE report PUBLIC \"-//JACOCO//DTD Report 1.1//EN\" \"report.dtd\"><report name=\"app\">", coverage.FormatJaCoCo, true},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := coverage.Detect([]byte(tt.head))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Detect = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReport(t *testing.T) {
	type input struct {
		format  coverage.Format
		content string
	}
	tests := []struct {
		name    string
		inputs  []input
		want    coverage.Totals
		wantErr string // "file:line: fragment"
	}{{
		name:   "concatenated go profiles repeat the mode line",
		inputs: []input{{coverage.FormatGo, "mode: set\na/x.go:1.1,2.2 3 1\nmode: set\na/x.go:3.1,4.2 1 0\n"}},
		want:   coverage.Totals{Statements: coverage.Counts{Covered: 3, Total: 4}, Files: 1},
	}, {
		name:   "go profile without blocks",
		inputs: []input{{coverage.FormatAuto, "mode: set\n"}},
		want:   coverage.Totals{},
	}, {
		name: "go blocks of different sources do not merge",
		inputs: []input{
			{coverage.FormatGo, "mode: set\na/x.go:1.1,2.2 3 1\n"},
			{coverage.FormatGo, "mode: set\n\na/x.go:1.1,2.2 2 1\n"},
		},
		wantErr: "in1:3: block a/x.go:1.1,2.2 has 2 statements here and 3",
	}, {
		name:    "go profile without a mode line",
		inputs:  []input{{coverage.FormatGo, "a/x.go:1.1,2.2 3 1\n"}},
		wantErr: "in0:1: want \"mode: set\"",
	}, {
		name:    "negative go count",
		inputs:  []input{{coverage.FormatGo, "mode: count\na/x.go:1.1,2.2 3 -1\n"}},
		wantErr: "in0:2: count \"-1\"",
	}, {
		name: "lcov summaries count only without DA and BRDA",
		inputs: []input{{coverage.FormatLCOV, "SF:a.c\nLF:10\nLH:4\nBRF:6\nBRH:3\nend_of_record\n" +
			"SF:b.c\nDA:1,1\nDA:2,0\nLF:99\nLH:99\nend_of_record\n"}},
		want: coverage.Totals{
			Statements: coverage.Counts{Covered: 5, Total: 12}, Lines: coverage.Counts{Covered: 5, Total: 12},
			Branches: coverage.Counts{Covered: 3, Total: 6}, HasLines: true, HasBranches: true, Files: 2,
		},
	}, {
		name:   "lcov 2 branch names with commas, not taken as -",
		inputs: []input{{coverage.FormatLCOV, "SF:a.py\nDA:3,1\nBRDA:3,0,(x, y) == True,1\nBRDA:3,0,(x, y) == False,-\nend_of_record\n"}},
		want: coverage.Totals{
			Statements: coverage.Counts{Covered: 1, Total: 1}, Lines: coverage.Counts{Covered: 1, Total: 1},
			Branches: coverage.Counts{Covered: 1, Total: 2}, HasLines: true, HasBranches: true, Files: 1,
		},
	}, {
		name:    "lcov section left open",
		inputs:  []input{{coverage.FormatLCOV, "SF:a.c\nDA:1,1\n"}},
		wantErr: "in0:2: file section not closed",
	}, {
		name:    "lcov garbage",
		inputs:  []input{{coverage.FormatLCOV, "SF:a.c\nDA:1,1\nhello\nend_of_record\n"}},
		wantErr: "in0:3: not an LCOV record",
	}, {
		name:    "xml that is not cobertura",
		inputs:  []input{{coverage.FormatAuto, "<?xml version=\"1.0\"?>\n<html lang=\"en\"/>\n"}},
		wantErr: "in0:2: root element is <html>",
	}, {
		name: "cobertura branches merge by line, keeping the best",
		inputs: []input{
			{coverage.FormatCobertura, `<coverage><packages><package><classes><class filename="a.py"><lines><line number="1" hits="0" branch="true" condition-coverage="25% (1/4)"/></lines></class></classes></package></packages></coverage>`},
			{coverage.FormatCobertura, `<coverage><packages><package><classes><class filename="a.py"><lines><line number="1" hits="2" branch="true" condition-coverage="75% (3/4)"/></lines></class></classes></package></packages></coverage>`},
		},
		want: coverage.Totals{
			Statements: coverage.Counts{Covered: 1, Total: 1}, Lines: coverage.Counts{Covered: 1, Total: 1},
			Branches: coverage.Counts{Covered: 3, Total: 4}, HasLines: true, HasBranches: true, Files: 1,
		},
	}, {
		name:    "cobertura condition-coverage without counts",
		inputs:  []input{{coverage.FormatCobertura, "<coverage>\n<class filename=\"a.py\">\n<line number=\"1\" hits=\"1\" branch=\"true\" condition-coverage=\"50%\"/>\n</class>\n</coverage>"}},
		wantErr: "in0:3: <line number=\"1\"> condition-coverage \"50%\"",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := coverage.NewReport("")
			var err error
			for i, in := range tt.inputs {
				if err = r.Add("in"+string(rune('0'+i)), in.format, strings.NewReader(in.content)); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				var pe *coverage.ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want a ParseError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Totals(); got != tt.want {
				t.Errorf("totals = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}
