// Package blobstore holds the clients of the places backups are kept: a
// local directory (Dir), an S3 bucket and an Azure Blob container. Each
// streams objects in and out and never holds a whole object in memory.
package blobstore

import (
	"errors"
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
