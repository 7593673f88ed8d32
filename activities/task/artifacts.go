package task

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ArtifactPath is where a task keeps a file it hands to the run, below
// ArtifactDir: "<phase>/<task>/<name>", each name one path segment (a
// slash or NUL in it becomes "_"), slash-separated as plan.Artifact.Path
// is. Empty when the run keeps no artifacts (ArtifactDir unset).
func (in Input) ArtifactPath(name string) string {
	if in.ArtifactDir == "" {
		return ""
	}
	return path.Join(segment(in.Phase), segment(in.Task), segment(name))
}

// ArtifactFolder is the task's own folder below ArtifactDir, as a
// file path ("" when the run keeps no artifacts); ArtifactPath names the
// files in it.
func (in Input) ArtifactFolder() string {
	if in.ArtifactDir == "" {
		return ""
	}
	return filepath.Join(in.ArtifactDir, segment(in.Phase), segment(in.Task))
}

// KeepFile writes data as the task's file name (ArtifactPath) and returns
// its path relative to ArtifactDir, for a plan.Artifact; "" and no write
// when the run keeps no artifacts.
func (in Input) KeepFile(name string, data []byte) (string, error) {
	rel := in.ArtifactPath(name)
	if rel == "" {
		return "", nil
	}
	file := filepath.Join(in.ArtifactDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", fmt.Errorf("artifact dir: %w", err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return "", fmt.Errorf("write artifact %s: %w", rel, err)
	}
	return rel, nil
}

// segment makes a name a single path segment.
func segment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}
