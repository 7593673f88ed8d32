package azblob_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/azblob"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/azuritetest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/blobstoretest"
)

func TestParseURL(t *testing.T) {
	o, err := azblob.ParseURL("azblob://acct/backups/prod/pg?endpoint=http://127.0.0.1:10000/acct&blockSize=8388608")
	if err != nil {
		t.Fatal(err)
	}
	want := azblob.Options{Account: "acct", Container: "backups", Prefix: "prod/pg/", Endpoint: "http://127.0.0.1:10000/acct", BlockSize: 8 << 20}
	if o != want {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	for raw, msg := range map[string]string{
		"azblob://acct":                "want azblob://account/container",
		"azblob:///c/p":                "want azblob://account/container",
		"azblob://acct/c?blockSize=10": "blockSize",
		"azblob://acct/c?endpoint=x":   "endpoint",
		"azblob://acct/c?sas=abc":      `unknown parameter "sas"`,
		"azblob://name:key@acct/c/p":   "credentials do not belong",
	} {
		if _, err := azblob.ParseURL(raw); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("azblob.ParseURL(%q) = %v, want an error with %q", raw, err, msg)
		}
	}
}

func openAzure(t *testing.T, srv *azuritetest.Server, prefix string) *azblob.Store {
	t.Helper()
	o, err := azblob.ParseURL(srv.URL(prefix))
	if err != nil {
		t.Fatal(err)
	}
	o.BlockSize = 1 << 20
	a, err := azblob.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The Azure Blob store against Azurite, with the real azblob client.
func TestStore(t *testing.T) {
	srv := azuritetest.Start(t, "backups")
	a := openAzure(t, srv, "prod/")
	blobstoretest.Basics(t, a)
	if objs, err := openAzure(t, srv, "staging/").List(context.Background(), ""); err != nil || len(objs) != 0 {
		t.Fatalf("staging/ lists %+v, %v", objs, err)
	}
	if got := a.String(); !strings.HasPrefix(got, "azblob://devstoreaccount1/backups/prod/?endpoint=") {
		t.Errorf("String() = %q", got)
	}
	// A 5.5 MiB blob goes up as six 1 MiB blocks.
	blobstoretest.LargeObject(t, a, 11<<19)
}

func TestPutCancelled(t *testing.T) {
	blobstoretest.PutCancelled(t, openAzure(t, azuritetest.Start(t, "backups"), "prod/"))
}

// A connection string for another account than the URL's is refused
// rather than writing backups somewhere unexpected.
func TestAccountMismatch(t *testing.T) {
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=other;AccountKey="+azuritetest.Key)
	_, err := azblob.New(context.Background(), azblob.Options{Account: "acct", Container: "c"})
	if err == nil || !strings.Contains(err.Error(), `account "other"`) {
		t.Fatalf("err = %v", err)
	}
}
