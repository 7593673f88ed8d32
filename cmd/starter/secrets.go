package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

const secretsUsage = "want: starter secrets get|put|list|versions [local://NAME] [--dir DIR] [--stage current|pending|previous] [--from-env VAR | --from-file FILE | stdin]"

// secretsCmd reads and writes the worker's local secret store: seed a
// role's current password before its first rotation, and read the value a
// rotation left (only get prints a value, and only to stdout).
func secretsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{secretsUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("secrets "+sub, flag.ContinueOnError)
	dir := fs.String("dir", local.DefaultDir(), "the local store's directory: the worker's (env SHIPSHAPE_SECRETS_DIR)")
	stage := fs.String("stage", secretstore.Current, "get: the version to read: current, pending or previous")
	fromEnv := fs.String("from-env", "", "put: read the value from this environment variable")
	fromFile := fs.String("from-file", "", "put: read the value from this file (else from stdin)")
	pos, err := parseArgs(fs, args[1:], stderr)
	if err != nil {
		return err
	}
	store, err := local.Open(*dir)
	if err != nil {
		return err
	}
	name := func() (string, error) {
		if len(pos) != 1 || !strings.HasPrefix(pos[0], "local://") || strings.Contains(strings.TrimPrefix(pos[0], "local://"), "/") {
			return "", usageError{"want one secret reference, local://NAME"}
		}
		return strings.TrimPrefix(pos[0], "local://"), nil
	}
	switch sub {
	case "get":
		n, err := name()
		if err != nil {
			return err
		}
		v, _, err := store.Get(ctx, n, *stage)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(v))
		return err
	case "put":
		n, err := name()
		if err != nil {
			return err
		}
		var value []byte
		switch {
		case *fromEnv != "":
			value = []byte(os.Getenv(*fromEnv))
		case *fromFile != "":
			value, err = os.ReadFile(*fromFile)
		default:
			value, err = io.ReadAll(os.Stdin)
		}
		if err != nil {
			return err
		}
		value = []byte(strings.TrimRight(string(value), "\r\n"))
		if len(value) == 0 {
			return usageError{"secrets put: the value is empty"}
		}
		var token [8]byte
		_, _ = rand.Read(token[:])
		v, err := store.Put(ctx, n, "put-"+hex.EncodeToString(token[:]), value, secretstore.Current)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "local://%s: version %s is current\n", n, v.ID)
		return nil
	case "list":
		names, err := store.Names(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SECRET\tVERSIONS\tCURRENT SINCE")
		for _, n := range names {
			vs, err := store.Versions(ctx, n)
			if err != nil {
				continue
			}
			since := "—"
			for _, v := range vs {
				for _, s := range v.Stages {
					if s == secretstore.Current {
						since = v.Created.Format(time.RFC3339)
					}
				}
			}
			fmt.Fprintf(tw, "local://%s\t%d\t%s\n", n, len(vs), since)
		}
		return tw.Flush()
	case "versions":
		n, err := name()
		if err != nil {
			return err
		}
		vs, err := store.Versions(ctx, n)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTAGES\tCREATED")
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.ID, strings.Join(v.Stages, ","), v.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return usageError{secretsUsage}
}
