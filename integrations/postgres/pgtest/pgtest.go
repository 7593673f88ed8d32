// Package pgtest starts real PostgreSQL clusters for tests and seeds them
// with data of the kinds backups must carry: pgbench's tables, a JSONB
// table and large objects.
package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// Start starts a cluster for t, stopped and removed when t ends, or skips
// t where PostgreSQL's binaries are not installed (fails it under CI).
func Start(t testing.TB, tag string) *postgres.Cluster {
	t.Helper()
	if _, err := postgres.BinDir(); err != nil {
		testenv.Missing(t, "PostgreSQL ("+err.Error()+")", "apt-get install postgresql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: t.TempDir(), Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// CreateDB creates database db on c and returns its URL.
func CreateDB(t testing.TB, c *postgres.Cluster, db string) string {
	t.Helper()
	Exec(t, c.URL("postgres"), "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	return c.URL(db)
}

// Seed fills the database at url: pgbench's tables at scale (pgbench -i),
// a table of JSONB documents and two large objects.
func Seed(t testing.TB, url string, scale int) {
	t.Helper()
	bin, err := postgres.Bin("pgbench")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-i", "-q", "-s", strconv.Itoa(max(scale, 1)), url)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v: %s", err, out)
	}
	Exec(t, url,
		`CREATE TABLE docs (id serial PRIMARY KEY, body jsonb NOT NULL, created timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z')`,
		`INSERT INTO docs (body) SELECT jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7), 'nested', jsonb_build_object('ok', g % 2 = 0)) FROM generate_series(1, 500) g`,
		`SELECT lo_from_bytea(0, convert_to(repeat('shipshape large object ', 4000), 'UTF8'))`,
		`SELECT lo_from_bytea(0, '\x00010203ff'::bytea)`,
	)
}

// Exec runs each statement on the database at url.
func Exec(t testing.TB, url string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// PasswordSetter returns a function that gives a role a password over
// adminURL (ALTER ROLE): the hook by which fakes of managed databases
// apply the master passwords they are asked to set.
func PasswordSetter(adminURL string) func(role, password string) error {
	return func(role, password string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD '"+strings.ReplaceAll(password, "'", "''")+"'")
		return err
	}
}
