// Package secretref opens the store a secret reference names
// (local://NAME, aws-sm://REGION/NAME, azkv://VAULT/NAME), for the task
// types that read or rotate secrets.
package secretref

import (
	"context"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/awssm"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkv"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

// Store is a store of versioned secrets with staging labels, as Open
// returns it.
type Store interface {
	Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error)
	Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error)
	Promote(ctx context.Context, name, id string) error
	Discard(ctx context.Context, name, id string) error
}

var (
	_ Store = (*local.Store)(nil)
	_ Store = (*awssm.Store)(nil)
	_ Store = (*azkv.Store)(nil)
)

// Stores says where a worker finds the stores references name. The zero
// value opens the default local directory and Key Vaults with
// DefaultAzureCredential.
type Stores struct {
	// Dir is the local store's directory; empty: local.DefaultDir().
	Dir string
	// KeyVault opens the Azure Key Vault of an azkv://VAULT/NAME
	// reference; nil: azkv.Open (https://VAULT.vault.azure.net/, or
	// https://VAULT/ when VAULT is a host name, with azidentity's
	// DefaultAzureCredential).
	KeyVault func(vault string) (*azkv.Store, error)
}

// Open opens the store ref names.
func (s Stores) Open(ctx context.Context, ref secretstore.Ref) (Store, error) {
	switch ref.Scheme {
	case secretstore.SchemeAWS:
		store, err := awssm.New(ctx, ref.Region)
		if err != nil {
			return nil, err
		}
		return store, nil
	case secretstore.SchemeKeyVault:
		open := s.KeyVault
		if open == nil {
			open = azkv.Open
		}
		store, err := open(ref.Region)
		if err != nil {
			return nil, err
		}
		return store, nil
	}
	dir := s.Dir
	if dir == "" {
		dir = local.DefaultDir()
	}
	store, err := local.Open(dir)
	if err != nil {
		return nil, err
	}
	return store, nil
}
