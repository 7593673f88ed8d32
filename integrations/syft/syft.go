// Package syft runs Anchore's syft (https://github.com/anchore/syft) to
// catalogue a container image or directory into a CycloneDX JSON SBOM.
package syft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNotInstalled is returned by New when no syft binary is found.
var ErrNotInstalled = errors.New("syft is not installed: put the syft binary on the worker's PATH (https://github.com/anchore/syft), or scan an existing SBOM instead")

// Config configures the runner.
type Config struct {
	// Binary is the syft executable; "" looks for "syft" on PATH.
	Binary string
}

// Runner runs syft.
type Runner struct {
	bin string
}

// New finds the syft binary.
func New(cfg Config) (*Runner, error) {
	name := cfg.Binary
	if name == "" {
		name = "syft"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	return &Runner{bin: bin}, nil
}

// maxStderr bounds how much of syft's stderr an error quotes.
const maxStderr = 2000

// Generate catalogues source (an image reference such as alpine:3.20, or
// a syft source such as dir:build/) from dir and returns the CycloneDX
// JSON SBOM syft writes.
func (r *Runner) Generate(ctx context.Context, source, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.bin, "scan", source, "-o", "cyclonedx-json", "-q")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > maxStderr {
			msg = msg[len(msg)-maxStderr:]
		}
		return nil, fmt.Errorf("syft scan %s: %w: %s", source, err, msg)
	}
	return stdout.Bytes(), nil
}
