// Package file keeps backups as files under a local directory.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
)

// Store keeps objects as files under a directory; keys are slash-separated
// paths below it. Puts are atomic: an object appears whole or not at all.
type Store struct {
	root string
}

// New returns a store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blobstore: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("blobstore: create %s: %w", abs, err)
	}
	return &Store{root: abs}, nil
}

// String is the store's URL.
func (d *Store) String() string { return "file://" + filepath.ToSlash(d.root) }

// Root is the directory the store keeps its objects in.
func (d *Store) Root() string { return d.root }

func (d *Store) path(key string) (string, error) {
	clean := filepath.FromSlash(strings.TrimPrefix(key, "/"))
	if key == "" || !filepath.IsLocal(clean) {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return filepath.Join(d.root, clean), nil
}

// Put writes r to key, replacing any object there. The data goes to a
// temporary file beside the target, synced, then renamed into place.
func (d *Store) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := io.Copy(tmp, blobstore.ReaderWithContext(ctx, r)); err != nil {
		tmp.Close()
		return fmt.Errorf("blobstore: write %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("blobstore: sync %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blobstore: write %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}

// Open reads key from byte offset on.
func (d *Store) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blobstore: %s: %w", key, blobstore.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("blobstore: seek %s: %w", key, err)
		}
	}
	return f, nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (d *Store) List(ctx context.Context, prefix string) ([]blobstore.Object, error) {
	var objs []blobstore.Object
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		objs = append(objs, blobstore.Object{Key: key, Size: info.Size(), Modified: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blobstore: list %s: %w", d.root, err)
	}
	slices.SortFunc(objs, func(a, b blobstore.Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// Delete removes key; a key that does not exist is not an error.
func (d *Store) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	return nil
}
