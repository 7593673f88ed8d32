// Package blobstore is what the clients of the places backups are kept
// share: the Object they list and the ErrNotFound they return. Each
// system has its own package below this one — file (a local directory),
// s3 (an S3 bucket or an S3-compatible store) and azblob (an Azure Blob
// container) — and each streams objects in and out and never holds a
// whole object in memory. The interface they satisfy is declared by
// their consumer (internal/pgbackup.Store), which also opens one by URL.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Object describes a stored object.
type Object struct {
	// Key is the object's key relative to the store's prefix, with "/" as
	// the separator.
	Key      string
	Size     int64
	Modified time.Time
}

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectName is key under prefix, for stores whose names are flat
// strings (S3, Azure): a key must be relative and must not climb out of
// the prefix.
func ObjectName(prefix, key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..") {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return prefix + key, nil
}

// ReaderWithContext stops a copy from r once ctx is done: the stores
// pass it what they upload, so a cancelled Put stops reading.
func ReaderWithContext(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx, r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
