// Command starter starts and follows readiness runs, validates plans,
// decides approvals, tails the event stream and renders reports.
//
// Exit codes: 0 pass, 1 fail, 2 warning (only with --fail-on-warning),
// 3 invalid plan or arguments, 4 infrastructure error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shipshape-dev/shipshape/plan"
)

// Exit codes, a contract with release pipelines.
const (
	exitPass    = 0
	exitFail    = 1
	exitWarning = 2
	exitInvalid = 3
	exitInfra   = 4
)

const usage = `starter: run and steer Shipshape readiness plans

Usage:
  starter run PLAN [--dev] [--set vars.x=v]... [--report-dir DIR] [--detach] [--fail-on-warning] [--approve-all]
  starter validate PLAN [--set vars.x=v]...
  starter status RUN [--json]
  starter approve RUN --phase P --by NAME [--reason TEXT]
  starter reject RUN --phase P --by NAME --reason TEXT
  starter confirm RUN --phase P --task T [--item ITEM] --by NAME
  starter cancel RUN
  starter events [--follow] [--run RUN] [--plan NAME] [--durable NAME] [--json]
  starter report RUN [--format md|json|junit|text|html] [--out FILE]
  starter diff RUN_A RUN_B [--json]    what changed: gates, metrics, score (run IDs, from the history or Temporal, or report.json files)
  starter history PLAN [--limit 10] [--json] [--sync] [--history-dir DIR]   a plan's last runs: verdict, score, key metrics
  starter evidence RUN [--out FILE.tar.gz] [--artifact-dir DIR]   reports, plan, events, artifacts, SHA-256 manifest
  starter docs plan
  starter vulndb sync [--dir DIR] [--ecosystem Go,npm] [--data-url URL]
  starter schedule create NAME --plan FILE [--cron EXPR]... [--every D] [--timezone TZ] [--paused]
  starter schedule list|describe|trigger|pause|unpause|delete [NAME]
  starter secrets get|put|list|versions [local://NAME] [--dir DIR]
  starter drills list|cleanup [--scratch-dir DIR] [--secrets-dir DIR] [--dry-run] [--force] [--json]
  starter serve [--addr 127.0.0.1:8080] [--limit 50]    read-only web page of recent runs, live

Connection flags (every command that talks to Temporal or NATS):
  --temporal-address, --namespace, --temporal-tls*, --temporal-api-key, --nats-url, --nats-creds, ...
  Each also reads its environment variable (TEMPORAL_ADDRESS, NATS_URL, ...).
  Run "starter COMMAND -h" for a command's flags.

Exit codes: 0 pass, 1 fail, 2 warning (with --fail-on-warning), 3 invalid plan or arguments, 4 infrastructure error.
`

// usageError is bad command-line input: exit 3.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries an exit code decided by a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the starter with args and returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitPass
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"run": runCmd, "validate": validateCmd, "status": statusCmd, "approve": approveCmd,
		"reject": rejectCmd, "confirm": confirmCmd, "cancel": cancelCmd, "events": eventsCmd,
		"report": reportCmd, "diff": diffCmd, "history": historyCmd, "evidence": evidenceCmd, "docs": docsCmd, "vulndb": vulndbCmd, "drills": drillsCmd,
		"schedule": scheduleCmd, "secrets": secretsCmd, "serve": serveCmd,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "starter: unknown command %q\n\n%s", args[0], usage)
		return exitInvalid
	}
	return exitCode(cmd(ctx, args[1:], stdout, stderr), stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitPass
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe plan.Errors
	if errors.As(err, &pe) {
		fmt.Fprintf(stderr, "invalid plan (%d problem%s):\n%s\n", len(pe), plural(len(pe)), pe.Error())
		return exitInvalid
	}
	fmt.Fprintf(stderr, "starter: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitInvalid
	}
	return exitInfra
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// newLogger logs to stderr; the starter is quiet by default.
func newLogger(stderr io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l}))
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
