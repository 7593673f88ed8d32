// Package dockerpg runs PostgreSQL servers in Docker containers (with
// ory/dockertest) as restore drills' scratch targets, and finds and
// removes them by label.
package dockerpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// ErrNoEngine is returned (wrapped) when no Docker engine answers.
var ErrNoEngine = errors.New("no Docker engine")

// Label marks the containers a drill made; its value is the drill's tag.
const Label = "dev.shipshape.drill"

// Engine is a Docker engine.
type Engine struct {
	pool *dockertest.Pool
}

// Connect reaches the engine at endpoint (empty: DOCKER_HOST, else the
// local socket) and checks that it answers.
func Connect(endpoint string) (*Engine, error) {
	pool, err := dockertest.NewPool(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	if err := pool.Client.Ping(); err != nil {
		where := endpoint
		if where == "" {
			where = "DOCKER_HOST or the local socket"
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrNoEngine, where, err)
	}
	return &Engine{pool: pool}, nil
}

// Container is a running PostgreSQL container, published on loopback.
type Container struct {
	ID   string
	Host string
	Port int
}

// StartPostgres runs image (pulled if missing) with the superuser
// postgres's password, labelled Label=tag, its port published on a free
// loopback port, and waits until it accepts connections (at most
// timeout).
func (e *Engine) StartPostgres(ctx context.Context, image, tag, password string, timeout time.Duration) (Container, error) {
	repo, version := image, "latest"
	if i := lastColon(image); i > 0 {
		repo, version = image[:i], image[i+1:]
	}
	res, err := e.pool.RunWithOptions(&dockertest.RunOptions{
		Repository: repo, Tag: version,
		Env:          []string{"POSTGRES_PASSWORD=" + password},
		Labels:       map[string]string{Label: tag},
		PortBindings: map[dc.Port][]dc.PortBinding{"5432/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}},
	}, func(hc *dc.HostConfig) {
		hc.AutoRemove = false
		hc.RestartPolicy = dc.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return Container{}, fmt.Errorf("run %s: %w", image, err)
	}
	port, err := strconv.Atoi(res.GetPort("5432/tcp"))
	if err != nil {
		return Container{ID: res.Container.ID}, fmt.Errorf("container %s publishes no port for 5432", res.Container.ID)
	}
	c := Container{ID: res.Container.ID, Host: "127.0.0.1", Port: port}
	url := "postgres://postgres:" + password + "@" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/postgres?sslmode=disable"
	e.pool.MaxWait = timeout
	err = e.pool.Retry(func() error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err != nil {
		return c, fmt.Errorf("container %s did not accept connections: %w", c.ID, err)
	}
	return c, nil
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ':':
			return i
		case '/':
			return -1
		}
	}
	return -1
}

// Labelled lists the containers labelled Label=tag (every drill's when
// tag is empty), running or not.
func (e *Engine) Labelled(tag string) ([]dc.APIContainers, error) {
	filter := Label
	if tag != "" {
		filter += "=" + tag
	}
	cs, err := e.pool.Client.ListContainers(dc.ListContainersOptions{All: true, Filters: map[string][]string{"label": {filter}}})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return cs, nil
}

// Remove removes the containers labelled Label=tag, with their volumes;
// none is not an error. It returns how many it removed.
func (e *Engine) Remove(tag string) (int, error) {
	cs, err := e.Labelled(tag)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		if c.Labels[Label] != tag {
			continue
		}
		err := e.pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true})
		var gone *dc.NoSuchContainer
		if err != nil && !errors.As(err, &gone) {
			return n, fmt.Errorf("remove container %s: %w", c.ID, err)
		}
		n++
	}
	return n, nil
}
