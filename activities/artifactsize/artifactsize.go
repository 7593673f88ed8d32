// Package artifactsize is the artifact-size task type: the sizes of what a
// build ships — a web bundle, a binary, an .aab or .ipa, an OCI image
// layout or a `docker save` tarball — raw and as a browser downloads them
// (gzip, brotli), against per-file budgets and a baseline.
package artifactsize

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/fileglob"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the artifact-size task type.
const Name = "artifact-size"

// maxRows bounds the largest-files table.
const maxRows = 20

// Decl declares the artifact-size task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Measures what a build ships: files, globs or directories (a web bundle, a binary, an .aab or .ipa, an OCI image layout or a `docker save` tarball), " +
		"raw and compressed as a browser downloads them (gzip, brotli), against per-file budgets and an earlier build.",
	Params: []plan.Param{
		{Name: "paths", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyFile, Doc: "Files, directories (every file below) or globs (`**` for any depth), relative to `dir`. Each must match at least one file."},
		{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "Directory that relative paths start from, and that file names in the report are relative to; default: the worker's working directory."},
		{Name: "budgets", Type: plan.TypeStringMap, Doc: "Per-file budgets: a glob of file names (relative to `dir`; `**/*.js`) → a size threshold, optionally naming the size it judges: `< 200KB gzip`, `<= 1MiB`, `< 150KB brotli` (default raw). Every file a glob matches must meet it; those that do not count in artifact.budget_violations. A glob matching no file is an error."},
		{Name: "baseline", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "An earlier build's directory, measured the same way, for artifact.change: the growth in bytes since."},
	},
	Metrics: []plan.Metric{
		{Name: "artifact.total", Unit: plan.UnitBytes, Doc: "Raw size of every file."},
		{Name: "artifact.total_gzip", Unit: plan.UnitBytes, Doc: "Size of every file gzip-compressed (default level), as a browser downloads it."},
		{Name: "artifact.total_brotli", Unit: plan.UnitBytes, Doc: "Size of every file brotli-compressed (default level)."},
		{Name: "artifact.largest", Unit: plan.UnitBytes, Doc: "Raw size of the largest file."},
		{Name: "artifact.count", Unit: plan.UnitCount, Doc: "Number of files."},
		{Name: "artifact.budget_violations", Unit: plan.UnitCount, Doc: "Files over their budget (0 without budgets)."},
		{Name: "artifact.change", Unit: plan.UnitAny, Doc: "artifact.total minus the baseline's, in bytes (negative when it shrank); only with `baseline`."},
		{Name: "artifact.change_ratio", Unit: plan.UnitAny, Doc: "artifact.change / the baseline's total (0.05 is 5 % larger); only with `baseline`."},
		{Name: "artifact.image_size", Unit: plan.UnitBytes, Doc: "For an OCI image layout directory or a `docker save` tarball: the size of its layers (blobs) as a registry stores them."},
	},
	Timeout:   10 * time.Minute,
	Heartbeat: time.Minute,
}

// Activities runs artifact-size tasks.
type Activities struct {
	logger *slog.Logger
}

// New returns the artifact-size activities; a nil logger discards.
func New(logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Activities{logger: logger}
}

// Type is the artifact-size task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.Run} }

// file is one measured file.
type file struct {
	name              string // relative to dir, slash-separated
	raw, gzip, brotli int64
	over              []string // budgets it breaks
}

// Run measures the paths.
func (a *Activities) Run(ctx context.Context, in task.Input) (task.Output, error) {
	p := in.Params
	wd, _ := os.Getwd()
	dir := wd
	if d := p.String("dir"); d != "" {
		dir = d
		if !filepath.IsAbs(d) {
			dir = filepath.Join(wd, d)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return task.Output{}, task.InvalidParams("dir %s is not a directory", dir)
	}
	names, images, err := collect(dir, p.Strings("paths"))
	if err != nil {
		return task.Output{}, err
	}
	var files []file
	out := task.Output{Metrics: map[string]float64{}}
	for i, name := range names {
		if ctx.Err() != nil {
			return task.Output{}, ctx.Err()
		}
		f, err := measure(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return task.Output{}, fmt.Errorf("measure %s: %w", name, err)
		}
		f.name = name
		files = append(files, f)
		task.Report(ctx, task.Progress{Done: float64(i+1) / float64(len(names)), Message: "measured " + name})
	}
	var total, gz, br, largest int64
	for _, f := range files {
		total, gz, br, largest = total+f.raw, gz+f.gzip, br+f.brotli, max(largest, f.raw)
	}
	m := out.Metrics
	m["artifact.total"], m["artifact.total_gzip"], m["artifact.total_brotli"] = float64(total), float64(gz), float64(br)
	m["artifact.largest"], m["artifact.count"] = float64(largest), float64(len(files))
	violations, err := checkBudgets(files, p.StringMap("budgets"))
	if err != nil {
		return task.Output{}, err
	}
	m["artifact.budget_violations"] = float64(violations)
	if len(images) > 0 {
		var size int64
		for _, img := range images {
			n, err := imageSize(filepath.Join(dir, filepath.FromSlash(img)))
			if err != nil {
				return task.Output{}, task.InvalidParams("image %s: %v", img, err)
			}
			size += n
		}
		m["artifact.image_size"] = float64(size)
	}
	if base := p.String("baseline"); base != "" {
		if !filepath.IsAbs(base) {
			base = filepath.Join(dir, base)
		}
		before, err := dirTotal(base)
		if err != nil {
			return task.Output{}, task.InvalidParams("baseline: %v", err)
		}
		m["artifact.change"] = float64(total - before)
		if before > 0 {
			m["artifact.change_ratio"] = float64(total-before) / float64(before)
		}
	}
	out.Tables = tables(files)
	out.Output = fmt.Sprintf("%d files, %s raw, %s gzip, %s brotli, largest %s; %d over budget",
		len(files), size(total), size(gz), size(br), size(largest), violations)
	a.logger.InfoContext(ctx, "artifact sizes", "task", in.Task, "files", len(files), "total", total)
	return out, nil
}

// collect expands paths below dir into regular files (relative names,
// sorted, no duplicates), and says which of them (or which directories)
// are container images.
func collect(dir string, paths []string) (names, images []string, err error) {
	seen := map[string]bool{}
	add := func(abs string) error {
		rel, err := filepath.Rel(dir, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = abs
		}
		rel = filepath.ToSlash(rel)
		if !seen[rel] {
			seen[rel] = true
			names = append(names, rel)
		}
		return nil
	}
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, p)
		}
		if st, err := os.Stat(abs); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(abs, "oci-layout")); err == nil {
				rel, _ := filepath.Rel(dir, abs)
				images = append(images, filepath.ToSlash(rel))
			}
			n := 0
			err := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					n++
					return add(path)
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("paths: %s: %w", p, err)
			}
			if n == 0 {
				return nil, nil, task.InvalidParams("paths: directory %s holds no file", p)
			}
			continue
		}
		matches, err := fileglob.Match(dir, []string{p}, "file")
		if err != nil {
			return nil, nil, task.InvalidParams("paths: %v", err)
		}
		for _, m := range matches {
			if strings.HasSuffix(m, ".tar") && isDockerSave(m) {
				rel, _ := filepath.Rel(dir, m)
				images = append(images, filepath.ToSlash(rel))
			}
			_ = add(m)
		}
	}
	slices.Sort(names)
	return names, images, nil
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// measure streams a file once through gzip and brotli, counting bytes:
// no file is held in memory.
func measure(path string) (file, error) {
	f, err := os.Open(path)
	if err != nil {
		return file{}, err
	}
	defer f.Close()
	var gzN, brN countingWriter
	gz := gzip.NewWriter(&gzN)
	br := brotli.NewWriterLevel(&brN, brotli.DefaultCompression)
	raw, err := io.Copy(io.MultiWriter(gz, br), f)
	if err != nil {
		return file{}, err
	}
	if err := gz.Close(); err != nil {
		return file{}, err
	}
	if err := br.Close(); err != nil {
		return file{}, err
	}
	return file{raw: raw, gzip: gzN.n, brotli: brN.n}, nil
}

// checkBudgets judges every file against the budgets whose glob matches
// it, and returns how many files broke one.
func checkBudgets(files []file, budgets map[string]string) (int, error) {
	globs := slices.Sorted(maps.Keys(budgets))
	for _, glob := range globs {
		text := strings.TrimSpace(budgets[glob])
		kind := "raw"
		for _, k := range []string{"gzip", "brotli", "raw"} {
			if cut, ok := strings.CutSuffix(text, " "+k); ok {
				text, kind = strings.TrimSpace(cut), k
				break
			}
		}
		th, err := plan.ParseThreshold(text, plan.UnitBytes)
		if err != nil {
			return 0, task.InvalidParams("budgets[%q]: %v", glob, err)
		}
		matched := false
		for i := range files {
			f := &files[i]
			if !fileglob.MatchPath(glob, f.name) {
				continue
			}
			matched = true
			v := map[string]int64{"raw": f.raw, "gzip": f.gzip, "brotli": f.brotli}[kind]
			if !th.Holds(float64(v)) {
				f.over = append(f.over, fmt.Sprintf("%s %s %s", glob, budgets[glob], size(v)))
			}
		}
		if !matched {
			return 0, task.InvalidParams("budgets[%q]: the glob matches no file measured", glob)
		}
	}
	n := 0
	for _, f := range files {
		if len(f.over) > 0 {
			n++
		}
	}
	return n, nil
}

// dirTotal is the raw size of every file below dir.
func dirTotal(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// imageSize is the size of an image's blobs: the files below blobs/ of an
// OCI layout directory, or the blobs and layers of a `docker save` tar.
func imageSize(path string) (int64, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return dirTotal(filepath.Join(path, "blobs"))
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return 0, fmt.Errorf("not a docker save tarball: %w", err)
		}
		if h.Typeflag == tar.TypeReg && (strings.HasPrefix(h.Name, "blobs/") || strings.HasSuffix(h.Name, "/layer.tar")) {
			total += h.Size
		}
	}
}

// isDockerSave says whether a tar holds a docker save manifest.
func isDockerSave(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for range 10000 {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if h.Name == "manifest.json" {
			return true
		}
	}
	return false
}

func tables(files []file) []plan.Table {
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b file) int { return int(b.raw - a.raw) })
	largest := plan.Table{Title: "Largest files", Columns: []string{"file", "raw", "gzip", "brotli", "over budget"}}
	for i, f := range sorted {
		if i == maxRows {
			break
		}
		largest.Rows = append(largest.Rows, []string{f.name, size(f.raw), size(f.gzip), size(f.brotli), strings.Join(f.over, "; ")})
	}
	out := []plan.Table{largest}
	over := plan.Table{Title: "Over budget", Columns: []string{"file", "budget"}}
	for _, f := range files {
		for _, o := range f.over {
			over.Rows = append(over.Rows, []string{f.name, o})
		}
	}
	if len(over.Rows) > 0 {
		out = append(out, over)
	}
	return out
}

// size formats bytes as KiB/MiB with one decimal.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
