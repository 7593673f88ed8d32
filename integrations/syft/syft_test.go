package syft_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/syft"
)

// fakeSyft puts a shell script named syft on PATH that records its
// arguments and prints a fixed SBOM: syft itself is not installed here.
func fakeSyft(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "syft"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func TestGenerateWithFakeSyft(t *testing.T) {
	dir := fakeSyft(t, `echo "$@" > "$(dirname "$0")/args"; echo '{"bomFormat":"CycloneDX","specVersion":"1.6"}'`)
	r, err := syft.New(syft.Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Generate(context.Background(), "alpine:3.20", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"CycloneDX"`) {
		t.Errorf("output %s", out)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got := strings.TrimSpace(string(args)); got != "scan alpine:3.20 -o cyclonedx-json -q" {
		t.Errorf("syft called with %q", got)
	}
}

func TestGenerateFailureQuotesStderr(t *testing.T) {
	fakeSyft(t, `echo "could not fetch image: no such host" >&2; exit 1`)
	r, err := syft.New(syft.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Generate(context.Background(), "nope:1", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Errorf("error %v, want syft's stderr", err)
	}
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := syft.New(syft.Config{}); !errors.Is(err, syft.ErrNotInstalled) {
		t.Errorf("New without syft: %v, want ErrNotInstalled", err)
	}
}
