package httpcheck_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/httpcheck"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
)

// newDemoService starts a loopback server shaped like the dev-mode demo
// service: /health with security headers and a JSON body, /fail, /slow,
// redirects and an echo of the request.
func newDemoService(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok","checks":{"db":"up","cache":"degraded"},"items":[{"name":"widget","qty":2}],"ready":true,"version":1.0,"meta":null}`)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusInternalServerError)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		// Headers and the first bytes at once, the rest later: latency
		// must include reading the whole body.
		delay, _ := time.ParseDuration(r.URL.Query().Get("delay"))
		io.WriteString(w, "first half,")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second half")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/health", http.StatusFound)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "body": string(body), "host": r.Host, "token": r.Header.Get("X-Token"),
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheck(t *testing.T) {
	srv := newDemoService(t)
	tests := []struct {
		name        string
		with        map[string]any
		want        tasktest.Kind
		wantErr     []string           // fragments of the error message
		wantMetrics map[string]float64 // compared exactly
		wantOutput  []string           // fragments of the output
		absent      []string           // metrics that must not be reported
	}{{
		name:        "healthy endpoint passes",
		with:        map[string]any{"url": srv.URL + "/health", "requireHeaders": []any{"Strict-Transport-Security", "X-Content-Type-Options"}},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 200, "headers.missing": 0, "http.bytes": 130},
		wantOutput:  []string{"GET " + srv.URL + "/health -> 200 OK"},
		absent:      []string{"tls.days_left"},
	}, {
		name:        "missing headers are counted and named, not failed",
		with:        map[string]any{"url": srv.URL + "/health", "requireHeaders": []any{"Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options"}},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 200, "headers.missing": 2},
		wantOutput:  []string{"missing headers: Content-Security-Policy, X-Frame-Options"},
	}, {
		name: "json paths hold",
		with: map[string]any{"url": srv.URL + "/health", "json": map[string]any{
			"status": "ok", "checks.db": "up", "items[0].name": "widget", "items[0].qty": "2",
			"ready": "true", "version": "1", "meta": "null", "checks": `{"cache":"degraded","db":"up"}`,
		}},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 200},
	}, {
		name: "every json mismatch is listed",
		with: map[string]any{"url": srv.URL + "/health", "json": map[string]any{
			"checks.cache": "up", "items[3].name": "widget", "status.code": "200", "ready": "yes",
		}},
		want: tasktest.CheckFailed,
		wantErr: []string{
			`json checks.cache = degraded, want "up"`,
			`json items[3].name: at items[3]: the array has 1 items`,
			`json status.code: at status.code: parent is a string`,
			`json ready = true, want "yes"`,
		},
		wantMetrics: map[string]float64{"http.status": 200},
	}, {
		name:        "wrong status and body fail together, metrics kept",
		with:        map[string]any{"url": srv.URL + "/fail", "bodyContains": "ok"},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"status 500, want 200", `body does not contain "ok"`},
		wantMetrics: map[string]float64{"http.status": 500, "headers.missing": 0},
		wantOutput:  []string{"500 Internal Server Error", "status 500, want 200"},
	}, {
		name:        "expectStatus 0 accepts any status",
		with:        map[string]any{"url": srv.URL + "/fail", "expectStatus": 0.0, "bodyContains": "unreachable"},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 500},
	}, {
		name:        "body that is not JSON",
		with:        map[string]any{"url": srv.URL + "/fail", "expectStatus": 500.0, "json": map[string]any{"status": "ok"}},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"body is not JSON"},
		wantMetrics: map[string]float64{"http.status": 500},
	}, {
		name:        "redirects are followed",
		with:        map[string]any{"url": srv.URL + "/old", "bodyContains": `"status":"ok"`},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 200},
		wantOutput:  []string{"redirected to " + srv.URL + "/health"},
	}, {
		name:        "redirect checked itself when not followed",
		with:        map[string]any{"url": srv.URL + "/old", "followRedirects": false, "expectStatus": 302.0},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.status": 302},
	}, {
		name:        "redirect not followed fails a 200 expectation",
		with:        map[string]any{"url": srv.URL + "/old", "followRedirects": false},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"status 302, want 200"},
		wantMetrics: map[string]float64{"http.status": 302},
	}, {
		name: "method, body, headers and host are sent",
		with: map[string]any{
			"url": srv.URL + "/echo", "method": "post", "body": "ping",
			"headers": map[string]any{"X-Token": "t0k3n", "Host": "shop.example"},
			"json":    map[string]any{"method": "POST", "body": "ping", "token": "t0k3n", "host": "shop.example"},
		},
		want: tasktest.None,
	}, {
		name:        "body size counts every byte",
		with:        map[string]any{"url": srv.URL + "/big"},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"http.bytes": 1 << 20},
	}, {
		name:    "timeout covers the body",
		with:    map[string]any{"url": srv.URL + "/slow?delay=5s", "timeout": "150ms"},
		want:    tasktest.Retryable,
		wantErr: []string{"no complete response within 150ms"},
	}, {
		name:    "not an http URL",
		with:    map[string]any{"url": "ftp://127.0.0.1/file"},
		want:    tasktest.Invalid,
		wantErr: []string{"want an absolute http:// or https:// URL"},
	}, {
		name:    "relative URL",
		with:    map[string]any{"url": "/health"},
		want:    tasktest.Invalid,
		wantErr: []string{"want an absolute http:// or https:// URL"},
	}, {
		name:    "bad json path",
		with:    map[string]any{"url": srv.URL, "json": map[string]any{"items[x].name": "a"}},
		want:    tasktest.Invalid,
		wantErr: []string{`json: path "items[x].name"`},
	}, {
		name:    "impossible status",
		with:    map[string]any{"url": srv.URL, "expectStatus": 42.0},
		want:    tasktest.Invalid,
		wantErr: []string{"expectStatus 42"},
	}, {
		name:    "missing caFile",
		with:    map[string]any{"url": srv.URL, "caFile": filepath.Join(t.TempDir(), "nope.pem")},
		want:    tasktest.Invalid,
		wantErr: []string{"caFile"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runTask(t, httpcheck.Name, tt.with)
			t.Logf("error: %v", err)
			tasktest.MustKind(t, err, tt.want, tt.wantErr...)
			if tt.want != tasktest.None && tt.want != tasktest.CheckFailed {
				return
			}
			out = tasktest.OutputOf(t, out, err)
			t.Logf("output:\n%s", out.Output)
			tasktest.MustMetrics(t, out.Metrics, tt.wantMetrics, 0, tt.absent...)
			if lat := out.Metrics["http.latency"]; lat <= 0 || lat > 5 {
				t.Errorf("http.latency = %v s, want a small positive number", lat)
			}
			for _, f := range tt.wantOutput {
				if !strings.Contains(out.Output, f) {
					t.Errorf("output %q does not mention %q", out.Output, f)
				}
			}
		})
	}
}

func TestHTTPCheckLatencyIncludesBody(t *testing.T) {
	srv := newDemoService(t)
	out, err := runTask(t, httpcheck.Name, map[string]any{"url": srv.URL + "/slow?delay=300ms", "bodyContains": "second half"})
	tasktest.MustKind(t, err, tasktest.None)
	if lat := out.Metrics["http.latency"]; lat < 0.3 || lat > 5 {
		t.Errorf("http.latency = %v s, want at least the 0.3 s the body took", lat)
	}
}

func TestHTTPCheckConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	_, err = runTask(t, httpcheck.Name, map[string]any{"url": "http://" + addr + "/health"})
	tasktest.MustKind(t, err, tasktest.Retryable, "connection refused")
	// It carries the attempt for the report, and no metrics: nothing was measured.
	if out, ok := taskrun.OutputOf(err); !ok || out.Attempt != 1 || len(out.Metrics) != 0 {
		t.Errorf("a connection error carries %+v (%v); want attempt 1 and no metrics", out, ok)
	}
}

func TestHTTPCheckTLS(t *testing.T) {
	ca := mustCA(t)
	const validDays = 30
	valid := mustTLSServer(t, ca, time.Now().Add(validDays*24*time.Hour))
	expired := mustTLSServer(t, ca, time.Now().Add(-2*24*time.Hour))

	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	// A minute is far more than the test takes, far less than a day.
	const tolerance = 1.0 / (24 * 60)
	tests := []struct {
		name     string
		client   *http.Client
		with     map[string]any
		want     tasktest.Kind
		wantErr  []string
		daysLeft float64
	}{{
		name:     "trusted through caFile",
		with:     map[string]any{"url": valid.URL + "/health", "caFile": ca.file},
		want:     tasktest.None,
		daysLeft: validDays,
	}, {
		name:     "trusted through the worker's HTTP client",
		client:   trusting,
		with:     map[string]any{"url": valid.URL + "/health"},
		want:     tasktest.None,
		daysLeft: validDays,
	}, {
		name:     "unknown CA fails the check, days left still reported",
		with:     map[string]any{"url": valid.URL + "/health"},
		want:     tasktest.CheckFailed,
		wantErr:  []string{"TLS certificate not accepted", "unknown authority"},
		daysLeft: validDays,
	}, {
		name:     "insecureSkipVerify accepts an unknown CA",
		with:     map[string]any{"url": valid.URL + "/health", "insecureSkipVerify": true},
		want:     tasktest.None,
		daysLeft: validDays,
	}, {
		name:     "insecureSkipVerify on top of the worker's client",
		client:   trusting,
		with:     map[string]any{"url": expired.URL + "/health", "insecureSkipVerify": true},
		want:     tasktest.None,
		daysLeft: -2,
	}, {
		name:     "expired certificate fails with negative days left",
		with:     map[string]any{"url": expired.URL + "/health", "caFile": ca.file},
		want:     tasktest.CheckFailed,
		wantErr:  []string{"expired"},
		daysLeft: -2,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tasktest.Run(t, httpcheck.New(tt.client, nil).Type(), tt.with)
			t.Logf("error: %v", err)
			tasktest.MustKind(t, err, tt.want, tt.wantErr...)
			out = tasktest.OutputOf(t, out, err)
			t.Logf("output:\n%s", out.Output)
			tasktest.MustMetrics(t, out.Metrics, map[string]float64{"tls.days_left": tt.daysLeft}, tolerance)
			if tt.want == tasktest.None {
				tasktest.MustMetrics(t, out.Metrics, map[string]float64{"http.status": 200}, 0)
			}
		})
	}
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	file string // the CA certificate as PEM
}

func mustCA(t testing.TB) testCA {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Shipshape test CA"},
		NotBefore:             time.Now().Add(-7 * 24 * time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCA{cert: cert, key: key, pool: pool, file: file}
}

// mustTLSServer starts a loopback HTTPS server whose certificate, signed
// by ca for 127.0.0.1, expires at notAfter.
func mustTLSServer(t testing.TB, ca testCA, notAfter time.Time) *httptest.Server {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-5 * 24 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(newDemoService(t).Config.Handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake errors are what some cases test
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
