// Package azkvtest is a protocol-level fake of Azure Key Vault's secrets
// API (REST, api-version 2025-07-01 and later): an httptest TLS server
// that the real azsecrets client can be pointed at. It is not Azure: no
// RBAC, soft delete, certificates or keys.
//
// Semantics enforced (from the Key Vault REST reference):
//   - challenge authentication: a request without a bearer token gets 401
//     with a WWW-Authenticate challenge naming the vault resource; a
//     request with another token gets 401;
//   - setting a secret makes a new version (32 hex digits), the newest
//     being what a get without a version returns;
//   - a disabled version cannot be read: 403 Forbidden, "Operation get
//     is not allowed on a disabled secret";
//   - an unknown secret or version is 404 SecretNotFound;
//   - secret names are 1 to 127 letters, digits and dashes;
//   - updating a version's properties replaces its tags when tags are
//     given, and its enabled flag when given;
//   - version listings are paged (two per page here) with nextLink, and
//     carry no values.
package azkvtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Token is the bearer token Credential issues and the server accepts.
const Token = "azkvtest-token"

// Server is a running fake vault.
type Server struct {
	// URL is the vault URL (https://127.0.0.1:PORT/).
	URL    string
	Client *http.Client // trusts the server's certificate

	mu      sync.Mutex
	secrets map[string][]*version // oldest first
}

type version struct {
	id      string
	value   string
	enabled bool
	tags    map[string]string
	created time.Time
	updated time.Time
}

// Credential is an azcore.TokenCredential issuing Token; it records the
// scopes asked for.
type Credential struct {
	mu     sync.Mutex
	Scopes []string
}

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Scopes = append(c.Scopes, o.Scopes...)
	return azcore.AccessToken{Token: Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Start serves a fake vault until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{secrets: map[string][]*version{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL, s.Client = srv.URL+"/", srv.Client()
	return s
}

// Tags returns each version's tags and enabled flag, oldest first.
func (s *Server) Tags(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range s.secrets[name] {
		out = append(out, fmt.Sprintf("enabled=%v stage=%s", v.enabled, v.tags["shipshape-stage"]))
	}
	return out
}

// Latest returns what a reader of the newest version gets: its value, or
// an error for a disabled one.
func (s *Server) Latest(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.secrets[name]
	if len(vs) == 0 {
		return "", fmt.Errorf("no secret %s", name)
	}
	if v := vs[len(vs)-1]; v.enabled {
		return v.value, nil
	}
	return "", fmt.Errorf("the newest version of %s is disabled", name)
}

var (
	namePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	pathPattern = regexp.MustCompile(`^/secrets/([^/]+)(?:/([^/]*))?/?$`)
)

type kvError struct {
	code   int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Detail string `json:"-"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		writeErr(w, &kvError{code: 400, Code: "BadParameter", Msg: "The request is missing the api-version."})
		return
	}
	switch auth := r.Header.Get("Authorization"); auth {
	case "Bearer " + Token:
	default:
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"`)
		writeErr(w, &kvError{code: 401, Code: "Unauthorized", Msg: "AKV10000: Request is missing a Bearer or PoP token."})
		return
	}
	m := pathPattern.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeErr(w, &kvError{code: 404, Code: "NotFound", Msg: "unknown path " + r.URL.Path})
		return
	}
	name, ver := m[1], m[2]
	if !namePattern.MatchString(name) {
		writeErr(w, &kvError{code: 400, Code: "BadParameter", Msg: "The request URI contains an invalid name: " + name})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out any
	var kerr *kvError
	switch {
	case r.Method == http.MethodPut && ver == "":
		out, kerr = s.set(name, r)
	case r.Method == http.MethodGet && ver == "versions":
		out, kerr = s.list(name, r)
	case r.Method == http.MethodGet:
		out, kerr = s.get(name, ver)
	case r.Method == http.MethodPatch && ver != "":
		out, kerr = s.update(name, ver, r)
	default:
		kerr = &kvError{code: 405, Code: "MethodNotAllowed", Msg: r.Method + " " + r.URL.Path + " is not implemented by this fake"}
	}
	if kerr != nil {
		writeErr(w, kerr)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e *kvError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.code)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (s *Server) id(name, ver string) string { return s.URL + "secrets/" + name + "/" + ver }

func (s *Server) bundle(name string, v *version, withValue bool) map[string]any {
	b := map[string]any{"id": s.id(name, v.id), "tags": v.tags, "attributes": map[string]any{
		"enabled": v.enabled, "created": v.created.Unix(), "updated": v.updated.Unix(), "recoveryLevel": "Recoverable+Purgeable"}}
	if withValue {
		b["value"] = v.value
	}
	return b
}

type setBody struct {
	Value      *string           `json:"value"`
	Tags       map[string]string `json:"tags"`
	Attributes *struct {
		Enabled *bool `json:"enabled"`
	} `json:"attributes"`
}

func (s *Server) set(name string, r *http.Request) (any, *kvError) {
	var in setBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Value == nil {
		return nil, &kvError{code: 400, Code: "BadParameter", Msg: "The parameter value is required."}
	}
	b := make([]byte, 16)
	rand.Read(b)
	now := time.Now()
	v := &version{id: hex.EncodeToString(b), value: *in.Value, enabled: true, tags: in.Tags, created: now, updated: now}
	if in.Attributes != nil && in.Attributes.Enabled != nil {
		v.enabled = *in.Attributes.Enabled
	}
	s.secrets[name] = append(s.secrets[name], v)
	return s.bundle(name, v, true), nil
}

func (s *Server) find(name, ver string) (*version, *kvError) {
	vs := s.secrets[name]
	if len(vs) == 0 {
		return nil, &kvError{code: 404, Code: "SecretNotFound", Msg: fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", name)}
	}
	if ver == "" {
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.id == ver {
			return v, nil
		}
	}
	return nil, &kvError{code: 404, Code: "SecretNotFound", Msg: fmt.Sprintf("A secret with (name/id) %s/%s was not found in this key vault.", name, ver)}
}

func (s *Server) get(name, ver string) (any, *kvError) {
	v, kerr := s.find(name, ver)
	if kerr != nil {
		return nil, kerr
	}
	if !v.enabled {
		return nil, &kvError{code: 403, Code: "Forbidden", Msg: "Operation get is not allowed on a disabled secret."}
	}
	return s.bundle(name, v, true), nil
}

func (s *Server) update(name, ver string, r *http.Request) (any, *kvError) {
	v, kerr := s.find(name, ver)
	if kerr != nil {
		return nil, kerr
	}
	var in setBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return nil, &kvError{code: 400, Code: "BadParameter", Msg: err.Error()}
	}
	if in.Value != nil {
		return nil, &kvError{code: 400, Code: "BadParameter", Msg: "A secret's value cannot be updated; set a new version."}
	}
	if in.Tags != nil {
		v.tags = in.Tags
	}
	if in.Attributes != nil && in.Attributes.Enabled != nil {
		v.enabled = *in.Attributes.Enabled
	}
	v.updated = time.Now()
	return s.bundle(name, v, false), nil
}

const pageSize = 2

func (s *Server) list(name string, r *http.Request) (any, *kvError) {
	vs := s.secrets[name]
	if len(vs) == 0 {
		return nil, &kvError{code: 404, Code: "SecretNotFound", Msg: fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", name)}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	end := min(start+pageSize, len(vs))
	items := []map[string]any{}
	for _, v := range vs[start:end] {
		items = append(items, s.bundle(name, v, false))
	}
	out := map[string]any{"value": items, "nextLink": nil}
	if end < len(vs) {
		out["nextLink"] = s.URL + "secrets/" + name + "/versions?api-version=" + r.URL.Query().Get("api-version") + "&$skiptoken=" + strconv.Itoa(end)
	}
	return out, nil
}
