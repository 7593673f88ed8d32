package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

const drillsUsage = "want: starter drills list|cleanup [--scratch-dir DIR] [--secrets-dir DIR] [--dry-run] [--force] [--json]"

// leftover is something a restore drill left on this machine, with what
// Temporal says of its drill.
type leftover struct {
	restoredrill.Leftover
	// State is the drill workflow's state, when Temporal was asked.
	State string `json:"state,omitempty"`
}

// drillsCmd lists and removes what restore drills left on this machine:
// drills tear down after themselves, even after a worker crash once the
// run resumes; this is for runs that never resume (terminated, or their
// Temporal history gone).
func drillsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" && args[0] != "cleanup" {
		return usageError{drillsUsage}
	}
	sub := args[0]
	var scratch, secrets *string
	var dryRun, force, asJSON *bool
	setup := func(fs *flag.FlagSet) {
		scratch = fs.String("scratch-dir", restoredrill.DefaultScratchDir(), "the worker's scratch directory (env SHIPSHAPE_SCRATCH_DIR)")
		secrets = fs.String("secrets-dir", local.DefaultDir(), "the worker's local secret store (env SHIPSHAPE_SECRETS_DIR), where drills with a validation window file their passwords")
		asJSON = fs.Bool("json", false, "print JSON")
		if sub == "cleanup" {
			dryRun = fs.Bool("dry-run", false, "say what would be removed, remove nothing")
			force = fs.Bool("force", false, "remove without asking Temporal whether the drill still runs (when Temporal is unreachable)")
		}
	}
	// Without Temporal, list works and cleanup needs --force: so parse
	// the flags first, then connect only when asked to.
	probe := flag.NewFlagSet("drills "+sub, flag.ContinueOnError)
	var c conn
	c.register(probe)
	setup(probe)
	pos, err := parseArgs(probe, args[1:], stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	found, err := findLeftovers(ctx, *scratch, *secrets)
	if err != nil {
		return err
	}
	mayRemove := func(l leftover) bool { return true }
	if sub == "list" || !*force {
		cl, err := c.dial(ctx, newLogger(stderr, c.logLevel))
		if err != nil && sub == "cleanup" {
			return fmt.Errorf("%w (without Temporal, cleanup cannot tell a running drill from a lost one; --force removes everything)", err)
		}
		if err == nil {
			defer cl.Close()
			states := map[string]string{}
			for i := range found {
				d := found[i].Drill
				if _, ok := states[d]; !ok {
					states[d] = drillState(ctx, cl, d)
				}
				found[i].State = states[d]
			}
			mayRemove = func(l leftover) bool { return l.State != "running" }
		}
	}
	if sub == "list" {
		return printLeftovers(stdout, found, *asJSON)
	}
	var removed, kept []leftover
	for _, l := range found {
		if !mayRemove(l) {
			kept = append(kept, l)
			continue
		}
		if !*dryRun {
			if err := l.Remove(ctx); err != nil {
				return fmt.Errorf("remove %s: %w", l.Path, err)
			}
		}
		removed = append(removed, l)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"removed": removed, "kept": kept, "dryRun": *dryRun})
	}
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	for _, l := range removed {
		fmt.Fprintf(stdout, "%s %s %s (drill %s)\n", verb, l.Kind, l.Path, l.Drill)
	}
	for _, l := range kept {
		fmt.Fprintf(stdout, "kept %s %s: drill %s is still running\n", l.Kind, l.Path, l.Drill)
	}
	if len(removed)+len(kept) == 0 {
		fmt.Fprintf(stdout, "nothing left by restore drills in %s\n", *scratch)
	}
	return nil
}

// findLeftovers lists what restore drills left in dir and on the local
// Docker engine.
func findLeftovers(ctx context.Context, dir, secrets string) ([]leftover, error) {
	found, err := restoredrill.Leftovers(ctx, dir, secrets)
	if err != nil {
		return nil, err
	}
	out := make([]leftover, len(found))
	for i, l := range found {
		out[i] = leftover{Leftover: l}
	}
	return out, nil
}

// drillState asks Temporal about a drill's workflow: running, closed
// (completed, failed, …) or unknown (no such workflow: its history is gone).
func drillState(ctx context.Context, cl client.Client, id string) string {
	resp, err := cl.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return "unknown"
	case err != nil:
		return "error: " + err.Error()
	case resp.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	}
	return strings.ToLower(strings.TrimPrefix(resp.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func printLeftovers(w io.Writer, found []leftover, asJSON bool) error {
	if asJSON {
		if found == nil {
			found = []leftover{}
		}
		return json.NewEncoder(w).Encode(found)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tDRILL\tSTATE\tSINCE\tPATH")
	for _, l := range found {
		state := l.State
		if l.Kind == "cluster" {
			if l.Running {
				state += fmt.Sprintf(" (server up, port %d)", l.Port)
			} else {
				state += " (server down)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Kind, l.Drill, strings.TrimSpace(state), l.Since.Format(time.RFC3339), l.Path)
	}
	return tw.Flush()
}
