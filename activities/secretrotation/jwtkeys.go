package secretrotation

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/atomicfile"
)

// ResourceJWTKey is the resource kind of a JWT signing key: the secret
// holds the private key (PKCS#8 PEM), and the public keys verifiers
// accept are published as a JWKS document.
const ResourceJWTKey = "jwt-signing-key"

// JWT signing algorithms a rotated key may use.
const (
	AlgEdDSA = "EdDSA"
	AlgRS256 = "RS256"
)

// jwtKey rotates a JWT signing key. set publishes a JWKS with both the
// current and the new public key (plus any key still in its overlap);
// test signs a token with the new key and verifies it against the JWKS
// as published (at jwksURL when given, so what verifiers fetch is what
// is tested); retire, after the overlap, leaves only the current key.
type jwtKey struct {
	jwks    string // the JWKS file the worker writes
	jwksURL string // where verifiers fetch it; empty: read the file back
	alg     string
	bits    int
	client  *http.Client
}

func newJWTKey(r task.Params) *jwtKey {
	alg := r.String("algorithm")
	if alg == "" {
		alg = AlgEdDSA
	}
	bits := r.Int("keyBits")
	if bits == 0 {
		bits = 2048
	}
	return &jwtKey{jwks: r.String("jwks"), jwksURL: r.String("jwksURL"), alg: alg, bits: bits,
		client: &http.Client{Timeout: 30 * time.Second}}
}

func (k *jwtKey) bootstrap() bool { return true }

func (k *jwtKey) describe() string { return "JWKS " + k.jwks }

// generate makes a key pair; the value is the private key in PKCS#8 PEM.
func (k *jwtKey) generate() ([]byte, error) {
	var priv any
	switch k.alg {
	case AlgRS256:
		key, err := rsa.GenerateKey(rand.Reader, k.bits)
		if err != nil {
			return nil, err
		}
		priv = key
	default:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		priv = key
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// publicJWK is the public half of a stored private key as a JWK whose
// kid is its RFC 7638 thumbprint.
func publicJWK(value []byte) (jose.JSONWebKey, crypto.Signer, error) {
	block, _ := pem.Decode(value)
	if block == nil {
		return jose.JSONWebKey{}, nil, errors.New("the secret is not a PEM private key")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return jose.JSONWebKey{}, nil, fmt.Errorf("the secret is not a PKCS#8 private key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return jose.JSONWebKey{}, nil, fmt.Errorf("unsupported private key %T", priv)
	}
	jwk := jose.JSONWebKey{Key: signer.Public(), Use: "sig"}
	switch signer.(type) {
	case ed25519.PrivateKey:
		jwk.Algorithm = AlgEdDSA
	case *rsa.PrivateKey:
		jwk.Algorithm = AlgRS256
	default:
		return jose.JSONWebKey{}, nil, fmt.Errorf("unsupported private key %T (want Ed25519 or RSA)", priv)
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, nil, err
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, signer, nil
}

// published reads the JWKS file; a missing file is an empty set.
func (k *jwtKey) published() (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	b, err := os.ReadFile(k.jwks)
	if errors.Is(err, os.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return set, err
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("%s: not a JWKS document: %w", k.jwks, err)
	}
	return set, nil
}

// publish writes set atomically (a temporary file renamed into place),
// world-readable: it holds public keys only.
func (k *jwtKey) publish(set jose.JSONWebKeySet) error {
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.jwks), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(k.jwks, append(b, '\n'), 0o644)
}

// kids lists a set's key IDs.
func kids(set jose.JSONWebKeySet) []string {
	var ids []string
	for _, key := range set.Keys {
		ids = append(ids, key.KeyID)
	}
	return ids
}

// edit publishes the JWKS as published now, without the keys drop and
// with the keys add (once each), in that order.
func (k *jwtKey) edit(drop func(kid string) bool, add ...[]byte) (jose.JSONWebKeySet, error) {
	set, err := k.published()
	if err != nil {
		return set, err
	}
	set.Keys = slices.DeleteFunc(set.Keys, func(key jose.JSONWebKey) bool { return drop(key.KeyID) })
	for _, v := range add {
		if v == nil {
			continue
		}
		jwk, _, err := publicJWK(v)
		if err != nil {
			return set, err
		}
		if !slices.Contains(kids(set), jwk.KeyID) {
			set.Keys = append(set.Keys, jwk)
		}
	}
	return set, k.publish(set)
}

// set publishes the pending public key beside the current one.
func (k *jwtKey) set(ctx context.Context, cur, pending []byte) (string, error) {
	set, err := k.edit(func(string) bool { return false }, cur, pending)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", k.jwks, err)
	}
	jwk, _, _ := publicJWK(pending)
	return fmt.Sprintf("published key %s in %s (%d keys)", jwk.KeyID, k.jwks, len(set.Keys)), nil
}

// test signs a token with the pending key and verifies it with the key
// of the same kid in the JWKS as verifiers get it. A JWKS that cannot be
// fetched, or does not have the key yet (a cache, a CDN), is a retryable
// error; a signature the published key rejects fails the test.
func (k *jwtKey) test(ctx context.Context, pending []byte) (string, error) {
	jwk, signer, err := publicJWK(pending)
	if err != nil {
		return "", testFailure(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", jwk.KeyID)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(jwk.Algorithm), Key: signer}, opts)
	if err != nil {
		return "", testFailure(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": "shipshape", "sub": "rotation-test", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	jws, err := sig.Sign(claims)
	if err != nil {
		return "", testFailure(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", testFailure(err)
	}

	set, from, err := k.fetch(ctx)
	if err != nil {
		return "", err
	}
	parsed, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256})
	if err != nil {
		return "", testFailure(err)
	}
	keys := set.Key(parsed.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return "", fmt.Errorf("key %s is not in the JWKS at %s yet", jwk.KeyID, from)
	}
	payload, err := parsed.Verify(keys[0])
	if err != nil {
		return "", testFailure(fmt.Errorf("a token signed with key %s does not verify against the JWKS at %s: %w", jwk.KeyID, from, err))
	}
	var got map[string]any
	if json.Unmarshal(payload, &got) != nil || got["sub"] != "rotation-test" {
		return "", testFailure(fmt.Errorf("the verified token's claims differ from those signed"))
	}
	return fmt.Sprintf("a %s token signed with key %s verifies against the JWKS at %s", jwk.Algorithm, jwk.KeyID, from), nil
}

// fetch gets the JWKS as verifiers do: from jwksURL, else the file.
func (k *jwtKey) fetch(ctx context.Context) (jose.JSONWebKeySet, string, error) {
	if k.jwksURL == "" {
		set, err := k.published()
		return set, k.jwks, err
	}
	var set jose.JSONWebKeySet
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.jwksURL, nil)
	if err != nil {
		return set, k.jwksURL, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return set, k.jwksURL, fmt.Errorf("fetch the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, k.jwksURL, fmt.Errorf("fetch the JWKS: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return set, k.jwksURL, fmt.Errorf("the JWKS at %s: %w", k.jwksURL, err)
	}
	return set, k.jwksURL, nil
}

// undo withdraws the pending key; the current one stays published.
func (k *jwtKey) undo(ctx context.Context, cur, pending []byte) (string, error) {
	jwk, _, err := publicJWK(pending)
	if err != nil {
		return "", err
	}
	if _, err := k.edit(func(kid string) bool { return kid == jwk.KeyID }, cur); err != nil {
		return "", fmt.Errorf("withdraw key %s from %s: %w", jwk.KeyID, k.jwks, err)
	}
	return "key " + jwk.KeyID + " withdrawn from the JWKS", nil
}

// retire leaves only the current key in the JWKS.
func (k *jwtKey) retire(cur []byte) (string, error) {
	jwk, _, err := publicJWK(cur)
	if err != nil {
		return "", err
	}
	before, err := k.published()
	if err != nil {
		return "", err
	}
	if _, err := k.edit(func(kid string) bool { return kid != jwk.KeyID }, cur); err != nil {
		return "", fmt.Errorf("retire keys from %s: %w", k.jwks, err)
	}
	gone := slices.DeleteFunc(kids(before), func(kid string) bool { return kid == jwk.KeyID })
	if len(gone) == 0 {
		return "the JWKS holds only the current key " + jwk.KeyID, nil
	}
	return fmt.Sprintf("retired %v; the JWKS holds only the current key %s", gone, jwk.KeyID), nil
}
