package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/plan"
	planwhen "github.com/shipshape-dev/shipshape/plan/when"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

func loadPlan(file string, sets []string) (*plan.Plan, error) {
	overrides, err := plan.ParseSets(sets)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	// The operator, not the plan, widens where includes may read from.
	var roots []string
	if env := os.Getenv("SHIPSHAPE_INCLUDE_ROOTS"); env != "" {
		roots = filepath.SplitList(env)
	}
	return plan.LoadWith(file, all.Catalog(), overrides, plan.Options{IncludeRoots: roots, Conditions: planwhen.Conditions{}})
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var (
		c             conn
		sets          multiFlag
		dev           = fs.Bool("dev", false, "start Temporal, NATS, a worker and the demo service on this machine (state in --state-dir)")
		stateDir      = fs.String("state-dir", ".shipshape", "where --dev keeps Temporal's and NATS's state between runs")
		demoAddr      = fs.String("demo-addr", devenv.DefaultDemoAddr, "where --dev serves the demo service")
		hooksAddr     = fs.String("hooks-addr", "", "with --dev, serve the task types' webhook receivers (/hooks/alert-drill/alertmanager) on this address, as a worker does on --metrics-addr")
		reportDir     = fs.String("report-dir", "", "write report.json, report.md and junit.xml here")
		artifactDir   = fs.String("artifact-dir", "", "where tasks write files kept with the run (default with --dev: STATE-DIR/artifacts/RUN)")
		detach        = fs.Bool("detach", false, "only start the run and print its ID")
		failOnWarning = fs.Bool("fail-on-warning", false, "exit 2 when the result is warning")
		approveAll    = fs.Bool("approve-all", false, "approve every approval phase and confirm every checklist item (demos)")
		runID         = fs.String("run-id", "", "run ID to use instead of a generated one: letters, digits, -, _ and ., starting with a letter or digit")
		quiet         = fs.Bool("quiet", false, "no live progress, only the report")
		historyDir    = historyDirFlag(fs)
	)
	fs.Var(&sets, "set", "override a plan var: --set vars.NAME=VALUE (repeatable)")
	c.register(fs)
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "one PLAN file"); err != nil {
		return err
	}
	if *runID != "" {
		if err := checkRunID(*runID); err != nil {
			return err
		}
	}
	logger := newLogger(stderr, c.logLevel)
	p, err := loadPlan(pos[0], sets)
	if err != nil {
		return err
	}

	var cl client.Client
	if *dev {
		fmt.Fprintf(stderr, "dev mode: starting Temporal dev server, NATS (JetStream) and a worker; state in %s\n", *stateDir)
		env, err := startDev(ctx, devOptions{stateDir: *stateDir, demoAddr: *demoAddr, hooksAddr: *hooksAddr, logger: logger}, &c)
		if err != nil {
			return err
		}
		defer env.Close()
		fmt.Fprintf(stderr, "dev mode: temporal %s · nats %s · demo service %s\n", c.temporal.Address, c.nats.URL, env.demo.URL())
		cl = env.client
	} else {
		if cl, err = c.dial(ctx, logger); err != nil {
			return err
		}
		defer cl.Close()
	}

	// Relative thresholds get their baselines from the history before
	// the run starts, so they travel in the workflow's input.
	store := historyStore(*historyDir, *stateDir)
	if n, err := importRuns(ctx, cl, store, p.Metadata.Name, logger, c.statusOptions()...); err != nil {
		logger.Warn("history: runs Temporal lists not imported", slog.Any("error", err))
	} else if n > 0 {
		logger.Info("history: runs imported from Temporal", slog.Int("runs", n))
	}
	if err := plan.ResolveBaselines(p, store); err != nil {
		return err
	}

	id := *runID
	if id == "" {
		id = runs.NewID(p.Metadata.Name)
	}
	artifacts := *artifactDir
	if artifacts == "" && *dev {
		if artifacts, err = filepath.Abs(filepath.Join(*stateDir, "artifacts", id)); err != nil {
			return err
		}
	}
	id, err = runs.Start(ctx, cl, p, runs.StartOptions{RunID: id, AutoApprove: *approveAll, ArtifactDir: artifacts})
	if err != nil {
		return err
	}
	if *detach {
		fmt.Fprintln(stdout, id)
		return nil
	}
	fmt.Fprintf(stdout, "run %s of %s started\n", id, p.Source)

	res, err := follow(ctx, cl, id, stdout, !*quiet, c.statusOptions()...)
	if err != nil {
		return err
	}
	// Keep the run, then compare it with the plan's earlier ones. The
	// run's own reports matter more: a history that cannot be written or
	// read is reported, and the reports are written without it.
	if history.Finished(res) {
		if err := store.Put(res); err != nil {
			fmt.Fprintf(stderr, "starter: run %s not kept in the history: %v\n", res.RunID, err)
		} else if err := attachHistory(store, res); err != nil {
			fmt.Fprintf(stderr, "starter: no comparison with earlier runs: %v\n", err)
		}
	}
	if err := report.Text(stdout, res); err != nil {
		return err
	}
	if *reportDir != "" {
		// Tasks name their files relative to the run's artifact directory;
		// the reports link them from wherever they are written.
		if err := report.WriteDir(*reportDir, report.InArtifactDir(res, artifacts)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report written to %s\n", *reportDir)
	}
	return verdict(res, *failOnWarning)
}

// verdict maps a result to the exit code a pipeline gates on.
func verdict(res *plan.RunResult, failOnWarning bool) error {
	switch res.Result {
	case plan.StatusPass:
		return nil
	case plan.StatusWarning:
		if failOnWarning {
			return exitError{exitWarning}
		}
		return nil
	default:
		return exitError{exitFail}
	}
}

// followPatience is how long follow keeps polling a run whose status it
// cannot read.
const followPatience = time.Minute

// follow shows a run's progress until it ends and returns its result.
// An interrupt cancels the run, which still settles and reports.
func follow(ctx context.Context, cl client.Client, id string, w io.Writer, live bool, opts ...runs.Option) (*plan.RunResult, error) {
	d := newDisplay(w, id)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	// The run's end is heard at once through a long poll on its result,
	// not up to a tick later; the ticker only paces the progress display.
	closed := make(chan struct{})
	wait, stopWaiting := context.WithCancel(context.Background())
	defer stopWaiting()
	go func() {
		defer close(closed)
		_ = cl.GetWorkflow(wait, id, "").Get(wait, nil)
	}()
	cancelled := false
	var failingSince time.Time
	for {
		// Poll on a context that survives the first interrupt.
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := runs.Status(pctx, cl, id, opts...)
		cancel()
		switch {
		case errors.Is(err, runs.ErrNotFound):
			return nil, err
		case err != nil:
			// Temporal restarting or a network blip: the run goes on
			// regardless, so keep asking for a while before giving up.
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) > followPatience {
				return nil, fmt.Errorf("follow run %s (it may still be running: starter status %s): %w", id, id, err)
			}
			time.Sleep(time.Second)
			continue
		}
		failingSince = time.Time{}
		if live {
			d.update(st)
		}
		if st.Closed {
			return &st.Result, nil
		}
		select {
		case <-ctx.Done():
			if cancelled {
				continue
			}
			cancelled = true
			fmt.Fprintf(w, "\ncancelling run %s\n", id)
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := runs.Cancel(cctx, cl, id)
			cancel()
			if err != nil {
				return nil, err
			}
			ctx = context.Background()
		case <-closed:
			closed = nil // heard once; a failed long poll falls back to the ticker
		case <-tick.C:
		}
	}
}
