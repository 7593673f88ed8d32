package secretrotation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/secretref"
	"github.com/shipshape-dev/shipshape/plan"
)

// rotationEnv is a real PostgreSQL with a role "app" whose password is in
// a local store, and the rotation's steps run in Temporal's activity test
// environment.
type rotationEnv struct {
	t *testing.T
	// stores are where the rotation's steps open the secret.
	stores secretref.Stores
	store  *local.Store
	url    string // postgres://app@host:port/appdb, no password
	admin  string
	step   secretrotation.RotationStep
}

func newRotationEnv(t *testing.T, testQuery string) *rotationEnv {
	return newRotationEnvOn(t, pgtest.Start(t, "test/rotation"), testQuery)
}

// newRotationEnvOn is newRotationEnv on cluster c. The role's first
// password is given as its SCRAM secret, so no password is in the
// server's log from the start.
func newRotationEnvOn(t *testing.T, c *postgres.Cluster, testQuery string) *rotationEnv {
	admin := pgtest.CreateDB(t, c, "appdb")
	secret, err := postgres.SCRAMSecret("old-password-123")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, admin, `CREATE ROLE app LOGIN PASSWORD '`+secret+`'`, `CREATE TABLE private (x int)`)
	dir := t.TempDir()
	store, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "app-db", "initial", []byte("old-password-123"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(admin, c.Superuser+":"+c.Password+"@", "app@", 1)
	e := &rotationEnv{t: t, stores: secretref.Stores{Dir: dir}, store: store, url: url, admin: admin}
	e.step = secretrotation.RotationStep{ID: "run-1/task/rotate/" + t.Name(), Task: task.Input{
		RunID: "run-1", Phase: "rotate", Task: "db", Uses: secretrotation.Name,
		Params: withDefaults(t, map[string]any{
			"secret": "local://app-db", "resource": map[string]any{"kind": "postgres-role", "url": url, "testQuery": testQuery},
		}),
	}}
	return e
}

// withDefaults is with, the declared defaults filled in.
func withDefaults(t testing.TB, with map[string]any) task.Params {
	return tasktest.WithDefaults(t, plan.NewCatalog(secretrotation.Decl), secretrotation.Name, with)
}

// do runs the step activity name, registered as the worker registers it.
func (e *rotationEnv) do(name string) (secretrotation.RotationResult, error) {
	r := tasktest.Runner{Types: []task.Type{secretrotation.New(e.stores).Type()}}
	var res secretrotation.RotationResult
	err := r.Step(e.t, name, e.step, &res)
	return res, err
}

func (e *rotationEnv) must(name string) secretrotation.RotationResult {
	e.t.Helper()
	res, err := e.do(name)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	return res
}

// opens says whether password opens the database as app.
func (e *rotationEnv) opens(password string) bool {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), strings.Replace(e.url, "app@", "app:"+password+"@", 1))
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			e.t.Fatalf("connect: %v", err)
		}
		return false
	}
	conn.Close(context.Background())
	return true
}

func (e *rotationEnv) value(stage string) string {
	v, _, err := e.store.Get(context.Background(), "app-db", stage)
	if err != nil {
		return ""
	}
	return string(v)
}

// TestRotatePostgresRole rotates a real role's password: after finish the
// old password fails and the store's current one opens the database; each
// step retried after it happened changes nothing.
func TestRotatePostgresRole(t *testing.T) {
	e := newRotationEnv(t, "SELECT 1")
	c1 := e.must(secretrotation.RotateCreate)
	c2 := e.must(secretrotation.RotateCreate) // a retry: the same version
	if c1.Version == "" || c2.Version != c1.Version || c1.Metrics["secret.age"] < 0 {
		t.Fatalf("create %+v, again %+v", c1, c2)
	}
	pending := e.value(secretstore.Pending)
	if len(pending) != 32 || pending == "old-password-123" {
		t.Fatalf("pending value of %d characters", len(pending))
	}
	e.must(secretrotation.RotateSet)
	if again := e.must(secretrotation.RotateSet); !strings.Contains(again.Message, "already") {
		t.Fatalf("set again: %+v", again)
	}
	e.must(secretrotation.RotateTest)
	e.must(secretrotation.RotateFinish)
	e.must(secretrotation.RotateFinish)
	if e.opens("old-password-123") || !e.opens(e.value(secretstore.Current)) || e.value(secretstore.Current) != pending {
		t.Fatal("after rotation the old password still opens, or the new one does not")
	}
	if e.value(secretstore.Previous) != "old-password-123" || e.value(secretstore.Pending) != "" {
		t.Fatal("the old value is not previous, or a pending version is left")
	}
	for _, r := range []secretrotation.RotationResult{c1, c2} {
		if strings.Contains(r.Message, pending) {
			t.Fatal("a step's result carries the secret")
		}
	}
	// A rollback after finish has nothing to do.
	if r := e.must(secretrotation.RotateRollback); !strings.Contains(r.Message, "nothing to roll back") {
		t.Fatalf("rollback after finish: %+v", r)
	}
}

// TestRotateTestFailureRollsBack: the test query fails with the new
// password (the role may not read the table), so the rotation rolls back:
// the old password works again, the new one does not, no pending version.
func TestRotateTestFailureRollsBack(t *testing.T) {
	e := newRotationEnv(t, "SELECT count(*) FROM private")
	e.must(secretrotation.RotateCreate)
	e.must(secretrotation.RotateSet)
	pending := e.value(secretstore.Pending)
	if e.opens("old-password-123") || !e.opens(pending) {
		t.Fatal("set did not change the password")
	}
	_, err := e.do(secretrotation.RotateTest)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != secretrotation.ErrRotationTest || !appErr.NonRetryable() || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("test: %v", err)
	}
	if strings.Contains(err.Error(), pending) {
		t.Fatal("the error carries the secret")
	}
	r := e.must(secretrotation.RotateRollback)
	e.must(secretrotation.RotateRollback) // idempotent
	if !strings.Contains(r.Message, "got the current password back") || !e.opens("old-password-123") || e.opens(pending) {
		t.Fatalf("after rollback: %+v", r)
	}
	if e.value(secretstore.Current) != "old-password-123" || e.value(secretstore.Pending) != "" {
		t.Fatal("the store does not hold the old value as current only")
	}
}
