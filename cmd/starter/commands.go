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
	"time"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
	"github.com/shipshape-dev/shipshape/workflows"
)

func validateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var sets multiFlag
	fs.Var(&sets, "set", "override a plan var: --set vars.NAME=VALUE (repeatable)")
	historyDir := historyDirFlag(fs)
	stateDir := fs.String("state-dir", ".shipshape", "the history defaults to STATE-DIR/history")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{"want one or more PLAN files"}
	}
	store := historyStore(*historyDir, *stateDir)
	var failed error
	for _, file := range pos {
		p, err := loadPlan(file, sets)
		if err == nil {
			// Baseline runs the plan names must be in the history.
			err = plan.ResolveBaselines(p, store)
		}
		if err != nil {
			var pe plan.Errors
			if !errors.As(err, &pe) {
				return err
			}
			fmt.Fprintln(stderr, pe.Error())
			failed = exitError{exitInvalid}
			continue
		}
		fmt.Fprintf(stdout, "%s: ok: plan %s, %d phases, %d tasks\n", file, p.Metadata.Name, len(p.Spec.Phases), p.TaskCount())
		// Not an error (the first runs of a plan have no baseline), but
		// said, so that nobody counts on a gate that will not run.
		for _, ph := range p.Spec.Phases {
			for _, t := range ph.Tasks {
				for _, g := range t.Gates {
					if why := g.MissingBaseline(); g.Relative() && why != "" {
						fmt.Fprintf(stdout, "%s:%d: notice: %s/%s gate %s %s: %s; it will be skipped and left out of the score until a baseline exists\n",
							file, g.Pos.Line, ph.Name, t.Name, g.Metric, g.Pass.String(), why)
					}
				}
			}
		}
	}
	return failed
}

// connected parses a command's flags, dials Temporal and calls fn.
func connected(ctx context.Context, name string, args []string, stderr io.Writer, setup func(*flag.FlagSet), nargs int, what string,
	fn func(ctx context.Context, c *runsConn, pos []string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var c conn
	c.register(fs)
	if setup != nil {
		setup(fs)
	}
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, nargs, what); err != nil {
		return err
	}
	cl, err := c.dial(ctx, newLogger(stderr, c.logLevel))
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(ctx, &runsConn{Client: cl, opts: c.statusOptions()}, pos)
}

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	return connected(ctx, "status", args, stderr, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print the live result as JSON")
	}, 1, "one RUN", func(ctx context.Context, c *runsConn, pos []string) error {
		live, err := runs.Status(ctx, c.Client, pos[0], c.opts...)
		if err != nil {
			return err
		}
		if *asJSON {
			return report.JSON(stdout, &live.Result)
		}
		if err := report.Text(stdout, &live.Result); err != nil {
			return err
		}
		for key, p := range live.Progress {
			fmt.Fprintf(stdout, "  %s %s %s\n", key, progressBar(p.Done), p.Message)
		}
		return nil
	})
}

func decisionCmd(name string, needReason bool, send func(context.Context, *runsConn, string, workflows.ApprovalSignal) error) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		var s workflows.ApprovalSignal
		return connected(ctx, name, args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&s.Phase, "phase", "", "the approval phase (required)")
			fs.StringVar(&s.By, "by", os.Getenv("USER"), "who decides (default $USER)")
			fs.StringVar(&s.Reason, "reason", "", "why")
		}, 1, "one RUN", func(ctx context.Context, c *runsConn, pos []string) error {
			if s.Phase == "" || s.By == "" || (needReason && s.Reason == "") {
				return usageError{fmt.Sprintf("%s needs --phase, --by%s", name, map[bool]string{true: " and --reason", false: ""}[needReason])}
			}
			if err := send(ctx, c, pos[0], s); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: phase %s of %s by %s\n", name, s.Phase, pos[0], s.By)
			return nil
		})
	}
}

var (
	approveCmd = decisionCmd("approve", false, func(ctx context.Context, c *runsConn, id string, s workflows.ApprovalSignal) error {
		return runs.Approve(ctx, c.Client, id, s)
	})
	rejectCmd = decisionCmd("reject", true, func(ctx context.Context, c *runsConn, id string, s workflows.ApprovalSignal) error {
		return runs.Reject(ctx, c.Client, id, s)
	})
)

func confirmCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var s workflows.ConfirmSignal
	return connected(ctx, "confirm", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&s.Phase, "phase", "", "the phase of the checklist task (required)")
		fs.StringVar(&s.Task, "task", "", "the checklist task (required)")
		fs.StringVar(&s.Item, "item", "", "the item confirmed (default: every item)")
		fs.StringVar(&s.By, "by", os.Getenv("USER"), "who confirms (default $USER)")
	}, 1, "one RUN", func(ctx context.Context, c *runsConn, pos []string) error {
		if s.Phase == "" || s.Task == "" || s.By == "" {
			return usageError{"confirm needs --phase, --task and --by"}
		}
		if err := runs.Confirm(ctx, c.Client, pos[0], s); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "confirmed %s/%s %q of %s by %s\n", s.Phase, s.Task, s.Item, pos[0], s.By)
		return nil
	})
}

func cancelCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return connected(ctx, "cancel", args, stderr, nil, 1, "one RUN", func(ctx context.Context, c *runsConn, pos []string) error {
		if err := runs.Cancel(ctx, c.Client, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cancel requested for %s\n", pos[0])
		return nil
	})
}

func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var format, out *string
	var noWait *bool
	var historyDir, stateDir *string
	return connected(ctx, "report", args, stderr, func(fs *flag.FlagSet) {
		historyDir = historyDirFlag(fs)
		stateDir = fs.String("state-dir", ".shipshape", "the history defaults to STATE-DIR/history")
		format = fs.String("format", "md", "md, json, junit, text or html")
		out = fs.String("out", "", "write to this file instead of standard output")
		noWait = fs.Bool("no-wait", false, "report a run still in progress as it stands now, instead of waiting for it to finish")
	}, 1, "one RUN", func(ctx context.Context, c *runsConn, pos []string) error {
		render := map[string]func(io.Writer, *plan.RunResult) error{
			"md": report.Markdown, "json": report.JSON, "junit": report.JUnit, "text": report.Text,
			// Charts are inlined from the artifacts beside the output file.
			"html": func(w io.Writer, r *plan.RunResult) error {
				return report.HTMLWith(w, r, report.HTMLOptions{ReadArtifact: report.ArtifactReader(filepath.Dir(*out))})
			},
		}[*format]
		if render == nil {
			return usageError{fmt.Sprintf("unknown --format %q (want md, json, junit, text or html)", *format)}
		}
		var res *plan.RunResult
		if *noWait {
			live, err := runs.Status(ctx, c.Client, pos[0], c.opts...)
			if err != nil {
				return err
			}
			res = &live.Result
		} else {
			var err error
			if res, err = runs.Result(ctx, c.Client, pos[0]); err != nil {
				return err
			}
		}
		// A finished run the history keeps is compared with the one before.
		if store := historyStore(*historyDir, *stateDir); history.Finished(res) && store.Has(res.Plan, res.RunID) {
			if err := attachHistory(store, res); err != nil {
				return err
			}
		}
		// Tasks name their files relative to the run's artifact directory,
		// which the run's input records: link them from there.
		if in, err := runs.Input(ctx, c.Client, pos[0], c.opts...); err == nil {
			res = report.InArtifactDir(res, in.ArtifactDir)
		}
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return render(w, res)
	})
}

func eventsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	var c conn
	c.register(fs)
	followFlag := fs.Bool("follow", false, "keep printing new events until interrupted")
	runID := fs.String("run", "", "only this run's events")
	planName := fs.String("plan", "", "only this plan's events")
	durable := fs.String("durable", "", "read through this durable consumer (resumes where it left off)")
	asJSON := fs.Bool("json", false, "print each event as its CloudEvents JSON")
	dev := fs.Bool("dev", false, "read the events `run --dev` kept in --state-dir (starts NATS on that store)")
	stateDir := fs.String("state-dir", ".shipshape", "with --dev: the dev mode's state directory")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	if *dev {
		store := filepath.Join(*stateDir, "nats")
		if _, err := os.Stat(store); err != nil {
			return usageError{fmt.Sprintf("no dev-mode event store at %s: run `starter run --dev` first", store)}
		}
		srv, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: store})
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		c.nats.URL = srv.ClientURL()
	}
	c.nats.ReadOnly = true
	c.nats.Logger = newLogger(stderr, c.logLevel)
	nc := natsevents.New(c.nats)
	if err := nc.Init(ctx); err != nil {
		return err
	}
	defer nc.Close()
	filter := events.SubjectAll
	if *planName != "" {
		filter = fmt.Sprintf("%s.run.%s.>", events.SubjectPrefix, *planName)
	}
	err = nc.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: filter, Durable: *durable, Follow: *followFlag}, func(m natsevents.Message) error {
		var e events.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			fmt.Fprintf(stderr, "skipping message %d on %s: not an event: %v\n", m.Sequence, m.Subject, err)
			return nil
		}
		if *runID != "" && e.RunID != *runID {
			return nil
		}
		if *asJSON {
			_, err := fmt.Fprintf(stdout, "%s\n", m.Data)
			return err
		}
		_, err := fmt.Fprintf(stdout, "%s  %-20s %-28s %s\n", e.Time.Format(time.RFC3339), e.Type.Short(), e.Subject, summary(e))
		return err
	})
	if *followFlag && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// summary is the interesting part of an event's data, for one line.
func summary(e events.Event) string {
	var d map[string]any
	if json.Unmarshal(e.Data, &d) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"status", "result", "score", "metric", "value", "pass", "decision", "by", "reason", "error", "message"} {
		if v, ok := d[k]; ok && v != nil && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func docsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "plan" {
		return usageError{"usage: starter docs plan  (prints the plan reference, docs/plan.md)"}
	}
	_, err := io.WriteString(stdout, plan.Reference(all.Catalog()))
	return err
}
