// Package dockerpg runs PostgreSQL servers in Docker containers as
// restore drills' scratch targets, and finds and removes them by label.
//
// It speaks the Docker Engine API (v1.41, Docker 20.10 and later, and
// Podman's compatible service) over the engine's socket with net/http:
// the handful of calls a drill makes need no client library.
package dockerpg

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoEngine is returned (wrapped) when no Docker engine answers.
var ErrNoEngine = errors.New("no Docker engine")

// Label marks the containers a drill made; its value is the drill's tag.
const Label = "dev.shipshape.drill"

// apiVersion is the Engine API version of every call.
const apiVersion = "/v1.41"

// defaultSocket is the engine's socket when neither the caller nor
// DOCKER_HOST names an endpoint.
const defaultSocket = "unix:///var/run/docker.sock"

// Engine is a Docker engine.
type Engine struct {
	client *http.Client
	// base is the URL every API path is appended to.
	base string
}

// Connect reaches the engine at endpoint (empty: DOCKER_HOST, else the
// local socket) and checks that it answers. Endpoints are unix:///path,
// tcp://host:port (TLS when DOCKER_CERT_PATH holds cert.pem, key.pem and
// ca.pem, verified unless DOCKER_TLS_VERIFY is empty), http:// or
// https:// URLs.
func Connect(endpoint string) (*Engine, error) {
	where := endpoint
	if endpoint == "" {
		endpoint, where = os.Getenv("DOCKER_HOST"), "DOCKER_HOST or the local socket"
		if endpoint == "" {
			endpoint = defaultSocket
		}
	}
	e, err := newEngine(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.call(ctx, http.MethodGet, "/_ping", nil, nil); err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrNoEngine, where, err)
	}
	return e, nil
}

func newEngine(endpoint string) (*Engine, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %v", endpoint, err)
	}
	switch u.Scheme {
	case "unix":
		socket := u.Path
		if socket == "" {
			return nil, fmt.Errorf("endpoint %q names no socket", endpoint)
		}
		transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}
		return &Engine{client: &http.Client{Transport: transport}, base: "http://docker"}, nil
	case "tcp", "http", "https":
		scheme := u.Scheme
		transport := http.DefaultTransport.(*http.Transport).Clone()
		if dir := os.Getenv("DOCKER_CERT_PATH"); dir != "" && scheme != "http" {
			cfg, err := tlsConfig(dir, os.Getenv("DOCKER_TLS_VERIFY") != "")
			if err != nil {
				return nil, err
			}
			transport.TLSClientConfig, scheme = cfg, "https"
		} else if scheme == "tcp" {
			scheme = "http"
		}
		return &Engine{client: &http.Client{Transport: transport}, base: scheme + "://" + u.Host}, nil
	default:
		return nil, fmt.Errorf("endpoint %q: want unix://, tcp://, http:// or https://", endpoint)
	}
}

// tlsConfig is the client certificate and CA in dir, as the docker CLI
// reads them.
func tlsConfig(dir string, verify bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("DOCKER_CERT_PATH: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify}
	if ca, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(ca)
	}
	return cfg, nil
}

// apiError is an error response of the engine.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

func isNotFound(err error) bool {
	var a *apiError
	return errors.As(err, &a) && a.Status == http.StatusNotFound
}

// request sends a call and returns the response of a 2xx status; the
// caller closes its body.
func (e *Engine) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+apiVersion+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var msg struct {
			Message string `json:"message"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(b))
		}
		return nil, &apiError{Status: resp.StatusCode, Message: msg.Message}
	}
	return resp, nil
}

// call sends a call and decodes its JSON response into out (nil: none).
func (e *Engine) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := e.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
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
	if err := e.pull(ctx, repo, version); err != nil {
		return Container{}, fmt.Errorf("run %s: %w", image, err)
	}
	var created struct {
		ID string `json:"Id"`
	}
	spec := map[string]any{
		"Image":        repo + ":" + version,
		"Env":          []string{"POSTGRES_PASSWORD=" + password},
		"Labels":       map[string]string{Label: tag},
		"ExposedPorts": map[string]any{"5432/tcp": map[string]any{}},
		"HostConfig": map[string]any{
			"PortBindings":  map[string]any{"5432/tcp": []map[string]string{{"HostIp": "127.0.0.1", "HostPort": ""}}},
			"AutoRemove":    false,
			"RestartPolicy": map[string]string{"Name": "no"},
		},
	}
	if err := e.call(ctx, http.MethodPost, "/containers/create", spec, &created); err != nil {
		return Container{}, fmt.Errorf("run %s: %w", image, err)
	}
	if err := e.call(ctx, http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		return Container{ID: created.ID}, fmt.Errorf("run %s: %w", image, err)
	}
	var inspect struct {
		NetworkSettings struct {
			Ports map[string][]struct {
				HostIP   string `json:"HostIp"`
				HostPort string `json:"HostPort"`
			}
		}
	}
	if err := e.call(ctx, http.MethodGet, "/containers/"+created.ID+"/json", nil, &inspect); err != nil {
		return Container{ID: created.ID}, fmt.Errorf("inspect container %s: %w", created.ID, err)
	}
	port := 0
	if b := inspect.NetworkSettings.Ports["5432/tcp"]; len(b) > 0 {
		port, _ = strconv.Atoi(b[0].HostPort)
	}
	if port == 0 {
		return Container{ID: created.ID}, fmt.Errorf("container %s publishes no port for 5432", created.ID)
	}
	c := Container{ID: created.ID, Host: "127.0.0.1", Port: port}
	url := "postgres://postgres:" + password + "@" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/postgres?sslmode=disable"
	if err := waitForPostgres(ctx, url, timeout); err != nil {
		return c, fmt.Errorf("container %s did not accept connections: %w", c.ID, err)
	}
	return c, nil
}

// pull pulls repo:version unless the engine has it.
func (e *Engine) pull(ctx context.Context, repo, version string) error {
	err := e.call(ctx, http.MethodGet, "/images/"+url.PathEscape(repo+":"+version)+"/json", nil, nil)
	if err == nil || !isNotFound(err) {
		return err
	}
	q := url.Values{"fromImage": {repo}, "tag": {version}}
	resp, err := e.request(ctx, http.MethodPost, "/images/create?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	defer resp.Body.Close()
	// The engine streams the pull's progress; a failure comes as a
	// message in the stream, after a 200.
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pull: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("pull: %s", msg.Error)
		}
	}
}

// waitForPostgres connects to url until it answers, backing off from
// 100 ms to 2 s, for at most timeout.
func waitForPostgres(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
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

// Summary describes a container, as the engine lists it.
type Summary struct {
	ID     string            `json:"Id"`
	Labels map[string]string `json:"Labels"`
	// State is created, running, exited, …
	State string `json:"State"`
	// Created is when, in Unix seconds.
	Created int64 `json:"Created"`
}

// Labelled lists the containers labelled Label=tag (every drill's when
// tag is empty), running or not.
func (e *Engine) Labelled(ctx context.Context, tag string) ([]Summary, error) {
	filter := Label
	if tag != "" {
		filter += "=" + tag
	}
	filters, _ := json.Marshal(map[string][]string{"label": {filter}})
	q := url.Values{"all": {"1"}, "filters": {string(filters)}}
	var cs []Summary
	if err := e.call(ctx, http.MethodGet, "/containers/json?"+q.Encode(), nil, &cs); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return cs, nil
}

// Remove removes the containers labelled Label=tag, with their volumes;
// none is not an error. It returns how many it removed.
func (e *Engine) Remove(ctx context.Context, tag string) (int, error) {
	cs, err := e.Labelled(ctx, tag)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		if c.Labels[Label] != tag {
			continue
		}
		err := e.call(ctx, http.MethodDelete, "/containers/"+c.ID+"?force=1&v=1", nil, nil)
		if err != nil && !isNotFound(err) {
			return n, fmt.Errorf("remove container %s: %w", c.ID, err)
		}
		n++
	}
	return n, nil
}
