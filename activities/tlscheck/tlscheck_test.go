package tlscheck_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/activities/tlscheck"
	"github.com/shipshape-dev/shipshape/internal/testpki"
	"github.com/shipshape-dev/shipshape/plan"
)

const day = 24 * time.Hour

// loopback is the address every test server's certificate is for, unless
// the test says otherwise.
var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}

// listen starts a TCP listener on 127.0.0.1 that hands each connection to
// handle, and stops it and its connections when the test ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				handle(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveTLS starts a TLS server with cfg that completes handshakes and
// then reads until the client hangs up.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	return listen(t, func(conn net.Conn) { handshakeAndDrain(tls.Server(conn, cfg)) })
}

func handshakeAndDrain(conn *tls.Conn) {
	if err := conn.Handshake(); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, conn)
}

// config is a server configuration presenting pair, with TLS 1.2 and
// newer (Go's server defaults) unless the test changes it.
func config(pair testpki.Pair) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{pair.TLS}, MinVersion: tls.VersionTLS12}
}

func check(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, tlscheck.New(nil).Type(), with)
}

func mustCheck(t *testing.T, with map[string]any) task.Output {
	t.Helper()
	out, err := check(t, with)
	if err != nil {
		t.Fatalf("tls-check: %v", err)
	}
	return out
}

// wantMetrics fails the test unless every metric has its wanted value.
func wantMetrics(t *testing.T, m map[string]float64, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		got, ok := m[name]
		if !ok {
			t.Errorf("metric %s missing (metrics %v)", name, m)
		} else if math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

// wantAbout fails the test unless the metric, in seconds, is within a
// minute of want.
func wantAbout(t *testing.T, m map[string]float64, name string, want time.Duration) {
	t.Helper()
	got, ok := m[name]
	if !ok || math.Abs(got-want.Seconds()) > 60 {
		t.Errorf("%s = %v (reported %v), want about %v (%vs)", name, got, ok, want, want.Seconds())
	}
}

func tableRow(t *testing.T, out task.Output, title, first string) []string {
	t.Helper()
	for _, tab := range out.Tables {
		if tab.Title != title {
			continue
		}
		for _, row := range tab.Rows {
			if row[0] == first {
				return row
			}
		}
	}
	t.Fatalf("no row %q in table %q: %+v", first, title, out.Tables)
	return nil
}

// TestModernServer: a server of Go's defaults (TLS 1.2 and 1.3) behind a
// private CA: a valid chain with caFile, not without it; the report
// tables name the negotiated terms and the certificate.
func TestModernServer(t *testing.T) {
	ca := testpki.MustCA(t, "shop-ca")
	addr := serveTLS(t, config(ca.MustServer("shop")))

	out := mustCheck(t, map[string]any{"address": addr, "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{
		"tls.accepts.tls10": 0, "tls.accepts.tls11": 0, "tls.accepts.tls12": 1, "tls.accepts.tls13": 1,
		"tls.min_version": 1.2, "tls.max_version": 1.3, "tls.weak_ciphers": 0,
		"tls.chain_valid": 1, "tls.hostname_match": 1, "tls.cert.key_bits": 256, "tls.ocsp_stapled": 0,
	})
	wantAbout(t, out.Metrics, "tls.cert.expires_in", day)
	wantAbout(t, out.Metrics, "tls.chain.expires_in", day) // the CA, from caFile
	if _, ok := out.Metrics["tls.cert.rsa_key_bits"]; ok {
		t.Errorf("tls.cert.rsa_key_bits reported for an ECDSA key")
	}
	if row := tableRow(t, out, "TLS", "Negotiated"); row[1] != "TLS 1.3, TLS_AES_128_GCM_SHA256" && row[1] != "TLS 1.3, TLS_AES_256_GCM_SHA384" && row[1] != "TLS 1.3, TLS_CHACHA20_POLY1305_SHA256" {
		t.Errorf("negotiated %q", row[1])
	}
	leaf := tableRow(t, out, "Certificates", "0")
	if leaf[1] != "CN=shop" || leaf[2] != "CN=shop-ca" || leaf[3] != "localhost, 127.0.0.1, ::1" || leaf[5] != "ECDSA P-256 256 bits" || leaf[6] != "ECDSA-SHA256" {
		t.Errorf("certificate row %q", leaf)
	}
	if !strings.Contains(out.Output, addr+": TLS 1.3") || !strings.Contains(out.Output, "chain: valid") {
		t.Errorf("output:\n%s", out.Output)
	}

	// Without caFile the system's roots do not know the CA.
	out = mustCheck(t, map[string]any{"address": addr})
	wantMetrics(t, out.Metrics, map[string]float64{"tls.chain_valid": 0, "tls.hostname_match": 1})
	if row := tableRow(t, out, "TLS", "Chain"); !strings.Contains(row[1], "unknown authority") {
		t.Errorf("chain row %q", row)
	}
	if _, ok := out.Metrics["tls.chain.expires_in"]; ok {
		t.Errorf("tls.chain.expires_in reported for a lone leaf that does not verify")
	}
}

// TestLegacyServer: TLS 1.0 allowed, and insecure cipher suites too.
func TestLegacyServer(t *testing.T) {
	ca := testpki.MustCA(t, "legacy-ca")
	cfg := config(ca.MustServer("legacy"))
	cfg.MinVersion = tls.VersionTLS10
	cfg.CipherSuites = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	}
	addr := serveTLS(t, cfg)

	out := mustCheck(t, map[string]any{"address": addr, "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{
		"tls.accepts.tls10": 1, "tls.accepts.tls11": 1, "tls.accepts.tls12": 1, "tls.accepts.tls13": 1,
		"tls.min_version": 1.0, "tls.max_version": 1.3, "tls.weak_ciphers": 2, "tls.chain_valid": 1,
	})
	row := tableRow(t, out, "TLS", "Weak cipher suites accepted")
	for _, suite := range []string{"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"} {
		if !strings.Contains(row[1], suite) {
			t.Errorf("weak suites %q lack %s", row[1], suite)
		}
	}
}

// TestTLS13Only: a server refusing everything older than TLS 1.3.
func TestTLS13Only(t *testing.T) {
	ca := testpki.MustCA(t, "ca")
	cfg := config(ca.MustServer("modern"))
	cfg.MinVersion = tls.VersionTLS13
	addr := serveTLS(t, cfg)

	out := mustCheck(t, map[string]any{"address": addr, "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{
		"tls.accepts.tls10": 0, "tls.accepts.tls11": 0, "tls.accepts.tls12": 0, "tls.accepts.tls13": 1,
		"tls.min_version": 1.3, "tls.max_version": 1.3, "tls.weak_ciphers": 0,
	})
	if row := tableRow(t, out, "TLS", "TLS 1.2"); !strings.Contains(row[1], "refused (handshake: remote error: tls: protocol version not supported)") {
		t.Errorf("TLS 1.2 row %q", row)
	}
}

// TestCertificates: what the check makes of each certificate problem.
func TestCertificates(t *testing.T) {
	ca := testpki.MustCA(t, "ca")
	now := time.Now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	selfSigned := testpki.MustSelfSigned(t, testpki.Leaf{Name: "self", IPs: loopback})
	tests := []struct {
		name   string
		pair   testpki.Pair
		with   map[string]any
		want   map[string]float64
		expiry time.Duration
		row    string // in the TLS table's Chain or Hostname rows
	}{
		{
			name:   "expired",
			pair:   ca.MustLeaf(testpki.Leaf{Name: "expired", IPs: loopback, NotBefore: now.Add(-10 * day), NotAfter: now.Add(-2 * day)}),
			want:   map[string]float64{"tls.chain_valid": 0, "tls.hostname_match": 1},
			expiry: -2 * day,
			row:    "certificate has expired or is not yet valid",
		},
		{
			name:   "expiring in 5 days",
			pair:   ca.MustLeaf(testpki.Leaf{Name: "soon", IPs: loopback, NotAfter: now.Add(5 * day)}),
			want:   map[string]float64{"tls.chain_valid": 1, "tls.hostname_match": 1},
			expiry: 5 * day,
		},
		{
			name:   "RSA 1024",
			pair:   ca.MustLeaf(testpki.Leaf{Name: "rsa", IPs: loopback, Key: rsaKey}),
			want:   map[string]float64{"tls.chain_valid": 1, "tls.cert.key_bits": 1024, "tls.cert.rsa_key_bits": 1024},
			expiry: day,
		},
		{
			name:   "hostname mismatch",
			pair:   ca.MustLeaf(testpki.Leaf{Name: "other", DNSNames: []string{"other.example"}}),
			want:   map[string]float64{"tls.chain_valid": 1, "tls.hostname_match": 0},
			expiry: day,
			row:    "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
		},
		{
			name:   "serverName",
			pair:   ca.MustLeaf(testpki.Leaf{Name: "named", DNSNames: []string{"shop.example"}}),
			with:   map[string]any{"serverName": "shop.example"},
			want:   map[string]float64{"tls.chain_valid": 1, "tls.hostname_match": 1},
			expiry: day,
		},
		{
			name:   "self-signed",
			pair:   selfSigned,
			with:   map[string]any{"caFile": ""},
			want:   map[string]float64{"tls.chain_valid": 0, "tls.hostname_match": 1},
			expiry: day,
			row:    "certificate signed by unknown authority",
		},
		{
			name:   "self-signed with caFile",
			pair:   selfSigned,
			with:   map[string]any{"caFile": selfSigned.CertFile},
			want:   map[string]float64{"tls.chain_valid": 1, "tls.hostname_match": 1},
			expiry: day,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, config(tt.pair))
			with := map[string]any{"address": addr, "caFile": ca.CertFile}
			for k, v := range tt.with {
				with[k] = v
			}
			if with["caFile"] == "" {
				delete(with, "caFile")
			}
			out := mustCheck(t, with)
			wantMetrics(t, out.Metrics, tt.want)
			wantAbout(t, out.Metrics, "tls.cert.expires_in", tt.expiry)
			if tt.row != "" {
				chain, name := tableRow(t, out, "TLS", "Chain"), tableRow(t, out, "TLS", "Hostname")
				if !strings.Contains(chain[1]+name[1], tt.row) {
					t.Errorf("chain %q, hostname %q: want %q", chain[1], name[1], tt.row)
				}
			}
		})
	}
}

// TestOCSPStapled: a stapled response is reported (its content is the
// server's business; the check only says one is there).
func TestOCSPStapled(t *testing.T) {
	ca := testpki.MustCA(t, "ca")
	pair := ca.MustServer("stapled")
	pair.TLS.OCSPStaple = []byte("a stapled OCSP response")
	addr := serveTLS(t, config(pair))
	out := mustCheck(t, map[string]any{"address": addr, "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{"tls.ocsp_stapled": 1})
}

// TestHandshakeTimeout: a server that accepts the connection and never
// answers fails the task once the timeout is up, saying so.
func TestHandshakeTimeout(t *testing.T) {
	addr := listen(t, func(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) })
	start := time.Now()
	_, err := check(t, map[string]any{"address": addr, "timeout": "500ms"})
	tasktest.MustKind(t, err, tasktest.Retryable, addr+" accepted the connection but did not complete a TLS handshake within 500ms (timeout)")
	t.Log(err)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s for a 500ms timeout", took)
	}
}

// TestNotTLS: a port that speaks something else (here, echoes) is not
// taken for a TLS server.
func TestNotTLS(t *testing.T) {
	addr := listen(t, func(conn net.Conn) { _, _ = io.Copy(conn, conn) })
	_, err := check(t, map[string]any{"address": addr})
	tasktest.MustKind(t, err, tasktest.Retryable, addr+" did not answer a TLS handshake: ")
	t.Log(err)

	// Nor is an HTTP server.
	addr = listen(t, func(conn net.Conn) {
		_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	_, err = check(t, map[string]any{"address": addr})
	tasktest.MustKind(t, err, tasktest.Retryable, addr+" did not answer a TLS handshake: ")
	t.Log(err)
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = check(t, map[string]any{"address": addr})
	tasktest.MustKind(t, err, tasktest.Retryable, "connect to "+addr+": ", "refused")
}

func TestInvalidParams(t *testing.T) {
	_, err := check(t, map[string]any{"address": "127.0.0.1:1", "caFile": filepath.Join(t.TempDir(), "missing.pem")})
	tasktest.MustKind(t, err, tasktest.Invalid, "caFile: ", "no such file")
	_, err = check(t, map[string]any{"address": "127.0.0.1"})
	tasktest.MustKind(t, err, tasktest.Invalid, `address "127.0.0.1" must be host:port`)
}

// fakeSMTP is a protocol-level fake of an SMTP server's side of STARTTLS
// (RFC 3207): a greeting, EHLO, STARTTLS, then TLS. offer says whether it
// offers STARTTLS.
func fakeSMTP(t *testing.T, cfg *tls.Config, offer bool) string {
	t.Helper()
	return listen(t, func(conn net.Conn) {
		r := bufio.NewReader(conn)
		_, _ = io.WriteString(conn, "220 mail.test ESMTP ready\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				if offer {
					_, _ = io.WriteString(conn, "250-mail.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
				} else {
					_, _ = io.WriteString(conn, "250-mail.test\r\n250 PIPELINING\r\n")
				}
			case cmd == "STARTTLS":
				_, _ = io.WriteString(conn, "220 go ahead\r\n")
				handshakeAndDrain(tls.Server(conn, cfg))
				return
			default:
				_, _ = io.WriteString(conn, "502 unknown command\r\n")
			}
		}
	})
}

func TestSMTPStartTLS(t *testing.T) {
	ca := testpki.MustCA(t, "mail-ca")
	cfg := config(ca.MustServer("mail"))
	out := mustCheck(t, map[string]any{"address": fakeSMTP(t, cfg, true), "starttls": "smtp", "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{"tls.chain_valid": 1, "tls.min_version": 1.2, "tls.max_version": 1.3})
	if row := tableRow(t, out, "TLS", "STARTTLS"); row[1] != "smtp" {
		t.Errorf("STARTTLS row %q", row)
	}

	addr := fakeSMTP(t, cfg, false)
	_, err := check(t, map[string]any{"address": addr, "starttls": "smtp"})
	tasktest.MustKind(t, err, tasktest.Retryable, addr+": smtp STARTTLS: the SMTP server does not offer STARTTLS")
}

// fakePostgres is a protocol-level fake of PostgreSQL's SSLRequest: it
// reads the 8-byte request and answers S, then speaks TLS, or N.
func fakePostgres(t *testing.T, cfg *tls.Config, ssl bool) string {
	t.Helper()
	return listen(t, func(conn net.Conn) {
		req := make([]byte, 8)
		if _, err := io.ReadFull(conn, req); err != nil || string(req) != "\x00\x00\x00\x08\x04\xd2\x16\x2f" {
			return
		}
		if !ssl {
			_, _ = conn.Write([]byte("N"))
			return
		}
		_, _ = conn.Write([]byte("S"))
		handshakeAndDrain(tls.Server(conn, cfg))
	})
}

func TestPostgresSSLRequest(t *testing.T) {
	ca := testpki.MustCA(t, "pg-ca")
	cfg := config(ca.MustServer("pg"))
	out := mustCheck(t, map[string]any{"address": fakePostgres(t, cfg, true), "starttls": "postgres", "caFile": ca.CertFile})
	wantMetrics(t, out.Metrics, map[string]float64{"tls.chain_valid": 1, "tls.hostname_match": 1})

	addr := fakePostgres(t, cfg, false)
	_, err := check(t, map[string]any{"address": addr, "starttls": "postgres"})
	tasktest.MustKind(t, err, tasktest.Retryable, addr+": postgres STARTTLS: the PostgreSQL server does not accept SSL")
}

// TestDeclaration: the declaration is in the registry, complete, and its
// example plan loads; an address the plan does not allow is refused.
func TestDeclaration(t *testing.T) {
	decl, ok := all.Catalog()[tlscheck.Name]
	if !ok {
		t.Fatalf("%s is not in the registry", tlscheck.Name)
	}
	for _, p := range decl.Params {
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
	}
	for _, m := range decl.Metrics {
		if m.Doc == "" || m.Unit == "" {
			t.Errorf("metric %s: unit %q, doc %q", m.Name, m.Unit, m.Doc)
		}
	}
	file := filepath.Join("..", "..", "examples", "plans", "tls-check.yaml")
	p, err := plan.Load(file, all.Catalog(), nil)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	if task := p.Spec.Phases[0].Tasks[0]; task.Uses != tlscheck.Name {
		t.Errorf("%s: first task uses %s", file, task.Uses)
	}
	_, err = plan.Load(file, all.Catalog(), map[string]string{"target": "db.example.com:5432"})
	var errs plan.Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), `with.address: host "db.example.com:5432" is not allowed`) {
		t.Errorf("target outside allowedHosts: %v", err)
	}
}
