// Package host wires Shipshape onto Temporal: connection settings (flags
// and environment variables shared by the worker and the starter) and the
// worker that hosts the workflows and task activities.
package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/codec"
	"github.com/shipshape-dev/shipshape/workflows"
)

// TemporalConfig says how to reach Temporal.
type TemporalConfig struct {
	Address   string
	Namespace string
	// APIKey authenticates to Temporal Cloud (implies TLS).
	APIKey string
	TLS    TLSConfig
	// CodecKeys is the payload codec's keyring file; empty: payloads are
	// not encrypted. Starter and worker must share it.
	CodecKeys string
}

// TLSConfig is a client TLS configuration; a certificate and key make it
// mutual TLS.
type TLSConfig struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// RegisterFlags adds the Temporal flags to fs; each defaults to its
// environment variable (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, …).
func (c *TemporalConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Address, "temporal-address", env("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&c.Namespace, "namespace", env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&c.APIKey, "temporal-api-key", env("TEMPORAL_API_KEY", ""), "Temporal Cloud API key (env TEMPORAL_API_KEY)")
	fs.BoolVar(&c.TLS.Enabled, "temporal-tls", env("TEMPORAL_TLS", "") == "true", "connect to Temporal with TLS (env TEMPORAL_TLS=true)")
	fs.StringVar(&c.TLS.CAFile, "temporal-tls-ca", env("TEMPORAL_TLS_CA", ""), "CA bundle for Temporal's certificate (env TEMPORAL_TLS_CA)")
	fs.StringVar(&c.TLS.CertFile, "temporal-tls-cert", env("TEMPORAL_TLS_CERT", ""), "client certificate for mTLS (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&c.TLS.KeyFile, "temporal-tls-key", env("TEMPORAL_TLS_KEY", ""), "client key for mTLS (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&c.TLS.ServerName, "temporal-tls-server-name", env("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify (env TEMPORAL_TLS_SERVER_NAME)")
	fs.StringVar(&c.CodecKeys, "codec-keys", env("SHIPSHAPE_CODEC_KEYS", ""), "payload codec keyring file (ID=BASE64 lines, first encrypts); the same for starter and worker (env SHIPSHAPE_CODEC_KEYS)")
}

// DataConverter is the converter payloads go through: Temporal's default,
// encrypted by the payload codec when CodecKeys is set.
func (c TemporalConfig) DataConverter() (converter.DataConverter, error) {
	if c.CodecKeys == "" {
		return converter.GetDefaultDataConverter(), nil
	}
	keys, err := codec.LoadKeyring(c.CodecKeys)
	if err != nil {
		return nil, err
	}
	return codec.New(keys).DataConverter(), nil
}

func (t TLSConfig) config() (*tls.Config, error) {
	if !t.Enabled && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Dial connects to Temporal and checks that it answers. extra adjust the
// client options last (metrics handler, interceptors).
func (c TemporalConfig) Dial(ctx context.Context, logger *slog.Logger, extra ...func(*client.Options)) (client.Client, error) {
	tlsCfg, err := c.TLS.config()
	if err != nil {
		return nil, fmt.Errorf("temporal tls: %w", err)
	}
	dc, err := c.DataConverter()
	if err != nil {
		return nil, err
	}
	if c.CodecKeys == "" {
		logger.Warn("payload codec off: workflow inputs and results are stored unencrypted in Temporal; set --codec-keys")
	}
	opts := client.Options{
		HostPort:          c.Address,
		Namespace:         c.Namespace,
		Logger:            tlog.NewStructuredLogger(logger),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
		DataConverter:     dc,
	}
	if loopback(c.Address) {
		// The SDK gzips every request by default: on loopback that is
		// CPU spent for no bandwidth saved.
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
		if opts.ConnectionOptions.TLS == nil {
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	for _, f := range extra {
		f(&opts)
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cl, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", c.Address, err)
	}
	return cl, nil
}

// binaryIdentity sets, once per process, the identity Temporal records
// for the worker's binary (its reset points name it).
var binaryIdentity sync.Once

// buildIdentity names this binary cheaply: the main module's path, the
// Go build ID the linker wrote into the executable (a hash of what it was
// built from) and, when Go stamped it, the VCS revision; empty where the
// build ID cannot be read (not ELF). Without it, the Temporal SDK hashes
// the whole executable when the first worker starts: a tenth to a
// quarter of a second for a binary of 120 MB, paid at every `run --dev`.
func buildIdentity() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	id := goBuildID(exe)
	bi, ok := debug.ReadBuildInfo()
	if id == "" || !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			id = s.Value + "/" + id
		}
	}
	return bi.Main.Path + "@" + id
}

// goBuildID reads the Go build ID from an ELF executable's
// .note.go.buildid section: a note named "Go" of type 4.
func goBuildID(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	b, err := sec.Data()
	if err != nil || len(b) < 16 {
		return ""
	}
	bo := f.ByteOrder
	namesz, descsz, typ := bo.Uint32(b[0:4]), bo.Uint32(b[4:8]), bo.Uint32(b[8:12])
	desc := 12 + (uint64(namesz)+3)&^3
	if typ != 4 || namesz != 4 || string(b[12:14]) != "Go" || desc+uint64(descsz) > uint64(len(b)) {
		return ""
	}
	return string(b[desc : desc+uint64(descsz)])
}

// heartbeatThrottle is the longest a worker holds back a heartbeat.
const heartbeatThrottle = time.Second

// WorkerOptions tune a worker.
type WorkerOptions struct {
	// StopTimeout is how long in-flight activities get to finish on stop.
	StopTimeout time.Duration
	// MaxConcurrentActivities bounds the activities one worker runs.
	MaxConcurrentActivities int
	// Interceptors wrap workflows and activities (metrics); the client's
	// interceptors (tracing) apply as well.
	Interceptors []interceptor.WorkerInterceptor
	// OnFatalError hears why a started worker stopped by itself.
	OnFatalError func(error)
}

// NewWorker returns a worker on the Shipshape task queue with the
// engine's workflows and the workflows and activities of types
// registered (all.Types gives every task type). Start or Run it.
func NewWorker(c client.Client, types []task.Type, run taskrun.Options, opts WorkerOptions) worker.Worker {
	binaryIdentity.Do(func() {
		if id := buildIdentity(); id != "" {
			worker.SetBinaryChecksum(id)
		}
	})
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 30 * time.Second
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{
		WorkerStopTimeout:                  opts.StopTimeout,
		MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities,
		// Tasks report progress once a second (a load test's live
		// numbers); without this the SDK holds heartbeats back for 80% of
		// the heartbeat timeout, and `starter run` would show them late.
		MaxHeartbeatThrottleInterval: heartbeatThrottle,
		Interceptors:                 opts.Interceptors,
		OnFatalError:                 opts.OnFatalError,
	})
	workflows.Register(w, task.Catalog(types))
	taskrun.Register(w, types, run)
	return w
}

// loopback says whether address (host:port) names this machine: a
// loopback IP or localhost.
func loopback(address string) bool {
	h, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
