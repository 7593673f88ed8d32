package devenv

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSOptions configure an embedded NATS server.
type NATSOptions struct {
	// StoreDir keeps JetStream's data across runs.
	StoreDir string
	// Port; 0 picks a free one (-1 in nats-server's terms).
	Port int
}

// StartNATS starts an embedded NATS server with JetStream on loopback.
func StartNATS(opts NATSOptions) (*server.Server, error) {
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "shipshape-dev",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("configure nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats server not ready after 10s")
	}
	return srv, nil
}
