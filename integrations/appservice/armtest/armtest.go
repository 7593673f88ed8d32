// Package armtest is a protocol-level fake of Azure Resource Manager for
// App Service slot swaps (Microsoft.Web, api-version 2024-11-01): an
// httptest TLS server the real armappservice WebAppsClient can be
// pointed at. It is not Azure: an app is a set of named slots, each
// holding a version string, and a swap exchanges two slots' versions
// (OnSwap tells the test, which serves that version from a local
// service).
//
// Semantics enforced (from the Web Apps REST reference, "Swap Slot" and
// "Swap Slot With Production", and ARM's long-running operation
// guidelines):
//   - bearer authentication (401 AuthenticationFailed without the token);
//   - api-version is required (400 MissingApiVersionParameter) and must
//     be 2024-11-01 (400 InvalidApiVersionParameter);
//   - POST .../providers/Microsoft.Web/sites/{name}/slotsswap swaps the
//     production slot with the body's targetSlot; POST
//     .../sites/{name}/slots/{slot}/slotsswap swaps {slot} with
//     targetSlot; any other method is 405;
//   - the body (CsmSlotEntity) needs targetSlot and preserveVnet, both
//     REQUIRED (400 InvalidRequestContent), and two different slots (400
//     BadRequest);
//   - an app or slot that does not exist is 404 ResourceNotFound; a swap
//     while another swap of the app runs is 409 Conflict;
//   - a swap is a long-running operation: 202 Accepted with a Location
//     header (and an Azure-AsyncOperation header unless LocationOnly).
//     The Azure-AsyncOperation URL answers 200 {"status": "InProgress"}
//     for Steps polls, then "Succeeded" (or "Failed" with an error); the
//     Location URL answers 202 while the operation runs, then 200 (or the
//     error's status and body). The slots are exchanged when the
//     operation succeeds.
package armtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/shipshape-dev/shipshape/internal/armhttp"
)

// APIVersion is the only api-version the fake accepts: the one
// armappservice v5 speaks.
const APIVersion = "2024-11-01"

// Token is the bearer token Credential issues and the fake accepts.
const Token = "armtest-appservice-token"

// Credential issues Token.
func Credential() armhttp.Token { return armhttp.Token(Token) }

// Server is a running fake.
type Server struct {
	URL    string
	Client *http.Client
	// Steps is how many polls a swap takes before it is done (default 2).
	Steps int
	// LocationOnly answers swaps with a Location header alone, the other
	// polling pattern ARM allows.
	LocationOnly bool
	// OnSwap is called, with the version the production slot of app now
	// holds, when a swap of app succeeds; the fake is locked meanwhile,
	// so OnSwap must not call the Server's methods.
	OnSwap func(app, production string)

	mu    sync.Mutex
	apps  map[string]*app // by lower-case resource group/name
	ops   map[string]*operation
	seq   int
	swaps []string
}

type app struct {
	rg, name, location string
	slots              map[string]string // lower-case slot name → version
	busy               bool
	// fail, when set, fails the app's next swap with this ARM error code.
	fail string
}

type operation struct {
	app        *app
	left       int
	a, b       string
	status     string // InProgress, Succeeded, Failed
	code, text string
}

// Start serves the fake until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Steps: 2, apps: map[string]*app{}, ops: map[string]*operation{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL, s.Client = srv.URL, srv.Client()
	return s
}

// ClientOptions point an ARM client at the fake.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return armhttp.ClientOptions(s.URL, s.Client)
}

// AddApp registers an app whose slots (production among them) hold the
// versions given, slot name → version.
func (s *Server) AddApp(rg, name, location string, slots map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &app{rg: rg, name: name, location: location, slots: map[string]string{}}
	for k, v := range slots {
		a.slots[strings.ToLower(k)] = v
	}
	s.apps[key(rg, name)] = a
}

// FailNextSwap makes the next swap of the app fail, after its polls, with
// the ARM error code given, as a swap whose warm-up fails does.
func (s *Server) FailNextSwap(rg, name, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[key(rg, name)].fail = code
}

// Slot returns the version a slot of an app holds.
func (s *Server) Slot(rg, name, slot string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[key(rg, name)].slots[strings.ToLower(slot)]
}

// Swaps lists the swaps done, as "app:slot<->slot".
func (s *Server) Swaps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.swaps...)
}

func key(rg, name string) string { return strings.ToLower(rg + "/" + name) }

var (
	swapPath = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Web/sites/([^/]+)(?:/slots/([^/]+))?/slotsswap$`)
	opPath   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.Web/locations/[^/]+/(operations|operationResults)/([^/]+)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		armhttp.Error(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.")
		return
	}
	switch v := r.URL.Query().Get("api-version"); v {
	case "":
		armhttp.Error(w, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	case APIVersion:
	default:
		armhttp.Error(w, 400, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.", v, APIVersion)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := opPath.FindStringSubmatch(r.URL.Path); m != nil {
		if r.Method != http.MethodGet {
			armhttp.Error(w, 405, "MethodNotAllowed", "%s", r.Method)
			return
		}
		s.poll(w, m[2], strings.EqualFold(m[1], "operationResults"))
		return
	}
	m := swapPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		armhttp.Error(w, 404, "InvalidResourceType", "no route for %s", r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		armhttp.Error(w, 405, "MethodNotAllowed", "%s", r.Method)
		return
	}
	sub, rg, name, slot := m[1], m[2], m[3], m[4]
	if slot == "" {
		slot = "production"
	}
	a := s.apps[key(rg, name)]
	if a == nil {
		armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.Web/sites/%s' under resource group '%s' was not found.", name, rg)
		return
	}
	var in struct {
		TargetSlot   *string `json:"targetSlot"`
		PreserveVnet *bool   `json:"preserveVnet"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		armhttp.Error(w, 400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
		return
	}
	if in.TargetSlot == nil || *in.TargetSlot == "" || in.PreserveVnet == nil {
		armhttp.Error(w, 400, "InvalidRequestContent", "The request content was invalid: targetSlot and preserveVnet are required.")
		return
	}
	target := *in.TargetSlot
	for _, sl := range []string{slot, target} {
		if _, ok := a.slots[strings.ToLower(sl)]; !ok {
			armhttp.Error(w, 404, "ResourceNotFound", "Cannot find slot '%s' of site '%s'.", sl, name)
			return
		}
	}
	if strings.EqualFold(slot, target) {
		armhttp.Error(w, 400, "BadRequest", "Cannot swap slot '%s' with itself.", slot)
		return
	}
	if a.busy {
		armhttp.Error(w, 409, "Conflict", "There is a swap operation in progress for site '%s'.", name)
		return
	}
	a.busy = true
	s.seq++
	id := "swap-" + strconv.Itoa(s.seq)
	s.ops[id] = &operation{app: a, left: s.Steps, a: strings.ToLower(slot), b: strings.ToLower(target), status: "InProgress"}
	base := s.URL + "/subscriptions/" + sub + "/providers/Microsoft.Web/locations/" + a.location
	w.Header().Set("Location", base+"/operationResults/"+id+"?api-version="+APIVersion)
	if !s.LocationOnly {
		w.Header().Set("Azure-AsyncOperation", base+"/operations/"+id+"?api-version="+APIVersion)
	}
	w.WriteHeader(http.StatusAccepted)
}

// poll answers a poll of an operation: its status document, or for a
// Location poll 202 until it is done.
func (s *Server) poll(w http.ResponseWriter, id string, location bool) {
	op := s.ops[id]
	if op == nil {
		armhttp.Error(w, 404, "OperationNotFound", "operation %s", id)
		return
	}
	if op.status == "InProgress" {
		if op.left > 0 {
			op.left--
		} else {
			s.finish(op)
		}
	}
	if location {
		switch op.status {
		case "InProgress":
			w.WriteHeader(http.StatusAccepted)
		case "Succeeded":
			w.WriteHeader(http.StatusOK)
		default:
			armhttp.Error(w, 500, op.code, "%s", op.text)
		}
		return
	}
	body := map[string]any{"name": id, "status": op.status, "startTime": time.Now().UTC().Format(time.RFC3339)}
	if op.status == "Failed" {
		body["error"] = map[string]any{"code": op.code, "message": op.text}
	}
	armhttp.WriteJSON(w, 200, body)
}

// finish ends an operation: the slots are exchanged, or the failure the
// test asked for is recorded.
func (s *Server) finish(op *operation) {
	a := op.app
	a.busy = false
	if a.fail != "" {
		op.status, op.code = "Failed", a.fail
		op.text = fmt.Sprintf("Swap of slots %s and %s of site %s failed.", op.a, op.b, a.name)
		a.fail = ""
		return
	}
	a.slots[op.a], a.slots[op.b] = a.slots[op.b], a.slots[op.a]
	pair := []string{op.a, op.b}
	sort.Strings(pair)
	s.swaps = append(s.swaps, a.name+":"+pair[0]+"<->"+pair[1])
	op.status = "Succeeded"
	if s.OnSwap != nil {
		s.OnSwap(a.name, a.slots["production"])
	}
}
