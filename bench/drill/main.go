// Command drill benchmarks a backup and restore drill against the bare
// pipeline it automates. On a pgbench database (scale 70, about 1 GB) in
// a local PostgreSQL cluster it times, in one process and alternating
// run by run:
//
//   - bare: pg_dump -Fc piped into pg_restore, into an empty database of
//     a second cluster (serial: a pipe cannot be restored in parallel);
//   - drill, jobs 1 and jobs 2: the backup task (pg_dump through zstd and
//     SHA-256 into a directory store, with per-table counts and checksums
//     in the dump's snapshot) and the restore-drill steps (select,
//     provision a scratch cluster, fetch with hash check, pg_restore
//     --jobs, verify every table, teardown), as the workflow runs them.
//
// It prints a Markdown table of medians for docs/benchmarks.md.
//
//	go run ./bench/drill [-scale 70] [-runs 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/backup"
	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
)

func main() {
	scale := flag.Int("scale", 70, "pgbench scale of the source database (70: about 1 GB)")
	runs := flag.Int("runs", 3, "repetitions of each scenario")
	flag.Parse()
	if err := run(*scale, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/drill:", err)
		os.Exit(1)
	}
}

type timing struct {
	total  time.Duration
	phases map[string]time.Duration
}

func run(scale, runs int) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "shipshape-bench-drill")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: tmp, Tag: "bench/drill-source"})
	if err != nil {
		return err
	}
	defer src.Stop(context.Background())
	dst, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: tmp, Tag: "bench/drill-bare"})
	if err != nil {
		return err
	}
	defer dst.Stop(context.Background())

	fmt.Fprintf(os.Stderr, "pgbench -i -s %d ...\n", scale)
	start := time.Now()
	if err := psql(ctx, src.URL("postgres"), "CREATE DATABASE bench"); err != nil {
		return err
	}
	if err := tool(ctx, nil, nil, "pgbench", "-i", "-q", "-s", fmt.Sprint(scale), src.URL("bench")); err != nil {
		return err
	}
	var size string
	if out, err := exec.CommandContext(ctx, mustBin("psql"), "-XAtc", "SELECT pg_size_pretty(pg_database_size('bench'))", src.URL("bench")).Output(); err == nil {
		size = strings.TrimSpace(string(out))
	}
	fmt.Fprintf(os.Stderr, "source ready in %s: %s\n", time.Since(start).Round(time.Second), size)

	results := map[string][]timing{}
	for r := range runs {
		// bare
		db := fmt.Sprintf("bare%d", r)
		if err := psql(ctx, dst.URL("postgres"), "CREATE DATABASE "+db); err != nil {
			return err
		}
		t0 := time.Now()
		if err := bare(ctx, src.URL("bench"), dst.URL(db)); err != nil {
			return err
		}
		results["bare"] = append(results["bare"], timing{total: time.Since(t0)})
		fmt.Fprintf(os.Stderr, "run %d bare: %s\n", r+1, time.Since(t0).Round(time.Millisecond))
		if err := psql(ctx, dst.URL("postgres"), "DROP DATABASE "+db); err != nil {
			return err
		}
		for _, jobs := range []int{1, 2} {
			name := fmt.Sprintf("drill, jobs %d", jobs)
			tm, err := drill(tmp, src.URL("bench"), jobs, r)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			results[name] = append(results[name], tm)
			fmt.Fprintf(os.Stderr, "run %d %s: %s %v\n", r+1, name, tm.total.Round(time.Millisecond), tm.phases)
		}
	}

	bareMed := median(results["bare"], "")
	fmt.Printf("Source: pgbench scale %d (%s), %d runs each, medians.\n\n", scale, size, runs)
	fmt.Println("| scenario | total | × bare | backup | fetch | restore | verify | provision + teardown |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, name := range []string{"bare", "drill, jobs 1", "drill, jobs 2"} {
		tot := median(results[name], "")
		row := fmt.Sprintf("| %s | %s | %.2f |", name, sec(tot), tot.Seconds()/bareMed.Seconds())
		if name == "bare" {
			row += " | | | | |"
		} else {
			for _, ph := range []string{"backup", "fetch", "restore", "verify"} {
				row += " " + sec(median(results[name], ph)) + " |"
			}
			row += " " + sec(median(results[name], "provision")+median(results[name], "teardown")) + " |"
		}
		fmt.Println(row)
	}
	return nil
}

func sec(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func median(ts []timing, phase string) time.Duration {
	var ds []time.Duration
	for _, t := range ts {
		if phase == "" {
			ds = append(ds, t.total)
		} else {
			ds = append(ds, t.phases[phase])
		}
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func mustBin(name string) string {
	b, err := postgres.Bin(name)
	if err != nil {
		panic(err)
	}
	return b
}

func tool(ctx context.Context, stdin io.Reader, stdout io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, mustBin(name), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func psql(ctx context.Context, url, sql string) error {
	return tool(ctx, nil, io.Discard, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, url)
}

// bare is pg_dump -Fc | pg_restore, serial.
func bare(ctx context.Context, src, dst string) error {
	dump := exec.CommandContext(ctx, mustBin("pg_dump"), "-Fc", "-d", src)
	restore := exec.CommandContext(ctx, mustBin("pg_restore"), "--no-owner", "--exit-on-error", "-d", dst)
	pipe, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	restore.Stdin, dump.Stderr, restore.Stderr = pipe, os.Stderr, os.Stderr
	if err := dump.Start(); err != nil {
		return err
	}
	if err := restore.Run(); err != nil {
		return fmt.Errorf("pg_restore: %w", err)
	}
	return dump.Wait()
}

// drill runs the backup task and the restore drill's steps.
func drill(tmp, src string, jobs, run int) (timing, error) {
	tm := timing{phases: map[string]time.Duration{}}
	store, err := os.MkdirTemp(tmp, "store")
	if err != nil {
		return tm, err
	}
	defer os.RemoveAll(store)
	types := all.Types(all.Config{Logger: slog.New(slog.DiscardHandler), ScratchDir: tmp})
	exec := func(name string, in, out any) error {
		var suite testsuite.WorkflowTestSuite
		suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
		env := suite.NewTestActivityEnvironment()
		taskrun.RegisterActivities(env, types, taskrun.Options{})
		t0 := time.Now()
		val, err := env.ExecuteActivity(name, in)
		phase := strings.TrimPrefix(name, "restore-drill.")
		if name == backup.Name {
			phase = "backup"
		}
		tm.phases[phase] += time.Since(t0)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if out != nil {
			return val.Get(out)
		}
		return nil
	}
	start := time.Now()
	in := task.Input{RunID: "bench", Plan: "bench", Phase: "backup", Task: "backup", Uses: backup.Name,
		Params: defaults(backup.Name, task.Params{"source": src, "storage": store})}
	if err := exec(backup.Name, in, nil); err != nil {
		return tm, err
	}
	step := restoredrill.Step{ID: fmt.Sprintf("bench/%d/%d", run, jobs), Task: task.Input{RunID: "bench", Plan: "bench",
		Phase: "drill", Task: "drill", Uses: restoredrill.Name,
		Params: defaults(restoredrill.Name, task.Params{"storage": store, "database": "bench", "jobs": float64(jobs)})}}
	defer exec(restoredrill.Teardown, step, nil)
	for _, s := range []struct {
		name string
		out  any
	}{
		{restoredrill.Select, &step.Backup},
		{restoredrill.Provision, &step.Target},
		{restoredrill.Fetch, nil},
		{restoredrill.Restore, nil},
	} {
		if err := exec(s.name, step, s.out); err != nil {
			return tm, err
		}
	}
	var v restoredrill.Result
	if err := exec(restoredrill.Verify, step, &v); err != nil {
		return tm, err
	}
	if !v.Verified {
		return tm, fmt.Errorf("the drill did not verify: %s", v.Message)
	}
	if err := exec(restoredrill.Teardown, step, nil); err != nil {
		return tm, err
	}
	tm.total = time.Since(start)
	return tm, nil
}

// defaults fills in a task type's parameter defaults.
func defaults(uses string, p task.Params) task.Params {
	for _, d := range all.Catalog()[uses].Params {
		if _, set := p[d.Name]; !set && d.Default != nil {
			p[d.Name] = d.Default
		}
	}
	return p
}
