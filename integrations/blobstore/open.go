package blobstore

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
)

// Store is what every store here provides.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	List(ctx context.Context, prefix string) ([]Object, error)
	Delete(ctx context.Context, key string) error
	String() string
}

// location is a parsed storage URL: one of its fields is set.
type location struct {
	dir   string
	s3    *S3Options
	azure *AzureOptions
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
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("a file URL names a local path (file:///dir)")
		}
		return location{dir: filepath.FromSlash(u.Path)}, nil
	case "s3":
		o, err := ParseS3URL(raw)
		return location{s3: &o}, err
	case "azblob":
		o, err := ParseAzblobURL(raw)
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
		return NewS3(ctx, *loc.s3)
	case loc.azure != nil:
		return NewAzure(ctx, *loc.azure)
	default:
		return NewDir(loc.dir)
	}
}
