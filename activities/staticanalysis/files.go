package staticanalysis

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shipshape-dev/shipshape/activities/task"
)

// The globbing below is the coverage task type's (activities/coverage.go
// at the time of writing): a task type may not import another, and the
// two are small enough to keep apart until a shared internal/ package
// takes them both.

// matchFiles expands each pattern below base. Every pattern must match at
// least one regular file; the result is sorted and has no duplicates.
func matchFiles(base string, patterns []string) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, pattern := range patterns {
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(base, pattern)
		}
		matches, err := glob(full)
		if err != nil {
			return nil, task.InvalidParams("files: pattern %q: %v", pattern, err)
		}
		if len(matches) == 0 {
			return nil, task.InvalidParams("files: no findings file matches %q (in %s)", pattern, base)
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// glob is filepath.Glob that also understands "**" (any number of
// directories) and returns regular files only.
func glob(pattern string) ([]string, error) {
	pattern = filepath.Clean(pattern)
	if !strings.Contains(pattern, "**") {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, err
		}
		return regularFiles(matches), nil
	}
	// Walk from the longest prefix without wildcards.
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	fixed := 0
	for fixed < len(segs) && !strings.ContainsAny(segs[fixed], `*?[\`) {
		fixed++
	}
	root := filepath.FromSlash(strings.Join(segs[:fixed], "/"))
	if root == "" {
		root = "/"
	}
	rest := segs[fixed:]
	for _, seg := range rest {
		if _, err := path.Match(seg, ""); err != nil {
			return nil, err
		}
	}
	var matches []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if matchSegments(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			matches = append(matches, p)
		}
		return nil
	})
	return matches, err
}

// matchSegments matches path segments against pattern segments, where a
// "**" segment stands for zero or more segments.
func matchSegments(pattern, name []string) bool {
	for len(pattern) > 0 {
		if pattern[0] == "**" {
			for skip := 0; skip <= len(name); skip++ {
				if matchSegments(pattern[1:], name[skip:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pattern[0], name[0]); !ok {
			return false
		}
		pattern, name = pattern[1:], name[1:]
	}
	return len(name) == 0
}

func regularFiles(paths []string) []string {
	out := paths[:0]
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out
}
