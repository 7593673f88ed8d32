//go:build integration

package main_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/testpki"
	"github.com/shipshape-dev/shipshape/plan"
)

// serveTLSFor starts a TLS server on 127.0.0.1 with cfg for the test's
// duration and returns its address.
func serveTLSFor(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
				if err := conn.(*tls.Conn).Handshake(); err == nil {
					_, _ = io.Copy(io.Discard, conn)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestTLSCheckExampleDev runs the tls-check example with `starter run
// --dev` against a local TLS server behind a private CA: a well-kept one
// passes every gate; one that accepts TLS 1.0 and weak suites, with a
// certificate ten days from expiry (a warning), fails the run on its key
// gate.
func TestTLSCheckExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ca := testpki.MustCA(t, "e2e-ca")
	now := time.Now()

	good := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{
		ca.MustLeaf(testpki.Leaf{Name: "good", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotAfter: now.Add(90 * 24 * time.Hour)}).TLS,
	}}
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.target="+serveTLSFor(t, good), "--set", "vars.caFile="+ca.CertFile,
		"--report-dir", out, "examples/plans/tls-check.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("tls", "frontend")
	if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v: want pass", r.Result, tr)
	}
	m := tr.Metrics
	if m["tls.min_version"] != 1.2 || m["tls.max_version"] != 1.3 || m["tls.chain_valid"] != 1 || m["tls.hostname_match"] != 1 || m["tls.weak_ciphers"] != 0 {
		t.Errorf("metrics %v", m)
	}
	if len(tr.Tables) != 2 || tr.Tables[0].Title != "TLS" || tr.Tables[1].Title != "Certificates" || len(tr.Tables[1].Rows) != 1 {
		t.Errorf("tables %+v, want the TLS facts and one certificate", tr.Tables)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "CN=good") || !strings.Contains(string(md), "Weak cipher suites accepted") {
		t.Errorf("report.md lacks the TLS tables:\n%s", md)
	}

	legacy := &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{
		ca.MustLeaf(testpki.Leaf{Name: "legacy", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotAfter: now.Add(10 * 24 * time.Hour)}).TLS,
	}, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA}}
	out = t.TempDir()
	res = starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.target="+serveTLSFor(t, legacy), "--set", "vars.caFile="+ca.CertFile,
		"--report-dir", out, "examples/plans/tls-check.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	tr = r.Task("tls", "frontend")
	if r.Result != plan.StatusFail || tr == nil {
		t.Fatalf("result %s, task %+v: want fail", r.Result, tr)
	}
	if m := tr.Metrics; m["tls.min_version"] != 1.0 || m["tls.accepts.tls10"] != 1 || m["tls.weak_ciphers"] != 1 || m["tls.chain_valid"] != 1 {
		t.Errorf("metrics %v", m)
	}
	gates := map[string]plan.Status{}
	for _, g := range tr.Gates {
		gates[g.Metric] = g.Status
	}
	if gates["tls.min_version"] != plan.StatusFail || gates["tls.weak_ciphers"] != plan.StatusFail ||
		gates["tls.cert.expires_in"] != plan.StatusWarning || gates["tls.chain_valid"] != plan.StatusPass {
		t.Errorf("gates %v", gates)
	}
}

// TestTLSCheckRefusesHostsNotAllowed: an address the plan does not allow
// is an invalid plan, before anything starts.
func TestTLSCheckRefusesHostsNotAllowed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.target=db.example.com:5432", "examples/plans/tls-check.yaml")
	if res.code != 3 {
		t.Errorf("exit code %d, want 3 (invalid plan)\n%s", res.code, res.stderr)
	}
	want := `examples/plans/tls-check.yaml:22:22: phases[0].tasks[0].with.address: host "db.example.com:5432" is not allowed`
	if !strings.Contains(res.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
	}
}
