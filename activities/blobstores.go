package activities

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
)

// blobStore is where backups are kept: a directory, an S3 bucket or an
// Azure Blob container, chosen by URL (openStore). Keys are relative to
// the URL's prefix. Objects stream in and out; none is held in memory.
type blobStore interface {
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

// openStore opens the store a storage URL names:
//
//	file:///abs/dir, or a plain path (relative to the worker's directory)
//	s3://bucket/prefix
//	azblob://account/container/prefix
func openStore(ctx context.Context, raw string) (blobStore, error) {
	st, err := parseStorage(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case st.s3 != nil:
		return blobstore.NewS3(ctx, *st.s3)
	case st.azure != nil:
		return blobstore.NewAzure(ctx, *st.azure)
	default:
		return blobstore.NewDir(st.dir)
	}
}

// storage is a parsed storage URL: one of its fields is set.
type storage struct {
	dir   string
	s3    *blobstore.S3Options
	azure *blobstore.AzureOptions
}

// parseStorage reads a storage URL without opening the store, so plan
// validation can check it with neither credentials nor network.
func parseStorage(raw string) (storage, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a path; C:\ on Windows
		return storage{dir: filepath.FromSlash(raw)}, nil
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return storage{}, fmt.Errorf("a file URL names a local path (file:///dir)")
		}
		return storage{dir: filepath.FromSlash(u.Path)}, nil
	case "s3":
		o, err := blobstore.ParseS3URL(raw)
		return storage{s3: &o}, err
	case "azblob":
		o, err := blobstore.ParseAzblobURL(raw)
		return storage{azure: &o}, err
	default:
		return storage{}, fmt.Errorf("unknown scheme %q (want file, s3 or azblob)", u.Scheme)
	}
}
