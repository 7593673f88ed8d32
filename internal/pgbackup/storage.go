package pgbackup

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/azblob"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3"
)

// Store is where backups are kept: a directory, an S3 bucket or an Azure
// Blob container, chosen by URL (Open). Keys are relative to the URL's
// prefix. Objects stream in and out; none is held in memory.
type Store interface {
	// Put writes r to key, replacing any object there; the object appears
	// whole or not at all.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open reads key from byte offset on (for resumed downloads). A key
	// that does not exist is an error wrapping blobstore.ErrNotFound.
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	// List returns the objects whose keys start with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]blobstore.Object, error)
	// Delete removes key; a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
	// String is the store's URL, without credentials.
	String() string
}

// Every blob store is a Store.
var (
	_ Store = (*file.Store)(nil)
	_ Store = (*s3.Store)(nil)
	_ Store = (*azblob.Store)(nil)
)

// location is a parsed storage URL: one of its fields is set.
type location struct {
	dir   string
	s3    *s3.Options
	azure *azblob.Options
}

// parse reads a storage URL:
//
//	file:///abs/dir, or a plain path
//	s3://bucket/prefix?…
//	azblob://account/container/prefix?…
func parse(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a path; C:\ on Windows
		return location{dir: filepath.FromSlash(raw)}, nil
	}
	switch u.Scheme {
	case "file":
		if u.User != nil {
			return location{}, fmt.Errorf("a file URL has no credentials (file:///dir)")
		}
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("a file URL names a local path (file:///dir)")
		}
		return location{dir: filepath.FromSlash(u.Path)}, nil
	case "s3":
		o, err := s3.ParseURL(raw)
		return location{s3: &o}, err
	case "azblob":
		o, err := azblob.ParseURL(raw)
		return location{azure: &o}, err
	default:
		return location{}, fmt.Errorf("unknown scheme %q (want file, s3 or azblob)", u.Scheme)
	}
}

// Check reports what is wrong with a storage URL without opening the
// store: no credentials or network needed (plan validation).
func Check(raw string) error {
	_, err := parse(raw)
	return err
}

// Open opens the store a storage URL names.
func Open(ctx context.Context, raw string) (Store, error) {
	loc, err := parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case loc.s3 != nil:
		return s3.New(ctx, *loc.s3)
	case loc.azure != nil:
		return azblob.New(ctx, *loc.azure)
	default:
		return file.New(loc.dir)
	}
}
