// Package storetest holds the staging model every secret store must
// follow, as a test any store's package runs against its store. Tests
// only: no binary imports it.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
)

// Store is what every store provides; Staging holds each to it.
type Store interface {
	Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error)
	Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error)
	Promote(ctx context.Context, name, id string) error
	Discard(ctx context.Context, name, id string) error
	Versions(ctx context.Context, name string) ([]secretstore.Version, error)
}

// Tok is a request token of the length AWS requires (32 to 64).
func Tok(v string) string { return "rotation-token-000000000000000000-" + v }

// StagesOf lists the labelled versions of secret name, as
// "v1:previous v2:current" (IDs without the Tok prefix).
func StagesOf(t testing.TB, s Store, name string) string {
	t.Helper()
	vs, err := s.Versions(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		if len(v.Stages) > 0 {
			out = append(out, strings.TrimPrefix(v.ID, Tok(""))+":"+strings.Join(v.Stages, "+"))
		}
	}
	return strings.Join(out, " ")
}

// Staging follows a rotation through a store: the labels move as AWS
// Secrets Manager moves AWSCURRENT, AWSPENDING and AWSPREVIOUS.
func Staging(t testing.TB, s Store) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := s.Get(ctx, "db", secretstore.Current); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("a secret never stored: %v", err)
	}
	if _, err := s.Put(ctx, "db", Tok("v1"), []byte("first-password"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	// Idempotent by token; a token reused with another value fails.
	if _, err := s.Put(ctx, "db", Tok("v2"), []byte("second"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "db", Tok("v2"), []byte("second"), secretstore.Pending); err != nil {
		t.Fatalf("same token, same value: %v", err)
	}
	if _, err := s.Put(ctx, "db", Tok("v2"), []byte("other"), secretstore.Pending); !errors.Is(err, secretstore.ErrTokenConflict) {
		t.Fatalf("same token, other value: %v", err)
	}
	if got := StagesOf(t, s, "db"); got != "v1:current v2:pending" {
		t.Fatalf("stages %s", got)
	}
	if v, ver, err := s.Get(ctx, "db", secretstore.Pending); err != nil || string(v) != "second" || ver.ID != Tok("v2") {
		t.Fatalf("pending: %q %+v %v", v, ver, err)
	}
	if err := s.Promote(ctx, "db", Tok("v2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, "db", Tok("v2")); err != nil {
		t.Fatalf("promote again: %v", err)
	}
	if got := StagesOf(t, s, "db"); got != "v1:previous v2:current" {
		t.Fatalf("after promote: %s", got)
	}
	if err := s.Discard(ctx, "db", Tok("v2")); err == nil {
		t.Fatal("discarded the current version")
	}
	if _, err := s.Put(ctx, "db", Tok("v3"), []byte("third"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, "db", Tok("v3")); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, "db", Tok("v3")); err != nil {
		t.Fatalf("second discard: %v", err)
	}
	if _, _, err := s.Get(ctx, "db", secretstore.Pending); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("pending after discard: %v", err)
	}
	if v, _, err := s.Get(ctx, "db", secretstore.Previous); err != nil || string(v) != "first-password" {
		t.Fatalf("previous: %q %v", v, err)
	}
	// A secret that starts from nothing (a first signing key).
	if _, err := s.Put(ctx, "jwt", Tok("k1"), []byte("key"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, "jwt", Tok("k1")); err != nil {
		t.Fatal(err)
	}
	if got := StagesOf(t, s, "jwt"); got != "k1:current" {
		t.Fatalf("first key: %s", got)
	}
}
