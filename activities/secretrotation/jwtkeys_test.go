package secretrotation_test

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/go-jose/go-jose/v4"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/awssmtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkv"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkvtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/secretref"
)

// jwtEnv is a local store, a JWKS file and an HTTP server publishing the
// directory it is in, as a web server would for verifiers.
type jwtEnv struct {
	*rotationEnv
	jwks   string
	srv    *httptest.Server
	secret string
}

func newJWTEnv(t *testing.T, alg string, handler func(files http.Handler) http.Handler) *jwtEnv {
	return newJWTEnvIn(t, "local://app-db", alg, handler)
}

// newJWTEnvIn is newJWTEnv with the key kept at secret.
func newJWTEnvIn(t *testing.T, secret, alg string, handler func(files http.Handler) http.Handler) *jwtEnv {
	dir := t.TempDir()
	store, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	web := t.TempDir()
	files := http.FileServer(http.Dir(web))
	if handler != nil {
		files = handler(files)
	}
	srv := httptest.NewServer(files)
	t.Cleanup(srv.Close)
	e := &jwtEnv{rotationEnv: &rotationEnv{t: t, stores: secretref.Stores{Dir: dir}, store: store},
		jwks: filepath.Join(web, ".well-known", "jwks.json"), srv: srv, secret: secret}
	e.rotate(1, alg)
	return e
}

// rotate sets up the nth rotation (a new workflow ID, so a new token).
func (e *jwtEnv) rotate(n int, alg string) {
	e.step = secretrotation.RotationStep{ID: "run-" + string(rune('0'+n)) + "/task/keys/signing", Task: task.Input{
		RunID: "run", Phase: "keys", Task: "signing", Uses: secretrotation.Name,
		Params: withDefaults(e.t, map[string]any{
			"secret": e.secret, "resource": map[string]any{"kind": "jwt-signing-key", "jwks": e.jwks,
				"jwksURL": e.srv.URL + "/.well-known/jwks.json", "algorithm": alg, "overlap": "1s"},
		}),
	}}
}

// published returns the key IDs in the JWKS file, checking that each
// public key is well formed.
func (e *jwtEnv) published() []string {
	e.t.Helper()
	b, err := os.ReadFile(e.jwks)
	if err != nil {
		e.t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() || k.Use != "sig" {
			e.t.Fatalf("key %s: public %v valid %v use %q", k.KeyID, k.IsPublic(), k.Valid(), k.Use)
		}
		ids = append(ids, k.KeyID)
	}
	if strings.Contains(string(b), "PRIVATE") || strings.Contains(string(b), `"d"`) {
		e.t.Fatal("the JWKS holds private key material")
	}
	return ids
}

// kid is the RFC 7638 thumbprint of the public half of the key at stage,
// computed here from the stored PEM, independently of the rotation.
func (e *jwtEnv) kid(stage string) string {
	e.t.Helper()
	v := e.value(stage)
	block, _ := pem.Decode([]byte(v))
	if block == nil {
		e.t.Fatalf("the %s value is not PEM", stage)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: priv.(crypto.Signer).Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		e.t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// TestRotateJWTKey rotates a signing key twice, for both algorithms: the
// first key starts from nothing; the second rotation publishes both keys
// while the new one is tested (a token it signs verifies against the
// JWKS as served over HTTP), keeps both after finish, and retire leaves
// only the new one.
func TestRotateJWTKey(t *testing.T) {
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			e := newJWTEnv(t, alg, nil)
			for _, step := range []string{secretrotation.RotateCreate, secretrotation.RotateSet, secretrotation.RotateTest, secretrotation.RotateFinish} {
				e.must(step)
			}
			first := e.kid(secretstore.Current)
			if ids := e.published(); len(ids) != 1 || ids[0] != first {
				t.Fatalf("after the first rotation the JWKS has %v, want [%s]", ids, first)
			}

			e.rotate(2, alg)
			e.must(secretrotation.RotateCreate)
			e.must(secretrotation.RotateSet)
			e.must(secretrotation.RotateSet) // retried: no duplicate key
			second := e.kid(secretstore.Pending)
			if ids := e.published(); len(ids) != 2 || ids[0] != first || ids[1] != second {
				t.Fatalf("during the rotation the JWKS has %v, want [%s %s]", ids, first, second)
			}
			if r := e.must(secretrotation.RotateTest); !strings.Contains(r.Message, "verifies against the JWKS at "+e.srv.URL) {
				t.Fatalf("test: %+v", r)
			}
			e.must(secretrotation.RotateFinish)
			if e.kid(secretstore.Current) != second || e.kid(secretstore.Previous) != first {
				t.Fatal("the new key is not current, or the old one not previous")
			}
			if ids := e.published(); len(ids) != 2 {
				t.Fatalf("the old key left the JWKS before its overlap: %v", ids)
			}
			r := e.must(secretrotation.RotateRetire)
			e.must(secretrotation.RotateRetire) // idempotent
			if ids := e.published(); len(ids) != 1 || ids[0] != second || !strings.Contains(r.Message, first) {
				t.Fatalf("after retire the JWKS has %v (%s)", ids, r.Message)
			}
			block, _ := pem.Decode([]byte(e.value(secretstore.Current)))
			priv, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
			if kind := map[string]string{"EdDSA": "ed25519.PrivateKey", "RS256": "*rsa.PrivateKey"}[alg]; fmt.Sprintf("%T", priv) != kind {
				t.Fatalf("%s key is a %T", alg, priv)
			}
		})
	}
}

// A JWKS served with the new kid but another public key (a tampered or
// mis-deployed document) fails the test, and the rollback withdraws the
// new key from the file and the store.
func TestRotateJWTKeyTestFailureRollsBack(t *testing.T) {
	var forged []byte
	e := newJWTEnv(t, "EdDSA", func(files http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if forged != nil {
				w.Write(forged)
				return
			}
			files.ServeHTTP(w, r)
		})
	})
	for _, step := range []string{secretrotation.RotateCreate, secretrotation.RotateSet, secretrotation.RotateTest, secretrotation.RotateFinish} {
		e.must(step)
	}
	first := e.kid(secretstore.Current)
	e.rotate(2, "EdDSA")
	e.must(secretrotation.RotateCreate)
	e.must(secretrotation.RotateSet)
	second := e.kid(secretstore.Pending)
	// Serve the first key's material under the second key's ID.
	b, _ := os.ReadFile(e.jwks)
	forged = []byte(strings.Replace(strings.Replace(string(b), second, "moved", 1), first, second, 1))

	_, err := e.do(secretrotation.RotateTest)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != secretrotation.ErrRotationTest || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("test: %v", err)
	}
	r := e.must(secretrotation.RotateRollback)
	if ids := e.published(); len(ids) != 1 || ids[0] != first || !strings.Contains(r.Message, "withdrawn") {
		t.Fatalf("after rollback the JWKS has %v (%s)", ids, r.Message)
	}
	if e.kid(secretstore.Current) != first || e.value(secretstore.Pending) != "" {
		t.Fatal("the store does not hold the first key as current only")
	}
}

// A JWKS URL that does not serve the new key yet (a cache) is a
// retryable error, not a failed test.
func TestRotateJWTKeyNotPublishedYet(t *testing.T) {
	stale := []byte(`{"keys":[]}`)
	e := newJWTEnv(t, "EdDSA", func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(stale) })
	})
	e.must(secretrotation.RotateCreate)
	e.must(secretrotation.RotateSet)
	_, err := e.do(secretrotation.RotateTest)
	var appErr *temporal.ApplicationError
	if err == nil || !strings.Contains(err.Error(), "not in the JWKS") || errors.As(err, &appErr) && appErr.Type() == secretrotation.ErrRotationTest {
		t.Fatalf("test against a stale JWKS: %v", err)
	}
}

// rotateTwiceThenRollBack rotates the key twice (the second time with
// retire), calls between, then starts a third rotation and rolls it back.
func (e *jwtEnv) rotateTwiceThenRollBack(between func()) {
	e.t.Helper()
	steps := []string{secretrotation.RotateCreate, secretrotation.RotateSet, secretrotation.RotateTest, secretrotation.RotateFinish}
	for n := 1; n <= 2; n++ {
		e.rotate(n, "EdDSA")
		for _, step := range steps {
			e.must(step)
		}
	}
	e.must(secretrotation.RotateRetire)
	if between != nil {
		between()
	}
	e.rotate(3, "EdDSA")
	e.must(secretrotation.RotateCreate)
	e.must(secretrotation.RotateSet)
	e.must(secretrotation.RotateRollback)
}

// TestRotateJWTKeyInAWSSecretsManager keeps the signing key in AWS
// Secrets Manager — the real SDK client against awssmtest, a
// protocol-level fake: the key's versions move through AWSPENDING,
// AWSCURRENT and AWSPREVIOUS, and a rotation rolled back leaves its
// version without labels.
func TestRotateJWTKeyInAWSSecretsManager(t *testing.T) {
	fake := awssmtest.Start(t)
	e := newJWTEnvIn(t, "aws-sm://eu-west-1/prod/signing-key", "EdDSA", nil)
	e.rotateTwiceThenRollBack(nil)

	var labels []string
	for _, v := range fake.Stages("prod/signing-key") {
		labels = append(labels, strings.Join(v, "+"))
	}
	slices.Sort(labels)
	if strings.Join(labels, " ") != " AWSCURRENT AWSPREVIOUS" {
		t.Fatalf("labels %q", labels)
	}
	if ids := e.published(); len(ids) != 1 {
		t.Fatalf("JWKS after the rolled-back third rotation: %v", ids)
	}
}

// TestRotateJWTKeyInAzureKeyVault keeps the signing key in Azure Key
// Vault — the real azsecrets client against azkvtest, a protocol-level
// fake: two rotations and a third rolled back, after which the vault's
// latest version is the current key again.
func TestRotateJWTKeyInAzureKeyVault(t *testing.T) {
	fake := azkvtest.Start(t)
	e := newJWTEnvIn(t, "azkv://acme-prod/signing-key", "EdDSA", nil)
	e.stores.KeyVault = func(vault string) (*azkv.Store, error) {
		if vault != "acme-prod" {
			t.Errorf("vault %q", vault)
		}
		return azkv.New(fake.URL, &azkvtest.Credential{}, &azsecrets.ClientOptions{
			ClientOptions: azcore.ClientOptions{Transport: fake.Client}, DisableChallengeResourceVerification: true})
	}
	var current string
	e.rotateTwiceThenRollBack(func() {
		var err error
		if current, err = fake.Latest("signing-key"); err != nil {
			t.Fatal(err)
		}
	})
	e.must(secretrotation.RotateRollback) // idempotent: no second copy
	if latest, err := fake.Latest("signing-key"); err != nil || latest != current {
		t.Fatalf("latest after the rollback is not the current key: %v (%v)", err, fake.Tags("signing-key"))
	}
	tags := strings.Join(fake.Tags("signing-key"), ", ")
	if want := "enabled=true stage=previous, enabled=true stage=, enabled=false stage=, enabled=true stage=current"; tags != want {
		t.Fatalf("versions %s\nwant     %s", tags, want)
	}
	if ids := e.published(); len(ids) != 1 {
		t.Fatalf("JWKS after the rolled-back third rotation: %v", ids)
	}
}
