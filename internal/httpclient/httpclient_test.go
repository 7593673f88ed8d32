package httpclient_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/internal/testpki"
)

func TestApplyTrustsCAAndPresentsClientCert(t *testing.T) {
	ca := testpki.MustCA(t, "private")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = ca.ServerTLS(ca.MustServer("server"), true)
	srv.StartTLS()
	defer srv.Close()
	client := ca.MustClient("the-client")

	get := func(f httpclient.TLSFiles) error {
		cfg, err := f.Apply(nil)
		if err != nil {
			return err
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	if err := get(httpclient.TLSFiles{CA: ca.CertFile, Cert: client.CertFile, Key: client.KeyFile}); err != nil {
		t.Fatalf("with CA and client certificate: %v", err)
	}
	if err := get(httpclient.TLSFiles{CA: ca.CertFile}); err == nil {
		t.Fatal("without a client certificate the server must refuse")
	}
	if err := get(httpclient.TLSFiles{Cert: client.CertFile, Key: client.KeyFile}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v, want a certificate error", err)
	}
}

func TestApplyFileErrors(t *testing.T) {
	ca := testpki.MustCA(t, "private")
	pair := ca.MustClient("c")
	for name, f := range map[string]httpclient.TLSFiles{
		"caFile":             {CA: filepath.Join(t.TempDir(), "nope.pem")},
		"no PEM certificate": {CA: pair.KeyFile},
		"without clientCert": {Key: pair.KeyFile},
		"without clientKey":  {Cert: pair.CertFile},
		"clientCert":         {Cert: pair.CertFile, Key: ca.CertFile},
	} {
		_, err := f.Apply(nil)
		if !errors.Is(err, httpclient.ErrFile) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want an ErrFile naming it", name, err)
		}
	}
}

func TestCheckRedirect(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }))
	defer other.Close()
	// The same server on a host name the list does not name.
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/in":
			http.Redirect(w, r, other.URL, http.StatusFound)
		case "/out":
			http.Redirect(w, r, elsewhere, http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: httpclient.CheckRedirect([]string{"127.0.0.1"})}
	resp, err := client.Get(srv.URL + "/in")
	if err != nil {
		t.Fatalf("redirect within the list: %v", err)
	}
	resp.Body.Close()
	var refused *httpclient.RedirectRefused
	if _, err := client.Get(srv.URL + "/out"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "localhost") {
		t.Fatalf("redirect to localhost: %v, want RedirectRefused", err)
	}
	if _, err := client.Get(srv.URL + "/loop"); err == nil || !strings.Contains(err.Error(), "after 10 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
}
