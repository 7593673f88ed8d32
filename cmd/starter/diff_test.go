package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffReportFiles compares two report.json files without Temporal, and
// refuses a file that is not a report with the exit code of bad input.
func TestDiffReportFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := write("a.json", `{"plan":"api","runId":"api-1","result":"pass","score":100,"phases":[{"name":"p","status":"pass","tasks":[
		{"name":"t","uses":"command","status":"pass","metrics":{"build.time":50},"gates":[{"metric":"build.time","value":50,"pass":"< 60s","status":"pass","weight":1,"key":false}]}]}]}`)
	b := write("b.json", `{"plan":"api","runId":"api-2","result":"warning","score":75,"phases":[{"name":"p","status":"fail","tasks":[
		{"name":"t","uses":"command","status":"fail","metrics":{"build.time":75},"gates":[{"metric":"build.time","value":75,"pass":"< 60s","status":"fail","weight":1,"key":false}]}]}]}`)
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"diff", a, b}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"api-1 PASS (score 100) → api-2 WARNING (score 75), -25 points", "build.time of p/t: pass → fail", "build.time of p/t: 50s → 1m15s (+50.0%)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("diff does not say %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main(context.Background(), []string{"diff", a, write("junk.json", `{"hello": 1}`)}, &stdout, &stderr); code != exitInvalid {
		t.Errorf("a file that is not a report: exit %d, want %d (%s)", code, exitInvalid, stderr.String())
	}
}
