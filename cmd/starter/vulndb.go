package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shipshape-dev/shipshape/integrations/osv"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
	"github.com/shipshape-dev/shipshape/internal/vulnsync"
)

// vulndbCmd manages the local OSV advisory database sbom-scan tasks read.
func vulndbCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sync" {
		return usageError{"want: starter vulndb sync [--dir DIR] [--ecosystem Go,npm] [--data-url URL]"}
	}
	fs := flag.NewFlagSet("vulndb sync", flag.ContinueOnError)
	dir := fs.String("dir", vulndb.DefaultDir, "where to keep the advisories (sbom-scan's default db)")
	ecosystems := fs.String("ecosystem", strings.Join(vulnsync.DefaultEcosystems, ","), "OSV ecosystems to fetch, comma-separated")
	defaultURL := osv.DefaultDataURL
	if v := os.Getenv("SHIPSHAPE_OSV_DATA_URL"); v != "" {
		defaultURL = v
	}
	dataURL := fs.String("data-url", defaultURL, "base URL of the per-ecosystem archives, DATA-URL/<ecosystem>/all.zip (env SHIPSHAPE_OSV_DATA_URL)")
	pos, err := parseArgs(fs, args[1:], stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	var ecos []string
	for _, e := range strings.Split(*ecosystems, ",") {
		if e = strings.TrimSpace(e); e != "" {
			ecos = append(ecos, e)
		}
	}
	client := osv.New(osv.Config{DataURL: *dataURL, UserAgent: "shipshape-starter"})
	results, err := vulnsync.Sync(ctx, client, *dir, ecos)
	for _, r := range results {
		state := fmt.Sprintf("downloaded %.1f MB", float64(r.Bytes)/1e6)
		if r.UpToDate {
			state = "up to date"
		}
		fmt.Fprintf(stdout, "%s: %s, %d advisories for %d packages (%d withdrawn) in %s, %s\n",
			r.Ecosystem, state, r.Advisories, r.Packages, r.Withdrawn, r.File, r.Took.Round(1e6))
	}
	if errors.Is(err, vulnsync.ErrUnknownEcosystem) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "advisories in %s: sbom-scan tasks read them with db: %s\n", *dir, *dir)
	return nil
}
