package coverage_test

import (
	"bytes"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/coverage"
)

// FuzzReport: Go cover profiles, LCOV tracefiles, Cobertura and JaCoCo XML
// and xccov JSON, as
// files hand them over, never crash the reader, whatever the bytes; what
// it accepts totals to ratios between 0 and 1.
func FuzzReport(f *testing.F) {
	f.Add([]byte("mode: set\ngithub.com/x/y/a.go:3.2,5.3 2 1\n"))
	f.Add([]byte("TN:\nSF:a.go\nDA:1,1\nDA:2,0\nBRDA:1,0,0,1\nend_of_record\n"))
	f.Add([]byte(`<?xml version="1.0"?><coverage line-rate="0.5"><packages><package name="p"><classes><class filename="a.py"><lines><line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/></lines></class></classes></package></packages></coverage>`))
	f.Add([]byte("mode: count\na.go:1.1,2.2 1 -5\n"))
	f.Add([]byte(`<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="a"><package name="p"><sourcefile name="A.kt"><line nr="1" mi="0" ci="2" mb="1" cb="1"/></sourcefile></package></report>`))
	f.Add([]byte(`{"targets":[{"name":"A","files":[{"path":"a.swift","coveredLines":1,"executableLines":2}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []coverage.Format{coverage.FormatGo, coverage.FormatLCOV, coverage.FormatCobertura, coverage.FormatJaCoCo, coverage.FormatXccov} {
			r := coverage.NewReport("")
			if err := r.Add("fuzz", format, bytes.NewReader(data)); err != nil {
				continue
			}
			_ = r.Packages()
			tot := r.Totals()
			for _, c := range []coverage.Counts{tot.Statements, tot.Lines, tot.Branches} {
				if c.Covered > c.Total || c.Covered < 0 {
					t.Fatalf("%s: covered %d of %d", format, c.Covered, c.Total)
				}
			}
		}
		_, _ = coverage.Detect(data)
	})
}
