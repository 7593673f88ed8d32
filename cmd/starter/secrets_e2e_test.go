//go:build integration

package main_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/internal/codec"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestSecretRotationExample rotates a real PostgreSQL role's password
// with examples/plans/secret-rotation.yaml through a worker, Temporal and
// NATS: the new password (read with `starter secrets get`) opens the
// database and the old one no longer does; and the new password is
// nowhere in the run's Temporal history — neither as stored (encrypted)
// nor decrypted with the codec keys — nor in the event stream, the
// report or the worker's log.
func TestSecretRotationExample(t *testing.T) {
	pg := pgtest.Start(t, "e2e/rotation")
	admin := pgtest.CreateDB(t, pg, "app")
	pgtest.Exec(t, admin, `CREATE ROLE app LOGIN PASSWORD 'first-password-0'`)
	t.Setenv("SHIPSHAPE_SECRETS_DIR", t.TempDir())
	t.Setenv("APP_DB_PASSWORD", "first-password-0")
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	if r := starter(t, ctx, "secrets", "put", "local://app-db", "--from-env", "APP_DB_PASSWORD"); r.code != 0 {
		t.Fatalf("secrets put: %s", r.stderr)
	}
	dbURL := "postgres://127.0.0.1:" + strconv.Itoa(pg.Port) + "/app?sslmode=disable"
	out := t.TempDir()
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	r := starter(t, ctx, append([]string{"run", "--run-id", "rotate-1", "--report-dir", out,
		"--set", "vars.databaseURL=" + dbURL, "--set", "vars.role=app", "--set", "vars.jwks=" + jwks}, c.args("examples/plans/secret-rotation.yaml")...)...)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := readReport(t, out)
	if tr := rep.Task("rotate", "app-db"); rep.Result != plan.StatusPass || tr == nil || tr.Metrics["rotation.steps"] != 4 {
		t.Fatalf("result %s, task %+v", rep.Result, tr)
	}
	get := starter(t, ctx, "secrets", "get", "local://app-db")
	secret := strings.TrimSpace(get.stdout)
	if get.code != 0 || len(secret) != 32 {
		t.Fatalf("secrets get: %q %s", secret, get.stderr)
	}
	// The signing key: its public half is the only key left in the JWKS
	// once the overlap is over; its private half is in the store only.
	if tr := rep.Task("rotate", "signing-key"); tr == nil || tr.Metrics["rotation.steps"] != 4 || tr.Metrics["rotation.overlap"] < 5 {
		t.Fatalf("signing-key task %+v", tr)
	}
	key := starter(t, ctx, "secrets", "get", "local://jwt-signing")
	block, _ := pem.Decode([]byte(key.stdout))
	if key.code != 0 || block == nil {
		t.Fatalf("secrets get local://jwt-signing: %s", key.stderr)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if b, err := os.ReadFile(jwks); err != nil || json.Unmarshal(b, &set) != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v, %d keys", jwks, err, len(set.Keys))
	}
	if pub, ok := set.Keys[0].Key.(ed25519.PublicKey); !ok || !pub.Equal(priv.(ed25519.PrivateKey).Public()) {
		t.Fatal("the JWKS's key is not the public half of the stored signing key")
	}
	// A distinctive part of the private key, as it would appear in a leak.
	pemLine := strings.Split(strings.TrimSpace(key.stdout), "\n")[1]

	roleURL := func(pw string) string { return strings.Replace(dbURL, "127.0.0.1", "app:"+pw+"@127.0.0.1", 1) }
	pgtest.Exec(t, roleURL(secret), "SELECT 1")
	if opensAs(roleURL("first-password-0")) {
		t.Error("the old password still opens the database")
	}

	// Temporal history, raw and decrypted.
	keys, err := codec.LoadKeyring(c.keys)
	if err != nil {
		t.Fatal(err)
	}
	dec := codec.New(keys)
	cl, err := client.Dial(client.Options{HostPort: c.temporal.Address()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, id := range []string{"rotate-1", "rotate-1/phase/before", "rotate-1/phase/rotate", "rotate-1/task/rotate/app-db", "rotate-1/task/rotate/signing-key"} {
		it := cl.GetWorkflowHistory(ctx, id, "", false, 0)
		n, payloads := 0, 0
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			n++
			if holds(e, secret) || holds(e, pemLine) {
				t.Errorf("%s: event %d holds the new password or signing key as stored", id, e.GetEventId())
			}
			eachPayload(e.ProtoReflect(), func(p *commonpb.Payload) {
				plain, err := dec.Decode([]*commonpb.Payload{p})
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				payloads++
				if bytes.Contains(plain[0].GetData(), []byte(secret)) || bytes.Contains(plain[0].GetData(), []byte(pemLine)) {
					t.Errorf("%s: event %d holds the new password or signing key once decrypted", id, e.GetEventId())
				}
			})
		}
		if n == 0 || payloads == 0 {
			t.Errorf("%s: %d events, %d payloads read", id, n, payloads)
		}
	}
	// The event stream, the report, the worker's log.
	evs := consume(t, c.natsURL(), "rotate-1")
	all, _ := json.Marshal(evs)
	if len(evs) == 0 || strings.Contains(string(all), secret) || strings.Contains(string(all), pemLine) {
		t.Errorf("%d events; the new password in them: %v", len(evs), strings.Contains(string(all), secret))
	}
	for _, s := range []string{r.stdout, r.stderr, c.logs.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, "first-password-0") || strings.Contains(s, pemLine) {
			t.Error("a password is in the starter's output or the worker's log")
		}
	}
}

// eachPayload calls fn for every Payload inside m.
func eachPayload(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				eachPayload(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), fn)
				return true
			})
		case fd.Message() != nil && !fd.IsMap():
			eachPayload(v.Message(), fn)
		}
		return true
	})
}

func opensAs(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false
	}
	conn.Close(context.Background())
	return true
}
