package activities

import (
	"context"
	"io"

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

// openStore opens the store a storage URL names (blobstore.Open).
func openStore(ctx context.Context, raw string) (blobStore, error) {
	return blobstore.Open(ctx, raw)
}
