package restoredrill

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/dockerpg"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

// Leftover is something a restore drill made on this machine: a scratch
// cluster, a drill directory, a container on the local Docker engine, or
// the password a drill with a validation window filed in the worker's
// local secret store.
// Drills tear down after themselves, even after a worker crash once the
// run resumes; leftovers are of runs that never resume (terminated, or
// their Temporal history gone).
type Leftover struct {
	Kind    string    `json:"kind"` // cluster, directory, container or secret
	Drill   string    `json:"drill"`
	Path    string    `json:"path"`
	Port    int       `json:"port,omitempty"`
	Running bool      `json:"running,omitempty"`
	Since   time.Time `json:"since"`
	// secrets is the local store's directory, for a secret.
	secrets string
}

// Leftovers lists the scratch clusters and drill directories in the
// scratch directory dir, the passwords those drills filed in the local
// secret store in secretsDir (empty: local.DefaultDir()), and the
// drills' containers when a Docker engine answers.
func Leftovers(ctx context.Context, dir, secretsDir string) ([]Leftover, error) {
	if secretsDir == "" {
		secretsDir = local.DefaultDir()
	}
	var out []Leftover
	clusters, err := postgres.Leftovers(dir, Tag(""))
	if err != nil {
		return nil, err
	}
	for _, c := range clusters {
		out = append(out, Leftover{Kind: "cluster", Drill: strings.TrimPrefix(c.Tag, Tag("")), Path: c.Dir,
			Port: c.Port, Running: c.Running, Since: c.Started})
	}
	dirs, err := filepath.Glob(filepath.Join(dir, "shipshape-drill-*"))
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		id, err := os.ReadFile(filepath.Join(d, IDFile))
		if err != nil {
			continue
		}
		l := Leftover{Kind: "directory", Drill: string(id), Path: d}
		if info, err := os.Stat(d); err == nil {
			l.Since = info.ModTime().UTC()
		}
		out = append(out, l)
		// The store keeps a secret as <name>.json: look, without
		// opening (which would make a store where there is none).
		if info, err := os.Stat(filepath.Join(secretsDir, secretName(string(id))+".json")); err == nil {
			out = append(out, Leftover{Kind: "secret", Drill: string(id), Path: "local://" + secretName(string(id)),
				Since: info.ModTime().UTC(), secrets: secretsDir})
		}
	}
	// Containers of docker targets, when a Docker engine answers.
	if eng, err := dockerpg.Connect(""); err == nil {
		cs, err := eng.Labelled(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, Leftover{Kind: "container", Drill: strings.TrimPrefix(c.Labels[dockerpg.Label], Tag("")),
				Path: c.ID, Running: c.State == "running", Since: time.Unix(c.Created, 0).UTC()})
		}
	}
	return out, nil
}

// Remove removes a leftover: a cluster (its server stopped), a drill's
// containers, or a directory.
func (l Leftover) Remove(ctx context.Context) error {
	switch l.Kind {
	case "cluster":
		return postgres.Remove(ctx, l.Path)
	case "container":
		eng, err := dockerpg.Connect("")
		if err != nil {
			return err
		}
		_, err = eng.Remove(ctx, Tag(l.Drill))
		return err
	case "secret":
		store, err := local.Open(l.secrets)
		if err != nil {
			return err
		}
		return store.Delete(ctx, strings.TrimPrefix(l.Path, "local://"))
	default:
		return os.RemoveAll(l.Path)
	}
}
