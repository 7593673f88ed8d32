// Package secretstore holds the stores rotated secrets live in. Local is
// a directory of encrypted files for a single host (development, or a
// machine without a vault); AWS Secrets Manager and Azure Key Vault are
// clients of those services. All share the staging model of AWS Secrets
// Manager: a secret has versions, and the labels current, pending and
// previous each sit on at most one version.
package secretstore

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

	"github.com/shipshape-dev/shipshape/internal/atomicfile"
)

// Stages of a version.
const (
	Current  = "current"
	Pending  = "pending"
	Previous = "previous"
)

// Errors, for errors.Is.
var (
	ErrNotFound      = errors.New("secret not found")
	ErrTokenConflict = errors.New("the request token was used with another value")
)

// Version describes one version of a secret (without its value).
type Version struct {
	ID      string    `json:"id"`
	Stages  []string  `json:"stages,omitempty"`
	Created time.Time `json:"created"`
}

// Sealer encrypts values at rest (internal/codec's Keyring).
type Sealer interface {
	Seal(plain, aad []byte) (keyID string, sealed []byte, err error)
	Open(keyID string, sealed, aad []byte) ([]byte, error)
}

// Local is a store of secrets in a directory: one file per secret (mode
// 0600), each version's value sealed with AES-256-GCM by Sealer, the
// secret's name and version authenticated with it. Writes replace the
// file atomically. One process at a time may write a secret (the worker).
type Local struct {
	dir  string
	keys Sealer
	mu   sync.Mutex
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// NewLocal opens (making it if needed) the store in dir.
func NewLocal(dir string, keys Sealer) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret store %s: %w", dir, err)
	}
	return &Local{dir: dir, keys: keys}, nil
}

type localVersion struct {
	Version
	KeyID  string `json:"keyId"`
	Sealed []byte `json:"sealed"`
}

type localFile struct {
	Name     string         `json:"name"`
	Versions []localVersion `json:"versions"`
}

func (s *Local) path(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("secret name %q: use letters, digits, '.', '_' and '-'", name)
	}
	return filepath.Join(s.dir, name+".json"), nil
}

func (s *Local) load(name string) (*localFile, error) {
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

func (s *Local) save(f *localFile) error {
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
// ErrTokenConflict.
func (s *Local) Put(_ context.Context, name, token string, value []byte, stages ...string) (Version, error) {
	if token == "" {
		return Version{}, errors.New("put: a request token is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return Version{}, err
	}
	for _, v := range f.Versions {
		if v.ID != token {
			continue
		}
		old, err := s.keys.Open(v.KeyID, v.Sealed, aad(name, v.ID))
		if err != nil {
			return Version{}, fmt.Errorf("secret %s version %s: %w", name, v.ID, err)
		}
		if string(old) != string(value) {
			return Version{}, fmt.Errorf("secret %s: token %s: %w", name, token, ErrTokenConflict)
		}
		return v.Version, nil
	}
	keyID, sealed, err := s.keys.Seal(value, aad(name, token))
	if err != nil {
		return Version{}, err
	}
	v := localVersion{Version: Version{ID: token, Created: time.Now().UTC()}, KeyID: keyID, Sealed: sealed}
	f.Versions = append(f.Versions, v)
	for _, st := range stages {
		label(f, st, token)
	}
	if err := s.save(f); err != nil {
		return Version{}, err
	}
	return s.version(f, token), nil
}

func (s *Local) version(f *localFile, id string) Version {
	for _, v := range f.Versions {
		if v.ID == id {
			return v.Version
		}
	}
	return Version{}
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
func (s *Local) Get(_ context.Context, name, stage string) ([]byte, Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return nil, Version{}, err
	}
	for _, v := range f.Versions {
		for _, st := range v.Stages {
			if st == stage {
				plain, err := s.keys.Open(v.KeyID, v.Sealed, aad(name, v.ID))
				if err != nil {
					return nil, Version{}, fmt.Errorf("secret %s version %s: %w", name, v.ID, err)
				}
				return plain, v.Version, nil
			}
		}
	}
	return nil, Version{}, fmt.Errorf("%w: %s has no %s version", ErrNotFound, name, stage)
}

// Promote makes version id current (the way UpdateSecretVersionStage
// moves AWSCURRENT): the version that was current becomes previous, and
// id loses pending. Promoting the current version again changes nothing.
func (s *Local) Promote(_ context.Context, name, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return err
	}
	if s.version(f, id).ID == "" {
		return fmt.Errorf("%w: %s has no version %s", ErrNotFound, name, id)
	}
	for i := range f.Versions {
		v := &f.Versions[i]
		if v.ID != id && slices.Contains(v.Stages, Current) {
			label(f, Previous, v.ID)
		}
	}
	label(f, Current, id)
	for i := range f.Versions {
		if f.Versions[i].ID == id {
			f.Versions[i].Stages = without(f.Versions[i].Stages, Pending)
		}
	}
	return s.save(f)
}

// Discard removes version id, unless it is current (a rollback drops the
// pending version). Discarding a version that is gone is not an error.
func (s *Local) Discard(_ context.Context, name, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return err
	}
	out := f.Versions[:0]
	for _, v := range f.Versions {
		if v.ID == id {
			if slices.Contains(v.Stages, Current) {
				return fmt.Errorf("secret %s: version %s is current and cannot be discarded", name, id)
			}
			continue
		}
		out = append(out, v)
	}
	f.Versions = out
	return s.save(f)
}

// Versions lists a secret's versions, oldest first.
func (s *Local) Versions(_ context.Context, name string) ([]Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load(name)
	if err != nil {
		return nil, err
	}
	if len(f.Versions) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	out := make([]Version, len(f.Versions))
	for i, v := range f.Versions {
		out[i] = v.Version
	}
	return out, nil
}

// Names lists the secrets, sorted.
func (s *Local) Names(context.Context) ([]string, error) {
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
