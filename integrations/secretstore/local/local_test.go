package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/storetest"
	"github.com/shipshape-dev/shipshape/internal/codec"
)

func newLocal(t *testing.T) (*local.Store, string) {
	dir := t.TempDir()
	keys, err := codec.EnsureKeyring(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := local.New(dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// TestLocalStaging runs the staging model on the local store, then
// checks what it keeps at rest.
func TestLocalStaging(t *testing.T) {
	ctx := context.Background()
	s, dir := newLocal(t)
	storetest.Staging(t, s)

	// At rest: no value in clear, mode 0600, and a version's ciphertext
	// moved to another version does not open.
	file := filepath.Join(dir, "db.json")
	b, _ := os.ReadFile(file)
	st, _ := os.Stat(file)
	if strings.Contains(string(b), "second") || strings.Contains(string(b), "first-password") || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v holds a value in clear:\n%s", st.Mode().Perm(), b)
	}
	tampered := strings.Replace(string(b), `"id": "`+storetest.Tok("v1")+`"`, `"id": "v9"`, 1)
	os.WriteFile(file, []byte(strings.Replace(tampered, `"id": "`+storetest.Tok("v2")+`"`, `"id": "`+storetest.Tok("v1")+`"`, 1)), 0o600)
	if _, _, err := s.Get(ctx, "db", secretstore.Current); err == nil {
		t.Fatal("a relabelled version opened")
	}
	if names, _ := s.Names(ctx); len(names) != 2 || names[0] != "db" {
		t.Fatalf("names %v", names)
	}
	if _, err := s.Put(ctx, "../etc/passwd", "t", []byte("x")); err == nil {
		t.Fatal("a name with a path was accepted")
	}
}

// TestLocalDelete removes a secret with all its versions; deleting one
// that does not exist, again, is not an error; a bad name is.
func TestLocalDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := newLocal(t)
	if _, err := s.Put(ctx, "drill-pw", "t1", []byte("scratch"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Delete(ctx, "drill-pw"); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := s.Names(ctx); len(names) != 0 {
		t.Fatalf("names after delete: %v", names)
	}
	if _, _, err := s.Get(ctx, "drill-pw", secretstore.Current); err == nil {
		t.Fatal("a deleted secret is still readable")
	}
	if err := s.Delete(ctx, "../escape"); err == nil {
		t.Fatal("a bad name was accepted")
	}
}
