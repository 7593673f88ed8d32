package dockerpg

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStartAndRemove runs a PostgreSQL container, connects, and removes
// it by label. It needs a Docker engine and the postgres image (or a
// registry to pull it from); this project's machines have neither, so
// here it skips, saying so.
func TestStartAndRemove(t *testing.T) {
	e, err := Connect("")
	if err != nil {
		t.Skipf("the docker target is tested only where a Docker engine runs: %v", err)
	}
	c, err := e.StartPostgres(context.Background(), "postgres:16", "test-drill", "pw-123456", 2*time.Minute)
	if err != nil {
		e.Remove("test-drill")
		t.Skipf("no postgres:16 image and none to pull: %v", err)
	}
	if c.Port == 0 || c.Host != "127.0.0.1" {
		t.Fatalf("container %+v", c)
	}
	if n, err := e.Remove("test-drill"); err != nil || n != 1 {
		t.Fatalf("removed %d: %v", n, err)
	}
	if cs, _ := e.Labelled("test-drill"); len(cs) != 0 {
		t.Fatalf("left: %v", cs)
	}
}

// Without an engine, Connect says so, naming where it looked.
func TestConnectNoEngine(t *testing.T) {
	_, err := Connect("unix:///nonexistent/docker.sock")
	if !errors.Is(err, ErrNoEngine) {
		t.Fatalf("err = %v, want ErrNoEngine", err)
	}
}

func TestLastColon(t *testing.T) {
	for in, want := range map[string]int{"postgres:16": 8, "registry:5000/pg": -1, "registry:5000/pg:15": 16, "postgres": -1} {
		if got := lastColon(in); got != want {
			t.Errorf("lastColon(%q) = %d, want %d", in, got, want)
		}
	}
}
