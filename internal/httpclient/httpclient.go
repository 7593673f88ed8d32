// Package httpclient holds what the task types that send HTTP requests
// share: TLS settings from files (a private CA, a client certificate) and
// a redirect policy that keeps redirects on the hosts a plan allows.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"

	"github.com/shipshape-dev/shipshape/plan"
)

// TLSFiles names the PEM files of a client's TLS settings; empty names
// are not used.
type TLSFiles struct {
	// CA is a bundle of CA certificates trusted on top of the system's.
	CA string
	// Cert and Key are a client certificate and its key, presented to
	// servers that ask for one (mutual TLS); both or neither.
	Cert, Key string
}

// Empty says whether no file is named.
func (f TLSFiles) Empty() bool { return f.CA == "" && f.Cert == "" && f.Key == "" }

// ErrFile marks an error of the files themselves (missing, unreadable,
// not PEM, a key that does not match): the plan's to fix, not worth a
// retry.
var ErrFile = errors.New("TLS file")

// Apply returns a copy of cfg (nil: an empty one) with the files' CA
// bundle added to the system's roots and the client certificate set.
// Errors name the parameter (caFile, clientCert, clientKey) and wrap
// ErrFile when the files are at fault.
func (f TLSFiles) Apply(cfg *tls.Config) (*tls.Config, error) {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg = cfg.Clone()
	}
	if f.CA != "" {
		pem, err := readFile("caFile", f.CA)
		if err != nil {
			return nil, err
		}
		roots := cfg.RootCAs
		if roots == nil {
			if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
				roots = x509.NewCertPool()
			}
		} else {
			roots = roots.Clone()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate found: %w", f.CA, ErrFile)
		}
		cfg.RootCAs = roots
	}
	switch {
	case f.Cert == "" && f.Key == "":
	case f.Cert == "":
		return nil, fmt.Errorf("clientKey is set without clientCert: give both: %w", ErrFile)
	case f.Key == "":
		return nil, fmt.Errorf("clientCert is set without clientKey: give both: %w", ErrFile)
	default:
		certPEM, err := readFile("clientCert", f.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("clientKey", f.Key)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("clientCert %s and clientKey %s: %v: %w", f.Cert, f.Key, err, ErrFile)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func readFile(param, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("%s: %v: %w", param, err, ErrFile)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", param, err)
	}
	return b, nil
}

// MaxRedirects is how many redirects a client follows.
const MaxRedirects = 10

// RedirectRefused is the error of a redirect to a host the allow-list
// does not name.
type RedirectRefused struct {
	URL *url.URL
}

func (e *RedirectRefused) Error() string {
	return fmt.Sprintf("redirect to %s refused: host %q is not in the task's allowed hosts (spec.allowedHosts and its allow-list)", e.URL.Redacted(), e.URL.Host)
}

// CheckRedirect is an http.Client.CheckRedirect that follows up to
// MaxRedirects redirects, each only to an http(s) URL whose host matches
// an entry of allowed, written as spec.allowedHosts is (plan.URLAllowed).
func CheckRedirect(allowed []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		if u := req.URL; (u.Scheme != "http" && u.Scheme != "https") || !plan.URLAllowed(u, allowed) {
			return &RedirectRefused{URL: u}
		}
		return nil
	}
}
