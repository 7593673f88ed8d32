// Package vulnsync keeps a local copy of OSV advisories current: it
// downloads each ecosystem's archive of every advisory (osv.dev's
// <ecosystem>/all.zip), checks that it indexes, and replaces the old copy
// atomically, so that sbom-scan tasks read a whole database or the
// previous one, never half of one.
package vulnsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/osv"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

// DefaultEcosystems are the ecosystems sbom-scan reads packages of.
var DefaultEcosystems = []string{vulndb.EcosystemGo, vulndb.EcosystemNpm}

// ErrUnknownEcosystem is returned for an ecosystem the source does not have.
var ErrUnknownEcosystem = errors.New("unknown ecosystem")

// Result is what a sync did for one ecosystem.
type Result struct {
	Ecosystem string
	// File is the archive: <dir>/<ecosystem>/all.zip.
	File string
	// UpToDate is true when the archive had not changed since the last sync.
	UpToDate   bool
	Bytes      int64
	Advisories int
	Withdrawn  int
	Packages   int
	Took       time.Duration
}

// Sync brings dir up to date for each ecosystem.
func Sync(ctx context.Context, client *osv.Client, dir string, ecosystems []string) ([]Result, error) {
	if len(ecosystems) == 0 {
		ecosystems = DefaultEcosystems
	}
	var results []Result
	for _, eco := range ecosystems {
		r, err := syncOne(ctx, client, dir, eco)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

func syncOne(ctx context.Context, client *osv.Client, dir, eco string) (Result, error) {
	start := time.Now()
	if eco == "" || strings.ContainsAny(eco, `/\`) || eco == "." || eco == ".." {
		return Result{}, fmt.Errorf("%w %q", ErrUnknownEcosystem, eco)
	}
	ecoDir := filepath.Join(dir, eco)
	if err := os.MkdirAll(ecoDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("vulndb sync: %w", err)
	}
	res := Result{Ecosystem: eco, File: filepath.Join(ecoDir, "all.zip")}
	etagFile := res.File + ".etag"
	etag := ""
	if _, err := os.Stat(res.File); err == nil {
		if b, err := os.ReadFile(etagFile); err == nil {
			etag = strings.TrimSpace(string(b))
		}
	}
	tmp, err := os.CreateTemp(ecoDir, ".all-*.zip")
	if err != nil {
		return Result{}, fmt.Errorf("vulndb sync: %w", err)
	}
	defer os.Remove(tmp.Name())
	dl, err := client.Download(ctx, eco, etag, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if osv.IsNotFound(err) {
		return Result{}, fmt.Errorf("%w %q: the source has no %s/all.zip", ErrUnknownEcosystem, eco, eco)
	}
	if err != nil {
		return Result{}, fmt.Errorf("vulndb sync %s: %w", eco, err)
	}
	check := tmp.Name()
	if dl.NotModified {
		res.UpToDate = true
		check = res.File
	}
	// Index what arrived before it replaces anything: a truncated or
	// corrupt archive must not take the place of a good one.
	idx, err := vulndb.Load(ctx, check)
	if err != nil && !errors.Is(err, vulndb.ErrNoDatabase) {
		return Result{}, fmt.Errorf("vulndb sync %s: downloaded archive does not index: %w", eco, err)
	}
	if idx != nil {
		res.Advisories, res.Withdrawn, res.Packages = idx.Advisories, idx.Withdrawn, idx.Packages()
	}
	if !dl.NotModified {
		res.Bytes = dl.Bytes
		if err := os.Rename(tmp.Name(), res.File); err != nil {
			return Result{}, fmt.Errorf("vulndb sync %s: %w", eco, err)
		}
		if dl.ETag != "" {
			if err := os.WriteFile(etagFile, []byte(dl.ETag+"\n"), 0o644); err != nil {
				return Result{}, fmt.Errorf("vulndb sync %s: %w", eco, err)
			}
		} else if err := os.Remove(etagFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Result{}, fmt.Errorf("vulndb sync %s: %w", eco, err)
		}
	} else if st, err := os.Stat(res.File); err == nil {
		res.Bytes = st.Size()
	}
	res.Took = time.Since(start)
	return res, nil
}
