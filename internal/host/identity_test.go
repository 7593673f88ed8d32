package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildIdentity: the binary's identity carries the Go build ID the
// linker wrote, as `go tool buildid` reads it, without hashing the file;
// a file that is not an executable has none.
func TestBuildIdentity(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id := goBuildID(exe)
	if id == "" {
		t.Fatal("no build ID read from the test binary")
	}
	if out, err := exec.Command("go", "tool", "buildid", exe).Output(); err == nil && strings.TrimSpace(string(out)) != id {
		t.Fatalf("build ID %q, go tool buildid says %q", id, out)
	}
	if got := buildIdentity(); !strings.HasSuffix(got, id) || !strings.Contains(got, "@") {
		t.Fatalf("identity %q lacks the build ID %q", got, id)
	}
	text := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := goBuildID(text); got != "" {
		t.Fatalf("a shell script's build ID: %q", got)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7233": true, "[::1]:7233": true, "localhost:7233": true, "127.0.0.9:1": true,
		"10.0.0.1:7233": false, "temporal.example.com:7233": false, "my-ns.tmprl.cloud:7233": false,
		"127.0.0.1": false, "": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
