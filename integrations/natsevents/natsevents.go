// Package natsevents is Shipshape's client for its event stream on NATS
// JetStream: it creates the stream, publishes events with a
// de-duplication ID and reads them back for notifiers, bots and
// `starter events`.
//
// The client never gives up on the connection: it reconnects forever with
// a capped backoff, and it starts even while NATS is down, so an outage of
// NATS delays events but never stops a worker. Vendor errors are mapped at
// this edge: a transient failure matches [ErrUnavailable].
package natsevents

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shipshape-dev/shipshape/events"
)

// ErrUnavailable marks a transient failure: no connection to NATS, no
// JetStream responder for the stream, or no answer in time. Retrying
// later may succeed; any other error is permanent (bad subject, message
// too large, permission denied, invalid configuration).
var ErrUnavailable = errors.New("nats unavailable")

// Defaults applied by New to zero fields of Config.
const (
	DefaultURL            = nats.DefaultURL
	DefaultName           = "shipshape"
	DefaultStreamName     = events.Stream
	DefaultStorage        = "file"
	DefaultMaxAge         = 30 * 24 * time.Hour
	DefaultDuplicates     = 24 * time.Hour
	DefaultConnectTimeout = 5 * time.Second
)

// Reconnect backoff: first retry after reconnectBase, doubling up to
// reconnectMax, plus up to 20% jitter so a fleet of workers does not
// reconnect in lockstep.
const (
	reconnectBase = 250 * time.Millisecond
	reconnectMax  = 5 * time.Second
)

// Config configures a Client. Build it in cmd and pass it to New.
type Config struct {
	// URL is one NATS URL or a comma-separated list of them; default
	// nats://127.0.0.1:4222. A tls:// URL turns TLS on.
	URL string

	// Authentication; set at most one of CredsFile, NKeyFile,
	// User/Password and Token.
	CredsFile string // JWT + seed .creds file
	NKeyFile  string // NKey seed file
	User      string
	Password  string
	Token     string

	TLS TLSConfig

	// Name identifies the connection in NATS monitoring; default
	// "shipshape".
	Name string

	Stream StreamConfig

	// ReadOnly makes Init look the stream up instead of creating or
	// updating it, and stops Publish from creating it: for consumers
	// (bots, `starter events`) whose credentials may not manage streams.
	ReadOnly bool

	// ConnectTimeout bounds one dial to one server; default 5s.
	ConnectTimeout time.Duration

	// Logger receives connection state changes; default slog.Default().
	Logger *slog.Logger
}

// TLSConfig configures TLS to NATS. Zero means the server's default
// verification with the system roots, and TLS only for tls:// URLs or
// servers that require it.
type TLSConfig struct {
	CAFile   string // PEM bundle of roots that verify the server
	CertFile string // PEM client certificate, for mutual TLS
	KeyFile  string // PEM key of CertFile
	// InsecureSkipVerify disables verification of the server's
	// certificate; for development only.
	InsecureSkipVerify bool
}

// StreamConfig is the JetStream stream holding the events.
type StreamConfig struct {
	// Name defaults to "SHIPSHAPE".
	Name string
	// Subjects default to ["shipshape.>"].
	Subjects []string
	// Storage is "file" (default) or "memory".
	Storage string
	// MaxAge is how long an event is kept; default 30 days, negative
	// means forever.
	MaxAge time.Duration
	// MaxBytes caps the stream's size, oldest events dropped first;
	// default (0) and negative mean no limit.
	MaxBytes int64
	// MaxMsgs caps the number of events, oldest dropped first; default
	// (0) and negative mean no limit.
	MaxMsgs int64
	// Replicas defaults to 1; use 3 on a NATS cluster.
	Replicas int
	// Duplicates is the de-duplication window: a message whose ID was
	// stored less than this long ago is dropped. Default 24h, the span over which the workflows retry a batch. It must cover
	// the time between an event being stored and a retry of its batch
	// re-sending it (the PublishEvents retry policy), or a late retry
	// stores the event twice.
	Duplicates time.Duration
}

// Client publishes and reads Shipshape events on NATS JetStream. Build it
// with New, call Init, and Close it when done. It is safe for concurrent
// use.
type Client struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex // guards nc and js
	nc *nats.Conn
	js jetstream.JetStream

	// streamReady is set once the stream is known to exist with our
	// configuration; Publish ensures it lazily while it is not.
	streamReady atomic.Bool
}

// New returns a Client for cfg with defaults filled in. It does no I/O:
// call Init.
func New(cfg Config) *Client {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	s := &cfg.Stream
	if s.Name == "" {
		s.Name = DefaultStreamName
	}
	if len(s.Subjects) == 0 {
		s.Subjects = []string{events.SubjectAll}
	}
	if s.Storage == "" {
		s.Storage = DefaultStorage
	}
	switch {
	case s.MaxAge == 0:
		s.MaxAge = DefaultMaxAge
	case s.MaxAge < 0:
		s.MaxAge = 0 // JetStream: no limit
	}
	if s.MaxBytes <= 0 {
		s.MaxBytes = -1
	}
	if s.MaxMsgs <= 0 {
		s.MaxMsgs = -1
	}
	if s.Replicas <= 0 {
		s.Replicas = 1
	}
	if s.Duplicates <= 0 {
		s.Duplicates = DefaultDuplicates
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{cfg: cfg, log: log.With(slog.String("nats", redactURL(cfg.URL)))}
}

// Init connects to NATS and creates or updates the stream (only looks it
// up with ReadOnly). Calling it again only re-applies the stream
// configuration.
//
// If NATS is unreachable, Init returns an error matching ErrUnavailable
// but the Client stays usable: it keeps reconnecting in the background
// and Publish creates the stream on first use once NATS is back. A worker
// may therefore log that error and go on; it must still call Close. Any
// other error (bad configuration, unreadable credentials) is permanent.
func (c *Client) Init(ctx context.Context) error {
	js, nc, err := c.connect()
	if err != nil {
		return err
	}
	if !nc.IsConnected() {
		return fmt.Errorf("init: connect %s: %w", redactURL(c.cfg.URL), ErrUnavailable)
	}
	if err := c.ensureStream(ctx, js); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}

// connect dials NATS once per Client; later calls return the existing
// connection, which reconnects by itself.
func (c *Client) connect() (jetstream.JetStream, *nats.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.js != nil {
		return c.js, c.nc, nil
	}
	if err := validateStream(c.cfg.Stream); err != nil {
		return nil, nil, err
	}
	opts, err := c.options()
	if err != nil {
		return nil, nil, err
	}
	// With RetryOnFailedConnect, Connect fails only on bad options; an
	// unreachable server leaves the connection reconnecting.
	nc, err := nats.Connect(c.cfg.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", redactURL(c.cfg.URL), classify(err))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	c.nc, c.js = nc, js
	if !nc.IsConnected() {
		c.log.Warn("nats unreachable, reconnecting in the background")
	}
	return js, nc, nil
}

func (c *Client) options() ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(c.cfg.Name),
		nats.Timeout(c.cfg.ConnectTimeout),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		// No reconnect buffer: a publish while disconnected fails at once
		// instead of being sent later, after its caller gave up, possibly
		// behind newer events.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(*nats.Conn) { c.log.Info("nats connected") }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("nats reconnected", slog.String("server", nc.ConnectedUrlRedacted()))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("nats disconnected", slog.Any("error", err))
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			c.log.Debug("nats reconnect attempt failed", slog.Any("error", err))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.Any("error", err)}
			if sub != nil {
				attrs = append(attrs, slog.String("subject", sub.Subject))
			}
			c.log.Error("nats async error", attrs...)
		}),
	}

	auth := 0
	if c.cfg.CredsFile != "" {
		auth++
		opts = append(opts, nats.UserCredentials(c.cfg.CredsFile))
	}
	if c.cfg.NKeyFile != "" {
		auth++
		opt, err := nats.NkeyOptionFromSeed(c.cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey %s: %w", c.cfg.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if c.cfg.User != "" || c.cfg.Password != "" {
		auth++
		opts = append(opts, nats.UserInfo(c.cfg.User, c.cfg.Password))
	}
	if c.cfg.Token != "" {
		auth++
		opts = append(opts, nats.Token(c.cfg.Token))
	}
	if auth > 1 {
		return nil, errors.New("nats config: set only one of creds file, nkey file, user/password and token")
	}

	tlsCfg, err := c.cfg.TLS.build()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	return opts, nil
}

// build returns nil when t asks for nothing beyond defaults.
func (t TLSConfig) build() (*tls.Config, error) {
	if t == (TLSConfig{}) {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented as development only
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("nats tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats tls ca %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func reconnectDelay(attempts int) time.Duration {
	d := reconnectMax
	if attempts < 8 {
		d = min(reconnectBase<<attempts, reconnectMax)
	}
	return d + rand.N(d/5+1)
}

// jetStream returns the JetStream context, or an error before Init.
func (c *Client) jetStream() (jetstream.JetStream, *nats.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.js == nil {
		return nil, nil, errors.New("natsevents: client not initialized, call Init first")
	}
	return c.js, c.nc, nil
}

// Close closes the connection. The Client cannot be used afterwards.
func (c *Client) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.nc.Close()
	}
}

// redactURL drops user information from each URL of a comma-separated
// list, so logs never carry a password or token.
func redactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil || u.User == nil {
			if err != nil && strings.Contains(p, "@") {
				p = "[unparsable url]"
			}
			parts[i] = p
			continue
		}
		u.User = url.User("redacted")
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
