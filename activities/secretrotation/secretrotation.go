// Package secretrotation is the secret-rotation task type: a
// SecretRotation workflow that rotates a secret in the four steps AWS
// Secrets Manager defines (create, set, test, finish) and rolls back
// when one fails, for a PostgreSQL role's password or a JWT signing key.
// Values never leave its activities: the workflow, events and reports
// see only the secret's reference.
package secretrotation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/awssm"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkv"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/password"
	"github.com/shipshape-dev/shipshape/internal/secretref"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`. A
// SecretRotation workflow runs it, step by step.
const Name = "secret-rotation"

// The rotation's steps, each an activity taking a RotationStep: the four
// steps AWS Secrets Manager defines, and the undo.
const (
	RotateCreate   = "secret-rotation.create"
	RotateSet      = "secret-rotation.set"
	RotateTest     = "secret-rotation.test"
	RotateFinish   = "secret-rotation.finish"
	RotateRollback = "secret-rotation.rollback"
	RotateRetire   = "secret-rotation.retire"
)

// ErrRotationTest is the application error type of a pending secret that
// failed its test: not retried, the rotation rolls back.
const ErrRotationTest = "RotationTestFailed"

// ResourcePostgresRole is the resource kind whose password rotates.
const ResourcePostgresRole = "postgres-role"

// Decl declares the task type: its parameters, metrics and checks.
var Decl = plan.TaskType{
	Name: Name,
	// A rotated key's predecessor is retired after its overlap, past the
	// task's timeout.
	Linger: func(with map[string]any) time.Duration { return rotationOverlap(task.Params(with)) },
	Summary: "Rotates a secret in four durable steps, as AWS Secrets Manager defines them: create a new value as the store's pending version, set it on the resource, test it, then finish by promoting it to current (the old one becomes previous). " +
		"A failure before finish rolls back: the resource gets the current value again and the pending version is removed. " +
		"Values never leave the activities: Temporal, events, logs and reports see only the secret's reference. See [Secrets](secrets.md).",
	Params: []plan.Param{
		{Name: "secret", Type: plan.TypeString, Required: true, Doc: "The secret's reference: `local://NAME` (the worker's encrypted store) or `aws-sm://REGION/NAME` (AWS Secrets Manager) or `azkv://VAULT/NAME` (Azure Key Vault). See [Stores and references](secrets.md#stores-and-references)."},
		{Name: "resource", Type: plan.TypeObject, Required: true, Doc: "What the secret opens.", Fields: []plan.Param{
			{Name: "kind", Type: plan.TypeString, Default: ResourcePostgresRole, Enum: []string{ResourcePostgresRole, ResourceJWTKey}, Doc: "`postgres-role`: the password of a PostgreSQL role, changed with ALTER ROLE over a connection made with the current password. `jwt-signing-key`: a JWT signing key (the secret holds the private key) whose public keys are published as a JWKS document."},
			{Name: "url", Type: plan.TypeString, Doc: "postgres-role: the database, `postgres://[ROLE@]host:port/db`, without a password (the secret holds it)."},
			{Name: "role", Type: plan.TypeString, Doc: "postgres-role: the role whose password rotates (default: the URL's user). It changes its own password."},
			{Name: "testQuery", Type: plan.TypeString, Default: "SELECT 1", Doc: "postgres-role: the query the test step runs with the new password; make it what the application needs (`SELECT count(*) FROM orders`)."},
			{Name: "jwks", Type: plan.TypeString, Doc: "jwt-signing-key: the JWKS file the worker publishes (written atomically, public keys only), where verifiers get it: a web server's document root, a shared volume."},
			{Name: "jwksURL", Type: plan.TypeString, Doc: "jwt-signing-key: the URL verifiers fetch the JWKS from; the test step verifies its token against the document served there (retried while the new key has not appeared). Empty: against the file."},
			{Name: "algorithm", Type: plan.TypeString, Default: AlgEdDSA, Enum: []string{AlgEdDSA, AlgRS256}, Doc: "jwt-signing-key: `EdDSA` (Ed25519) or `RS256` (RSA PKCS#1 v1.5 with SHA-256)."},
			{Name: "keyBits", Type: plan.TypeInt, Default: 2048, Doc: "jwt-signing-key, RS256: the RSA key size, 2048, 3072 or 4096."},
			{Name: "overlap", Type: plan.TypeDuration, Default: "24h", Doc: "jwt-signing-key: how long the old public key stays in the JWKS after the new key becomes current, so tokens it signed still verify (a durable timer: the task ends after it). Make it at least the tokens' lifetime."},
		}},
		{Name: "length", Type: plan.TypeInt, Default: 32, Doc: "postgres-role: characters in a generated password."},
		{Name: "alphabet", Type: plan.TypeString, Default: password.DefaultAlphabet, Doc: "postgres-role: characters a generated password is drawn from (uniformly, crypto/rand)."},
	},
	Metrics: []plan.Metric{
		{Name: "secret.age", Unit: plan.UnitSeconds, Doc: "Age of the current version before the rotation."},
		{Name: "rotation.duration", Unit: plan.UnitSeconds, Doc: "From create to finish (or to the end of the rollback)."},
		{Name: "rotation.steps", Unit: plan.UnitCount, Doc: "Steps completed: 4 for a rotation that finished."},
		{Name: "rotation.rolled_back", Unit: plan.UnitCount, Doc: "1 when the rotation was rolled back."},
		{Name: "rotation.overlap", Unit: plan.UnitSeconds, Doc: "jwt-signing-key: how long the old key stayed published after the new one became current (0 if it was not retired)."},
	},
	Timeout:     30 * time.Minute,
	MaxAttempts: 5,
	Workflow:    true,
	Check:       checkSecretRotation,
}

func checkSecretRotation(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	if _, err := secretstore.ParseRef(p.String("secret")); err != nil {
		problems = append(problems, plan.ParamProblem{Param: "secret", Msg: err.Error()})
	}
	r := p.Object("resource")
	switch r.String("kind") {
	case ResourceJWTKey:
		if r.String("jwks") == "" {
			problems = append(problems, plan.ParamProblem{Param: "resource.jwks", Msg: "name the JWKS file the worker publishes"})
		}
		if u := r.String("jwksURL"); u != "" {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				problems = append(problems, plan.ParamProblem{Param: "resource.jwksURL", Msg: "want an http(s):// URL"})
			}
		}
		if b := r.Int("keyBits"); b != 0 && b != 2048 && b != 3072 && b != 4096 {
			problems = append(problems, plan.ParamProblem{Param: "resource.keyBits", Msg: "must be 2048, 3072 or 4096"})
		}
		if o := r.Duration("overlap"); o < 0 {
			problems = append(problems, plan.ParamProblem{Param: "resource.overlap", Msg: "must not be negative"})
		}
	default:
		if src, err := parseDatabase(r.String("url")); err != nil {
			problems = append(problems, plan.ParamProblem{Param: "resource.url", Msg: err.Error()})
		} else if src.password != "" {
			problems = append(problems, plan.ParamProblem{Param: "resource.url", Msg: "leave the password out: the secret holds it"})
		} else if src.User == "" && r.String("role") == "" {
			problems = append(problems, plan.ParamProblem{Param: "resource.role", Msg: "name the role: role: NAME, or postgres://ROLE@host/db"})
		}
	}
	if with["length"] != nil && (p.Int("length") < 12 || p.Int("length") > 1024) {
		problems = append(problems, plan.ParamProblem{Param: "length", Msg: "must be 12 to 1024"})
	}
	if a, ok := with["alphabet"]; ok && len([]rune(fmt.Sprint(a))) < 10 {
		problems = append(problems, plan.ParamProblem{Param: "alphabet", Msg: "needs at least 10 characters"})
	}
	return problems
}

// secrets is a store of versioned secrets with staging labels: what a
// rotation needs of the store its secret's reference names.
type secrets interface {
	Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error)
	Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error)
	Promote(ctx context.Context, name, id string) error
	Discard(ctx context.Context, name, id string) error
}

// Every store a reference may name rotates.
var (
	_ secrets = (*local.Store)(nil)
	_ secrets = (*awssm.Store)(nil)
	_ secrets = (*azkv.Store)(nil)
)

// Activities are the rotation's steps, on the stores a worker opens.
type Activities struct {
	stores secretref.Stores
}

// New returns the rotation's steps, opening secrets in stores.
func New(stores secretref.Stores) *Activities {
	return &Activities{stores: stores}
}

// Type is the task type: its declaration, the SecretRotation workflow
// and the step activities it calls.
func (a *Activities) Type() task.Type {
	return task.Type{Decl: Decl, Workflow: SecretRotation, Activities: map[string]any{
		RotateCreate:   a.Create,
		RotateSet:      a.Set,
		RotateTest:     a.Test,
		RotateFinish:   a.Finish,
		RotateRollback: a.Rollback,
		RotateRetire:   a.Retire,
	}}
}

// RotationStep is the input of every rotation step: the task and the
// rotation's ID (its workflow's), from which the pending version's
// request token is derived, so a retried create makes no second version.
type RotationStep struct {
	Task task.Input `json:"task"`
	ID   string     `json:"id"`
}

// RotationResult is what a rotation step reports; never a value.
type RotationResult struct {
	Version string             `json:"version,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Message string             `json:"message,omitempty"`
}

// token is the pending version's request token: the same for every
// attempt of one rotation, different for the next rotation; 36
// characters (Secrets Manager wants 32 to 64).
func (s RotationStep) token() string {
	sum := sha256.Sum256([]byte(s.ID))
	return "rot-" + hex.EncodeToString(sum[:16])
}

// rotated is what a rotated secret opens: a PostgreSQL role, or the
// JWKS that verifiers of a JWT signing key read.
type rotated interface {
	// describe names the resource in messages.
	describe() string
	// bootstrap says whether a secret with no current value may rotate
	// (its first key); a password must be stored first.
	bootstrap() bool
	// generate makes a new value.
	generate() ([]byte, error)
	// set applies pending to the resource; cur is nil when bootstrapping.
	// Done already, it does nothing.
	set(ctx context.Context, cur, pending []byte) (string, error)
	// test checks that pending works; testFailure marks a failed test.
	test(ctx context.Context, pending []byte) (string, error)
	// undo gives the resource back cur, whatever step the rotation
	// reached; idempotent.
	undo(ctx context.Context, cur, pending []byte) (string, error)
}

// testFailure is a failed test: not retried, the rotation rolls back.
func testFailure(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrRotationTest, nil)
}

type rotation struct {
	ref   secretstore.Ref
	store secrets
	res   rotated
}

func (a *Activities) rotation(ctx context.Context, s RotationStep) (*rotation, error) {
	p := s.Task.Params
	ref, err := secretstore.ParseRef(p.String("secret"))
	if err != nil {
		return nil, task.InvalidParams("secret: %v", err)
	}
	store, err := a.stores.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	r := p.Object("resource")
	switch r.String("kind") {
	case ResourceJWTKey:
		return &rotation{ref: ref, store: store, res: newJWTKey(r)}, nil
	default:
		role, err := newPGRole(r, p)
		if err != nil {
			return nil, err
		}
		return &rotation{ref: ref, store: store, res: role}, nil
	}
}

// pgRole rotates the password of a PostgreSQL role.
type pgRole struct {
	role     database
	query    string
	length   int
	alphabet string
}

func newPGRole(r, p task.Params) (*pgRole, error) {
	role, err := parseDatabase(r.String("url"))
	if err != nil {
		return nil, task.InvalidParams("resource.url: %v", err)
	}
	if name := r.String("role"); name != "" {
		u := *role.url
		u.User = url.User(name)
		role.url, role.User = &u, name
	}
	q := r.String("testQuery")
	if q == "" {
		q = "SELECT 1"
	}
	return &pgRole{role: role, query: q, length: p.Int("length"), alphabet: p.String("alphabet")}, nil
}

func (r *pgRole) describe() string { return "role " + r.role.User }

func (r *pgRole) bootstrap() bool { return false }

func (r *pgRole) generate() ([]byte, error) { return password.Generate(r.length, r.alphabet) }

// as returns the role's connection with password pw.
func (r *pgRole) as(pw []byte) database {
	src := r.role
	u := *src.url
	u.User = url.UserPassword(src.User, string(pw))
	src.url, src.password = &u, string(pw)
	return src
}

// Create generates the new value and stores it as the pending
// version. It reports the current version's age.
func (a *Activities) Create(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	metrics := map[string]float64{}
	_, cur, err := r.store.Get(ctx, r.ref.Name, secretstore.Current)
	switch {
	case errors.Is(err, secretstore.ErrNotFound) && !r.res.bootstrap():
		return RotationResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s has no current value: store the role's password first (starter secrets put %s)", r.ref, r.ref), task.ErrInvalidParams, nil)
	case errors.Is(err, secretstore.ErrNotFound):
		// The first value of a secret that may start from nothing.
	case err != nil:
		return RotationResult{}, err
	default:
		metrics["secret.age"] = time.Since(cur.Created).Seconds()
	}
	// The value is random, so a create retried after a crash must find
	// the version it made rather than Put another value under its token.
	if v, ver, err := r.store.Get(ctx, r.ref.Name, secretstore.Pending); err == nil && ver.ID == s.token() && len(v) > 0 {
		return RotationResult{Version: ver.ID, Metrics: metrics, Message: "pending version " + ver.ID + " already created"}, nil
	}
	value, err := r.res.generate()
	if err != nil {
		return RotationResult{}, err
	}
	ver, err := r.store.Put(ctx, r.ref.Name, s.token(), value, secretstore.Pending)
	if err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Version: ver.ID, Metrics: metrics, Message: fmt.Sprintf("created pending version %s of %s", ver.ID, r.ref)}, nil
}

// current returns the current value, nil if there is none yet.
func (r *rotation) current(ctx context.Context) ([]byte, error) {
	cur, _, err := r.store.Get(ctx, r.ref.Name, secretstore.Current)
	if errors.Is(err, secretstore.ErrNotFound) && r.res.bootstrap() {
		return nil, nil
	}
	return cur, err
}

// values returns the current (nil if none yet) and pending values.
func (r *rotation) values(ctx context.Context, token string) (cur, pending []byte, err error) {
	if cur, err = r.current(ctx); err != nil {
		return nil, nil, err
	}
	pending, ver, err := r.store.Get(ctx, r.ref.Name, secretstore.Pending)
	if err != nil {
		return nil, nil, err
	}
	if ver.ID != token {
		return nil, nil, fmt.Errorf("%s: the pending version is %s, not this rotation's %s", r.ref, ver.ID, token)
	}
	return cur, pending, nil
}

// setPassword connects as the role with from and sets its password to to.
func (r *pgRole) setPassword(ctx context.Context, from, to []byte) error {
	conn, err := r.as(from).connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The role gets the password's SCRAM secret, made here: the
	// statement, which the server logs (log_statement = ddl, or any
	// statement that fails), holds no password.
	stmt, err := postgres.SetPasswordStatement(r.role.User, string(to))
	if err != nil {
		return fmt.Errorf("ALTER ROLE %s: %w", r.role.User, err)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("ALTER ROLE %s: %w", r.role.User, redactErr(redactErr(err, string(to)), string(from)))
	}
	return nil
}

// opens says whether pw opens the role's database.
func (r *pgRole) opens(ctx context.Context, pw []byte) (bool, error) {
	conn, err := r.as(pw).connect(ctx)
	if err == nil {
		conn.Close(context.WithoutCancel(ctx))
		return true, nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" { // invalid_password
		return false, nil
	}
	return false, err
}

// set gives the role the pending password, over a connection made with
// the current one. Retried after it already happened (the current
// password no longer opens, the pending one does), it does nothing.
func (r *pgRole) set(ctx context.Context, cur, pending []byte) (string, error) {
	if ok, err := r.opens(ctx, cur); err != nil {
		return "", err
	} else if !ok {
		if ok, _ := r.opens(ctx, pending); ok {
			return "the role has the pending password already", nil
		}
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("neither the current nor the pending password opens %s", r.role), task.ErrTaskFailed, nil)
	}
	if err := r.setPassword(ctx, cur, pending); err != nil {
		return "", err
	}
	return fmt.Sprintf("set the pending password on role %s", r.role.User), nil
}

// test connects with the pending password and runs the test query.
func (r *pgRole) test(ctx context.Context, pending []byte) (string, error) {
	conn, err := r.as(pending).connect(ctx)
	if err != nil {
		return "", testFailure(fmt.Errorf("the pending password does not open %s: %v", r.role, err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, r.query)
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		return "", testFailure(fmt.Errorf("test query as %s failed: %v", r.role.User, redactErr(err, string(pending))))
	}
	return fmt.Sprintf("the pending password opens %s and runs %q", r.role, r.query), nil
}

// undo gives the role the current password back if it has the pending one.
func (r *pgRole) undo(ctx context.Context, cur, pending []byte) (string, error) {
	if ok, err := r.opens(ctx, cur); err != nil {
		return "", err
	} else if ok {
		return "the role kept the current password", nil
	}
	if err := r.setPassword(ctx, pending, cur); err != nil {
		return "", fmt.Errorf("restore the current password: %w", err)
	}
	return "the role got the current password back", nil
}

// Set applies the pending value to the resource.
func (a *Activities) Set(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	cur, pending, err := r.values(ctx, s.token())
	if err != nil {
		return RotationResult{}, err
	}
	msg, err := r.res.set(ctx, cur, pending)
	if err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Message: msg}, nil
}

// Test checks that the pending value works on the resource.
func (a *Activities) Test(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	_, pending, err := r.values(ctx, s.token())
	if err != nil {
		return RotationResult{}, err
	}
	msg, err := r.res.test(ctx, pending)
	if err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Message: msg}, nil
}

// Finish promotes the pending version to current; the old one
// becomes previous. Promoting again changes nothing.
func (a *Activities) Finish(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	if err := r.store.Promote(ctx, r.ref.Name, s.token()); err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Version: s.token(), Message: fmt.Sprintf("version %s of %s is current", s.token(), r.ref)}, nil
}

// RotateRetire, for a JWT signing key after its overlap, removes every
// key but the current one from the JWKS. Retiring again changes nothing.
func (a *Activities) Retire(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	k, ok := r.res.(*jwtKey)
	if !ok {
		return RotationResult{Message: "nothing to retire"}, nil
	}
	cur, _, err := r.store.Get(ctx, r.ref.Name, secretstore.Current)
	if err != nil {
		return RotationResult{}, err
	}
	msg, err := k.retire(cur)
	if err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Message: msg}, nil
}

// Rollback undoes a rotation that did not finish: the resource
// gets the current value back if it has the pending one, and the pending
// version is removed. It is idempotent, and safe at any step.
func (a *Activities) Rollback(ctx context.Context, s RotationStep) (RotationResult, error) {
	r, err := a.rotation(ctx, s)
	if err != nil {
		return RotationResult{}, err
	}
	cur, err := r.current(ctx)
	if err != nil {
		return RotationResult{}, err
	}
	pending, ver, err := r.store.Get(ctx, r.ref.Name, secretstore.Pending)
	if errors.Is(err, secretstore.ErrNotFound) || err == nil && ver.ID != s.token() {
		return RotationResult{Message: "nothing to roll back: no pending version of this rotation"}, nil
	}
	if err != nil {
		return RotationResult{}, err
	}
	msg, err := r.res.undo(ctx, cur, pending)
	if err != nil {
		return RotationResult{}, err
	}
	if err := r.store.Discard(ctx, r.ref.Name, ver.ID); err != nil {
		return RotationResult{}, err
	}
	return RotationResult{Message: msg + "; pending version " + ver.ID + " removed"}, nil
}
