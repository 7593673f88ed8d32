// Package blobstoretest is the behaviour every blob store (file, s3,
// azblob) must have, as tests each store's package runs against a real
// instance of it. Tests only: no binary imports it.
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
)

// Store is a blob store under test.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	List(ctx context.Context, prefix string) ([]blobstore.Object, error)
	Delete(ctx context.Context, key string) error
}

// Basics checks put, list, ranged open, delete and key validation.
func Basics(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	for key, body := range map[string]string{"db/2026/a.dump": "hello world", "db/2026/a.json": "{}", "other/b": "x"} {
		if err := s.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := s.List(ctx, "db/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Key != "db/2026/a.dump" || objs[0].Size != 11 || objs[1].Key != "db/2026/a.json" || objs[0].Modified.IsZero() {
		t.Fatalf("List = %+v", objs)
	}
	if all, _ := s.List(ctx, ""); len(all) != 3 {
		t.Fatalf("List all = %+v", all)
	}
	for offset, want := range map[int64]string{0: "hello world", 6: "world", 11: ""} {
		if got := readAll(t, s, "db/2026/a.dump", offset); got != want {
			t.Fatalf("Open at %d = %q, want %q", offset, got, want)
		}
	}
	if err := s.Put(ctx, "other/b", strings.NewReader("replaced")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "other/b", 0); got != "replaced" {
		t.Fatalf("after a second Put: %q", got)
	}
	if err := s.Delete(ctx, "db/2026/a.dump"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "db/2026/a.dump"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Open(ctx, "db/2026/a.dump", 0); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Open deleted = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "../x", "a/../../x"} {
		if err := s.Put(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
}

// LargeObject puts an object of several parts and reads it back
// whole and from an offset inside its second part.
func LargeObject(t *testing.T, s Store, size int) {
	t.Helper()
	ctx := context.Background()
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	if err := s.Put(ctx, "big/dump.zst", io.MultiReader(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "big/")
	if err != nil || len(objs) != 1 || objs[0].Size != int64(size) {
		t.Fatalf("List = %+v, %v", objs, err)
	}
	if got := readAll(t, s, "big/dump.zst", 0); sha256.Sum256([]byte(got)) != sha256.Sum256(data) {
		t.Fatal("the object read back differs from the one put")
	}
	off := size/2 + 7
	if got := readAll(t, s, "big/dump.zst", int64(off)); !bytes.Equal([]byte(got), data[off:]) {
		t.Fatalf("read from %d differs", off)
	}
}

// PutCancelled checks that a put whose context ends leaves nothing.
func PutCancelled(t *testing.T, s Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "x", strings.NewReader("data")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	objs, _ := s.List(context.Background(), "")
	if len(objs) != 0 {
		t.Fatalf("a cancelled Put left %+v", objs)
	}
}

func readAll(t *testing.T, s Store, key string, offset int64) string {
	t.Helper()
	r, err := s.Open(context.Background(), key, offset)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", key, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}
