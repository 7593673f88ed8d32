package command_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/command"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"go.temporal.io/sdk/temporal"
)

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name        string
		with        map[string]any
		want        tasktest.Kind
		wantErr     []string
		wantMetrics map[string]float64
		wantOutput  string // exact, when set
	}{{
		name:        "program with arguments, no shell",
		with:        map[string]any{"argv": []any{"echo", "hello", "$HOME"}},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"command.exit_code": 0},
		wantOutput:  "hello $HOME",
	}, {
		name: "shell script with env and dir",
		with: map[string]any{
			"shell": true, "argv": []any{`echo "$GREETING from $(pwd)"; echo to stderr >&2`},
			"env": map[string]any{"GREETING": "hi"}, "dir": dir,
		},
		want:       tasktest.None,
		wantOutput: "hi from " + dir + "\nto stderr",
	}, {
		name: "metrics written to SHIPSHAPE_METRICS, nested objects flattened",
		with: map[string]any{"shell": true, "argv": []any{
			`printf '{"smoke": {"checks": 12, "failures": 0, "p95": 0.125}, "artifact_bytes": 1.5e6}' > "$SHIPSHAPE_METRICS"`,
		}},
		want: tasktest.None,
		wantMetrics: map[string]float64{
			"command.exit_code": 0, "smoke.checks": 12, "smoke.failures": 0, "smoke.p95": 0.125, "artifact_bytes": 1.5e6,
		},
	}, {
		name: "metrics with units are stored in base units",
		with: map[string]any{"shell": true, "argv": []any{
			`printf '{"bundle": {"value": 162, "unit": "KiB"}, "build": {"time": {"value": 1500, "unit": "ms"}}, "coverage": {"value": 58, "unit": "%%"}}' > "$SHIPSHAPE_METRICS"`,
		}},
		want: tasktest.None,
		wantMetrics: map[string]float64{
			"command.exit_code": 0, "bundle": 162 * 1024, "build.time": 1.5, "coverage": 0.58,
		},
	}, {
		name:    "an unknown unit is refused",
		with:    map[string]any{"shell": true, "argv": []any{`echo '{"bundle": {"value": 1, "unit": "furlongs"}}' > "$SHIPSHAPE_METRICS"`}},
		want:    tasktest.CheckFailed,
		wantErr: []string{`metric bundle: unit "furlongs": want one of`},
	}, {
		name:        "no metrics file is fine",
		with:        map[string]any{"argv": []any{"true"}},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"command.exit_code": 0},
	}, {
		name:        "non-zero exit fails the check, metrics kept",
		with:        map[string]any{"shell": true, "argv": []any{`echo '{"tests": 40, "failed": 2}' > "$SHIPSHAPE_METRICS"; echo "2 tests failed" >&2; exit 3`}},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"command exited with code 3: 2 tests failed"},
		wantMetrics: map[string]float64{"command.exit_code": 3, "tests": 40, "failed": 2},
		wantOutput:  "2 tests failed",
	}, {
		name:        "allowFailure lets gates judge the exit code",
		with:        map[string]any{"shell": true, "argv": []any{"exit 3"}, "allowFailure": true},
		want:        tasktest.None,
		wantMetrics: map[string]float64{"command.exit_code": 3},
	}, {
		name:        "killed by a signal reports 128+n",
		with:        map[string]any{"shell": true, "argv": []any{"kill -9 $$"}},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"code 137"},
		wantMetrics: map[string]float64{"command.exit_code": 137},
	}, {
		name:        "a metric that is not a number",
		with:        map[string]any{"shell": true, "argv": []any{`echo '{"build": {"ok": true}}' > "$SHIPSHAPE_METRICS"`}},
		want:        tasktest.CheckFailed,
		wantErr:     []string{"metrics file ($SHIPSHAPE_METRICS): metric build.ok: want a number or an object, got a boolean"},
		wantMetrics: map[string]float64{"command.exit_code": 0},
	}, {
		name:    "a metrics file that is not a JSON object",
		with:    map[string]any{"shell": true, "argv": []any{`echo '"fast"' > "$SHIPSHAPE_METRICS"`}},
		want:    tasktest.CheckFailed,
		wantErr: []string{"want a JSON object of metric name to number, or named metrics, got a string"},
	}, {
		name:    "the command's own metrics are reserved",
		with:    map[string]any{"shell": true, "argv": []any{`echo '{"command": {"exit_code": 0}}' > "$SHIPSHAPE_METRICS"; exit 1`}},
		want:    tasktest.CheckFailed,
		wantErr: []string{"metric command.exit_code is reserved"},
	}, {
		name:    "program not found",
		with:    map[string]any{"argv": []any{"shipshape-no-such-program"}},
		want:    tasktest.Invalid,
		wantErr: []string{"shipshape-no-such-program"},
	}, {
		name:    "shell wants exactly one string",
		with:    map[string]any{"shell": true, "argv": []any{"echo", "hi"}},
		want:    tasktest.Invalid,
		wantErr: []string{"exactly one string"},
	}, {
		name:    "empty argv",
		with:    map[string]any{"argv": []any{}},
		want:    tasktest.Invalid,
		wantErr: []string{"argv"},
	}, {
		name:    "dir that does not exist",
		with:    map[string]any{"argv": []any{"true"}, "dir": filepath.Join(dir, "missing")},
		want:    tasktest.Invalid,
		wantErr: []string{"is not a directory"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runTask(t, command.Name, tt.with)
			t.Logf("error: %v", err)
			tasktest.MustKind(t, err, tt.want, tt.wantErr...)
			if tt.want == tasktest.Invalid {
				return
			}
			out = tasktest.OutputOf(t, out, err)
			t.Logf("output:\n%s", out.Output)
			tasktest.MustMetrics(t, out.Metrics, tt.wantMetrics, 0)
			if d := out.Metrics["command.duration"]; d <= 0 || d > 10 {
				t.Errorf("command.duration = %v s, want a small positive number", d)
			}
			if tt.wantOutput != "" && out.Output != tt.wantOutput {
				t.Errorf("output = %q, want %q", out.Output, tt.wantOutput)
			}
		})
	}
}

func TestCommandOutputTail(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		lines    float64
		want     string // exact output, when set
		maxBytes int
		suffix   string
	}{{
		name:   "only the last lines are kept",
		script: `i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done`,
		lines:  3,
		want:   "[… 19997 earlier lines not kept]\nline 19997\nline 19998\nline 19999",
	}, {
		name:   "an unterminated last line counts",
		script: `printf 'a\nb\nc'`,
		lines:  2,
		want:   "[… 1 earlier lines not kept]\nb\nc",
	}, {
		name:   "a long line is cut",
		script: `head -c 100000 /dev/zero | tr '\0' x; echo; echo end`,
		lines:  5,
		want:   strings.Repeat("x", 1024) + " …[line cut]\nend",
	}, {
		name:     "many lines stay within the byte bound",
		script:   `yes 'some progress output of a long-running load test, line after line' | head -n 100000`,
		lines:    1e6,
		maxBytes: 64<<10 + 100,
		suffix:   "line after line\nsome progress output of a long-running load test, line after line",
	}, {
		name:   "outputLines 0 keeps nothing",
		script: `echo secret-ish noise`,
		lines:  0,
		want:   "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runTask(t, command.Name, map[string]any{
				"shell": true, "argv": []any{tt.script}, "outputLines": tt.lines,
			})
			tasktest.MustKind(t, err, tasktest.None)
			if tt.maxBytes == 0 && out.Output != tt.want {
				t.Errorf("output = %q, want %q", out.Output, tt.want)
			}
			if tt.maxBytes > 0 && len(out.Output) > tt.maxBytes {
				t.Errorf("output is %d bytes, want at most %d", len(out.Output), tt.maxBytes)
			}
			if !strings.HasSuffix(out.Output, tt.suffix) {
				t.Errorf("output ends %q, want %q", out.Output[max(0, len(out.Output)-100):], tt.suffix)
			}
		})
	}
}

func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		wantCode float64
	}{{
		name:     "SIGTERM ends the group",
		script:   `sleep 30 & echo $! > "$PIDFILE"; echo waiting; wait`,
		wantCode: 128 + 15,
	}, {
		name:     "SIGKILL ends a group that ignores SIGTERM",
		script:   `trap '' TERM; sleep 30 & echo $! > "$PIDFILE"; echo waiting; wait; wait`,
		wantCode: 128 + 9,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			start := time.Now()
			_, err := runTask(t, command.Name, map[string]any{
				"shell": true, "argv": []any{tt.script}, "timeout": "500ms",
				"env": map[string]any{"PIDFILE": pidFile},
			})
			elapsed := time.Since(start)
			tasktest.MustKind(t, err, tasktest.CheckFailed, "command timed out after 500ms: waiting")
			out := tasktest.OutputOf(t, task.Output{}, err)
			tasktest.MustMetrics(t, out.Metrics, map[string]float64{"command.exit_code": tt.wantCode}, 0)
			if elapsed > 10*time.Second {
				t.Errorf("the timed-out command took %s to stop", elapsed)
			}
			mustExit(t, mustReadPID(t, pidFile))
		})
	}
}

func TestCommandCancellation(t *testing.T) {
	// The worker cancels an activity's context with a CanceledError as
	// the cause when the server says the activity was cancelled.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	time.AfterFunc(300*time.Millisecond, func() { cancel(temporal.NewCanceledError()) })
	pidFile := filepath.Join(t.TempDir(), "pid")

	start := time.Now()
	run := &tasktest.Runner{Types: []task.Type{command.New(nil, nil).Type()}, Ctx: ctx}
	_, err := run.Run(t, command.Name, map[string]any{
		"shell": true, "argv": []any{`sleep 30 & echo $! > "$PIDFILE"; wait`},
		"env": map[string]any{"PIDFILE": pidFile},
	})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the cancelled command took %s to stop", elapsed)
	}
	if !temporal.IsCanceledError(err) {
		t.Fatalf("error = %v, want the activity reported as cancelled", err)
	}
	mustExit(t, mustReadPID(t, pidFile))
}

func TestCommandHeartbeatsLastLine(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the first heartbeat (5s)")
	}
	run := &tasktest.Runner{Types: []task.Type{command.New(nil, nil).Type()}}
	out, err := run.Run(t, command.Name, map[string]any{
		"shell": true, "argv": []any{`echo compiling; echo warming up; sleep 5.5`},
	})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"command.duration": 5.5}, 1)
	beats := run.Heartbeats()
	if len(beats) == 0 {
		t.Fatal("no heartbeat recorded")
	}
	p := beats[0]
	if !strings.HasSuffix(p.Message, ": warming up") || p.Done != -1 || p.Metrics["command.duration"] < 4 {
		t.Errorf("heartbeat = %+v, want the elapsed time and the last line", p)
	}
}

func mustReadPID(t testing.TB, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the command did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// mustExit waits briefly for pid to be gone (or a zombie waiting for its
// reaper) and fails the test if it still runs.
func mustExit(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || processState(string(stat)) == "Z" {
			return
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child process %d still runs after the command ended (%s)", pid, strings.TrimSpace(string(stat)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processState reads the state field of /proc/<pid>/stat, after the
// parenthesised command name.
func processState(stat string) string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return ""
	}
	return stat[i+2 : i+3]
}

// A metric written with a unit keeps it, so reports show "162KiB", not
// "165888".
func TestCommandMetricUnits(t *testing.T) {
	out, err := runTask(t, command.Name, map[string]any{"shell": true, "argv": []any{
		`printf '{"bundle": {"value": 162, "unit": "KiB"}, "plain": 3}' > "$SHIPSHAPE_METRICS"`,
	}})
	tasktest.MustKind(t, err, tasktest.None)
	if out.Units["bundle"] != plan.UnitBytes || out.Units["plain"] != "" {
		t.Errorf("units %v, want bundle in bytes and plain without", out.Units)
	}
	if got := report.FormatUnit("bundle", out.Units["bundle"], out.Metrics["bundle"]); got != "162KiB" {
		t.Errorf("bundle shows as %q, want 162KiB", got)
	}

	// Named metrics: one object, a list, or one a line.
	out, err = runTask(t, command.Name, map[string]any{"shell": true, "argv": []any{
		`echo '{"name": "bundle", "value": 162000, "unit": "bytes"}' >> "$SHIPSHAPE_METRICS";` +
			`echo '[{"name": "build.time", "value": 41.5, "unit": "s"}, {"name": "type_errors", "value": 0}]' >> "$SHIPSHAPE_METRICS";` +
			`echo '{"name": "coverage", "value": 81, "unit": "%"}' >> "$SHIPSHAPE_METRICS"`,
	}})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"bundle": 162000, "build.time": 41.5, "type_errors": 0, "coverage": 0.81}, 1e-9)
	if out.Units["bundle"] != plan.UnitBytes || out.Units["build.time"] != plan.UnitSeconds || out.Units["coverage"] != plan.UnitRatio || out.Units["type_errors"] != "" {
		t.Errorf("units %v", out.Units)
	}
	if got := report.FormatUnit("bundle", out.Units["bundle"], out.Metrics["bundle"]); got != "158KiB" {
		t.Errorf("bundle shows as %q, want 158KiB", got)
	}
	for script, want := range map[string]string{
		`echo '{"name": "a", "value": 1, "colour": "red"}' > "$SHIPSHAPE_METRICS"`:          `unknown field "colour"`,
		`echo '{"name": "a"}' > "$SHIPSHAPE_METRICS"`:                                       `metric "a": no value`,
		`echo '[1, 2]' > "$SHIPSHAPE_METRICS"`:                                              "item 1: want a named metric",
		`echo '{"name": "a", "value": 1} {"name": "a", "value": 2}' > "$SHIPSHAPE_METRICS"`: "metric a is written twice",
	} {
		_, err := runTask(t, command.Name, map[string]any{"shell": true, "argv": []any{script}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", script, err, want)
		}
	}
}
