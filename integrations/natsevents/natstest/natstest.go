// Package natstest runs a real embedded NATS server with JetStream for
// tests, the way nats-server's own tests do: loopback, a free port, storage
// in the test's temporary directory, shut down when the test ends.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server. Stop and Restart simulate an outage:
// the restarted server listens on the same port and recovers the same
// storage.
type Server struct {
	tb        testing.TB
	dir       string
	port      int
	configure []Option
	srv       *server.Server
}

// Option adjusts the server's options, e.g. to add users.
type Option func(*server.Options)

// MustStart starts a server on 127.0.0.1 and a free port, with JetStream
// stored under tb.TempDir(), and shuts it down in tb.Cleanup.
func MustStart(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{tb: tb, dir: tb.TempDir(), port: -1, configure: opts}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the client URL, stable across Restart.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down and waits until it is gone. It does nothing
// if the server is already stopped.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart starts a stopped server again on the same port and storage.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.srv != nil {
		s.tb.Fatal("natstest: restart of a running server")
	}
	s.start()
}

func (s *Server) start() {
	s.tb.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      s.port,
		JetStream: true,
		StoreDir:  s.dir,
		NoLog:     true,
		NoSigs:    true,
	}
	for _, configure := range s.configure {
		configure(opts)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		s.tb.Fatalf("natstest: new server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		s.tb.Fatal("natstest: server not ready for connections")
	}
	s.srv = srv
	if s.port == -1 {
		s.port = srv.Addr().(*net.TCPAddr).Port
	}
}
