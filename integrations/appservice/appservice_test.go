package appservice_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/shipshape-dev/shipshape/integrations/appservice"
	"github.com/shipshape-dev/shipshape/integrations/appservice/armtest"
)

const site = "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop"

func mustClient(t *testing.T, fake *armtest.Server) *appservice.Client {
	t.Helper()
	c, err := appservice.New("sub-1", armtest.Credential(), fake.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	c.PollFrequency = 5 * time.Millisecond
	return c
}

// TestSwapSlotAgainstFakeARM swaps slots with the real armappservice
// client against armtest, a protocol-level fake of ARM (not Azure): with
// production through both polling patterns (Azure-AsyncOperation and
// Location alone), between two slots, and the errors Azure answers with.
func TestSwapSlotAgainstFakeARM(t *testing.T) {
	ctx := context.Background()
	fake := armtest.Start(t)
	fake.AddApp("rg-web", "shop", "westeurope", map[string]string{"production": "v2", "staging": "v1", "canary": "v3"})
	var swapped []string
	fake.OnSwap = func(app, production string) { swapped = append(swapped, app+"="+production) }
	c := mustClient(t, fake)

	if err := c.SwapSlot(ctx, site, "staging", appservice.Production, true); err != nil {
		t.Fatal(err)
	}
	if got := fake.Slot("rg-web", "shop", "production"); got != "v1" {
		t.Fatalf("production holds %q after the swap, want v1", got)
	}
	fake.LocationOnly = true
	if err := c.SwapSlot(ctx, site, appservice.Production, "staging", true); err != nil {
		t.Fatal(err)
	}
	if err := c.SwapSlot(ctx, site, "canary", "staging", false); err != nil {
		t.Fatal(err)
	}
	if got := fake.Slot("rg-web", "shop", "staging"); got != "v3" || fake.Slot("rg-web", "shop", "production") != "v2" {
		t.Fatalf("staging holds %q after the swap, want v3", got)
	}
	if want := "shop=v1 shop=v2 shop=v2"; strings.Join(swapped, " ") != want {
		t.Errorf("OnSwap saw %v, want %s", swapped, want)
	}
	if got := fake.Swaps(); len(got) != 3 || got[0] != "shop:production<->staging" || got[2] != "shop:canary<->staging" {
		t.Errorf("swaps %v", got)
	}

	cases := []struct {
		name        string
		site        string
		slot, other string
		fail        string
		want        error
		fragment    string
	}{
		{"no such app", strings.Replace(site, "/shop", "/gone", 1), "staging", "production", "", appservice.ErrNotFound, "404 ResourceNotFound"},
		{"no such slot", site, "blue", "production", "", appservice.ErrNotFound, "Cannot find slot 'blue'"},
		{"same slot", site, "staging", "staging", "", appservice.ErrRejected, "two different slots"},
		{"not a site ID", "/subscriptions/sub-1/resourceGroups/rg", "staging", "production", "", appservice.ErrRejected, "resource ID"},
		{"swap fails", site, "staging", "production", "SwapWarmupFailed", nil, "SwapWarmupFailed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake.LocationOnly = false
			if tc.fail != "" {
				fake.FailNextSwap("rg-web", "shop", tc.fail)
			}
			err := c.SwapSlot(ctx, tc.site, tc.slot, tc.other, true)
			if err == nil || !strings.Contains(err.Error(), tc.fragment) {
				t.Fatalf("error %v, want one containing %q", err, tc.fragment)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if tc.want == nil && (errors.Is(err, appservice.ErrNotFound) || errors.Is(err, appservice.ErrRejected)) {
				t.Errorf("error %v is classified as bad input", err)
			}
		})
	}
	if got := fake.Slot("rg-web", "shop", "production"); got != "v2" {
		t.Errorf("a failed swap changed production to %q", got)
	}

	// Credentials the fake does not accept are refused, not retried.
	bad, err := appservice.New("sub-1", wrongToken{}, fake.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.SwapSlot(ctx, site, "staging", "production", true); !errors.Is(err, appservice.ErrRejected) || !strings.Contains(err.Error(), "AuthenticationFailed") {
		t.Errorf("wrong token: %v", err)
	}
}

// TestSwapSlotConflict: a swap while another swap of the app runs is
// 409 Conflict, rejected.
func TestSwapSlotConflict(t *testing.T) {
	fake := armtest.Start(t)
	fake.Steps = 1000
	fake.AddApp("rg-web", "shop", "westeurope", map[string]string{"production": "v2", "staging": "v1"})
	c := mustClient(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.SwapSlot(ctx, site, "staging", "production", true); err == nil {
		t.Fatal("a swap that never finishes returned no error")
	}
	err := c.SwapSlot(context.Background(), site, "staging", "production", true)
	if !errors.Is(err, appservice.ErrRejected) || !strings.Contains(err.Error(), "409 Conflict") {
		t.Errorf("second swap: %v", err)
	}
}

type wrongToken struct{}

func (wrongToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "not-the-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
