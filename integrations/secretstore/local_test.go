package secretstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/internal/codec"
)

func newLocal(t *testing.T) (*secretstore.Local, string) {
	dir := t.TempDir()
	keys, err := codec.EnsureKeyring(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := secretstore.NewLocal(dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func stagesOf(t *testing.T, s *secretstore.Local, name string) string {
	t.Helper()
	vs, err := s.Versions(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.ID+":"+strings.Join(v.Stages, "+"))
	}
	return strings.Join(out, " ")
}

// TestLocalStaging follows a rotation through the store: the labels move
// as AWS Secrets Manager moves AWSCURRENT, AWSPENDING and AWSPREVIOUS.
func TestLocalStaging(t *testing.T) {
	ctx := context.Background()
	s, dir := newLocal(t)
	if _, err := s.Put(ctx, "db", "v1", []byte("first-password"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	// Idempotent by token; a token reused with another value fails.
	if _, err := s.Put(ctx, "db", "v2", []byte("second"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "db", "v2", []byte("second"), secretstore.Pending); err != nil {
		t.Fatalf("same token, same value: %v", err)
	}
	if _, err := s.Put(ctx, "db", "v2", []byte("other"), secretstore.Pending); !errors.Is(err, secretstore.ErrTokenConflict) {
		t.Fatalf("same token, other value: %v", err)
	}
	if got := stagesOf(t, s, "db"); got != "v1:current v2:pending" {
		t.Fatalf("stages %s", got)
	}
	if v, _, err := s.Get(ctx, "db", secretstore.Pending); err != nil || string(v) != "second" {
		t.Fatalf("pending: %q %v", v, err)
	}
	if err := s.Promote(ctx, "db", "v2"); err != nil {
		t.Fatal(err)
	}
	if got := stagesOf(t, s, "db"); got != "v1:previous v2:current" {
		t.Fatalf("after promote: %s", got)
	}
	if err := s.Discard(ctx, "db", "v2"); err == nil {
		t.Fatal("discarded the current version")
	}
	s.Put(ctx, "db", "v3", []byte("third"), secretstore.Pending)
	if err := s.Discard(ctx, "db", "v3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, "db", "v3"); err != nil {
		t.Fatalf("second discard: %v", err)
	}
	if _, _, err := s.Get(ctx, "db", secretstore.Pending); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("pending after discard: %v", err)
	}

	// At rest: no value in clear, mode 0600, and a version's ciphertext
	// moved to another version does not open.
	file := filepath.Join(dir, "db.json")
	b, _ := os.ReadFile(file)
	st, _ := os.Stat(file)
	if strings.Contains(string(b), "second") || strings.Contains(string(b), "first-password") || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v holds a value in clear:\n%s", st.Mode().Perm(), b)
	}
	tampered := strings.Replace(string(b), `"id": "v1"`, `"id": "v9"`, 1)
	os.WriteFile(file, []byte(strings.Replace(tampered, `"id": "v2"`, `"id": "v1"`, 1)), 0o600)
	if _, _, err := s.Get(ctx, "db", secretstore.Current); err == nil {
		t.Fatal("a relabelled version opened")
	}
	if names, _ := s.Names(ctx); len(names) != 1 || names[0] != "db" {
		t.Fatalf("names %v", names)
	}
	if _, err := s.Put(ctx, "../etc/passwd", "t", []byte("x")); err == nil {
		t.Fatal("a name with a path was accepted")
	}
}
