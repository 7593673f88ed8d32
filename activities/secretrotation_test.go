package activities_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities"
	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
)

// rotationEnv is a real PostgreSQL with a role "app" whose password is in
// a local store, and the rotation's steps run in Temporal's activity test
// environment.
type rotationEnv struct {
	t     *testing.T
	acts  *activities.Activities
	store *secretstore.Local
	url   string // postgres://app@host:port/appdb, no password
	admin string
	step  activities.RotationStep
}

func newRotationEnv(t *testing.T, testQuery string) *rotationEnv {
	c := pgtest.Start(t, "test/rotation")
	admin := pgtest.CreateDB(t, c, "appdb")
	pgtest.Exec(t, admin, `CREATE ROLE app LOGIN PASSWORD 'old-password-123'`, `CREATE TABLE private (x int)`)
	dir := t.TempDir()
	store, err := activities.OpenLocalSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "app-db", "initial", []byte("old-password-123"), secretstore.Current); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(admin, c.Superuser+":"+c.Password+"@", "app@", 1)
	e := &rotationEnv{t: t, acts: &activities.Activities{Logger: slog.New(slog.DiscardHandler), SecretsDir: dir}, store: store, url: url, admin: admin}
	e.step = activities.RotationStep{ID: "run-1/task/rotate/" + t.Name(), Task: activities.TaskInput{
		RunID: "run-1", Phase: "rotate", Task: "db", Uses: activities.SecretRotationType,
		Params: withDefaults(t, activities.SecretRotationType, map[string]any{
			"secret": "local://app-db", "resource": map[string]any{"kind": "postgres-role", "url": url, "testQuery": testQuery},
		}),
	}}
	return e
}

func (e *rotationEnv) do(name string) (activities.RotationResult, error) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	taskrun.RegisterActivities(env, e.acts.Types(), taskrun.Options{})
	val, err := env.ExecuteActivity(name, e.step)
	var res activities.RotationResult
	if err == nil {
		err = val.Get(&res)
	}
	return res, err
}

func (e *rotationEnv) must(name string) activities.RotationResult {
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
	c1 := e.must(activities.RotateCreate)
	c2 := e.must(activities.RotateCreate) // a retry: the same version
	if c1.Version == "" || c2.Version != c1.Version || c1.Metrics["secret.age"] < 0 {
		t.Fatalf("create %+v, again %+v", c1, c2)
	}
	pending := e.value(secretstore.Pending)
	if len(pending) != 32 || pending == "old-password-123" {
		t.Fatalf("pending value of %d characters", len(pending))
	}
	e.must(activities.RotateSet)
	if again := e.must(activities.RotateSet); !strings.Contains(again.Message, "already") {
		t.Fatalf("set again: %+v", again)
	}
	e.must(activities.RotateTest)
	e.must(activities.RotateFinish)
	e.must(activities.RotateFinish)
	if e.opens("old-password-123") || !e.opens(e.value(secretstore.Current)) || e.value(secretstore.Current) != pending {
		t.Fatal("after rotation the old password still opens, or the new one does not")
	}
	if e.value(secretstore.Previous) != "old-password-123" || e.value(secretstore.Pending) != "" {
		t.Fatal("the old value is not previous, or a pending version is left")
	}
	for _, r := range []activities.RotationResult{c1, c2} {
		if strings.Contains(r.Message, pending) {
			t.Fatal("a step's result carries the secret")
		}
	}
	// A rollback after finish has nothing to do.
	if r := e.must(activities.RotateRollback); !strings.Contains(r.Message, "nothing to roll back") {
		t.Fatalf("rollback after finish: %+v", r)
	}
}

// TestRotateTestFailureRollsBack: the test query fails with the new
// password (the role may not read the table), so the rotation rolls back:
// the old password works again, the new one does not, no pending version.
func TestRotateTestFailureRollsBack(t *testing.T) {
	e := newRotationEnv(t, "SELECT count(*) FROM private")
	e.must(activities.RotateCreate)
	e.must(activities.RotateSet)
	pending := e.value(secretstore.Pending)
	if e.opens("old-password-123") || !e.opens(pending) {
		t.Fatal("set did not change the password")
	}
	_, err := e.do(activities.RotateTest)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrRotationTest || !appErr.NonRetryable() || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("test: %v", err)
	}
	if strings.Contains(err.Error(), pending) {
		t.Fatal("the error carries the secret")
	}
	r := e.must(activities.RotateRollback)
	e.must(activities.RotateRollback) // idempotent
	if !strings.Contains(r.Message, "got the current password back") || !e.opens("old-password-123") || e.opens(pending) {
		t.Fatalf("after rollback: %+v", r)
	}
	if e.value(secretstore.Current) != "old-password-123" || e.value(secretstore.Pending) != "" {
		t.Fatal("the store does not hold the old value as current only")
	}
}

func TestSecretAge(t *testing.T) {
	dir := t.TempDir()
	store, _ := activities.OpenLocalSecrets(dir)
	store.Put(context.Background(), "k", "v1", []byte("x"), secretstore.Current)
	r := taskRun{acts: &activities.Activities{SecretsDir: dir}}
	out, err := r.run(t, activities.SecretAgeType, map[string]any{"secret": "local://k", "maxAge": "1h"})
	if err != nil || out.Metrics["secret.age"] < 0 || out.Metrics["secret.age"] > 60 {
		t.Fatalf("age %v, %v", out.Metrics, err)
	}
	r = taskRun{acts: &activities.Activities{SecretsDir: dir}}
	_, err = r.run(t, activities.SecretAgeType, map[string]any{"secret": "local://k", "maxAge": "1ns"})
	mustKind(t, err, errCheckFailed, "local://k is", "rotate it")
}

// TestSecretReferences: the references a plan may name, checked at
// validation; the ones this build cannot open say so.
func TestSecretReferences(t *testing.T) {
	check := all.Catalog()[activities.SecretAgeType].Check
	for ref, want := range map[string]string{
		"local://app-db":                    "",
		"aws-sm://eu-west-1/prod/app-db":    "",
		"aws-sm://us-gov-west-1/x":          "",
		"local://a/b":                       "want local://NAME",
		"aws-sm://prod/app-db":              "want aws-sm://REGION/NAME",
		"aws-sm://eu-west-1/":               "want aws-sm://REGION/NAME",
		"azkv://acme-prod/app-db":           "",
		"azkv://acme.vault.azure.cn/app-db": "",
		"azkv://acme-prod/app_db":           "want azkv://VAULT/NAME",
		"azkv://x/app-db":                   "want azkv://VAULT/NAME",
		"vault://secret/app":                "unknown secret store",
		"app-db":                            "want a secret reference",
	} {
		problems := check(map[string]any{"secret": ref})
		got := ""
		if len(problems) > 0 {
			got = problems[0].Msg
		}
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}
}
