// Package blobstore holds the clients of the places backups are kept: a
// local directory (Dir), an S3 bucket and an Azure Blob container. Each
// streams objects in and out and never holds a whole object in memory.
package blobstore

import (
	"errors"
	"fmt"
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

// objectName is key under prefix, for stores whose names are flat
// strings (S3, Azure): a key must be relative and must not climb out of
// the prefix.
func objectName(prefix, key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..") {
		return "", fmt.Errorf("blobstore: invalid key %q", key)
	}
	return prefix + key, nil
}
