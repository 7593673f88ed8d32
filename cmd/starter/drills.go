package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/activities"
	"github.com/shipshape-dev/shipshape/integrations/dockerpg"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
)

const drillsUsage = "want: starter drills list|cleanup [--scratch-dir DIR] [--dry-run] [--force] [--json]"

// leftover is something a restore drill made on this machine: a scratch
// cluster, a drill directory, or a container on the local Docker engine.
type leftover struct {
	Kind    string    `json:"kind"` // cluster, directory or container
	Drill   string    `json:"drill"`
	Path    string    `json:"path"`
	Port    int       `json:"port,omitempty"`
	Running bool      `json:"running,omitempty"`
	Since   time.Time `json:"since"`
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
	var scratch *string
	var dryRun, force, asJSON *bool
	setup := func(fs *flag.FlagSet) {
		scratch = fs.String("scratch-dir", activities.DrillScratchDir(), "the worker's scratch directory (env SHIPSHAPE_SCRATCH_DIR)")
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
	found, err := findLeftovers(*scratch)
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
			var err error
			switch l.Kind {
			case "cluster":
				err = postgres.Remove(ctx, l.Path)
			case "container":
				err = removeContainer(l.Drill)
			default:
				err = os.RemoveAll(l.Path)
			}
			if err != nil {
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

// findLeftovers lists the scratch clusters and drill directories in dir.
func findLeftovers(dir string) ([]leftover, error) {
	var out []leftover
	clusters, err := postgres.Leftovers(dir, activities.DrillTag(""))
	if err != nil {
		return nil, err
	}
	for _, c := range clusters {
		out = append(out, leftover{Kind: "cluster", Drill: strings.TrimPrefix(c.Tag, activities.DrillTag("")), Path: c.Dir,
			Port: c.Port, Running: c.Running, Since: c.Started})
	}
	dirs, err := filepath.Glob(filepath.Join(dir, "shipshape-drill-*"))
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		id, err := os.ReadFile(filepath.Join(d, activities.DrillIDFile))
		if err != nil {
			continue
		}
		l := leftover{Kind: "directory", Drill: string(id), Path: d}
		if info, err := os.Stat(d); err == nil {
			l.Since = info.ModTime().UTC()
		}
		out = append(out, l)
	}
	// Containers of docker targets, when a Docker engine answers.
	if eng, err := dockerpg.Connect(""); err == nil {
		cs, err := eng.Labelled("")
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, leftover{Kind: "container", Drill: strings.TrimPrefix(c.Labels[dockerpg.Label], activities.DrillTag("")),
				Path: c.ID, Running: c.State == "running", Since: time.Unix(c.Created, 0).UTC()})
		}
	}
	return out, nil
}

// removeContainer removes a drill's containers.
func removeContainer(drill string) error {
	eng, err := dockerpg.Connect("")
	if err != nil {
		return err
	}
	_, err = eng.Remove(activities.DrillTag(drill))
	return err
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
