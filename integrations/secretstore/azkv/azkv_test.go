package azkv_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkv"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkvtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/storetest"
)

func newKeyVault(t *testing.T) (*azkv.Store, *azkvtest.Server, *azkvtest.Credential) {
	t.Helper()
	fake := azkvtest.Start(t)
	cred := &azkvtest.Credential{}
	opts := &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: fake.Client}, DisableChallengeResourceVerification: true}
	kv, err := azkv.New(fake.URL, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return kv, fake, cred
}

// TestKeyVaultStagingAgainstProtocolFake runs the staging model through
// the real azsecrets client against azkvtest, a protocol-level fake (not
// Azure) with Key Vault's challenge authentication, versions, disabled
// versions and paging.
func TestKeyVaultStagingAgainstProtocolFake(t *testing.T) {
	kv, fake, cred := newKeyVault(t)
	storetest.Staging(t, kv)
	if !slices.Contains(cred.Scopes, "https://vault.azure.net/.default") {
		t.Fatalf("token scopes %v: the challenge was not followed", cred.Scopes)
	}
	// After v3 was discarded (it was the newest version), the current
	// value was set again so readers of the latest version get it.
	if v, err := fake.Latest("db"); err != nil || v != "second" {
		t.Fatalf("latest after the discard: %q %v (versions %v)", v, err, fake.Tags("db"))
	}
	if v, _, err := kv.Get(context.Background(), "db", secretstore.Current); err != nil || string(v) != "second" {
		t.Fatalf("current after the discard: %q %v", v, err)
	}
	if v, _, err := kv.Get(context.Background(), "db", secretstore.Previous); err != nil || string(v) != "first-password" {
		t.Fatalf("previous after the discard: %q %v", v, err)
	}
}

// A secret set outside Shipshape (no tags: the portal, az keyvault secret
// set) has its newest enabled version as current, so a rotation can start
// from it.
func TestKeyVaultUntaggedSecret(t *testing.T) {
	kv, fake, cred := newKeyVault(t)
	raw, err := azsecrets.NewClient(fake.URL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: fake.Client}, DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, v := range []string{"old", "seeded"} {
		if _, err := raw.SetSecret(ctx, "app-db", azsecrets.SetSecretParameters{Value: to.Ptr(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	v, ver, err := kv.Get(ctx, "app-db", secretstore.Current)
	if err != nil || string(v) != "seeded" || len(ver.ID) != 32 {
		t.Fatalf("current of an untagged secret: %q %+v %v", v, ver, err)
	}
	if _, err := kv.Put(ctx, "app-db", storetest.Tok("p1"), []byte("rotated"), secretstore.Pending); err != nil {
		t.Fatal(err)
	}
	if err := kv.Promote(ctx, "app-db", storetest.Tok("p1")); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := kv.Get(ctx, "app-db", secretstore.Current); string(v) != "rotated" {
		t.Fatalf("current after promote: %q (%v)", v, fake.Tags("app-db"))
	}
	if _, err := kv.Put(ctx, "Bad_Name", storetest.Tok("x"), []byte("x")); err == nil || !strings.Contains(err.Error(), "invalid name") {
		t.Fatalf("a name Key Vault refuses: %v", err)
	}
}
