package postgres_test

import (
	"context"
	"os"
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
