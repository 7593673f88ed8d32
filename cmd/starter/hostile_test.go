package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const hostileHead = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: hostile}
spec:
`

// TestHostilePlans: plans written to break the starter are refused with
// the exit code of bad input, an error located in the file (file:line),
// in bounded time and bounded memory, before anything runs.
func TestHostilePlans(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(hostileHead + "  phases:\n    - name: p\n      tasks:\n")
		for i := range n {
			fmt.Fprintf(&b, "        - {name: t%d, uses: command, with: {argv: [\"true\"]}}\n", i)
		}
		return b.String()
	}
	deep := hostileHead + "  vars: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n  phases: []\n"
	var bomb strings.Builder
	bomb.WriteString(hostileHead + "  vars:\n    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&bomb, "    %s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	bomb.WriteString("  phases: []\n")
	big := hostileHead + "  vars: {pad: \"" + strings.Repeat("x", 20<<20) + "\"}\n  phases: []\n"
	varBomb := hostileHead + "  vars: {v: \"" + strings.Repeat("y", 100<<10) + "\"}\n  phases:\n    - name: p\n      tasks:\n        - {name: t, uses: command, with: {argv: [" +
		strings.TrimSuffix(strings.Repeat("\"${vars.v}\",", 20000), ",") + "]}}\n"
	task := func(with string) string {
		return hostileHead + "  allowedHosts: [127.0.0.1]\n  phases:\n    - name: p\n      tasks:\n        - " + with + "\n"
	}
	tests := []struct {
		name, plan string
		set        []string
		want       string // in the error
	}{
		{"alias bomb", bomb.String(), nil, "hostile.yaml:"},
		{"20 MB plan", big, nil, "hostile.yaml:"},
		{"variable expansion bomb", varBomb, nil, "hostile.yaml:"},
		{"10,000-deep nesting", deep, nil, "hostile.yaml:"},
		{"invalid UTF-8", hostileHead + "  phases:\n    - name: \"p\xff\xfe\"\n", nil, "hostile.yaml:6:"},
		{"50,000 tasks", many(50000), nil, "hostile.yaml:"},
		{"NaN threshold", task(`{name: t, uses: command, with: {argv: ["true"]}, gates: [{metric: command.duration, pass: "< .nan"}]}`), nil, "hostile.yaml:9:"},
		{"negative threshold", task(`{name: t, uses: command, with: {argv: ["true"]}, gates: [{metric: command.duration, pass: "< -5s"}]}`), nil, "hostile.yaml:9:"},
		{"absurd weight", task(`{name: t, uses: command, with: {argv: ["true"]}, gates: [{metric: command.exit_code, pass: "== 0", weight: 1e307}]}`), nil, "hostile.yaml:9:"},
		{"absurd timeout", task(`{name: t, uses: command, timeout: 1000000h, with: {argv: ["true"]}}`), nil, "hostile.yaml:9:"},
		{"shell metacharacters through --set", hostileHead + "  vars: {branch: main}\n  phases:\n    - name: p\n      tasks:\n        - {name: t, uses: command, with: {shell: true, argv: [\"git checkout ${vars.branch}\"]}}\n",
			[]string{"vars.branch=main; touch FILE #"}, "would run the var's value as shell code"},
		{"load test outside allowedHosts", task(`{name: t, uses: loadtest, with: {targets: [{url: "http://10.0.0.1/"}], rate: 10/s, duration: 1s}}`), nil, "is not allowed"},
		{"a loopback host disguised", task(`{name: t, uses: loadtest, with: {targets: [{url: "http://0x7f000001/"}], rate: 10/s, duration: 1s}}`), nil, "is not allowed"},
		{"credentials in a storage URL", task(`{name: t, uses: backup, with: {source: "postgres://127.0.0.1/app", storage: "s3://b/p?endpoint=http://key:secret@127.0.0.1:9000"}}`), nil, "credentials"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "hostile.yaml")
			if err := os.WriteFile(file, []byte(tt.plan), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", file}
			for _, s := range tt.set {
				args = append(args, "--set", s)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), args, &stdout, &stderr)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			if code != exitInvalid {
				t.Errorf("exit %d, want %d (stdout %q, stderr %.300q)", code, exitInvalid, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("error does not say %q:\n%.600s", tt.want, stderr.String())
			}
			if took > 20*time.Second {
				t.Errorf("took %s to refuse", took)
			}
			if allocated > 2<<30 {
				t.Errorf("allocated %d MiB to refuse", allocated>>20)
			}
			t.Logf("refused in %s, %d MiB allocated: %.200s", took.Round(time.Millisecond), allocated>>20, strings.TrimSpace(stderr.String()))
		})
	}
}
