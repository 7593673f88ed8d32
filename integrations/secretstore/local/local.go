// Package local is the secret store of a single host (development, or a
// machine without a vault): a directory of encrypted files, with the
// staging model of package secretstore.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/internal/atomicfile"
	"github.com/shipshape-dev/shipshape/internal/codec"
)

// DefaultDir is the store's directory when the worker names none:
// SHIPSHAPE_SECRETS_DIR, else .shipshape/secrets.
func DefaultDir() string {
	if d := os.Getenv("SHIPSHAPE_SECRETS_DIR"); d != "" {
		return d
	}
	return filepath.Join(".shipshape", "secrets")
}

// Open opens the store in dir, with its key file (.keyring, made on first
// use, mode 0600) beside the secrets.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keys, err := codec.EnsureKeyring(filepath.Join(dir, ".keyring"))
	if err != nil {
		return nil, fmt.Errorf("secret store key: %w", err)
	}
	return New(dir, keys)
}

// Sealer encrypts values at rest (internal/codec's Keyring).
type Sealer interface {
	Seal(plain, aad []byte) (keyID string, sealed []byte, err error)
	Open(keyID string, sealed, aad []byte) ([]byte, error)
}

// Store is a store of secrets in a directory: one file per secret (mode
// 0600), each version's value sealed with AES-256-GCM by Sealer, the
// secret's name and version authenticated with it. Writes replace the
// file atomically. One process at a time may write a secret (the worker).
type Store struct {
	dir  string
	keys Sealer
	mu   sync.Mutex
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// New opens (making it if needed) the store in dir, its values sealed
// by keys.
func New(dir string, keys Sealer) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret store %s: %w", dir, err)
	}
	return &Store{dir: dir, keys: keys}, nil
}

type localVersion struct {
	secretstore.Version
	KeyID  string `json:"keyId"`
	Sealed []byte `json:"sealed"`
}

type localFile struct {
	Name     string         `json:"name"`
	Versions []localVersion `json:"versions"`
}

func (s *Store) path(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("secret name %q: use letters, digits, '.', '_' and '-'", name)
	}
	return filepath.Join(s.dir, name+".json"), nil
}

func (s *Store) load(name string) (*localFile, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &localFile{Name: name}, nil
	}
	if err != nil {
		return nil, err
	}
	var f localFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return &f, nil
}

func (s *Store) save(f *localFile) error {
	p, err := s.path(f.Name)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(p, b, 0o600)
}

func aad(name, version string) []byte { return []byte(name + "\x00" + version) }

// Put stores value as a new version with ID token, carrying stages
// (moved off any other version). It is idempotent: the same token with
// the same value changes nothing more; with another value it fails with
// secretstore.ErrTokenConflict.
func (s *Store) Put(_ context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error) {
	if token == "" {
		return secretstore.Version{}, errors.New("put: a request token is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return secretstore.Version{}, err
	}
	for _, v := range f.Versions {
		if v.ID != token {
			continue
		}
		old, err := s.keys.Open(v.KeyID, v.Sealed, aad(name, v.ID))
		if err != nil {
			return secretstore.Version{}, fmt.Errorf("secret %s version %s: %w", name, v.ID, err)
		}
		if string(old) != string(value) {
			return secretstore.Version{}, fmt.Errorf("secret %s: token %s: %w", name, token, secretstore.ErrTokenConflict)
		}
		return v.Version, nil
	}
	keyID, sealed, err := s.keys.Seal(value, aad(name, token))
	if err != nil {
		return secretstore.Version{}, err
	}
	v := localVersion{Version: secretstore.Version{ID: token, Created: time.Now().UTC()}, KeyID: keyID, Sealed: sealed}
	f.Versions = append(f.Versions, v)
	for _, st := range stages {
		label(f, st, token)
	}
	if err := s.save(f); err != nil {
		return secretstore.Version{}, err
	}
	return s.version(f, token), nil
}

func (s *Store) version(f *localFile, id string) secretstore.Version {
	for _, v := range f.Versions {
		if v.ID == id {
			return v.Version
		}
	}
	return secretstore.Version{}
}

// label puts stage on version id, taking it off any other.
func label(f *localFile, stage, id string) {
	for i := range f.Versions {
		v := &f.Versions[i]
		v.Stages = without(v.Stages, stage)
		if v.ID == id {
			v.Stages = append(v.Stages, stage)
			sort.Strings(v.Stages)
		}
	}
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, e := range list {
		if e != s {
			out = append(out, e)
		}
	}
	return out
}

// Get returns the value and version that carry stage.
func (s *Store) Get(_ context.Context, name, stage string) ([]byte, secretstore.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return nil, secretstore.Version{}, err
	}
	for _, v := range f.Versions {
		for _, st := range v.Stages {
			if st == stage {
				plain, err := s.keys.Open(v.KeyID, v.Sealed, aad(name, v.ID))
				if err != nil {
					return nil, secretstore.Version{}, fmt.Errorf("secret %s version %s: %w", name, v.ID, err)
				}
				return plain, v.Version, nil
			}
		}
	}
	return nil, secretstore.Version{}, fmt.Errorf("%w: %s has no %s version", secretstore.ErrNotFound, name, stage)
}

// Promote makes version id current (the way UpdateSecretVersionStage
// moves AWSCURRENT): the version that was current becomes previous, and
// id loses pending. Promoting the current version again changes nothing.
func (s *Store) Promote(_ context.Context, name, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return err
	}
	if s.version(f, id).ID == "" {
		return fmt.Errorf("%w: %s has no version %s", secretstore.ErrNotFound, name, id)
	}
	for i := range f.Versions {
		v := &f.Versions[i]
		if v.ID != id && slices.Contains(v.Stages, secretstore.Current) {
			label(f, secretstore.Previous, v.ID)
		}
	}
	label(f, secretstore.Current, id)
	for i := range f.Versions {
		if f.Versions[i].ID == id {
			f.Versions[i].Stages = without(f.Versions[i].Stages, secretstore.Pending)
		}
	}
	return s.save(f)
}

// Discard removes version id, unless it is current (a rollback drops the
// pending version). Discarding a version that is gone is not an error.
func (s *Store) Discard(_ context.Context, name, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return err
	}
	out := f.Versions[:0]
	for _, v := range f.Versions {
		if v.ID == id {
			if slices.Contains(v.Stages, secretstore.Current) {
				return fmt.Errorf("secret %s: version %s is current and cannot be discarded", name, id)
			}
			continue
		}
		out = append(out, v)
	}
	f.Versions = out
	return s.save(f)
}

// Delete removes a secret and all its versions: a secret made for a
// while (a drill's scratch password), gone with what it opens. Deleting
// a secret that does not exist is not an error.
func (s *Store) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return nil
}

// Versions lists a secret's versions, oldest first.
func (s *Store) Versions(_ context.Context, name string) ([]secretstore.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return nil, err
	}
	if len(f.Versions) == 0 {
		return nil, fmt.Errorf("%w: %s", secretstore.ErrNotFound, name)
	}
	out := make([]secretstore.Version, len(f.Versions))
	for i, v := range f.Versions {
		out[i] = v.Version
	}
	return out, nil
}

// Names lists the secrets, sorted.
func (s *Store) Names(context.Context) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p[:len(p)-len(".json")]))
	}
	sort.Strings(out)
	return out, nil
}
