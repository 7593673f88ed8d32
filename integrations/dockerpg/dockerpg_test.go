package dockerpg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/dockerpg"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestStartAndRemove runs a PostgreSQL container, connects, and removes
// it by label. It needs a Docker engine and the postgres image (or a
// registry to pull it from); this project's machines have neither, so
// here it skips, saying so (TestFakeEngine covers the client).
func TestStartAndRemove(t *testing.T) {
	ctx := context.Background()
	e, err := dockerpg.Connect("")
	if err != nil {
		t.Skipf("the docker target is tested only where a Docker engine runs: %v", err)
	}
	c, err := e.StartPostgres(ctx, "postgres:16", "test-drill", "pw-123456", 2*time.Minute)
	if err != nil {
		e.Remove(ctx, "test-drill")
		t.Skipf("no postgres:16 image and none to pull: %v", err)
	}
	if c.Port == 0 || c.Host != "127.0.0.1" {
		t.Fatalf("container %+v", c)
	}
	if n, err := e.Remove(ctx, "test-drill"); err != nil || n != 1 {
		t.Fatalf("removed %d: %v", n, err)
	}
	if cs, _ := e.Labelled(ctx, "test-drill"); len(cs) != 0 {
		t.Fatalf("left: %v", cs)
	}
}

// Without an engine, Connect says so, naming where it looked.
func TestConnectNoEngine(t *testing.T) {
	_, err := dockerpg.Connect("unix:///nonexistent/docker.sock")
	if !errors.Is(err, dockerpg.ErrNoEngine) {
		t.Fatalf("err = %v, want ErrNoEngine", err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	if _, err := dockerpg.Connect(""); !errors.Is(err, dockerpg.ErrNoEngine) || !strings.Contains(err.Error(), "DOCKER_HOST or the local socket") {
		t.Fatalf("err = %v", err)
	}
	if _, err := dockerpg.Connect("ssh://host"); !errors.Is(err, dockerpg.ErrNoEngine) {
		t.Fatalf("err = %v", err)
	}
}

// fakeEngine is a protocol-level fake of the Docker Engine API (not
// Docker), served on a unix socket: the calls dockerpg makes, with the
// engine's status codes and JSON shapes. Its "containers" publish the
// port of one real PostgreSQL, whose postgres role gets the password the
// container's environment sets, so StartPostgres's wait is real.
type fakeEngine struct {
	mu         sync.Mutex
	images     map[string]bool
	containers map[string]map[string]string // ID → labels
	calls      []string
	pgPort     int
	setPW      func(role, password string) error
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v1.41")
	f.calls = append(f.calls, r.Method+" "+path)
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		reply(map[string]string{"message": msg})
	}
	switch {
	case path == "/_ping":
		w.Write([]byte("OK"))
	case r.Method == "GET" && strings.HasPrefix(path, "/images/"):
		if !f.images[strings.TrimSuffix(strings.TrimPrefix(path, "/images/"), "/json")] {
			fail(404, "No such image")
			return
		}
		reply(map[string]string{"Id": "sha256:abc"})
	case path == "/images/create":
		image := r.URL.Query().Get("fromImage") + ":" + r.URL.Query().Get("tag")
		reply(map[string]string{"status": "Pulling from library/postgres"})
		if image == "postgres:missing" {
			reply(map[string]string{"error": "manifest for postgres:missing not found"})
			return
		}
		f.images[image] = true
	case path == "/containers/create":
		var spec struct {
			Image      string
			Env        []string
			Labels     map[string]string
			HostConfig struct {
				PortBindings map[string][]struct{ HostIp, HostPort string }
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil || !f.images[spec.Image] {
			fail(400, "bad create")
			return
		}
		if b := spec.HostConfig.PortBindings["5432/tcp"]; len(b) != 1 || b[0].HostIp != "127.0.0.1" {
			fail(400, "want 5432/tcp published on loopback")
			return
		}
		if err := f.setPW("postgres", strings.TrimPrefix(spec.Env[0], "POSTGRES_PASSWORD=")); err != nil {
			fail(500, err.Error())
			return
		}
		id := "c" + strconv.Itoa(len(f.calls))
		f.containers[id] = spec.Labels
		w.WriteHeader(201)
		reply(map[string]string{"Id": id})
	case strings.HasSuffix(path, "/start"):
		w.WriteHeader(204)
	case r.Method == "GET" && strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json") && path != "/containers/json":
		reply(map[string]any{"NetworkSettings": map[string]any{"Ports": map[string]any{
			"5432/tcp": []map[string]string{{"HostIp": "127.0.0.1", "HostPort": strconv.Itoa(f.pgPort)}}}}})
	case path == "/containers/json":
		var filters map[string][]string
		_ = json.Unmarshal([]byte(r.URL.Query().Get("filters")), &filters)
		key, value, exact := strings.Cut(filters["label"][0], "=")
		out := []map[string]any{}
		for id, labels := range f.containers {
			if v, ok := labels[key]; ok && (!exact || v == value) {
				out = append(out, map[string]any{"Id": id, "Labels": labels, "State": "running", "Created": 1700000000})
			}
		}
		reply(out)
	case r.Method == "DELETE" && strings.HasPrefix(path, "/containers/"):
		id := strings.TrimPrefix(path, "/containers/")
		if _, ok := f.containers[id]; !ok || r.URL.Query().Get("force") != "1" || r.URL.Query().Get("v") != "1" {
			fail(404, "No such container: "+id)
			return
		}
		delete(f.containers, id)
		w.WriteHeader(204)
	default:
		fail(404, "page not found")
	}
}

// The client against fakeEngine: a missing image is pulled, the
// container is labelled and published on loopback, the wait connects
// with the password given, and Remove finds it by label.
func TestFakeEngine(t *testing.T) {
	pg := pgtest.Start(t, "test/dockerpg")
	fake := &fakeEngine{images: map[string]bool{}, containers: map[string]map[string]string{},
		pgPort: pg.Port, setPW: pgtest.PasswordSetter(pg.URL("postgres"))}
	socket := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fake}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	ctx := context.Background()
	e, err := dockerpg.Connect("unix://" + socket)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.StartPostgres(ctx, "postgres:16", "restore-drill:d1", "pw-123456", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Host != "127.0.0.1" || c.Port != pg.Port {
		t.Fatalf("container %+v", c)
	}
	if !fake.images["postgres:16"] {
		t.Fatal("the missing image was not pulled")
	}
	if _, err := e.StartPostgres(ctx, "postgres:missing", "restore-drill:d2", "pw", time.Minute); err == nil || !strings.Contains(err.Error(), "manifest for postgres:missing not found") {
		t.Fatalf("a failed pull: %v", err)
	}
	cs, err := e.Labelled(ctx, "")
	if err != nil || len(cs) != 1 || cs[0].Labels[dockerpg.Label] != "restore-drill:d1" || cs[0].State != "running" || cs[0].Created == 0 {
		t.Fatalf("labelled %+v, %v", cs, err)
	}
	if n, err := e.Remove(ctx, "restore-drill:other"); err != nil || n != 0 {
		t.Fatalf("removed %d: %v", n, err)
	}
	if n, err := e.Remove(ctx, "restore-drill:d1"); err != nil || n != 1 {
		t.Fatalf("removed %d: %v", n, err)
	}
	if cs, _ := e.Labelled(ctx, ""); len(cs) != 0 {
		t.Fatalf("left: %+v", cs)
	}
}
