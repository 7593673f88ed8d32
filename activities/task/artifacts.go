package task

import (
	"path"
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
