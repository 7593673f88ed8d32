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

// store is what every store provides; testStaging holds each to it.
type store interface {
	Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error)
	Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error)
	Promote(ctx context.Context, name, id string) error
	Discard(ctx context.Context, name, id string) error
	Versions(ctx context.Context, name string) ([]secretstore.Version, error)
}

// tok is a request token of the length AWS requires (32 to 64).
func tok(v string) string { return "rotation-token-000000000000000000-" + v }

func stagesOf(t *testing.T, s store, name string) string {
	t.Helper()
	vs, err := s.Versions(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		if len(v.Stages) > 0 {
			out = append(out, strings.TrimPrefix(v.ID, tok(""))+":"+strings.Join(v.Stages, "+"))
		}
	}
	return strings.Join(out, " ")
}

// testStaging follows a rotation through a store: the labels move as AWS
// Secrets Manager moves AWSCURRENT, AWSPENDING and AWSPREVIOUS.
func testStaging(t *testing.T, s store) {
	ctx := context.Background()
	if _, _, err := s.Get(ctx, "db", secretstore.Current); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("a secret never stored: %v", err)
	}
	if _, err := s.Put(ctx, "db", tok("v1"), []byte("first-password"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	// Idempotent by token; a token reused with another value fails.
	if _, err := s.Put(ctx, "db", tok("v2"), []byte("second"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "db", tok("v2"), []byte("second"), secretstore.Pending); err != nil {
		t.Fatalf("same token, same value: %v", err)
	}
	if _, err := s.Put(ctx, "db", tok("v2"), []byte("other"), secretstore.Pending); !errors.Is(err, secretstore.ErrTokenConflict) {
		t.Fatalf("same token, other value: %v", err)
	}
	if got := stagesOf(t, s, "db"); got != "v1:current v2:pending" {
		t.Fatalf("stages %s", got)
	}
	if v, ver, err := s.Get(ctx, "db", secretstore.Pending); err != nil || string(v) != "second" || ver.ID != tok("v2") {
		t.Fatalf("pending: %q %+v %v", v, ver, err)
	}
	if err := s.Promote(ctx, "db", tok("v2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, "db", tok("v2")); err != nil {
		t.Fatalf("promote again: %v", err)
	}
	if got := stagesOf(t, s, "db"); got != "v1:previous v2:current" {
		t.Fatalf("after promote: %s", got)
	}
	if err := s.Discard(ctx, "db", tok("v2")); err == nil {
		t.Fatal("discarded the current version")
	}
	if _, err := s.Put(ctx, "db", tok("v3"), []byte("third"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, "db", tok("v3")); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, "db", tok("v3")); err != nil {
		t.Fatalf("second discard: %v", err)
	}
	if _, _, err := s.Get(ctx, "db", secretstore.Pending); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("pending after discard: %v", err)
	}
	if v, _, err := s.Get(ctx, "db", secretstore.Previous); err != nil || string(v) != "first-password" {
		t.Fatalf("previous: %q %v", v, err)
	}
	// A secret that starts from nothing (a first signing key).
	if _, err := s.Put(ctx, "jwt", tok("k1"), []byte("key"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, "jwt", tok("k1")); err != nil {
		t.Fatal(err)
	}
	if got := stagesOf(t, s, "jwt"); got != "k1:current" {
		t.Fatalf("first key: %s", got)
	}
}

// TestLocalStaging runs the staging model on the local store, then
// checks what it keeps at rest.
func TestLocalStaging(t *testing.T) {
	ctx := context.Background()
	s, dir := newLocal(t)
	testStaging(t, s)

	// At rest: no value in clear, mode 0600, and a version's ciphertext
	// moved to another version does not open.
	file := filepath.Join(dir, "db.json")
	b, _ := os.ReadFile(file)
	st, _ := os.Stat(file)
	if strings.Contains(string(b), "second") || strings.Contains(string(b), "first-password") || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v holds a value in clear:\n%s", st.Mode().Perm(), b)
	}
	tampered := strings.Replace(string(b), `"id": "`+tok("v1")+`"`, `"id": "v9"`, 1)
	os.WriteFile(file, []byte(strings.Replace(tampered, `"id": "`+tok("v2")+`"`, `"id": "`+tok("v1")+`"`, 1)), 0o600)
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
