// Package awssmtest is a protocol-level fake of AWS Secrets Manager: an
// httptest server speaking its JSON 1.1 API (X-Amz-Target
// secretsmanager.*) for the operations a rotation uses, and enforcing
// the service's documented version and staging-label semantics, so the
// real aws-sdk-go-v2 client can be tested against it. It is not AWS: no
// IAM, KMS, replication or resource policies.
//
// Semantics enforced (from the Secrets Manager API reference):
//   - a ClientRequestToken is 32 to 64 characters; a PutSecretValue
//     repeated with the same token and value is a no-op, with the same
//     token and another value ResourceExistsException;
//   - a staging label is on at most one version; PutSecretValue's
//     VersionStages (default AWSCURRENT) move the labels to the new
//     version;
//   - whenever AWSCURRENT moves, AWSPREVIOUS moves to the version that
//     had it;
//   - UpdateSecretVersionStage moving a label that is on another version
//     needs RemoveFromVersionId naming that version
//     (InvalidParameterException otherwise); removing a label from a
//     version that does not have it is InvalidParameterException;
//   - GetSecretValue for a label no version has, or an unknown secret, is
//     ResourceNotFoundException.
package awssmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/awstest"
)

// Server is a running fake.
type Server struct {
	URL string

	mu      sync.Mutex
	secrets map[string]*secret
	calls   []string
}

type secret struct {
	name     string
	arn      string
	created  time.Time
	versions []*version // oldest first
}

type version struct {
	id      string
	value   string
	stages  []string
	created time.Time
}

// Start serves the fake until the test ends and points the AWS SDK at
// it: AWS_ENDPOINT_URL_SECRETS_MANAGER and static test credentials, in
// the environment, so a worker started by the test uses it too.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{secrets: map[string]*secret{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	awstest.Credentials(t)
	return s
}

// Calls lists the operations served so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Stages returns each version's labels, by version ID.
func (s *Server) Stages(name string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	if sec := s.secrets[name]; sec != nil {
		for _, v := range sec.versions {
			out[v.id] = slices.Clone(v.stages)
		}
	}
	return out
}

type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func fail(kind, format string, args ...any) *apiError {
	return &apiError{Type: kind, Message: fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	if r.Method != http.MethodPost || !ok {
		http.Error(w, "not a Secrets Manager request", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeJSON(w, http.StatusBadRequest, fail("UnrecognizedClientException", "the request is not signed"))
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, fail("SerializationException", "%v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op)
	var out any
	var aerr *apiError
	switch op {
	case "CreateSecret":
		out, aerr = s.create(in)
	case "PutSecretValue":
		out, aerr = s.put(in)
	case "GetSecretValue":
		out, aerr = s.get(in)
	case "DescribeSecret":
		out, aerr = s.describe(in)
	case "UpdateSecretVersionStage":
		out, aerr = s.updateStage(in)
	case "ListSecretVersionIds":
		out, aerr = s.listVersions(in)
	default:
		aerr = fail("InvalidRequestException", "operation %s is not implemented by this fake", op)
	}
	if aerr != nil {
		writeJSON(w, http.StatusBadRequest, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func str(in map[string]any, k string) string { s, _ := in[k].(string); return s }

func (s *Server) lookup(in map[string]any) (*secret, *apiError) {
	id := str(in, "SecretId")
	for _, sec := range s.secrets {
		if sec.name == id || sec.arn == id {
			return sec, nil
		}
	}
	return nil, fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func checkToken(tok string) *apiError {
	if n := len(tok); n < 32 || n > 64 {
		return fail("ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	return nil
}

func (s *Server) create(in map[string]any) (any, *apiError) {
	name := str(in, "Name")
	if name == "" {
		return nil, fail("InvalidParameterException", "Name is required")
	}
	if _, ok := s.secrets[name]; ok {
		return nil, fail("ResourceExistsException", "The operation failed because the secret %s already exists.", name)
	}
	sec := &secret{name: name, arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + name + "-AbCdEf", created: time.Now()}
	s.secrets[name] = sec
	out := map[string]any{"ARN": sec.arn, "Name": name}
	if v, ok := in["SecretString"].(string); ok {
		tok := str(in, "ClientRequestToken")
		if aerr := checkToken(tok); aerr != nil {
			delete(s.secrets, name)
			return nil, aerr
		}
		s.addVersion(sec, tok, v, []string{"AWSCURRENT"})
		out["VersionId"] = tok
	}
	return out, nil
}

// addVersion adds a version with stages, moving each label from where it
// was, and AWSPREVIOUS along with AWSCURRENT.
func (s *Server) addVersion(sec *secret, id, value string, stages []string) {
	sec.versions = append(sec.versions, &version{id: id, value: value, created: time.Now()})
	for _, st := range stages {
		s.moveStage(sec, st, id)
	}
}

func (sec *secret) version(id string) *version {
	for _, v := range sec.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (sec *secret) withStage(stage string) *version {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stage) {
			return v
		}
	}
	return nil
}

func (s *Server) moveStage(sec *secret, stage, to string) {
	from := sec.withStage(stage)
	if from != nil && from.id == to {
		return
	}
	if from != nil {
		from.stages = slices.DeleteFunc(from.stages, func(x string) bool { return x == stage })
	}
	if stage == "AWSCURRENT" && from != nil {
		s.moveStage(sec, "AWSPREVIOUS", from.id)
	}
	v := sec.version(to)
	v.stages = append(v.stages, stage)
}

func (s *Server) put(in map[string]any) (any, *apiError) {
	sec, aerr := s.lookup(in)
	if aerr != nil {
		return nil, aerr
	}
	tok := str(in, "ClientRequestToken")
	if aerr := checkToken(tok); aerr != nil {
		return nil, aerr
	}
	value, ok := in["SecretString"].(string)
	if !ok {
		return nil, fail("InvalidParameterException", "this fake stores SecretString only")
	}
	stages := []string{"AWSCURRENT"}
	if raw, ok := in["VersionStages"].([]any); ok {
		stages = stages[:0]
		for _, st := range raw {
			stages = append(stages, fmt.Sprint(st))
		}
	}
	if v := sec.version(tok); v != nil {
		if v.value != value {
			return nil, fail("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
		}
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
	}
	s.addVersion(sec, tok, value, stages)
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": tok, "VersionStages": sec.version(tok).stages}, nil
}

func (s *Server) get(in map[string]any) (any, *apiError) {
	sec, aerr := s.lookup(in)
	if aerr != nil {
		return nil, aerr
	}
	var v *version
	if id := str(in, "VersionId"); id != "" {
		v = sec.version(id)
	} else {
		stage := str(in, "VersionStage")
		if stage == "" {
			stage = "AWSCURRENT"
		}
		v = sec.withStage(stage)
	}
	if v == nil {
		return nil, fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", str(in, "VersionStage"))
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "SecretString": v.value,
		"VersionStages": v.stages, "CreatedDate": float64(v.created.UnixMilli()) / 1000}, nil
}

func (s *Server) describe(in map[string]any) (any, *apiError) {
	sec, aerr := s.lookup(in)
	if aerr != nil {
		return nil, aerr
	}
	stages := map[string][]string{}
	for _, v := range sec.versions {
		if len(v.stages) > 0 {
			stages[v.id] = v.stages
		}
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionIdsToStages": stages,
		"CreatedDate": float64(sec.created.UnixMilli()) / 1000}, nil
}

func (s *Server) updateStage(in map[string]any) (any, *apiError) {
	sec, aerr := s.lookup(in)
	if aerr != nil {
		return nil, aerr
	}
	stage, move, remove := str(in, "VersionStage"), str(in, "MoveToVersionId"), str(in, "RemoveFromVersionId")
	if stage == "" {
		return nil, fail("InvalidParameterException", "VersionStage is required")
	}
	holder := sec.withStage(stage)
	if remove != "" && (holder == nil || holder.id != remove) {
		return nil, fail("InvalidParameterException", "The staging label %s is not attached to version %s.", stage, remove)
	}
	if move == "" {
		if remove == "" {
			return nil, fail("InvalidParameterException", "You must specify MoveToVersionId or RemoveFromVersionId.")
		}
		if stage == "AWSCURRENT" {
			return nil, fail("InvalidParameterException", "You can't remove the staging label AWSCURRENT from a version without moving it to another version.")
		}
		holder.stages = slices.DeleteFunc(holder.stages, func(x string) bool { return x == stage })
		return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
	}
	if sec.version(move) == nil {
		return nil, fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret version %s.", move)
	}
	if holder != nil && holder.id != move && remove == "" {
		return nil, fail("InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", stage, holder.id)
	}
	s.moveStage(sec, stage, move)
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

func (s *Server) listVersions(in map[string]any) (any, *apiError) {
	sec, aerr := s.lookup(in)
	if aerr != nil {
		return nil, aerr
	}
	var vs []map[string]any
	for _, v := range sec.versions {
		if len(v.stages) == 0 && in["IncludeDeprecated"] != true {
			continue
		}
		vs = append(vs, map[string]any{"VersionId": v.id, "VersionStages": v.stages, "CreatedDate": float64(v.created.UnixMilli()) / 1000})
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "Versions": vs}, nil
}
