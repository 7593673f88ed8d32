//go:build integration

package host_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/internal/testpki"
)

// The temporal CLI's dev server (v1.5.1) has no TLS options, so mutual TLS
// is tested through a TLS-terminating proxy in front of it that requires a
// client certificate from the test CA: the client's TLS configuration
// (CA, certificate, key, server name) is exercised for real, and a
// workflow runs through it; the hop from proxy to server is plaintext.
func TestTemporalMutualTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)

	ca := testpki.MustCA(t, "temporal")
	proxy := startTLSProxy(t, ca.ServerTLS(ca.MustServer("frontend", "temporal.internal"), true), srv.Address())
	client1 := ca.MustClient("shipshape-worker")

	cfg := host.TemporalConfig{Address: proxy.addr, Namespace: "default", TLS: host.TLSConfig{
		Enabled: true, CAFile: ca.CertFile, CertFile: client1.CertFile, KeyFile: client1.KeyFile,
		ServerName: "temporal.internal",
	}}
	cl, err := cfg.Dial(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("dial over mTLS: %v", err)
	}
	defer cl.Close()

	w := worker.New(cl, "tls-test", worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, name string) (string, error) {
		return "hello " + name, nil
	}, workflow.RegisterOptions{Name: "Hello"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "tls-test"}, "Hello", "tls")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "hello tls" {
		t.Fatalf("workflow over mTLS: %q, %v", got, err)
	}
	if cns := proxy.clientNames(); len(cns) == 0 || cns[0] != "shipshape-worker" {
		t.Errorf("proxy saw client certificates %q, want shipshape-worker", cns)
	}

	other := testpki.MustCA(t, "other")
	refused := map[string]host.TLSConfig{
		"no client certificate": {Enabled: true, CAFile: ca.CertFile, ServerName: "temporal.internal"},
		"server not trusted":    {Enabled: true, CAFile: other.CertFile, CertFile: client1.CertFile, KeyFile: client1.KeyFile, ServerName: "temporal.internal"},
		"wrong server name":     {Enabled: true, CAFile: ca.CertFile, CertFile: client1.CertFile, KeyFile: client1.KeyFile, ServerName: "temporal.example"},
		"client cert of another CA": func() host.TLSConfig {
			c := other.MustClient("intruder")
			return host.TLSConfig{Enabled: true, CAFile: ca.CertFile, CertFile: c.CertFile, KeyFile: c.KeyFile, ServerName: "temporal.internal"}
		}(),
	}
	for name, tlsCfg := range refused {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			cfg := host.TemporalConfig{Address: proxy.addr, Namespace: "default", TLS: tlsCfg}
			if cl, err := cfg.Dial(ctx, slog.New(slog.DiscardHandler)); err == nil {
				cl.Close()
				t.Fatal("dial succeeded, want refused")
			}
		})
	}
}

// TestTemporalAPIKey checks what Temporal Cloud sees from an API key: TLS
// and "authorization: Bearer <key>" on every call. The server is a fake
// (fakeFrontend: only GetSystemInfo, the call Dial makes), since no local
// Temporal server checks API keys.
func TestTemporalAPIKey(t *testing.T) {
	ca := testpki.MustCA(t, "cloud")
	tlsCfg := ca.ServerTLS(ca.MustServer("cloud"), false)
	fake := &fakeFrontend{}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)))
	workflowservice.RegisterWorkflowServiceServer(gs, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := host.TemporalConfig{Address: lis.Addr().String(), Namespace: "prod.a1b2c", APIKey: "key-123",
		TLS: host.TLSConfig{CAFile: ca.CertFile}}
	cl, err := cfg.Dial(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("dial with API key: %v", err)
	}
	cl.Close()
	if got := fake.authorization(); got != "Bearer key-123" {
		t.Errorf("authorization header %q, want Bearer key-123", got)
	}

	cfg.APIKey = "wrong"
	if cl, err := cfg.Dial(ctx, slog.New(slog.DiscardHandler)); err == nil {
		cl.Close()
		t.Error("dial with a wrong API key succeeded")
	}
}

type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu   sync.Mutex
	auth string
}

func (f *fakeFrontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var auth string
	if v := md.Get("authorization"); len(v) > 0 {
		auth = v[0]
	}
	f.mu.Lock()
	f.auth = auth
	f.mu.Unlock()
	if auth != "Bearer key-123" {
		return nil, status.Error(codes.Unauthenticated, "bad API key")
	}
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *fakeFrontend) authorization() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth
}

type tlsProxy struct {
	addr  string
	mu    sync.Mutex
	names []string
}

func (p *tlsProxy) clientNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.names...)
}

// startTLSProxy terminates TLS (offering h2, which gRPC requires) and
// forwards the bytes to backend.
func startTLSProxy(t *testing.T, cfg *tls.Config, backend string) *tlsProxy {
	t.Helper()
	cfg.NextProtos = []string{"h2"}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsProxy{addr: lis.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { lis.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(conn.(*tls.Conn), backend)
			}()
		}
	}()
	return p
}

func (p *tlsProxy) serve(conn *tls.Conn, backend string) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		return
	}
	if certs := conn.ConnectionState().PeerCertificates; len(certs) > 0 {
		p.mu.Lock()
		p.names = append(p.names, certs[0].Subject.CommonName)
		p.mu.Unlock()
	}
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
}
