package blobstore

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "db/2026/a.dump", strings.NewReader("hello world")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "db/2026/a.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "other/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	objs, err := d.List(ctx, "db/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Key != "db/2026/a.dump" || objs[0].Size != 11 || objs[1].Key != "db/2026/a.json" {
		t.Fatalf("List = %+v", objs)
	}
	r, err := d.Open(ctx, "db/2026/a.dump", 6)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "world" {
		t.Fatalf("Open at 6 = %q", b)
	}
	if err := d.Delete(ctx, "db/2026/a.dump"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "db/2026/a.dump"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := d.Open(ctx, "db/2026/a.dump", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open deleted = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "../x", "a/../../x"} {
		if err := d.Put(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
}

func TestDirPutCancelled(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Put(ctx, "x", strings.NewReader("data")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	objs, _ := d.List(context.Background(), "")
	if len(objs) != 0 {
		t.Fatalf("a cancelled Put left %+v", objs)
	}
}
