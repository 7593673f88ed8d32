package taskrun

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// checkFiles refuses a task whose file parameters (SafetyFile) name
// anything outside roots; no roots: every file may be read. Globs are
// judged by their fixed prefix, relative paths from the task's own `dir`
// parameter (itself a file parameter) or the worker's directory, and
// symbolic links are followed before judging.
func checkFiles(decl plan.TaskType, p task.Params, roots []string) error {
	if len(roots) == 0 {
		return nil
	}
	wd, _ := os.Getwd()
	base := wd
	if dir := p.String("dir"); dir != "" {
		base = absFrom(wd, dir)
	}
	for _, prm := range decl.Params {
		if prm.Safety != plan.SafetyFile {
			continue
		}
		values := p.Strings(prm.Name)
		if s := p.String(prm.Name); s != "" {
			values = []string{s}
		}
		for _, v := range values {
			if v == "" {
				continue
			}
			from := base
			if prm.Name == "dir" {
				from = wd
			}
			target := absFrom(from, v)
			if !within(resolve(fixedPrefix(target)), roots) {
				return task.InvalidParams("%s: %q is outside the worker's file roots (%s)", prm.Name, v, strings.Join(roots, ", "))
			}
		}
	}
	return nil
}

func absFrom(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// fixedPrefix is a path up to its first segment with a wildcard.
func fixedPrefix(p string) string {
	segs := strings.Split(filepath.ToSlash(p), "/")
	for i, s := range segs {
		if strings.ContainsAny(s, `*?[\`) {
			return filepath.FromSlash(strings.Join(segs[:i], "/"))
		}
	}
	return p
}

// resolve follows symbolic links in the longest part of p that exists.
func resolve(p string) string {
	rest := ""
	for cur := p; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func within(p string, roots []string) bool {
	for _, r := range roots {
		root := resolve(filepath.Clean(r))
		if p == root || strings.HasPrefix(p, root+string(filepath.Separator)) || root == string(filepath.Separator) {
			return true
		}
	}
	return false
}
