// Package fileglob expands the file patterns task parameters take: the
// shell's wildcards plus "**" for any number of directories, regular files
// only, every pattern required to match.
package fileglob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Match expands each pattern below base (absolute patterns stand alone).
// Every pattern must match at least one regular file; the result is
// sorted and has no duplicates. what names the files in errors ("test
// report", "coverage file").
func Match(base string, patterns []string, what string) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, pattern := range patterns {
		if strings.TrimSpace(pattern) == "" {
			return nil, fmt.Errorf("an empty pattern")
		}
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(base, pattern)
		}
		matches, err := Glob(full)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pattern, err)
		}
		if len(matches) == 0 {
			// A glob matching nothing is an error, never an empty pass.
			return nil, fmt.Errorf("no %s matches %q (in %s)", what, pattern, base)
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

// Glob is filepath.Glob that also understands "**" (any number of
// directories) and returns regular files only.
func Glob(pattern string) ([]string, error) {
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

// MatchPath reports whether a slash-separated relative path matches a
// pattern of the same kind, where "**" stands for any number of
// directories ("**/*.js" matches "app.js" and "static/js/app.js").
func MatchPath(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}
