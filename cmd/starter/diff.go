package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

// diffCmd compares two runs of a plan: `starter diff RUN_A RUN_B`, each a
// run ID or a report.json file. Files, and runs the run history keeps,
// need no Temporal connection.
func diffCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	var c conn
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	historyDir := historyDirFlag(fs)
	stateDir := fs.String("state-dir", ".shipshape", "the history defaults to STATE-DIR/history")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "two runs (RUN_A RUN_B: run IDs or report.json files)"); err != nil {
		return err
	}
	var results [2]*plan.RunResult
	var fetch []int
	store := historyStore(*historyDir, *stateDir)
	for i, arg := range pos {
		if st, err := os.Stat(arg); err == nil && !st.IsDir() {
			if results[i], err = readResult(arg); err != nil {
				return usageError{err.Error()}
			}
			continue
		}
		if r, err := store.Get("", arg); err == nil {
			results[i] = r
			continue
		}
		fetch = append(fetch, i)
	}
	if len(fetch) > 0 {
		cl, err := c.dial(ctx, newLogger(stderr, c.logLevel))
		if err != nil {
			return err
		}
		defer cl.Close()
		for _, i := range fetch {
			if results[i], err = runs.Result(ctx, cl, pos[i]); err != nil {
				return err
			}
		}
	}
	cmp := report.Compare(results[0], results[1])
	if *asJSON {
		return report.DiffJSON(stdout, cmp)
	}
	return report.DiffText(stdout, cmp)
}

// readResult reads a report.json.
func readResult(file string) (*plan.RunResult, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r plan.RunResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a report.json: %v", file, err)
	}
	if r.RunID == "" || r.Result == "" {
		return nil, fmt.Errorf("%s: not a report.json (no runId or result)", file)
	}
	return &r, nil
}
