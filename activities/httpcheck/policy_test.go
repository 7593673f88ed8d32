package httpcheck_test

import (
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/shipshape-dev/shipshape/activities/httpcheck"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/testpki"
)

// newPolicyService answers /h with the headers its query names
// (?h=Name:value, repeated), and a small JSON body.
func newPolicyService(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, kv := range r.URL.Query()["h"] {
			k, v, _ := strings.Cut(kv, ":")
			w.Header().Add(k, v)
		}
		if origin := r.Header.Get("Origin"); origin != "" && r.URL.Query().Get("cors") == "echo" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
		}
		body := `{"status":"ok","version":"1.4.2","a.b":{"c":[1,2]}}`
		switch ae := r.Header.Get("Accept-Encoding"); {
		case r.URL.Query().Get("plain") != "":
		case strings.Contains(ae, "br"):
			w.Header().Set("Content-Encoding", "br")
			bw := brotli.NewWriter(w)
			bw.Write([]byte(body))
			bw.Close()
			return
		case strings.Contains(ae, "gzip") && r.URL.Query().Get("gzip") != "":
			w.Header().Set("Content-Encoding", "gzip")
			gw := gzip.NewWriter(w)
			gw.Write([]byte(body))
			gw.Close()
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hdrs(kvs ...string) string {
	q := make([]string, len(kvs))
	for i, kv := range kvs {
		q[i] = "h=" + strings.NewReplacer(" ", "%20", ";", "%3B", "'", "%27", ",", "%2C", "=", "%3D", "*", "%2A").Replace(kv)
	}
	return "/h?" + strings.Join(q, "&")
}

func TestHTTPCheckPolicies(t *testing.T) {
	srv := newPolicyService(t)
	hsts := map[string]any{"minMaxAge": "180d", "includeSubDomains": true}
	csp := map[string]any{"forbid": []any{"unsafe-inline", "unsafe-eval"}, "require": []any{"default-src", "frame-ancestors"}}
	tests := []struct {
		name        string
		path        string
		with        map[string]any
		wantMetrics map[string]float64
		wantOutput  []string
	}{{
		name:        "hsts met",
		path:        hdrs("Strict-Transport-Security:max-age=31536000; includeSubDomains"),
		with:        map[string]any{"hsts": hsts},
		wantMetrics: map[string]float64{"http.hsts.ok": 1, "http.hsts.max_age": 31536000, "http.policy.failures": 0},
		wantOutput:  []string{"policy HSTS: ok"},
	}, {
		name:        "hsts max-age=0 fails",
		path:        hdrs("Strict-Transport-Security:max-age=0; includeSubDomains"),
		with:        map[string]any{"hsts": map[string]any{}},
		wantMetrics: map[string]float64{"http.hsts.ok": 0, "http.hsts.max_age": 0, "http.policy.failures": 1},
		wantOutput:  []string{"max-age=0 tells browsers to forget HSTS"},
	}, {
		name:        "hsts too short and without subdomains",
		path:        hdrs("Strict-Transport-Security:max-age=86400"),
		with:        map[string]any{"hsts": hsts},
		wantMetrics: map[string]float64{"http.hsts.ok": 0, "http.hsts.max_age": 86400},
		wantOutput:  []string{"below the minimum 180d", "includeSubDomains is missing"},
	}, {
		name:        "hsts missing",
		path:        "/h",
		with:        map[string]any{"hsts": hsts},
		wantMetrics: map[string]float64{"http.hsts.ok": 0, "http.policy.failures": 1},
		wantOutput:  []string{"Strict-Transport-Security is missing"},
	}, {
		name:        "csp met; unsafe-inline beside a nonce is ignored",
		path:        hdrs("Content-Security-Policy:default-src 'self'; script-src 'self' 'nonce-abc' 'unsafe-inline'; frame-ancestors 'none'"),
		with:        map[string]any{"csp": csp},
		wantMetrics: map[string]float64{"http.csp.ok": 1},
	}, {
		name:        "csp forbidden keywords through default-src, directive missing",
		path:        hdrs("Content-Security-Policy:default-src 'self' 'unsafe-inline' 'unsafe-eval'"),
		with:        map[string]any{"csp": csp},
		wantMetrics: map[string]float64{"http.csp.ok": 0, "http.policy.failures": 1},
		wantOutput:  []string{"default-src allows 'unsafe-inline'", "default-src allows 'unsafe-eval'", "frame-ancestors is missing"},
	}, {
		name:        "csp malformed: unquoted keyword",
		path:        hdrs("Content-Security-Policy:default-src self; frame-ancestors 'none'"),
		with:        map[string]any{"csp": csp},
		wantMetrics: map[string]float64{"http.csp.ok": 0},
		wantOutput:  []string{"Content-Security-Policy is malformed", "keyword self must be quoted"},
	}, {
		name:        "cors wildcard with credentials",
		path:        hdrs("Access-Control-Allow-Origin:*", "Access-Control-Allow-Credentials:true"),
		with:        map[string]any{"cors": map[string]any{"origin": "https://app.example.com"}},
		wantMetrics: map[string]float64{"http.cors.ok": 0},
		wantOutput:  []string{"Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true"},
	}, {
		name:        "cors origin echoed",
		path:        "/h?cors=echo",
		with:        map[string]any{"cors": map[string]any{"origin": "https://app.example.com"}},
		wantMetrics: map[string]float64{"http.cors.ok": 1},
	}, {
		name:        "cors origin that must be refused is echoed",
		path:        "/h?cors=echo",
		with:        map[string]any{"cors": map[string]any{"origin": "https://evil.example", "allowed": false}},
		wantMetrics: map[string]float64{"http.cors.ok": 0},
		wantOutput:  []string{"want it refused"},
	}, {
		name:        "nosniff and referrer policy",
		path:        hdrs("X-Content-Type-Options:nosniff", "Referrer-Policy:unsafe-url, strict-origin-when-cross-origin"),
		with:        map[string]any{"nosniff": true, "referrerPolicy": []any{"no-referrer", "strict-origin-when-cross-origin"}},
		wantMetrics: map[string]float64{"http.nosniff.ok": 1, "http.referrer_policy.ok": 1, "http.policy.failures": 0},
	}, {
		name:        "nosniff and referrer policy missing",
		path:        "/h",
		with:        map[string]any{"nosniff": true, "referrerPolicy": []any{"no-referrer"}},
		wantMetrics: map[string]float64{"http.nosniff.ok": 0, "http.referrer_policy.ok": 0, "http.policy.failures": 2},
	}, {
		name:        "brotli asked and given; the body is decoded for json",
		path:        "/h",
		with:        map[string]any{"acceptEncoding": []any{"br", "gzip"}, "expectJSON": []any{map[string]any{"path": "$.status", "equals": "ok"}}},
		wantMetrics: map[string]float64{"http.content_encoding.ok": 1},
	}, {
		name:        "gzip asked and given",
		path:        "/h?gzip=1",
		with:        map[string]any{"acceptEncoding": []any{"gzip"}, "bodyContains": `"status":"ok"`},
		wantMetrics: map[string]float64{"http.content_encoding.ok": 1},
	}, {
		name:        "compression asked, none given",
		path:        "/h?plain=1",
		with:        map[string]any{"acceptEncoding": []any{"br", "gzip"}},
		wantMetrics: map[string]float64{"http.content_encoding.ok": 0},
		wantOutput:  []string{"no Content-Encoding"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"url": srv.URL + tt.path}
			for k, v := range tt.with {
				with[k] = v
			}
			out, err := runTask(t, httpcheck.Name, with)
			tasktest.MustKind(t, err, tasktest.None)
			t.Logf("output:\n%s", out.Output)
			tasktest.MustMetrics(t, out.Metrics, tt.wantMetrics, 0)
			for _, w := range tt.wantOutput {
				if !strings.Contains(out.Output, w) {
					t.Errorf("output does not mention %q", w)
				}
			}
		})
	}
}

func TestHTTPCheckAssertions(t *testing.T) {
	srv := newPolicyService(t)
	url := srv.URL + hdrs("X-Frame-Options:DENY", "Cache-Control:max-age=60")
	out, err := runTask(t, httpcheck.Name, map[string]any{"url": url,
		"expectHeaders": []any{
			map[string]any{"name": "x-frame-options", "equals": "DENY"},
			map[string]any{"name": "Cache-Control", "matches": `^max-age=\d+$`},
		},
		"expectJSON": []any{
			map[string]any{"path": "$.status", "equals": "ok"},
			map[string]any{"path": "$.version", "matches": `^1\.`},
			map[string]any{"path": "$['a.b'].c[1]", "equals": "2"},
		},
	})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"http.status": 200}, 0)

	_, err = runTask(t, httpcheck.Name, map[string]any{"url": url,
		"expectHeaders": []any{
			map[string]any{"name": "X-Frame-Options", "equals": "SAMEORIGIN"},
			map[string]any{"name": "Server", "matches": "nginx"},
		},
		"expectJSON": []any{
			map[string]any{"path": "$.version", "matches": `^2\.`},
			map[string]any{"path": "$.nope", "equals": "x"},
		},
	})
	tasktest.MustKind(t, err, tasktest.CheckFailed,
		`header X-Frame-Options is "DENY", want "SAMEORIGIN"`, "header Server is missing",
		`json $.version = 1.4.2, want a match of /^2\./`, "json $.nope: at nope: no such field")

	for name, with := range map[string]map[string]any{
		"expectJSON[0]: give equals or matches": {"expectJSON": []any{map[string]any{"path": "$.a"}}},
		"expectHeaders[0].matches":              {"expectHeaders": []any{map[string]any{"name": "A", "matches": "("}}},
		"hsts.minMaxAge":                        {"hsts": map[string]any{"minMaxAge": "soon"}},
		"expectRedirect.to https":               {"url": strings.Replace(srv.URL, "http:", "https:", 1), "expectRedirect": map[string]any{"to": "https"}},
	} {
		w := map[string]any{"url": url}
		for k, v := range with {
			w[k] = v
		}
		_, err := runTask(t, httpcheck.Name, w)
		tasktest.MustKind(t, err, tasktest.Invalid, name)
	}
}

func TestHTTPCheckCookies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "pre", Value: "secret-pre", Path: "/"})
			http.Redirect(w, r, "/home", http.StatusFound)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "good", Value: "v", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "secret-session", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "track", Value: "v", SameSite: http.SameSiteNoneMode, HttpOnly: true})
	}))
	defer srv.Close()
	out, err := runTask(t, httpcheck.Name, map[string]any{"url": srv.URL + "/login"})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"http.cookies.total": 4, "http.cookies.insecure": 3, "http.redirects": 1}, 0)
	for _, w := range []string{"cookie pre lacks Secure, HttpOnly, SameSite", "cookie session lacks Secure, SameSite", "cookie track lacks Secure, SameSite=None needs Secure", "final URL: " + srv.URL + "/home"} {
		if !strings.Contains(out.Output, w) {
			t.Errorf("output does not mention %q:\n%s", w, out.Output)
		}
	}
	if strings.Contains(out.Output, "secret-") {
		t.Errorf("output shows a cookie value:\n%s", out.Output)
	}
}

// TestHTTPCheckRedirects: expectRedirect, and redirects kept on the
// plan's allowed hosts (issue 21, finding 3).
func TestHTTPCheckRedirects(t *testing.T) {
	other := newPolicyService(t)
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/permanent":
			http.Redirect(w, r, other.URL+"/h", http.StatusPermanentRedirect)
		case "/temporary":
			http.Redirect(w, r, other.URL+"/h", http.StatusFound)
		case "/away":
			http.Redirect(w, r, elsewhere+"/h", http.StatusMovedPermanently)
		}
	}))
	defer srv.Close()
	allowed := tasktest.Runner{Types: []task.Type{httpcheck.New(nil, nil).Type()}, AllowedHosts: []string{"127.0.0.1"}}

	out, err := allowed.Run(t, httpcheck.Name, map[string]any{"url": srv.URL + "/permanent", "expectRedirect": map[string]any{"to": other.URL}})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"http.redirects": 1, "http.status": 200}, 0)

	_, err = allowed.Run(t, httpcheck.Name, map[string]any{"url": srv.URL + "/temporary", "expectRedirect": map[string]any{"to": "http://elsewhere.example/"}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "redirect status 302, want a permanent one (301 or 308)", "want http://elsewhere.example/")

	_, err = allowed.Run(t, httpcheck.Name, map[string]any{"url": srv.URL + "/temporary", "followRedirects": false, "expectStatus": 0, "expectRedirect": map[string]any{"to": other.URL, "status": 302}})
	tasktest.MustKind(t, err, tasktest.None)

	_, err = allowed.Run(t, httpcheck.Name, map[string]any{"url": srv.URL + "/away"})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "redirect to "+elsewhere+"/h refused", `host "localhost`)

	// Without an allow-list in the plan, http-check follows redirects anywhere, as before.
	out, err = runTask(t, httpcheck.Name, map[string]any{"url": srv.URL + "/away"})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"http.redirects": 1}, 0)
}

func TestHTTPCheckClientCertificate(t *testing.T) {
	ca := testpki.MustCA(t, "private")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello " + r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = ca.ServerTLS(ca.MustServer("server"), true)
	srv.StartTLS()
	defer srv.Close()
	client := ca.MustClient("checker")

	out, err := runTask(t, httpcheck.Name, map[string]any{"url": srv.URL, "caFile": ca.CertFile,
		"clientCert": client.CertFile, "clientKey": client.KeyFile, "bodyContains": "hello checker"})
	tasktest.MustKind(t, err, tasktest.None)
	if out.Metrics["tls.days_left"] <= 0 {
		t.Errorf("tls.days_left = %v", out.Metrics["tls.days_left"])
	}
	_, err = runTask(t, httpcheck.Name, map[string]any{"url": srv.URL, "caFile": ca.CertFile, "clientKey": client.KeyFile})
	tasktest.MustKind(t, err, tasktest.Invalid, "clientKey is set without clientCert")
}
