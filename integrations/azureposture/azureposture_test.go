package azureposture_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	azure "github.com/shipshape-dev/shipshape/integrations/azureposture"
	"github.com/shipshape-dev/shipshape/integrations/azureposture/armfake"
)

const sub = "6a0f5c2e-1d7b-4f3a-9c8e-2b4d6f8a0c1e"

type wrongToken struct{}

func (wrongToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "someone-elses", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type noToken struct{}

func (noToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("DefaultAzureCredential: failed to acquire a token")
}

func TestResourceGroupOf(t *testing.T) {
	for id, want := range map[string]string{
		"/subscriptions/s/resourceGroups/Orders/providers/Microsoft.Web/sites/api": "Orders",
		"/subscriptions/s/resourcegroups/x/providers/Microsoft.Web/serverfarms/p":  "x",
		"/subscriptions/s": "",
		"":                 "",
	} {
		if got := azure.ResourceGroupOf(id); got != want {
			t.Errorf("ResourceGroupOf(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestErrorsAgainstProtocolFake checks how ARM's answers, served by
// armfake (a protocol-level fake of Azure Resource Manager, not Azure),
// become *Error: a rejected token, a denied call, no token at all.
func TestErrorsAgainstProtocolFake(t *testing.T) {
	f := armfake.Start(t, sub)
	ctx := context.Background()

	c, err := azure.New(sub, wrongToken{}, f.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Vaults(ctx, "")
	var e *azure.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code != "AuthenticationFailed" || e.Operation != "Vaults_ListBySubscription" || e.Denied() {
		t.Fatalf("a rejected token: %#v", err)
	}

	f.Deny("StorageAccounts_ListByResourceGroup")
	c, _ = azure.New(sub, armfake.Credential(), f.ClientOptions())
	_, err = c.StorageAccounts(ctx, "orders")
	if !errors.As(err, &e) || !e.Denied() || e.Action != "Microsoft.Storage/storageAccounts/read" ||
		e.Message() != "The client 'shipshape-test' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action 'Microsoft.Storage/storageAccounts/read' over scope '/subscriptions/"+sub+"/resourceGroups/orders' or the scope is invalid. If access was recently granted, please refresh your credentials." {
		t.Fatalf("a denied call: %#v %q", err, e.Message())
	}

	c, _ = azure.New(sub, noToken{}, f.ClientOptions())
	_, err = c.PostgresServers(ctx, "")
	if !errors.As(err, &e) || !e.Credential || len(f.Calls()) != 1 {
		t.Fatalf("no token: %#v, calls %v", err, f.Calls())
	}
}
