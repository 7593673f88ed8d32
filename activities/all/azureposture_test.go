package all_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	azure "github.com/shipshape-dev/shipshape/integrations/azureposture"
	"github.com/shipshape-dev/shipshape/integrations/azureposture/armfake"
)

// TestAzurePostureUsesConfigClients: Config.AzurePosture is how a
// worker (or a test) gives azure-posture its ARM clients; here they
// talk to armfake, a protocol-level fake of Azure Resource Manager.
func TestAzurePostureUsesConfigClients(t *testing.T) {
	const sub = "6a0f5c2e-1d7b-4f3a-9c8e-2b4d6f8a0c1e"
	f := armfake.Start(t, sub)
	f.AddVault(armfake.Vault{Name: "orders-kv", ResourceGroup: "orders", PurgeProtection: true})
	opened := 0
	cfg := all.Config{AzurePosture: func(subscription string, opts *arm.ClientOptions) (*azure.Client, error) {
		opened++
		o := f.ClientOptions()
		o.Retry = opts.Retry
		return azure.New(subscription, armfake.Credential(), o)
	}}
	for _, typ := range all.Types(cfg) {
		if typ.Decl.Name != "azure-posture" {
			continue
		}
		out, err := tasktest.Run(t, typ, map[string]any{"service": "keyvault", "subscription": sub, "resources": map[string]any{"ids": []any{"orders-kv"}}})
		if err != nil {
			t.Fatal(err)
		}
		tasktest.MustMetrics(t, out.Metrics, map[string]float64{"resources": 1, "keyvault.purge_protection": 1}, 0)
		if opened != 1 {
			t.Errorf("Config.AzurePosture called %d times", opened)
		}
		return
	}
	t.Fatal("no azure-posture task type")
}
