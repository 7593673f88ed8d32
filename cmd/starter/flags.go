package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/runs"
)

// conn holds the connection flags shared by commands.
type conn struct {
	temporal host.TemporalConfig
	nats     natsevents.Config
	logLevel string
}

func (c *conn) register(fs *flag.FlagSet) {
	c.temporal.RegisterFlags(fs)
	host.RegisterNATSFlags(fs, &c.nats)
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
}

func (c *conn) dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	return dialTraced(ctx, c.temporal, logger)
}

// statusOptions let runs decode payloads the way the client does.
func (c *conn) statusOptions() []runs.Option {
	dc, err := c.temporal.DataConverter()
	if err != nil {
		return nil // Dial already failed on the same error
	}
	return []runs.Option{runs.WithConverter(dc)}
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{exitPass}
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func wantArgs(pos []string, n int, what string) error {
	if len(pos) != n {
		return usageError{fmt.Sprintf("want %s, got %d argument%s", what, len(pos), plural(len(pos)))}
	}
	return nil
}

// runsConn is a command's connection to Temporal.
type runsConn struct {
	Client client.Client
	opts   []runs.Option
}

// runIDRE is the rule for a run ID given with --run-id: it becomes a
// workflow ID, part of other workflow IDs and of artifact paths.
var runIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkRunID refuses a run ID that is not safe everywhere it ends up.
func checkRunID(id string) error {
	if !runIDRE.MatchString(id) || strings.Contains(id, "..") {
		return usageError{fmt.Sprintf("--run-id %q: use 1 to 128 letters, digits, '-', '_' and '.', starting with a letter or digit, without '..'", id)}
	}
	return nil
}
