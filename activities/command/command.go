// Package command is the command task type: any program becomes a gate by
// its exit status, its duration and the JSON metrics it writes to
// $SHIPSHAPE_METRICS.
package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/tail"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the command task type.
const Name = "command"

// MetricsFileEnv names the environment variable that tells a command where
// it may write its own metrics, as a JSON object of name → number.
const MetricsFileEnv = "SHIPSHAPE_METRICS"

const (
	// commandGrace is how long a cancelled or timed-out command has between
	// SIGTERM and SIGKILL, and how long its output may stay open after it
	// exited (a background child holding the pipe).
	commandGrace = 3 * time.Second
	// commandHeartbeat is the longest interval between heartbeats.
	commandHeartbeat = 5 * time.Second
	// Output kept in memory: the last lines, each cut to maxLineBytes, at
	// most maxOutputBytes in all (the tail travels in the activity result).
	maxLineBytes   = 1024
	maxOutputBytes = 64 << 10
	// maxMetricsFile bounds the metrics file a command may write.
	maxMetricsFile = 1 << 20
)

// Decl declares the command task type.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Runs a command (smoke test, load test, migration dry-run…) and reports its exit code, duration and the metrics it writes to $SHIPSHAPE_METRICS: a JSON object of name to number (nested objects are flattened with dots), a metric optionally written with its unit as {\"value\": 162, \"unit\": \"KiB\"} (s, ms, m, h, B, KB, KiB, MB, MiB, GB, GiB, %, ratio, count) and stored in base units; or named metrics, {\"name\": \"bundle\", \"value\": 162000, \"unit\": \"bytes\"} (unit optional), alone, in a list, or one a line appended by a script. A build-time gate is one on command.duration: `{metric: command.duration, pass: \"< 60s\"}`.",
	Params: []plan.Param{
		{Name: "argv", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyShellScript, Doc: "The program and its arguments, run without a shell (the program is looked up in PATH); `${vars.…}` values reach it as arguments, never as code. With `shell: true`, exactly one string: the shell script, which may not contain `${vars.…}` (a value would run as code): pass vars in `env` and write `\"$NAME\"` in the script."},
		{Name: "shell", Type: plan.TypeBool, Default: false, Doc: "Run the single string of `argv` with `/bin/sh -c`."},
		{Name: "env", Type: plan.TypeStringMap, Doc: "Environment variables added to the worker's environment."},
		{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "Working directory; default: the worker's."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "10m", Doc: "How long the command may run. Then its process group gets SIGTERM, and SIGKILL 3s later, and the task fails. Keep the task's own timeout longer."},
		{Name: "allowFailure", Type: plan.TypeBool, Default: false, Doc: "Let a non-zero exit pass, so that gates decide on command.exit_code and the command's metrics. A timeout still fails."},
		{Name: "outputLines", Type: plan.TypeInt, Default: 50, Doc: "How many of the last lines of output (stdout and stderr together) to keep in the report; long lines are cut to 1 KiB and the tail to 64 KiB."},
	},
	Metrics: []plan.Metric{
		{Name: "command.exit_code", Unit: plan.UnitCount, Doc: "Exit code; 128+n when killed by signal n."},
		{Name: "command.duration", Unit: plan.UnitSeconds, Doc: "Wall-clock time from start to exit."},
		{Name: "<name>", Unit: plan.UnitAny, Doc: "Any metric the command writes to the file named by $SHIPSHAPE_METRICS: a JSON object of name → number, nested objects flattened with dots ({\"k6\": {\"p95\": 0.12}} is k6.p95). Write base units: seconds, bytes, ratios 0-1."},
	},
	Timeout:   15 * time.Minute,
	Heartbeat: 30 * time.Second,
	// A command is not known to be safe to repeat; plans may raise this.
	MaxAttempts: 1,
}

// Activities runs command tasks.
type Activities struct {
	events taskrun.EventPublisher
	logger *slog.Logger
}

// New returns the command activities; events receives progress events (nil:
// none), a nil logger means the default one.
func New(events taskrun.EventPublisher, logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.Default()
	}
	return &Activities{events: events, logger: logger}
}

// Type is the command task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.Command} }

// Command runs a process in its own process group and reports its exit
// code, its duration and the metrics it wrote to $SHIPSHAPE_METRICS.
func (a *Activities) Command(ctx context.Context, in task.Input) (task.Output, error) {
	argv, err := commandArgv(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	timeout := in.Params.Duration("timeout")
	if timeout <= 0 {
		return task.Output{}, task.InvalidParams("timeout %q is not a positive duration", in.Params.String("timeout"))
	}
	keepLines := in.Params.Int("outputLines")
	if keepLines < 0 {
		return task.Output{}, task.InvalidParams("outputLines %d is negative", keepLines)
	}
	dir := in.Params.String("dir")
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return task.Output{}, task.InvalidParams("dir %s is not a directory", dir)
		}
	}
	env := os.Environ()
	extra := in.Params.StringMap("env")
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return task.Output{}, task.InvalidParams("env: %q is not a valid variable name", k)
		}
		env = append(env, k+"="+extra[k])
	}

	metricsDir, err := os.MkdirTemp("", "shipshape-metrics-")
	if err != nil {
		return task.Output{}, fmt.Errorf("create metrics dir: %w", err)
	}
	defer os.RemoveAll(metricsDir)
	metricsFile := filepath.Join(metricsDir, "metrics.json")
	env = append(env, MetricsFileEnv+"="+metricsFile)

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tail := tail.New(keepLines)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = tail, tail
	// Its own process group, killed whole when it ends; and the process
	// dies with the worker (parent-death signal), so a worker killed
	// mid-command leaves no copy running beside the next attempt.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// stopped records that the timeout or a cancellation ended the command,
	// as opposed to a command that exited by itself just before.
	var stopped atomic.Bool
	cmd.Cancel = func() error {
		stopped.Store(true)
		return signalGroup(cmd.Process, syscall.SIGTERM)
	}
	cmd.WaitDelay = commandGrace

	log := a.logger.With(slog.String("task", in.Task), slog.String("program", argv[0]))
	// A group an earlier attempt of this task left behind (its worker was
	// killed, and what the group started outlived the parent-death
	// signal) is stopped before this attempt starts.
	groups := groupFile(in)
	if stopped, err := stopLeftGroup(groups); err == nil && stopped {
		log.WarnContext(ctx, "stopped the process group an earlier attempt left running")
	}
	start := time.Now()
	// Pdeathsig is sent when the thread that started the child exits:
	// keep this goroutine on its thread until the child is started.
	runtime.LockOSThread()
	startErr := cmd.Start()
	runtime.UnlockOSThread()
	if startErr == nil {
		_ = os.WriteFile(groups, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
		defer os.Remove(groups)
	}
	if err := startErr; err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return task.Output{}, task.InvalidParams("start %s: %v", argv[0], err)
		}
		return task.Output{}, fmt.Errorf("start %s: %w", argv[0], err)
	}
	log.InfoContext(ctx, "command started", slog.Int("pid", cmd.Process.Pid))

	done := make(chan struct{})
	var heartbeats sync.WaitGroup
	heartbeats.Go(func() { heartbeatCommand(ctx, taskrun.NewProgress(a.events, a.logger, in), done, start, tail) })
	waitErr := cmd.Wait()
	close(done)
	heartbeats.Wait()
	// Whatever the command left running in its group goes with it.
	_ = signalGroup(cmd.Process, syscall.SIGKILL)
	elapsed := time.Since(start)

	if ctx.Err() != nil {
		log.InfoContext(ctx, "command cancelled", slog.Duration("after", elapsed))
		return task.Output{}, fmt.Errorf("command %s stopped: %w", argv[0], ctx.Err())
	}
	timedOut := stopped.Load()
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) && !timedOut {
		return task.Output{}, fmt.Errorf("wait for %s: %w", argv[0], waitErr)
	}
	code := exitCode(cmd.ProcessState)
	out := task.Output{
		Metrics: map[string]float64{
			"command.exit_code": float64(code),
			"command.duration":  elapsed.Seconds(),
		},
		Output: tail.String(),
	}
	log.InfoContext(ctx, "command finished", slog.Int("exit_code", code), slog.Duration("duration", elapsed), slog.Bool("timed_out", timedOut))

	units := map[string]plan.Unit{}
	err = readCommandMetrics(metricsFile, out.Metrics, units)
	if len(units) > 0 {
		out.Units = units
	}
	if err != nil {
		return task.Output{}, task.CheckFailed(out, "metrics file ($%s): %v", MetricsFileEnv, err)
	}
	switch {
	case timedOut:
		return task.Output{}, task.CheckFailed(out, "command timed out after %s%s", timeout, lastLineNote(tail))
	case code != 0 && !in.Params.Bool("allowFailure"):
		return task.Output{}, task.CheckFailed(out, "command exited with code %d%s", code, lastLineNote(tail))
	}
	return out, nil
}

// commandArgv checks argv and wraps it in /bin/sh -c for shell commands.
func commandArgv(p task.Params) ([]string, error) {
	raw, _ := p["argv"].([]any)
	argv := p.Strings("argv")
	if len(argv) == 0 || (raw != nil && len(raw) != len(argv)) {
		return nil, task.InvalidParams("argv: want a non-empty list of strings")
	}
	if argv[0] == "" {
		return nil, task.InvalidParams("argv: the program name is empty")
	}
	if p.Bool("shell") {
		if len(argv) != 1 {
			return nil, task.InvalidParams("argv: with shell: true, want exactly one string (the script), got %d", len(argv))
		}
		return []string{"/bin/sh", "-c", argv[0]}, nil
	}
	return argv, nil
}

// signalGroup signals the process group that the command leads.
// groupFile is where a command task's running process group is noted,
// per run, phase and task (the same for every attempt).
func groupFile(in task.Input) string {
	sum := sha256.Sum256([]byte(in.RunID + "\x00" + in.Phase + "\x00" + in.Task))
	// A directory of the worker's own (0700), not a shared /tmp in which
	// another user could plant a note naming someone else's group.
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "shipshape", "commands")
	_ = os.MkdirAll(dir, 0o700)
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".pgid")
}

// stopLeftGroup kills the process group noted in file, if it still runs,
// and removes the note.
func stopLeftGroup(file string) (bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	defer os.Remove(file)
	pgid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pgid <= 1 {
		return false, fmt.Errorf("bad process group note %s", file)
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		return false, err
	}
	return true, nil
}

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if p == nil {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// exitCode is the process's exit code, or 128+n when signal n killed it,
// as shells report it.
func exitCode(state *os.ProcessState) int {
	if state == nil {
		return -1
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// heartbeatCommand records progress until done is closed: elapsed time and
// the last line printed. Heartbeats are how a cancellation reaches us.
func heartbeatCommand(ctx context.Context, report *taskrun.Progress, done <-chan struct{}, start time.Time, tail *tail.Buffer) {
	interval := commandHeartbeat
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 && hb/3 < interval {
		interval = max(hb/3, 100*time.Millisecond)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-ticker.C:
			elapsed := time.Since(start)
			msg := elapsed.Round(time.Second).String()
			if last := tail.LastLine(); last != "" {
				msg += ": " + last
			}
			report.Report(ctx, task.Progress{
				Done:    -1,
				Message: msg,
				Metrics: map[string]float64{"command.duration": elapsed.Seconds()},
			})
		}
	}
}

func lastLineNote(tail *tail.Buffer) string {
	if last := tail.LastLine(); last != "" {
		return ": " + last
	}
	return ""
}

// readCommandMetrics adds the metrics the command wrote to file, if any.
func readCommandMetrics(file string, metrics map[string]float64, units map[string]plan.Unit) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open metrics file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetricsFile+1))
	if err != nil {
		return fmt.Errorf("read metrics file: %w", err)
	}
	if len(data) > maxMetricsFile {
		return fmt.Errorf("metrics file is larger than %d bytes", maxMetricsFile)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	// The file holds JSON values one after another (usually one): an
	// object of metric name to number (or to {"value", "unit"}, or to a
	// nested object), a named metric {"name": N, "value": V, "unit": U}
	// (unit optional), or a list of named metrics. A script may append
	// one named metric a line.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for i := 1; ; i++ {
		var doc any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("value %d: want a JSON object of metric name to number, or named metrics: %v", i, err)
		}
		switch v := doc.(type) {
		case map[string]any:
			if _, named := v["name"].(string); named {
				err = namedMetric(v, metrics, units)
			} else {
				err = flattenMetrics("", v, metrics, units)
			}
		case []any:
			for j, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					return fmt.Errorf("value %d, item %d: want a named metric {\"name\", \"value\", \"unit\"}, got %s", i, j+1, jsonKind(e))
				}
				if err = namedMetric(m, metrics, units); err != nil {
					break
				}
			}
		default:
			err = fmt.Errorf("value %d: want a JSON object of metric name to number, or named metrics, got %s", i, jsonKind(doc))
		}
		if err != nil {
			return err
		}
	}
}

// namedMetric reads a metric written {"name": N, "value": V} with an
// optional "unit".
func namedMetric(m map[string]any, metrics map[string]float64, units map[string]plan.Unit) error {
	name, _ := m["name"].(string)
	for k := range m {
		if k != "name" && k != "value" && k != "unit" {
			return fmt.Errorf("metric %q: unknown field %q (want name, value, unit)", name, k)
		}
	}
	if _, ok := m["value"]; !ok {
		return fmt.Errorf("metric %q: no value", name)
	}
	if _, ok := m["unit"]; ok {
		return flattenMetrics("", map[string]any{name: map[string]any{"value": m["value"], "unit": m["unit"]}}, metrics, units)
	}
	return flattenMetrics("", map[string]any{name: m["value"]}, metrics, units)
}

// unitScale maps the units a command may give a metric in to the base unit
// and the factor to it: {"value": 162, "unit": "KiB"} is 165888 bytes.
var unitScale = map[string]struct {
	base   plan.Unit
	factor float64
}{
	"seconds": {plan.UnitSeconds, 1}, "s": {plan.UnitSeconds, 1}, "ms": {plan.UnitSeconds, 1e-3}, "us": {plan.UnitSeconds, 1e-6},
	"m": {plan.UnitSeconds, 60}, "min": {plan.UnitSeconds, 60}, "h": {plan.UnitSeconds, 3600},
	"bytes": {plan.UnitBytes, 1}, "B": {plan.UnitBytes, 1}, "KB": {plan.UnitBytes, 1e3}, "MB": {plan.UnitBytes, 1e6}, "GB": {plan.UnitBytes, 1e9},
	"KiB": {plan.UnitBytes, 1 << 10}, "MiB": {plan.UnitBytes, 1 << 20}, "GiB": {plan.UnitBytes, 1 << 30},
	"ratio": {plan.UnitRatio, 1}, "%": {plan.UnitRatio, 0.01}, "percent": {plan.UnitRatio, 0.01},
	"count": {plan.UnitCount, 1},
}

// withUnit reads a metric written as {"value": N, "unit": U}.
func withUnit(name string, v map[string]any) (value float64, unit plan.Unit, ok bool, err error) {
	raw, hasValue := v["value"]
	u, hasUnit := v["unit"].(string)
	if len(v) != 2 || !hasValue || !hasUnit {
		return 0, "", false, nil
	}
	n, isNumber := raw.(json.Number)
	if !isNumber {
		return 0, "", true, fmt.Errorf("metric %s: value: want a number, got %s", name, jsonKind(raw))
	}
	scale, known := unitScale[u]
	if !known {
		names := slices.Sorted(maps.Keys(unitScale))
		return 0, "", true, fmt.Errorf("metric %s: unit %q: want one of %s", name, u, strings.Join(names, ", "))
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, "", true, fmt.Errorf("metric %s: %s is not a finite number", name, n)
	}
	return f * scale.factor, scale.base, true, nil
}

func flattenMetrics(prefix string, doc map[string]any, metrics map[string]float64, units map[string]plan.Unit) error {
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if k == "" || strings.Contains(k, "..") || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
			return fmt.Errorf("metric name %q under %q is not usable", k, prefix)
		}
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch v := doc[k].(type) {
		case map[string]any:
			value, unit, isMetric, err := withUnit(name, v)
			if err != nil {
				return err
			}
			if isMetric {
				if _, taken := metrics[name]; taken {
					return fmt.Errorf("metric %s is written twice", name)
				}
				metrics[name], units[name] = value, unit
				continue
			}
			if err := flattenMetrics(name, v, metrics, units); err != nil {
				return err
			}
		case json.Number:
			f, err := v.Float64()
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return fmt.Errorf("metric %s: %s is not a finite number", name, v)
			}
			if _, taken := metrics[name]; taken {
				if strings.HasPrefix(name, "command.") {
					return fmt.Errorf("metric %s is reserved for the command task", name)
				}
				return fmt.Errorf("metric %s is written twice", name)
			}
			metrics[name] = f
		default:
			return fmt.Errorf("metric %s: want a number or an object, got %s", name, jsonKind(v))
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
