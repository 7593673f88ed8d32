package azurepg_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/azurepg/armtest"
)

func TestParseServerID(t *testing.T) {
	id, err := azurepg.ParseServerID("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/prod-pg")
	if err != nil || id != (azurepg.ServerID{Subscription: "sub-1", ResourceGroup: "rg", Name: "prod-pg"}) {
		t.Fatalf("%+v %v", id, err)
	}
	if _, err := azurepg.ParseServerID("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/x"); err == nil {
		t.Fatal("a SQL server ID was accepted")
	}
}

// TestRestoreAgainstProtocolFake drives a scratch server through its
// life with the real armpostgresqlflexibleservers client against armtest,
// a protocol-level fake of Azure Resource Manager (not Azure):
// point-in-time restore, a retried restore, a new password, delete.
func TestRestoreAgainstProtocolFake(t *testing.T) {
	fake := armtest.Start(t, "127.0.0.1")
	fake.AddServer("rg", "prod-pg", "westeurope", "pgadmin", time.Now().Add(-7*24*time.Hour))
	var applied string
	fake.OnPassword = func(user, pw string) error { applied = user + ":" + pw; return nil }
	c, err := azurepg.New("sub-1", armtest.Credential(), fake.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	c.PollFrequency = 5 * time.Millisecond
	ctx := context.Background()
	src := azurepg.ServerID{Subscription: "sub-1", ResourceGroup: "rg", Name: "prod-pg"}
	dst := azurepg.ServerID{Subscription: "sub-1", ResourceGroup: "rg", Name: "shipshape-drill-abc"}
	point := time.Now().Add(-10 * time.Minute)
	for range 2 {
		s, err := c.Restore(ctx, src, dst, "westeurope", point, "restore-drill:run-1")
		if err != nil || s.State != "Ready" || s.User != "pgadmin" || s.Host != "127.0.0.1" {
			t.Fatalf("restore: %+v %v", s, err)
		}
	}
	if _, err := c.Restore(ctx, src, azurepg.ServerID{Subscription: "sub-1", ResourceGroup: "rg", Name: "too-early"}, "westeurope",
		time.Now().Add(-30*24*time.Hour), "t"); err == nil || !strings.Contains(err.Error(), "InvalidRestorePointInTime") {
		t.Fatalf("a point before the earliest restore point: %v", err)
	}
	if _, err := c.SetPassword(ctx, dst, "drill-password-1"); err != nil || applied != "pgadmin:drill-password-1" {
		t.Fatalf("password: %q %v", applied, err)
	}
	for range 2 {
		if _, err := c.Delete(ctx, dst); err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.Servers(); len(got) != 1 || got[0] != "prod-pg:Ready" {
		t.Fatalf("servers %v", got)
	}
}
