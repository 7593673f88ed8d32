//go:build integration

package main_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/azureposture/armfake"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3test"
	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/internal/testpki"
	"github.com/shipshape-dev/shipshape/plan"
)

// healthyPrometheus starts a real Prometheus scraping an exporter of a
// healthy service: 0.01 % of its requests fail.
func healthyPrometheus(t *testing.T) string {
	t.Helper()
	exp := promtest.NewExporter(t)
	exp.Traffic(t, map[string]float64{`http_requests_total{code="200"}`: 9999, `http_requests_total{code="500"}`: 1})
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_requests_total")
	time.Sleep(3 * time.Second) // two scrapes or more: rates exist
	return prom.URL
}

// osvDB returns the shared advisory database of an ecosystem.
func osvDB(t *testing.T, ecosystem string) string {
	t.Helper()
	db := filepath.Join(repoRoot, "..", "shared", "data", "osv-"+ecosystem, "entries")
	if _, err := os.Stat(db); err != nil {
		testenv.Missing(t, "the shared advisory database at "+db, "it lives outside the repository, in shared/data")
	}
	return db
}

// TestPythonS3ProgrammeDev runs examples/programmes/python-s3.yaml, a
// whole readiness programme built on the organisation's baseline
// fragment, with `starter run --dev` against local stand-ins: the dev demo
// service as the API, a real PostgreSQL as the production database, an
// in-process S3 server for the backups, a real Prometheus scraping a
// healthy service for the post-deployment watch and the uptime SLO, the
// real PyPA advisory database, and the fixtures under
// examples/programmes/testdata. Every gate of the readiness metrics table
// passes and the run scores at least 90.
func TestPythonS3ProgrammeDev(t *testing.T) {
	osv := osvDB(t, "pypi")
	_, db, scratch := drillSource(t)
	backups := s3test.Start(t, "backups").URL("app/")
	prom := healthyPrometheus(t)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	demo := freeAddr(t)
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--approve-all", "--state-dir", t.TempDir(), "--demo-addr", demo,
		"--set", "vars.apiURL=http://"+demo, "--set", "vars.databaseURL="+db, "--set", "vars.backups="+backups,
		"--set", "vars.prometheus="+prom, "--set", "vars.osvDB="+osv, "--set", "vars.watchFor=6s", "--set", "vars.watchEvery=2s", "--set", "vars.watchTimeout=10m",
		"--report-dir", out, "examples/programmes/python-s3.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	r := readReport(t, out)
	if res.code != 0 || r.Result != plan.StatusPass || r.Score < 90 {
		t.Fatalf("exit %d, result %s, score %.1f: want a pass of at least 90", res.code, r.Result, r.Score)
	}
	// The readiness metrics table, gate by gate.
	for _, c := range []struct{ phase, task, metric string }{
		{"quality", "unit-coverage", "coverage.lines"},
		{"pre-deployment", "dependencies", "vulns.high"},
		{"edge", "api-health", "headers.missing"},
		{"recovery", "restore-drill", "drill.verify.mismatches"},
		{"pre-deployment", "build", "command.duration"},
		{"pre-deployment", "bundle", "artifact.total_gzip"},
		{"pre-deployment", "type-check", "findings.error"},
		{"deployment", "api-latency", "http.latency.p95"},
		{"post-deployment", "error-watch", "watch.p95"},
		{"post-deployment", "uptime", "slo.availability"},
	} {
		tr := r.Task(c.phase, c.task)
		if tr == nil {
			t.Errorf("%s/%s missing from the report", c.phase, c.task)
			continue
		}
		found := false
		for _, g := range tr.Gates {
			if g.Metric == c.metric {
				found = true
				if g.Status != plan.StatusPass {
					t.Errorf("%s/%s gate %s: %s (value %v)", c.phase, c.task, c.metric, g.Status, g.Value)
				}
			}
		}
		if !found {
			t.Errorf("%s/%s has no gate on %s", c.phase, c.task, c.metric)
		}
	}
	if m := r.Task("quality", "unit-coverage").Metrics; m["coverage.lines"] != 0.86 {
		t.Errorf("coverage %v, want the fixture's 86 %%", m)
	}
	if m := r.Task("post-deployment", "error-watch").Metrics; m["watch.samples"] < 3 {
		t.Errorf("watch took %v samples", m["watch.samples"])
	}
	mustBeClean(t, scratch)
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if strings.Contains(string(md), "password=") {
		t.Error("report.md holds a password")
	}
}

// TestGoAzureProgrammeDev runs examples/programmes/go-azure.yaml, a Go
// API with React and mobile clients on Azure, built on the same baseline,
// with `starter run --dev --approve-all` against local stand-ins: the dev
// demo service as the API, a real PostgreSQL (backup, restore drill and a
// migration rehearsal of examples/migrations), a TLS front door behind a
// private CA, the local secret store (the JWT key rotated, the database
// password's age), a real Prometheus, the protocol-level fake of Azure
// Resource Manager for the posture, two versions of a service to roll
// back between, the real Go advisory database and the task types'
// fixtures. The run passes with every phase done and the go-live approved.
func TestGoAzureProgrammeDev(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		testenv.Missing(t, "psql", "apt-get install postgresql-client")
	}
	osv := osvDB(t, "go")
	_, db, scratch := drillSource(t)
	prom := healthyPrometheus(t)

	// The front door's TLS, behind a private CA.
	ca := testpki.MustCA(t, "programme-ca")
	front := serveTLSFor(t, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{
		ca.MustLeaf(testpki.Leaf{Name: "front", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotAfter: time.Now().Add(90 * 24 * time.Hour)}).TLS,
	}})

	// Azure, as its Resource Manager describes the programme's resources.
	const subscription = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	arm := armfake.Start(t, subscription)
	certs := filepath.Join(t.TempDir(), "armfake.pem")
	if err := os.WriteFile(certs, arm.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The worker trusts the fake's certificate, and the private CA of
	// the front door comes through caFile.
	t.Setenv("SSL_CERT_FILE", certs)
	t.Setenv("IDENTITY_ENDPOINT", arm.IdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", armfake.IdentityHeader)
	for _, v := range []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS", "MSI_ENDPOINT", "IMDS_ENDPOINT"} {
		unsetenv(t, v)
	}
	tags := map[string]string{"app": "orders"}
	no := false
	arm.AddPostgres(armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders", Tags: tags, RetentionDays: 35, GeoRedundantBackup: true, HA: "ZoneRedundant", AutoGrow: true})
	arm.AddStorageAccount(armfake.StorageAccount{Name: "ordersexports", ResourceGroup: "orders", Tags: tags, MinTLS: "TLS1_2", HTTPSOnly: true, AllowBlobPublicAccess: &no,
		SoftDeleteDays: 14, Lifecycle: []armfake.LifecycleRule{{Name: "tiering", Cool: 30, Archive: 90, Delete: 2555}}})
	arm.AddWebApp(armfake.WebApp{Name: "orders-api", ResourceGroup: "orders", Plan: "orders-plan", Tags: tags, HTTPSOnly: true, MinTLS: "1.2", HealthCheckPath: "/healthz", AlwaysOn: true})

	// The service to roll back: v2 now, v1 the known-good one.
	svc := startRollbackService(t, 500*time.Millisecond)
	script := filepath.Join(t.TempDir(), "rollback.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$ROLL_TO\" > '"+svc.file+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Setenv("SHIPSHAPE_SECRETS_DIR", t.TempDir())
	t.Setenv("ORDERS_DB_PASSWORD", "a-password-of-the-orders-db")
	if r := starter(t, ctx, "secrets", "put", "local://orders-db", "--from-env", "ORDERS_DB_PASSWORD"); r.code != 0 {
		t.Fatalf("secrets put: %s", r.stderr)
	}
	demo := freeAddr(t)
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--approve-all", "--state-dir", t.TempDir(), "--demo-addr", demo,
		"--set", "vars.apiURL=http://"+demo, "--set", "vars.databaseURL="+db, "--set", "vars.backups="+t.TempDir(),
		"--set", "vars.osvDB="+osv, "--set", "vars.tlsAddress="+front, "--set", "vars.caFile="+ca.CertFile,
		"--set", "vars.jwks="+filepath.Join(t.TempDir(), "jwks.json"), "--set", "vars.prometheus="+prom, "--set", "vars.watchFor=6s", "--set", "vars.watchEvery=2s", "--set", "vars.watchTimeout=10m",
		"--set", "vars.subscription="+subscription, "--set", "vars.armEndpoint="+arm.URL,
		"--set", "vars.rollbackCommand="+script, "--set", "vars.versionURL="+svc.URL+"/version", "--set", "vars.healthURL="+svc.URL+"/healthz",
		"--report-dir", out, "examples/programmes/go-azure.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	r := readReport(t, out)
	if res.code != 0 || r.Result != plan.StatusPass || r.Score < 90 {
		t.Fatalf("exit %d, result %s, score %.1f: want a pass of at least 90", res.code, r.Result, r.Score)
	}
	for _, ph := range r.Phases {
		if ph.Status != plan.StatusPass && ph.Status != plan.StatusApproved {
			t.Errorf("phase %s: %s (%s)", ph.Name, ph.Status, ph.Reason)
		}
	}
	for _, name := range []string{"client-coverage[web]", "client-coverage[android]", "client-coverage[ios]"} {
		if tr := r.Task("testing", name); tr == nil || tr.Status != plan.StatusPass {
			t.Errorf("testing/%s: %+v", name, tr)
		}
	}
	checks := map[string]func(m map[string]float64) bool{
		"testing/integration-coverage[api]": func(m map[string]float64) bool { return m["coverage.statements"] == 0.75 },
		"testing/integration-coverage[web]": func(m map[string]float64) bool { return m["coverage.lines"] == 0.75 },
		"security/dependencies":             func(m map[string]float64) bool { return m["vulns.high"] == 0 && m["sbom.components"] >= 3 },
		"security/front-door-tls":           func(m map[string]float64) bool { return m["tls.chain_valid"] == 1 },
		"security/jwt-key-rotation":         func(m map[string]float64) bool { return m["rotation.steps"] == 4 },
		"security/db-password-age":          func(m map[string]float64) bool { return m["secret.age"] < 3600 },
		"change/migration-rehearsal": func(m map[string]float64) bool {
			return m["rehearse.failed"] == 0 && m["rehearse.migrate-up.reversible"] == 1
		},
		"posture/blob-lifecycle":    func(m map[string]float64) bool { return m["storage.lifecycle.cool_after"] == 30*86400 },
		"posture/database":          func(m map[string]float64) bool { return m["postgres.pitr_window"] > 34*86400 },
		"rollback/previous-version": func(m map[string]float64) bool { return m["rollback.healthy"] == 1 },
		"observability/uptime":      func(m map[string]float64) bool { return m["slo.availability"] >= 0.999 },
		"recovery/restore-drill":    func(m map[string]float64) bool { return m["drill.verify.mismatches"] == 0 },
		"performance/web-vitals":    func(m map[string]float64) bool { return m["lighthouse.accessibility"] >= 0.9 },
	}
	for path, ok := range checks {
		phase, task, _ := strings.Cut(path, "/")
		tr := r.Task(phase, task)
		if tr == nil || !ok(tr.Metrics) {
			t.Errorf("%s: %+v", path, tr)
		}
	}
	if got := svc.Switches(); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("service switches %v, want a roll-back to v1", got)
	}
	mustBeClean(t, scratch)
	for _, f := range []string{"report.json", "report.md"} {
		data, _ := os.ReadFile(filepath.Join(out, f))
		if strings.Contains(string(data), "a-password-of-the-orders-db") || strings.Contains(string(data), armfake.Token) {
			t.Errorf("%s leaks a secret", f)
		}
	}
}
