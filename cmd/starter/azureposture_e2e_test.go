//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/azureposture/armfake"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestAzurePostureExampleDev runs the azure-posture example with
// `starter run --dev` against armfake, a protocol-level fake of Azure
// Resource Manager (not Azure). The worker authenticates the way it
// would on App Service: DefaultAzureCredential finds the managed
// identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER), here served by
// the fake, and trusts the fake's TLS certificate through SSL_CERT_FILE.
// A well-kept subscription passes every gate; then a storage account
// allowing public blob access fails the run on its key gate, and the
// report names it as the worst resource.
func TestAzurePostureExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const subscription = "3f2b8c1d-5e6a-4b7c-8d9e-0a1b2c3d4e5f"
	arm := armfake.Start(t, subscription)
	arm.PageSize = 1
	certs := filepath.Join(t.TempDir(), "armfake.pem")
	if err := os.WriteFile(certs, arm.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", certs)
	t.Setenv("IDENTITY_ENDPOINT", arm.IdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", armfake.IdentityHeader)
	// The whole default chain, which finds no other credential here.
	for _, v := range []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS", "MSI_ENDPOINT", "IMDS_ENDPOINT"} {
		unsetenv(t, v)
	}

	prod := map[string]string{"env": "prod"}
	no := false
	arm.AddPostgres(armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders", Tags: prod, RetentionDays: 35, GeoRedundantBackup: true, HA: "ZoneRedundant", AutoGrow: true},
		armfake.Postgres{Name: "dev-pg", ResourceGroup: "dev", Tags: map[string]string{"env": "dev"}, RetentionDays: 1, PublicAccess: true})
	good := armfake.StorageAccount{Name: "ordersexports", ResourceGroup: "orders", Tags: prod, MinTLS: "TLS1_2", HTTPSOnly: true, AllowBlobPublicAccess: &no,
		SoftDeleteDays: 14, Lifecycle: []armfake.LifecycleRule{{Name: "tiering", Cool: 30, Archive: 90, Delete: 2555}}}
	arm.AddStorageAccount(good)
	arm.AddWebApp(armfake.WebApp{Name: "orders-api", ResourceGroup: "orders", Plan: "orders-plan", Tags: prod, HTTPSOnly: true, MinTLS: "1.2", HealthCheckPath: "/healthz", AlwaysOn: true})
	arm.AddAutoscale(armfake.Autoscale{Name: "orders-scale", ResourceGroup: "orders", Plan: "orders-plan", Min: 2, Max: 6})
	now := time.Now()
	arm.AddVault(armfake.Vault{Name: "orders-kv", ResourceGroup: "orders", Tags: prod, PurgeProtection: true, RetentionDays: 90, Secrets: []armfake.Secret{
		{Name: "db-password", Created: now.Add(-20 * 24 * time.Hour), Expires: now.Add(60 * 24 * time.Hour)},
		{Name: "tls", Created: now.Add(-400 * 24 * time.Hour), Managed: true}}})
	arm.Throttle("StorageAccounts_List", 1)

	args := func(out string) []string {
		return []string{"run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t), "--report-dir", out,
			"--set", "vars.subscription=" + subscription, "--set", "vars.armEndpoint=" + arm.URL, "examples/plans/azure-posture.yaml"}
	}
	out := t.TempDir()
	res := starter(t, ctx, args(out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Fatalf("result %s, want pass", r.Result)
	}
	db, st, apps, kv := r.Task("azure", "databases"), r.Task("azure", "storage"), r.Task("azure", "apps"), r.Task("azure", "vaults")
	if db == nil || db.Metrics["postgres.backup_retention"] != 35*86400 || db.Metrics["postgres.storage_autogrow"] != 1 || db.Metrics["resources"] != 1 {
		t.Errorf("databases: %+v", db)
	}
	if st == nil || st.Metrics["storage.lifecycle.cool_after"] != 30*86400 || st.Metrics["storage.lifecycle.archive_after"] != 90*86400 {
		t.Errorf("storage: %+v", st)
	}
	if apps == nil || apps.Metrics["appservice.min_tls"] != 1.2 || apps.Metrics["appservice.autoscale"] != 1 {
		t.Errorf("apps: %+v", apps)
	}
	if kv == nil || kv.Metrics["keyvault.purge_protection"] != 1 || kv.Metrics["keyvault.secrets.without_expiry"] != 0 || kv.Metrics["keyvault.secrets.rotated_age"] < 20*86400 {
		t.Errorf("vaults: %+v", kv)
	}
	if arm.Count("StorageAccounts_List 429") != 1 {
		t.Errorf("the throttled call was not retried: %v", arm.Calls())
	}
	for _, f := range []string{"report.md", "report.json"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), armfake.Token) || strings.Contains(string(data), armfake.IdentityHeader) {
			t.Errorf("%s leaks a credential", f)
		}
	}

	bad := good
	yes := true
	bad.Name, bad.AllowBlobPublicAccess = "billingpublic", &yes
	arm.AddStorageAccount(bad)
	out = t.TempDir()
	res = starter(t, ctx, args(out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	st = r.Task("azure", "storage")
	if r.Result != plan.StatusFail || st == nil || st.Metrics["storage.blob_public_access"] != 1 || st.Metrics["resources"] != 2 {
		t.Fatalf("result %s, storage %+v", r.Result, st)
	}
	if !strings.Contains(st.Output, "storage.blob_public_access = 1 (worst: billingpublic)") {
		t.Errorf("output does not name the worst account:\n%s", st.Output)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Storage account billingpublic") {
		t.Errorf("report.md lacks the per-account table:\n%s", md)
	}
}

// unsetenv removes an environment variable until the test ends
// (azidentity tells an empty AZURE_TOKEN_CREDENTIALS from an unset one).
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value at the end
	os.Unsetenv(name)
}
