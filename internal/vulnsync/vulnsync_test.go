package vulnsync_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/osv"
	"github.com/shipshape-dev/shipshape/internal/vulnsync"
)

// fakeBucket serves <ecosystem>/all.zip the way osv.dev's bucket does,
// with an ETag; it is a protocol-level fake (no network here).
type fakeBucket struct {
	archives map[string][]byte
	requests atomic.Int32
}

func (b *fakeBucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	eco, file := filepath.Split(r.URL.Path)
	data, ok := b.archives[filepath.Clean(eco[1:])]
	if !ok || file != "all.zip" {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%s-%d"`, filepath.Base(eco), len(data))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Write(data)
}

func mustZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSyncDownloadsIndexesAndSkipsUnchanged(t *testing.T) {
	bucket := &fakeBucket{archives: map[string][]byte{
		"Go": mustZip(t, map[string]string{
			"GO-2099-0001.json": `{"id": "GO-2099-0001", "modified": "2099-01-01T00:00:00Z", "affected": [{"package": {"name": "example.com/a", "ecosystem": "Go"}}]}`,
			"GO-2099-0002.json": `{"id": "GO-2099-0002", "modified": "2099-01-01T00:00:00Z", "withdrawn": "2099-01-02T00:00:00Z", "affected": []}`,
		}),
		"npm": mustZip(t, map[string]string{
			"GHSA-2099-0001.json": `{"id": "GHSA-2099-0001", "modified": "2099-01-01T00:00:00Z", "affected": [{"package": {"name": "left-pad", "ecosystem": "npm"}}]}`,
		}),
		"Broken": []byte("this is not a zip"),
	}}
	srv := httptest.NewServer(bucket)
	defer srv.Close()
	client := osv.New(osv.Config{DataURL: srv.URL})
	dir := t.TempDir()
	ctx := context.Background()

	res, err := vulnsync.Sync(ctx, client, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Ecosystem != "Go" || res[0].Advisories != 1 || res[0].Withdrawn != 1 || res[0].UpToDate ||
		res[1].Ecosystem != "npm" || res[1].Advisories != 1 {
		t.Fatalf("first sync %+v", res)
	}
	for _, f := range []string{"Go/all.zip", "Go/all.zip.etag", "npm/all.zip"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// Unchanged archives are not sent again.
	res, err = vulnsync.Sync(ctx, client, dir, []string{"Go"})
	if err != nil || len(res) != 1 || !res[0].UpToDate || res[0].Advisories != 1 {
		t.Fatalf("second sync %+v, %v: want up to date", res, err)
	}

	// A corrupt archive does not replace a good one.
	before, _ := os.ReadFile(filepath.Join(dir, "Go", "all.zip"))
	bucket.archives["Go"] = []byte("garbage, not a zip")
	if _, err := vulnsync.Sync(ctx, client, dir, []string{"Go"}); err == nil {
		t.Fatal("a corrupt archive synced")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "Go", "all.zip"))
	if !bytes.Equal(before, after) {
		t.Error("a failed sync replaced the good archive")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "Go", ".all-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	if _, err := vulnsync.Sync(ctx, client, dir, []string{"Nope"}); !errors.Is(err, vulnsync.ErrUnknownEcosystem) {
		t.Errorf("unknown ecosystem: %v", err)
	}
}
