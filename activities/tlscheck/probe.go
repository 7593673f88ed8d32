package tlscheck

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// versions are the TLS versions probed, oldest first.
var versions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// server is a tls-check task's target, its parameters checked.
type server struct {
	address    string
	serverName string
	starttls   string
	timeout    time.Duration
}

// Stages of a connection, where a probe can fail.
const (
	stageConnect   = "connect"
	stageStartTLS  = "starttls"
	stageHandshake = "handshake"
)

// probeError is why one connection did not complete its handshake.
type probeError struct {
	stage string
	// timedOut: the stage did not finish within the timeout.
	timedOut bool
	err      error
}

func (e *probeError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

// refused reports whether the server answered the handshake with a TLS
// alert: it speaks TLS but not on the terms offered.
func (e *probeError) refused() bool {
	var op *net.OpError
	return e.stage == stageHandshake && errors.As(e.err, &op) && op.Op == "remote error"
}

// config is a client configuration offering the versions from min to max
// and the cipher suites (for TLS 1.2 and older; nil: Go's defaults).
// Verification is left to the check, which reports on it rather than
// refusing the connection.
func (s server) config(minVersion, maxVersion uint16, suites []uint16) *tls.Config {
	return &tls.Config{
		ServerName:         s.serverName,
		InsecureSkipVerify: true, //nolint:gosec // the chain and name are verified by the check itself
		MinVersion:         minVersion,
		MaxVersion:         maxVersion,
		CipherSuites:       suites,
	}
}

// handshake connects, upgrades the connection as starttls says, completes
// a TLS handshake offering cfg, and returns what was negotiated. The
// timeout bounds all of it.
func (s server) handshake(ctx context.Context, cfg *tls.Config) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fail := func(stage string, err error) (tls.ConnectionState, error) {
		var netErr net.Error
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
		return tls.ConnectionState{}, &probeError{stage: stage, timedOut: timedOut, err: err}
	}
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", s.address)
	if err != nil {
		return fail(stageConnect, err)
	}
	defer raw.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(deadline); err != nil {
			return fail(stageConnect, err)
		}
	}
	switch s.starttls {
	case startSMTP:
		err = startTLSSMTP(raw)
	case startPostgres:
		err = startTLSPostgres(raw)
	}
	if err != nil {
		return fail(stageStartTLS, err)
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return fail(stageHandshake, err)
	}
	return conn.ConnectionState(), nil
}

// startTLSSMTP greets an SMTP server and asks it for STARTTLS (RFC 3207).
func startTLSSMTP(conn net.Conn) error {
	text := textproto.NewConn(conn)
	if _, _, err := text.ReadResponse(220); err != nil {
		return fmt.Errorf("SMTP greeting: %w", err)
	}
	if err := text.PrintfLine("EHLO shipshape.invalid"); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	_, msg, err := text.ReadResponse(250)
	if err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	offered := slices.ContainsFunc(strings.Split(msg, "\n"), func(line string) bool {
		return strings.EqualFold(strings.TrimSpace(line), "STARTTLS")
	})
	if !offered {
		return fmt.Errorf("the SMTP server does not offer STARTTLS (EHLO answered %q)", msg)
	}
	if err := text.PrintfLine("STARTTLS"); err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	if _, _, err := text.ReadResponse(220); err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	return nil
}

// sslRequestCode is PostgreSQL's SSLRequest message code.
const sslRequestCode = 80877103

// startTLSPostgres sends PostgreSQL's SSLRequest; the server answers S
// when it will speak TLS next.
func startTLSPostgres(conn net.Conn) error {
	msg := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), sslRequestCode)
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("PostgreSQL SSLRequest: %w", err)
	}
	answer := make([]byte, 1)
	if _, err := io.ReadFull(conn, answer); err != nil {
		return fmt.Errorf("PostgreSQL SSLRequest: %w", err)
	}
	switch answer[0] {
	case 'S':
		return nil
	case 'N':
		return errors.New("the PostgreSQL server does not accept SSL (it answered N to SSLRequest: ssl is off)")
	default:
		return fmt.Errorf("PostgreSQL SSLRequest: unexpected answer %q: is this a PostgreSQL server?", answer[0])
	}
}

// versionResult is one TLS version probe's outcome.
type versionResult struct {
	version  uint16
	accepted bool
	// err is why the handshake failed, when it did.
	err *probeError
}

// probeVersions tries a handshake at each TLS version alone, offering
// every cipher suite Go implements, so that only the version decides.
func (s server) probeVersions(ctx context.Context) ([]versionResult, error) {
	suites := allSuites()
	results := make([]versionResult, 0, len(versions))
	for _, v := range versions {
		_, err := s.handshake(ctx, s.config(v, v, suites))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r := versionResult{version: v, accepted: err == nil}
		errors.As(err, &r.err)
		results = append(results, r)
	}
	return results, nil
}

// probeWeakSuites counts the insecure cipher suites the server accepts in
// TLS 1.2 and older: it offers them all, takes away the one the server
// picks, and offers the rest again until the server refuses.
func (s server) probeWeakSuites(ctx context.Context) ([]uint16, error) {
	var offer []uint16
	for _, cs := range tls.InsecureCipherSuites() {
		if slices.ContainsFunc(cs.SupportedVersions, func(v uint16) bool { return v <= tls.VersionTLS12 }) {
			offer = append(offer, cs.ID)
		}
	}
	var accepted []uint16
	for len(offer) > 0 {
		state, err := s.handshake(ctx, s.config(tls.VersionTLS10, tls.VersionTLS12, offer))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil || !slices.Contains(offer, state.CipherSuite) {
			break
		}
		accepted = append(accepted, state.CipherSuite)
		offer = slices.DeleteFunc(offer, func(id uint16) bool { return id == state.CipherSuite })
	}
	return accepted, nil
}

// allSuites lists every TLS 1.0–1.2 cipher suite Go implements, secure and
// insecure, so a handshake fails on the version or the certificate, not
// for want of a common suite.
func allSuites() []uint16 {
	var ids []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, cs.ID)
	}
	return ids
}

// versionNumber is a TLS version as a gate reads it: 1.0 to 1.3.
func versionNumber(v uint16) float64 {
	switch v {
	case tls.VersionTLS10:
		return 1.0
	case tls.VersionTLS11:
		return 1.1
	case tls.VersionTLS12:
		return 1.2
	case tls.VersionTLS13:
		return 1.3
	}
	return 0
}
