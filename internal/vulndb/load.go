package vulndb

import (
	"archive/zip"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// DefaultDir is where `starter vulndb sync` puts advisories and where
// sbom-scan tasks look for them unless told otherwise, relative to the
// working directory.
const DefaultDir = ".shipshape/vulndb"

// ErrNoDatabase is returned by Load for a path that does not exist or holds
// no advisory files.
var ErrNoDatabase = errors.New("no OSV advisory database")

// maxEntrySize bounds one advisory file; real ones are a few kB.
const maxEntrySize = 16 << 20

// source is one advisory file: a name for errors and a way to read it.
type source struct {
	name string
	read func() ([]byte, error)
}

// Load reads and indexes every OSV advisory at path: a directory (searched
// recursively for *.json advisories and *.zip archives of them, such as
// osv.dev's per-ecosystem all.zip; hidden files and directories are
// skipped), a zip archive, or one JSON file. JSON
// files that are not advisories (a database's index files) are skipped;
// one that is not JSON is an error. Files are parsed in parallel.
func Load(ctx context.Context, path string) (*Index, error) {
	sources, closeAll, err := listSources(path)
	defer closeAll()
	if err != nil {
		return nil, err
	}
	entries, err := parseAll(ctx, sources)
	if err != nil {
		return nil, err
	}
	// Index in a fixed order, whatever order the files came in.
	slices.SortFunc(entries, func(a, b *Entry) int { return cmp.Compare(a.ID, b.ID) })
	return NewIndex(entries), nil
}

func listSources(path string) (_ []source, closeAll func(), err error) {
	var closers []io.Closer
	closeAll = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, closeAll, fmt.Errorf("%w at %s: it does not exist", ErrNoDatabase, path)
	}
	if err != nil {
		return nil, closeAll, err
	}
	addZip := func(file string) ([]source, error) {
		zr, err := zip.OpenReader(file)
		if err != nil {
			return nil, fmt.Errorf("open advisory archive %s: %w", file, err)
		}
		closers = append(closers, zr)
		var out []source
		for _, f := range zr.File {
			if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
				continue
			}
			out = append(out, source{name: file + ":" + f.Name, read: func() ([]byte, error) {
				if f.UncompressedSize64 > maxEntrySize {
					return nil, fmt.Errorf("%d bytes: too large for an advisory", f.UncompressedSize64)
				}
				rc, err := f.Open()
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				return io.ReadAll(io.LimitReader(rc, maxEntrySize))
			}})
		}
		return out, nil
	}
	addFile := func(file string) source {
		return source{name: file, read: func() ([]byte, error) { return os.ReadFile(file) }}
	}
	var sources []source
	switch {
	case !st.IsDir() && isZip(path):
		if sources, err = addZip(path); err != nil {
			return nil, closeAll, err
		}
	case !st.IsDir():
		sources = []source{addFile(path)}
	default:
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				// Hidden: a sync's temporary download, an editor's backup.
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			switch {
			case isZip(p):
				zs, err := addZip(p)
				if err != nil {
					return err
				}
				sources = append(sources, zs...)
			case strings.HasSuffix(strings.ToLower(p), ".json"):
				sources = append(sources, addFile(p))
			}
			return nil
		})
		if err != nil {
			return nil, closeAll, fmt.Errorf("read advisory directory %s: %w", path, err)
		}
	}
	if len(sources) == 0 {
		return nil, closeAll, fmt.Errorf("%w at %s: no *.json or *.zip files", ErrNoDatabase, path)
	}
	return sources, closeAll, nil
}

func isZip(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".zip") }

// parseAll reads and parses sources on every core.
func parseAll(ctx context.Context, sources []source) ([]*Entry, error) {
	workers := min(runtime.GOMAXPROCS(0), len(sources))
	var (
		next     = make(chan source)
		mu       sync.Mutex
		entries  = make([]*Entry, 0, len(sources))
		firstErr error
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			var local []*Entry
			for s := range next {
				data, err := s.read()
				var e *Entry
				ok := false
				if err == nil {
					e, ok, err = ParseEntry(data)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("advisory %s: %w", s.name, err)
					}
					mu.Unlock()
					cancel()
					continue
				}
				if ok {
					local = append(local, e)
				}
			}
			mu.Lock()
			entries = append(entries, local...)
			mu.Unlock()
		})
	}
send:
	for _, s := range sources {
		select {
		case next <- s:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// Fingerprint identifies the state of the database at path from its
// files' names, sizes and modification times, without reading them: a
// cached index is reused while the fingerprint stays the same.
func Fingerprint(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := fnv.New64a()
	if !st.IsDir() {
		fmt.Fprintf(h, "%d %d", st.Size(), st.ModTime().UnixNano())
		return fmt.Sprintf("%x", h.Sum64()), nil
	}
	files := 0
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		lower := strings.ToLower(p)
		if !strings.HasSuffix(lower, ".json") && !isZip(lower) {
			return nil
		}
		info, err := os.Stat(p) // through symlinks: their targets change
		if err != nil {
			return err
		}
		files++
		fmt.Fprintf(h, "%s %d %d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x-%d", h.Sum64(), files), nil
}

// quickFingerprint identifies the state of the directories at path from
// their modification times alone, without a call per file: adding,
// removing or renaming a file (as a sync or a git checkout does) changes
// it; rewriting a file in place does not, which is why Cache still checks
// the full Fingerprint now and then.
func quickFingerprint(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d %d\n", st.Size(), st.ModTime().UnixNano())
	if !st.IsDir() {
		return fmt.Sprintf("%x", h.Sum64()), nil
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path || !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum64()), nil
}
