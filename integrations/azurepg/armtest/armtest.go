// Package armtest is a protocol-level fake of Azure Resource Manager for
// Azure Database for PostgreSQL flexible servers (api-version
// 2021-06-01): an httptest TLS server the real
// armpostgresqlflexibleservers client can be pointed at. It is not Azure:
// a restored server's endpoint is a PostgreSQL server the test gives
// (holding the source's data), and a new administrator password is
// applied to it through a hook.
//
// Semantics enforced (from the ARM and flexible server REST references):
//   - bearer authentication (401 without the token);
//   - create, update and delete are long-running operations answered
//     with an Azure-AsyncOperation URL whose status is InProgress for
//     Steps polls, then Succeeded; meanwhile the server's state is
//     Updating (create, update) or Dropping (delete), then Ready or gone;
//   - a point-in-time restore needs an existing source server, a point
//     not in the future and not before the source's earliest restore
//     point, and a location; the new server's name is 3 to 63 lowercase
//     letters, digits and hyphens, not starting or ending with a hyphen,
//     and not taken (409 Conflict);
//   - reading or updating a server that does not exist is 404
//     ResourceNotFound; deleting one is 204.
package armtest

import (
	"encoding/json"
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

// Token is the bearer token Credential issues and the fake accepts.
const Token = "armtest-token"

// Credential issues Token.
func Credential() armhttp.Token { return armhttp.Token(Token) }

// Server is a running fake.
type Server struct {
	URL    string
	Client *http.Client
	// Host is every restored server's fully qualified domain name.
	Host string
	// Steps is how many polls an operation takes (default 2).
	Steps int
	// OnPassword applies an administrator password that took effect.
	OnPassword func(user, password string) error

	mu      sync.Mutex
	servers map[string]*server // by lower-case resource group/name
	ops     map[string]*operation
	seq     int
}

type server struct {
	rg, name, location, state, admin string
	earliest                         time.Time
	tags                             map[string]string
}

type operation struct {
	left int
	done func() error
	err  string
}

// Start serves the fake until the test ends.
func Start(t testing.TB, host string) *Server {
	t.Helper()
	s := &Server{Host: host, Steps: 2, servers: map[string]*server{}, ops: map[string]*operation{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL, s.Client = srv.URL, srv.Client()
	return s
}

// ClientOptions point an ARM client at the fake.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return armhttp.ClientOptions(s.URL, s.Client)
}

// AddServer registers a source server whose backups reach back to
// earliest.
func (s *Server) AddServer(rg, name, location, admin string, earliest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servers[key(rg, name)] = &server{rg: rg, name: name, location: location, state: "Ready", admin: admin, earliest: earliest, tags: map[string]string{}}
}

// Servers lists the servers that exist, with their states.
func (s *Server) Servers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sv := range s.servers {
		out = append(out, sv.name+":"+sv.state)
	}
	sort.Strings(out)
	return out
}

func key(rg, name string) string { return strings.ToLower(rg + "/" + name) }

var (
	serverPath = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.DBforPostgreSQL/flexibleServers/([^/]+)$`)
	opPath     = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/providers/Microsoft\.DBforPostgreSQL/locations/[^/]+/azureAsyncOperation/([^/]+)$`)
	validName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		armhttp.Error(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		armhttp.Error(w, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := opPath.FindStringSubmatch(r.URL.Path); m != nil {
		s.pollOp(w, m[1])
		return
	}
	m := serverPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		armhttp.Error(w, 404, "InvalidResourceType", "no route for %s", r.URL.Path)
		return
	}
	sub, rg, name := m[1], m[2], m[3]
	sv := s.servers[key(rg, name)]
	switch r.Method {
	case http.MethodGet:
		if sv == nil {
			armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' under resource group '%s' was not found.", name, rg)
			return
		}
		armhttp.WriteJSON(w, 200, s.body(sub, sv))
	case http.MethodPut:
		s.create(w, r, sub, rg, name)
	case http.MethodPatch:
		if sv == nil {
			armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' was not found.", name)
			return
		}
		var in struct {
			Properties struct {
				AdministratorLoginPassword *string `json:"administratorLoginPassword"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			armhttp.Error(w, 400, "InvalidRequestContent", "%v", err)
			return
		}
		if sv.state != "Ready" {
			armhttp.Error(w, 409, "ServerBusy", "Server %s is busy with another operation (%s).", name, sv.state)
			return
		}
		pw := in.Properties.AdministratorLoginPassword
		sv.state = "Updating"
		s.accept(w, r, sub, sv, 202, func() error {
			if pw != nil && s.OnPassword != nil {
				if err := s.OnPassword(sv.admin, *pw); err != nil {
					return err
				}
			}
			sv.state = "Ready"
			return nil
		})
	case http.MethodDelete:
		if sv == nil {
			w.WriteHeader(204)
			return
		}
		sv.state = "Dropping"
		s.accept(w, r, sub, sv, 202, func() error {
			delete(s.servers, key(sv.rg, sv.name))
			return nil
		})
	default:
		armhttp.Error(w, 405, "MethodNotAllowed", "%s", r.Method)
	}
}

func (s *Server) body(sub string, sv *server) map[string]any {
	props := map[string]any{"state": sv.state, "administratorLogin": sv.admin, "version": "15", "fullyQualifiedDomainName": s.Host}
	if !sv.earliest.IsZero() {
		// As Azure reports a server's backups: the restore window starts
		// at earliestRestoreDate.
		props["backup"] = map[string]any{"backupRetentionDays": 7, "geoRedundantBackup": "Disabled",
			"earliestRestoreDate": sv.earliest.UTC().Format(time.RFC3339)}
	}
	return map[string]any{
		"id":   "/subscriptions/" + sub + "/resourceGroups/" + sv.rg + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + sv.name,
		"name": sv.name, "type": "Microsoft.DBforPostgreSQL/flexibleServers", "location": sv.location, "tags": sv.tags, "properties": props,
	}
}

// accept answers a long-running operation: status, the resource, and an
// Azure-AsyncOperation URL to poll.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, sub string, sv *server, code int, done func() error) {
	s.seq++
	id := "op-" + strconv.Itoa(s.seq)
	s.ops[id] = &operation{left: s.Steps, done: done}
	w.Header().Set("Azure-AsyncOperation", s.URL+"/subscriptions/"+sub+"/providers/Microsoft.DBforPostgreSQL/locations/"+sv.location+"/azureAsyncOperation/"+id+"?api-version="+r.URL.Query().Get("api-version"))
	if code == 202 {
		w.Header().Set("Location", s.URL+"/subscriptions/"+sub+"/providers/Microsoft.DBforPostgreSQL/locations/"+sv.location+"/azureAsyncOperation/"+id+"?api-version="+r.URL.Query().Get("api-version"))
		armhttp.WriteJSON(w, 202, nil)
		return
	}
	armhttp.WriteJSON(w, code, s.body(sub, sv))
}

func (s *Server) pollOp(w http.ResponseWriter, id string) {
	op := s.ops[id]
	if op == nil {
		armhttp.Error(w, 404, "OperationNotFound", "operation %s", id)
		return
	}
	status := "InProgress"
	switch {
	case op.err != "":
		status = "Failed"
	case op.left > 0:
		op.left--
	default:
		if op.done != nil {
			if err := op.done(); err != nil {
				op.err = err.Error()
				status = "Failed"
			} else {
				status = "Succeeded"
			}
			op.done = nil
		} else {
			status = "Succeeded"
		}
	}
	body := map[string]any{"name": id, "status": status, "startTime": time.Now().UTC().Format(time.RFC3339)}
	if op.err != "" {
		body["error"] = map[string]any{"code": "InternalServerError", "message": op.err}
	}
	armhttp.WriteJSON(w, 200, body)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, sub, rg, name string) {
	var in struct {
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags"`
		Properties struct {
			CreateMode             string     `json:"createMode"`
			SourceServerResourceID string     `json:"sourceServerResourceId"`
			PointInTimeUTC         *time.Time `json:"pointInTimeUTC"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		armhttp.Error(w, 400, "InvalidRequestContent", "%v", err)
		return
	}
	if !validName.MatchString(name) || strings.Contains(name, "--") {
		armhttp.Error(w, 400, "InvalidParameterValue", "Invalid value given for parameter serverName: %s.", name)
		return
	}
	if s.servers[key(rg, name)] != nil {
		armhttp.Error(w, 409, "Conflict", "Server %s already exists.", name)
		return
	}
	if in.Location == "" {
		armhttp.Error(w, 400, "LocationRequired", "The location property is required for this definition.")
		return
	}
	if in.Properties.CreateMode != "PointInTimeRestore" {
		armhttp.Error(w, 400, "InvalidParameterValue", "this fake creates servers by point-in-time restore only, not %q", in.Properties.CreateMode)
		return
	}
	m := serverPath.FindStringSubmatch(in.Properties.SourceServerResourceID)
	if m == nil || s.servers[key(m[2], m[3])] == nil {
		armhttp.Error(w, 404, "ResourceNotFound", "The source server %q was not found.", in.Properties.SourceServerResourceID)
		return
	}
	src := s.servers[key(m[2], m[3])]
	pt := in.Properties.PointInTimeUTC
	if pt == nil || pt.After(time.Now()) || pt.Before(src.earliest) {
		armhttp.Error(w, 400, "InvalidRestorePointInTime", "The restore point in time must be between %s and now.", src.earliest.Format(time.RFC3339))
		return
	}
	sv := &server{rg: rg, name: name, location: in.Location, state: "Updating", admin: src.admin, tags: in.Tags}
	s.servers[key(rg, name)] = sv
	s.accept(w, r, sub, sv, 201, func() error {
		sv.state = "Ready"
		return nil
	})
}
