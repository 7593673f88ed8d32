package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/codec"
)

// FuzzStoreFile: a secret's file in the local store holding anything —
// truncated JSON, versions with unknown stages, ciphertext that does not
// open — is refused with an error by every read, never a crash.
func FuzzStoreFile(f *testing.F) {
	f.Add([]byte(`{"name":"db","versions":[{"id":"v1","stages":["current"],"sealed":"AAAA"}]}`))
	f.Add([]byte(`{"name":"db","versions":[{"id":"v1","stages":["current","pending"]},{"id":"v1"}]}`))
	f.Add([]byte(`{"name":"db","versions":null}`))
	f.Add([]byte(`{`))
	keys, err := codec.EnsureKeyring(filepath.Join(f.TempDir(), "keys"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "db.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := local.New(dir, keys)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, _, _ = s.Get(ctx, "db", "current")
		_, _ = s.Versions(ctx, "db")
		_, _ = s.Names(ctx)
		_ = s.Promote(ctx, "db", "v1")
		_ = s.Discard(ctx, "db", "v1")
		_, _ = s.Put(ctx, "db", "token-123456789012345678901234567890", []byte("value"), "pending")
	})
}
