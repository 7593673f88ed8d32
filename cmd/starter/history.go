package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

// historyEnv names the run history's directory when --history-dir does not.
const historyEnv = "SHIPSHAPE_HISTORY_DIR"

// trendRuns is how many runs a report's trend covers.
const trendRuns = 20

// importScan bounds how many recent runs an import looks at in Temporal's
// visibility.
const importScan = 200

// historyDirFlag registers --history-dir; its default is $SHIPSHAPE_HISTORY_DIR,
// else STATE-DIR/history as the caller resolves it (empty here).
func historyDirFlag(fs *flag.FlagSet) *string {
	return fs.String("history-dir", os.Getenv(historyEnv), "the run history: every finished run's report.json, by plan (default $"+historyEnv+", else STATE-DIR/history)")
}

// historyStore opens the history in dir, else in stateDir/history.
func historyStore(dir, stateDir string) *history.Store {
	if dir == "" {
		dir = filepath.Join(stateDir, "history")
	}
	return history.New(dir)
}

// importRuns keeps in the store the finished runs of a plan that
// Temporal's visibility lists and the store lacks: runs started with
// --detach, by a schedule, or by another machine. It returns how many it
// added. A run that ended without a result (terminated) is left out.
func importRuns(ctx context.Context, cl client.Client, store *history.Store, planName string, logger *slog.Logger, opts ...runs.Option) (int, error) {
	list, err := runs.List(ctx, cl, importScan, opts...)
	if err != nil {
		return 0, err
	}
	added := 0
	for _, s := range list {
		if s.Plan != planName || s.Status == "running" || store.Has(planName, s.ID) {
			continue
		}
		res, err := runs.Result(ctx, cl, s.ID)
		if err != nil || !history.Finished(res) {
			logger.Info("history: run without a result left out", slog.String("run", s.ID), slog.Any("error", err))
			continue
		}
		if err := store.Put(res); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

// attachHistory gives a finished run's report what the history knows:
// the comparison with the plan's previous run and the plan's trend.
func attachHistory(store *history.Store, res *plan.RunResult) error {
	before, err := store.Before(res, trendRuns-1)
	if err != nil {
		return err
	}
	if len(before) > 0 {
		cmp := plan.Compare(before[0], res)
		res.Compared = &cmp
	}
	res.Trend = plan.NewTrend(append(before, res))
	return nil
}

// historyCmd lists a plan's last runs: `starter history PLAN`.
func historyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	var c conn
	c.register(fs)
	dir := historyDirFlag(fs)
	stateDir := fs.String("state-dir", ".shipshape", "where --dev keeps its state; the history defaults to STATE-DIR/history")
	limit := fs.Int("limit", 10, "runs listed, newest first")
	asJSON := fs.Bool("json", false, "print the runs' report.json documents as a JSON array")
	sync := fs.Bool("sync", false, "first keep in the history the plan's finished runs Temporal lists and the history lacks (detached and scheduled runs)")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "one PLAN name"); err != nil {
		return err
	}
	if *limit < 1 {
		return usageError{fmt.Sprintf("--limit must be at least 1, got %d", *limit)}
	}
	store := historyStore(*dir, *stateDir)
	if *sync {
		logger := newLogger(stderr, c.logLevel)
		cl, err := c.dial(ctx, logger)
		if err != nil {
			return err
		}
		defer cl.Close()
		n, err := importRuns(ctx, cl, store, pos[0], logger, c.statusOptions()...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "history: %d run%s added from Temporal\n", n, plural(n))
	}
	list, err := store.List(pos[0], *limit)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no runs of plan %s in the history %s (runs are kept there by starter run; --sync adds those Temporal lists)", pos[0], store.Dir)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	return writeHistory(stdout, list)
}

// keyMetricsShown bounds the metrics a history line shows.
const keyMetricsShown = 4

// writeHistory writes runs (newest first) as a table: verdict, score, the
// change from the run before, and the metrics the gates read.
func writeHistory(w io.Writer, list []*plan.RunResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tRESULT\tSCORE\tCHANGE\tKEY METRICS")
	for i, r := range list {
		change := ""
		if i+1 < len(list) {
			change = fmt.Sprintf("%+.4g", plan.Compare(list[i+1], r).ScoreDelta)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%s\t%s\n", r.RunID, r.StartedAt.UTC().Format("2006-01-02 15:04"),
			strings.ToUpper(string(r.Result)), r.Score, change, keyMetrics(r))
	}
	return tw.Flush()
}

// keyMetrics lists a run's gated metrics, "metric=value", those of gates
// that failed or warned first, marked so.
func keyMetrics(r *plan.RunResult) string {
	type shown struct {
		text   string
		status plan.Status
	}
	var order []string
	metrics := map[string]*shown{}
	rank := map[plan.Status]int{plan.StatusWarning: 1, plan.StatusFail: 2}
	for _, ph := range r.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				if g.Value == nil {
					continue
				}
				key := ph.Name + "/" + t.Name + "\x00" + g.Metric
				m, ok := metrics[key]
				if !ok {
					m = &shown{text: g.Metric + "=" + report.FormatUnit(g.Metric, g.Unit, *g.Value)}
					metrics[key] = m
					order = append(order, key)
				}
				if rank[g.Status] > rank[m.status] {
					m.status = g.Status
				}
			}
		}
	}
	var bad, good []string
	for _, key := range order {
		m := metrics[key]
		if m.status != "" {
			bad = append(bad, m.text+" ("+string(m.status)+")")
		} else {
			good = append(good, m.text)
		}
	}
	all := append(bad, good...)
	if len(all) > keyMetricsShown {
		all = append(all[:keyMetricsShown], fmt.Sprintf("+%d more", len(all)-keyMetricsShown))
	}
	return strings.Join(all, ", ")
}
