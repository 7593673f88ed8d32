// Package azkv is the secret store of Azure Key Vault, with the staging
// model of package secretstore kept in tags on its versions.
package azkv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
)

// Tags a Key Vault version carries for the staging model.
const (
	tagStage = "shipshape-stage"
	tagToken = "shipshape-token"
)

// Store is the secrets of an Azure Key Vault. Key Vault has versions
// but no staging labels, so the stage is a tag on the version
// (shipshape-stage: current, pending or previous) and the request token
// another (shipshape-token). Readers of "the latest version" see the
// pending value from create on, as Key Vault makes the newest version
// the latest; when a rotation rolls back, its version is disabled and,
// if it was the newest, the current value is set again as a new version,
// so the latest is the current value once more. A secret whose versions
// carry no stage tags (set with the portal or az) has as current its
// newest enabled version.
type Store struct {
	client *azsecrets.Client
	vault  string
}

// New returns a client of the vault at vaultURL
// (https://NAME.vault.azure.net/) with cred (azidentity's
// DefaultAzureCredential in the worker); opts may be nil.
func New(vaultURL string, cred azcore.TokenCredential, opts *azsecrets.ClientOptions) (*Store, error) {
	c, err := azsecrets.NewClient(vaultURL, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("secretstore: key vault %s: %w", vaultURL, err)
	}
	return &Store{client: c, vault: vaultURL}, nil
}

// Open opens vault with azidentity's DefaultAzureCredential: at
// https://VAULT.vault.azure.net/, or https://VAULT/ when VAULT is a host
// name (other clouds).
func Open(vault string) (*Store, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	u := "https://" + vault + ".vault.azure.net/"
	if strings.Contains(vault, ".") {
		u = "https://" + vault + "/"
	}
	return New(u, cred, nil)
}

func kvNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// kvVersion is a Key Vault version. Its secretstore.Version.ID is the request
// token that made it (what rotations name it by), or Key Vault's own
// version ID for a version set outside Shipshape.
type kvVersion struct {
	secretstore.Version
	kvID    string
	token   string
	enabled bool
}

// versions lists a secret's versions, oldest first.
func (k *Store) versions(ctx context.Context, name string) ([]kvVersion, error) {
	var out []kvVersion
	pager := k.client.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if kvNotFound(err) {
			return nil, fmt.Errorf("%w: %s", secretstore.ErrNotFound, name)
		}
		if err != nil {
			return nil, fmt.Errorf("secretstore: versions of %s: %w", name, err)
		}
		for _, p := range page.Value {
			v := kvVersion{Version: secretstore.Version{ID: p.ID.Version()}, kvID: p.ID.Version()}
			if st := p.Tags[tagStage]; st != nil && *st != "" {
				v.Stages = []string{*st}
			}
			if t := p.Tags[tagToken]; t != nil && *t != "" {
				v.token, v.ID = *t, *t
			}
			if a := p.Attributes; a != nil {
				v.enabled = a.Enabled == nil || *a.Enabled
				if a.Created != nil {
					v.Created = a.Created.UTC()
				}
			}
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b kvVersion) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// withStage is the newest version with stage; for current, when no
// version has the tag, the newest enabled version without a stage tag.
func withStage(vs []kvVersion, stage string) (kvVersion, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if slices.Contains(vs[i].Stages, stage) {
			return vs[i], true
		}
	}
	if stage == secretstore.Current {
		for i := len(vs) - 1; i >= 0; i-- {
			if vs[i].enabled && len(vs[i].Stages) == 0 {
				return vs[i], true
			}
		}
	}
	return kvVersion{}, false
}

// Get returns the value and version that carry stage.
func (k *Store) Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error) {
	vs, err := k.versions(ctx, name)
	if err != nil {
		return nil, secretstore.Version{}, err
	}
	v, ok := withStage(vs, stage)
	if !ok {
		return nil, secretstore.Version{}, fmt.Errorf("%w: %s has no %s version", secretstore.ErrNotFound, name, stage)
	}
	resp, err := k.client.GetSecret(ctx, name, v.kvID, nil)
	if err != nil {
		return nil, secretstore.Version{}, fmt.Errorf("secretstore: get %s version %s: %w", name, v.kvID, err)
	}
	return []byte(deref(resp.Value)), v.Version, nil
}

// Put sets value as a new version tagged with token and stages (at most
// one), moving the stage off other versions. Repeated with the same
// token and value it does nothing; with another value it fails with
// secretstore.ErrTokenConflict.
func (k *Store) Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error) {
	if len(stages) > 1 {
		return secretstore.Version{}, fmt.Errorf("secretstore: a Key Vault version carries one stage, not %v", stages)
	}
	vs, err := k.versions(ctx, name)
	if err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return secretstore.Version{}, err
	}
	for _, v := range vs {
		if v.token != token {
			continue
		}
		resp, err := k.client.GetSecret(ctx, name, v.kvID, nil)
		if err != nil || deref(resp.Value) != string(value) {
			return secretstore.Version{}, fmt.Errorf("secret %s: token %s: %w", name, token, secretstore.ErrTokenConflict)
		}
		return v.Version, nil
	}
	stage := ""
	if len(stages) == 1 {
		stage = stages[0]
	}
	resp, err := k.client.SetSecret(ctx, name, azsecrets.SetSecretParameters{
		Value: to.Ptr(string(value)), Tags: map[string]*string{tagStage: &stage, tagToken: &token},
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true)},
	}, nil)
	if err != nil {
		return secretstore.Version{}, fmt.Errorf("secretstore: set %s: %w", name, err)
	}
	made := kvVersion{Version: secretstore.Version{ID: token, Stages: slices.Clone(stages)}, kvID: resp.ID.Version(), token: token, enabled: true}
	if stage != "" {
		if err := k.relabel(ctx, name, append(vs, made), stage, token); err != nil {
			return secretstore.Version{}, err
		}
	}
	v := made.Version
	if resp.Attributes != nil && resp.Attributes.Created != nil {
		v.Created = resp.Attributes.Created.UTC()
	}
	return v, nil
}

// tag sets version id's stage tag, keeping its token.
func (k *Store) tag(ctx context.Context, name string, v kvVersion, stage string, enabled *bool) error {
	params := azsecrets.UpdateSecretPropertiesParameters{Tags: map[string]*string{tagStage: to.Ptr(stage), tagToken: to.Ptr(v.token)}}
	if enabled != nil {
		params.SecretAttributes = &azsecrets.SecretAttributes{Enabled: enabled}
	}
	if _, err := k.client.UpdateSecretProperties(ctx, name, v.kvID, params, nil); err != nil {
		return fmt.Errorf("secretstore: tag %s version %s %q: %w", name, v.kvID, stage, err)
	}
	return nil
}

// relabel gives version id stage and takes it off every other version;
// when stage is current, the old current becomes previous and the old
// previous loses its tag. The new holder is tagged first: a crash
// midway leaves two versions tagged, and the newest wins.
func (k *Store) relabel(ctx context.Context, name string, vs []kvVersion, stage, id string) error {
	var target kvVersion
	for _, v := range vs {
		if v.ID == id {
			target = v
		}
	}
	if !slices.Contains(target.Stages, stage) || len(target.Stages) != 1 {
		if err := k.tag(ctx, name, target, stage, nil); err != nil {
			return err
		}
	}
	moving := stage == secretstore.Current && slices.ContainsFunc(vs, func(v kvVersion) bool { return v.ID != id && slices.Contains(v.Stages, secretstore.Current) })
	for _, v := range vs {
		next := ""
		switch {
		case v.ID == id:
			continue
		case slices.Contains(v.Stages, stage) && stage == secretstore.Current:
			next = secretstore.Previous
		case slices.Contains(v.Stages, stage):
		case moving && slices.Contains(v.Stages, secretstore.Previous):
		default:
			continue
		}
		if err := k.tag(ctx, name, v, next, nil); err != nil {
			return err
		}
	}
	return nil
}

// Promote makes version id current: the old current becomes previous.
// Promoting the current version again changes nothing.
func (k *Store) Promote(ctx context.Context, name, id string) error {
	vs, err := k.versions(ctx, name)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(vs, func(v kvVersion) bool { return v.ID == id }) {
		return fmt.Errorf("%w: %s has no version %s", secretstore.ErrNotFound, name, id)
	}
	return k.relabel(ctx, name, vs, secretstore.Current, id)
}

// Discard disables version id and drops its stage, unless it is current
// (Key Vault cannot delete one version). If it was the newest version,
// the current value is set again as a new, current version, so readers
// of the latest version get the current value. Discarding again changes
// nothing.
func (k *Store) Discard(ctx context.Context, name, id string) error {
	vs, err := k.versions(ctx, name)
	if errors.Is(err, secretstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	i := slices.IndexFunc(vs, func(v kvVersion) bool { return v.ID == id })
	if i < 0 {
		return nil
	}
	cur, hasCur := withStage(vs, secretstore.Current)
	if hasCur && cur.ID == id {
		return fmt.Errorf("secret %s: version %s is current and cannot be discarded", name, id)
	}
	if v := vs[i]; v.enabled || len(v.Stages) > 0 {
		if err := k.tag(ctx, name, v, "", to.Ptr(false)); err != nil {
			return err
		}
	}
	if i != len(vs)-1 || !hasCur {
		return nil
	}
	resp, err := k.client.GetSecret(ctx, name, cur.kvID, nil)
	if err != nil {
		return fmt.Errorf("secretstore: read %s's current value to restore it: %w", name, err)
	}
	token := "restored-" + cur.kvID
	if _, err := k.Put(ctx, name, token, []byte(deref(resp.Value))); err != nil {
		return err
	}
	// The copy becomes current (the newest of two tagged current wins,
	// should this stop midway), then the version it copies keeps no
	// stage; previous stays where it was.
	vs, err = k.versions(ctx, name)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(vs, func(v kvVersion) bool { return v.token == token }); i >= 0 {
		if err := k.tag(ctx, name, vs[i], secretstore.Current, nil); err != nil {
			return err
		}
	}
	if len(cur.Stages) > 0 {
		return k.tag(ctx, name, cur, "", nil)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Versions lists a secret's versions, oldest first.
func (k *Store) Versions(ctx context.Context, name string) ([]secretstore.Version, error) {
	vs, err := k.versions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]secretstore.Version, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out, nil
}
