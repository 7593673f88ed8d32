package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// TestClusterLifecycle starts a real PostgreSQL cluster from the machine's
// binaries, runs SQL on it with password authentication, finds it as a
// leftover by its tag, and removes it.
func TestClusterLifecycle(t *testing.T) {
	if _, err := postgres.BinDir(); err != nil {
		testenv.Missing(t, "PostgreSQL ("+err.Error()+")", "apt-get install postgresql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parent := t.TempDir()
	c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: parent, Tag: "test/lifecycle"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())

	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&n); err != nil || n != 42 {
		t.Fatalf("SELECT: %d, %v", n, err)
	}
	conn.Close(ctx)

	wrong := *c
	wrong.Password = "wrong"
	if conn, err := pgx.Connect(ctx, wrong.URL("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password connected")
	}

	left, err := postgres.Leftovers(parent, "test/")
	if err != nil || len(left) != 1 || left[0].Dir != c.Dir || !left[0].Running || left[0].Port != c.Port {
		t.Fatalf("leftovers: %+v, %v", left, err)
	}
	if err := postgres.Remove(ctx, c.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Fatalf("directory still there: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if conn, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("server still answers after Remove")
	}
	if left, _ := postgres.Leftovers(parent, "test/"); len(left) != 0 {
		t.Fatalf("leftovers after remove: %+v", left)
	}
}

// TestClusterTemplate: clusters are copies of one initdb template, each
// with its own superuser password (one's does not open another); a
// damaged template costs only time: the cluster is made by initdb, and
// the template is made again for the next.
func TestClusterTemplate(t *testing.T) {
	if _, err := postgres.BinDir(); err != nil {
		testenv.Missing(t, "PostgreSQL ("+err.Error()+")", "apt-get install postgresql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parent, templates := t.TempDir(), t.TempDir()
	start := func() *postgres.Cluster {
		t.Helper()
		c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: parent, Tag: "test/template", TemplateDir: templates})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		var n int
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&n); err != nil || n != 42 {
			t.Fatalf("SELECT: %d, %v", n, err)
		}
		return c
	}
	a, b := start(), start()
	if !a.FromTemplate || !b.FromTemplate || a.Password == b.Password {
		t.Fatalf("from template: %v, %v; same password: %v", a.FromTemplate, b.FromTemplate, a.Password == b.Password)
	}
	other := *b
	other.Password = a.Password
	if conn, err := pgx.Connect(ctx, other.URL("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("one cluster's password opened another")
	}
	kept, _ := filepath.Glob(filepath.Join(templates, "*"))
	if len(kept) != 1 {
		t.Fatalf("templates: %v", kept)
	}

	if err := os.RemoveAll(filepath.Join(kept[0], "data", "global")); err != nil {
		t.Fatal(err)
	}
	if c := start(); c.FromTemplate {
		t.Fatal("a cluster from a damaged template")
	}
	if c := start(); !c.FromTemplate {
		t.Fatal("the damaged template was not made again")
	}
}
