package osv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/osv"
)

// fakeOSV is a protocol-level fake of the osv.dev API and data bucket
// (osv.dev is not reachable from here): querybatch answers from a fixed
// table, with one query paged, vulns/{id} serves advisories, and
// /<ecosystem>/all.zip serves a payload with an ETag.
type fakeOSV struct {
	batches  atomic.Int32
	failures atomic.Int32 // 503s still to send on querybatch
}

func (f *fakeOSV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
		if f.failures.Load() > 0 {
			f.failures.Add(-1)
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		f.batches.Add(1)
		var req struct {
			Queries []struct {
				Package   struct{ Name, Ecosystem string } `json:"package"`
				Version   string                           `json:"version"`
				PageToken string                           `json:"page_token"`
			} `json:"queries"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type vuln struct {
			ID string `json:"id"`
		}
		type result struct {
			Vulns []vuln `json:"vulns,omitempty"`
			Next  string `json:"next_page_token,omitempty"`
		}
		var out struct {
			Results []result `json:"results"`
		}
		for _, q := range req.Queries {
			switch {
			case q.Package.Name == "golang.org/x/net" && q.PageToken == "":
				out.Results = append(out.Results, result{Vulns: []vuln{{"GO-2023-2102"}}, Next: "page2"})
			case q.Package.Name == "golang.org/x/net" && q.PageToken == "page2":
				out.Results = append(out.Results, result{Vulns: []vuln{{"GO-2024-2687"}, {"GO-2023-2102"}}})
			case q.Package.Ecosystem == "npm" && q.Package.Name == "left-pad":
				out.Results = append(out.Results, result{Vulns: []vuln{{"GHSA-npm1-0000-0001"}}})
			default:
				out.Results = append(out.Results, result{})
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/vulns/")
		fmt.Fprintf(w, `{"id": %q, "modified": "2099-01-01T00:00:00Z", "affected": []}`, id)
	case r.URL.Path == "/Go/all.zip":
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "PK-zip-bytes")
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T) (*fakeOSV, *osv.Client) {
	t.Helper()
	f := &fakeOSV{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, osv.New(osv.Config{APIURL: srv.URL, DataURL: srv.URL, HTTPClient: srv.Client()})
}

func TestVulnerabilitiesAgainstFakeAPI(t *testing.T) {
	f, c := newFake(t)
	f.failures.Store(1) // one 503 first: retried
	queries := []osv.Query{
		{Ecosystem: "Go", Name: "golang.org/x/net", Version: "0.1.0"},
		{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"},
		{Ecosystem: "npm", Name: "safe", Version: "1.0.0"},
	}
	for i := range 1200 { // more than one batch of 1,000
		queries = append(queries, osv.Query{Ecosystem: "npm", Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0"})
	}
	raw, err := c.Vulnerabilities(context.Background(), queries)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range raw {
		var e struct{ ID string }
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if got := strings.Join(ids, " "); got != "GHSA-npm1-0000-0001 GO-2023-2102 GO-2024-2687" {
		t.Errorf("advisories %s: want each once, the second page included", got)
	}
	if n := f.batches.Load(); n != 3 {
		t.Errorf("%d querybatch requests, want 3 (two batches and one page)", n)
	}
}

func TestAPIErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad ecosystem", http.StatusBadRequest)
	}))
	defer srv.Close()
	c := osv.New(osv.Config{APIURL: srv.URL})
	_, err := c.Vulnerabilities(context.Background(), []osv.Query{{Ecosystem: "Nope", Name: "x", Version: "1"}})
	var se *osv.StatusError
	if !errorsAs(err, &se) || se.Code != 400 || !strings.Contains(err.Error(), "bad ecosystem") {
		t.Errorf("error %v, want a StatusError 400 quoting the body", err)
	}
}

func TestDownloadWithETag(t *testing.T) {
	_, c := newFake(t)
	var buf bytes.Buffer
	res, err := c.Download(context.Background(), "Go", "", &buf)
	if err != nil || res.NotModified || res.ETag != `"v1"` || buf.String() != "PK-zip-bytes" {
		t.Fatalf("first download %+v %q %v", res, buf.String(), err)
	}
	buf.Reset()
	res, err = c.Download(context.Background(), "Go", res.ETag, &buf)
	if err != nil || !res.NotModified || buf.Len() != 0 {
		t.Fatalf("second download %+v, %d bytes, %v: want not modified", res, buf.Len(), err)
	}
	if _, err := c.Download(context.Background(), "Nope", "", &buf); !osv.IsNotFound(err) {
		t.Errorf("unknown ecosystem: %v, want not found", err)
	}
}

func errorsAs(err error, target **osv.StatusError) bool { return errors.As(err, target) }
