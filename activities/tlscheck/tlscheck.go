package tlscheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Checker runs tls-check tasks. It needs no client: it dials the servers
// itself.
type Checker struct {
	logger *slog.Logger
}

// New returns a Checker logging to logger (nil: discard).
func New(logger *slog.Logger) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{logger: logger}
}

// Type is the tls-check task type, run by c.
func (c *Checker) Type() task.Type { return task.Type{Decl: Decl, Run: c.Run} }

// Run checks one server. It fails when no handshake completes at all;
// everything it finds once one does (old versions, an invalid chain, a
// name mismatch, an expiring certificate) is a metric for the gates.
func (c *Checker) Run(ctx context.Context, in task.Input) (task.Output, error) {
	srv, roots, err := parse(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	out := task.Output{Metrics: map[string]float64{}}

	// The handshake a client with Go's full range of versions and suites
	// would make: the negotiated terms and the certificates.
	state, err := srv.handshake(ctx, srv.config(tls.VersionTLS10, tls.VersionTLS13, allSuites()))
	if err != nil {
		if ctx.Err() != nil {
			return task.Output{}, fmt.Errorf("tls-check %s: %w", srv.address, ctx.Err())
		}
		return task.Output{}, task.Failed(out, false, "%s", describeFailure(srv, err))
	}
	probes, err := srv.probeVersions(ctx)
	if err != nil {
		return task.Output{}, fmt.Errorf("tls-check %s: probe versions: %w", srv.address, err)
	}
	weak, err := srv.probeWeakSuites(ctx)
	if err != nil {
		return task.Output{}, fmt.Errorf("tls-check %s: probe weak cipher suites: %w", srv.address, err)
	}

	now := time.Now()
	certs := checkChain(state.PeerCertificates, roots, srv.serverName, now)
	f := facts{server: srv, state: state, probes: probes, weak: weak, certs: certs}
	f.metrics(out.Metrics, now)
	out.Output = f.summary(now)
	out.Tables = []plan.Table{f.table(), f.certificateTable()}

	c.logger.InfoContext(ctx, "tls check",
		slog.String("task", in.Task), slog.String("address", srv.address),
		slog.String("version", tls.VersionName(state.Version)), slog.String("cipher", tls.CipherSuiteName(state.CipherSuite)),
		slog.Float64("min_version", out.Metrics["tls.min_version"]), slog.Int("weak_ciphers", len(weak)),
		slog.Bool("chain_valid", certs.chainErr == nil), slog.Bool("hostname_match", certs.nameErr == nil))
	return out, nil
}

// parse checks a task's parameters and reads caFile (nil roots: the
// system's).
func parse(p task.Params) (server, *x509.CertPool, error) {
	srv := server{
		address:    strings.TrimSpace(p.String("address")),
		serverName: strings.TrimSpace(p.String("serverName")),
		starttls:   p.String("starttls"),
		timeout:    p.Duration("timeout"),
	}
	host, _, err := net.SplitHostPort(srv.address)
	if err != nil || host == "" {
		return server{}, nil, task.InvalidParams("address %q must be host:port", srv.address)
	}
	if srv.serverName == "" {
		srv.serverName = host
	}
	switch srv.starttls {
	case "":
		srv.starttls = startNone
	case startNone, startSMTP, startPostgres:
	default:
		return server{}, nil, task.InvalidParams("starttls %q: want none, smtp or postgres", srv.starttls)
	}
	if srv.timeout <= 0 {
		srv.timeout = 10 * time.Second
	}
	file := p.String("caFile")
	if file == "" {
		return srv, nil, nil
	}
	pem, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return server{}, nil, task.InvalidParams("caFile: %v", err)
	}
	if err != nil {
		return server{}, nil, fmt.Errorf("read caFile: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return server{}, nil, task.InvalidParams("caFile %s: no PEM certificate found", file)
	}
	return srv, roots, nil
}

// describeFailure says why no handshake completed, for the task's error.
func describeFailure(srv server, err error) string {
	var pe *probeError
	if !errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", srv.address, err)
	}
	switch {
	case pe.stage == stageConnect && pe.timedOut:
		return fmt.Sprintf("connect to %s: no connection within %s (timeout): %v", srv.address, srv.timeout, pe.err)
	case pe.stage == stageConnect:
		return fmt.Sprintf("connect to %s: %v", srv.address, pe.err)
	case pe.stage == stageStartTLS && pe.timedOut:
		return fmt.Sprintf("%s accepted the connection but did not finish %s STARTTLS within %s (timeout): %v", srv.address, srv.starttls, srv.timeout, pe.err)
	case pe.stage == stageStartTLS:
		return fmt.Sprintf("%s: %s STARTTLS: %v", srv.address, srv.starttls, pe.err)
	case pe.timedOut:
		return fmt.Sprintf("%s accepted the connection but did not complete a TLS handshake within %s (timeout): the server hangs mid-handshake", srv.address, srv.timeout)
	case pe.refused():
		return fmt.Sprintf("%s refused every TLS handshake offered (TLS 1.0 to 1.3, every cipher suite Go implements): %v", srv.address, pe.err)
	default:
		return fmt.Sprintf("%s did not answer a TLS handshake: %v (is it a TLS port?)", srv.address, pe.err)
	}
}

// chainCheck is what the check found of the certificates a server sent.
type chainCheck struct {
	certs []*x509.Certificate
	// verified is the chain that verified, leaf first, root last; nil when
	// none did.
	verified []*x509.Certificate
	chainErr error
	nameErr  error
}

// checkChain verifies the certificates a server sent against roots (nil:
// the system's) at now, and the leaf's name against serverName, apart so
// the report can tell an untrusted chain from a wrong name.
func checkChain(certs []*x509.Certificate, roots *x509.CertPool, serverName string, now time.Time) chainCheck {
	c := chainCheck{certs: certs}
	if len(certs) == 0 {
		c.chainErr = errors.New("the server sent no certificate")
		c.nameErr = c.chainErr
		return c
	}
	intermediates := x509.NewCertPool()
	for _, cert := range certs[1:] {
		intermediates.AddCert(cert)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now})
	if err == nil && len(chains) > 0 {
		c.verified = chains[0]
	}
	c.chainErr = err
	c.nameErr = certs[0].VerifyHostname(serverName)
	return c
}

// chainExpiry is when the first certificate of the chain above the leaf
// expires: the intermediates sent and the root verified to.
func (c chainCheck) chainExpiry() (time.Time, bool) {
	var first time.Time
	var above []*x509.Certificate
	if len(c.certs) > 1 {
		above = append(above, c.certs[1:]...)
	}
	if len(c.verified) > 1 {
		above = append(above, c.verified[1:]...)
	}
	for _, cert := range above {
		if first.IsZero() || cert.NotAfter.Before(first) {
			first = cert.NotAfter
		}
	}
	return first, !first.IsZero()
}

// keyInfo names a certificate's key and its size in bits.
func keyInfo(cert *x509.Certificate) (name string, bits int) {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return cert.PublicKeyAlgorithm.String(), 0
}
