// Command sbom benchmarks the sbom-scan task type: it scans this
// repository's Go module against the Go vulnerability database beside the
// repository, and a generated package-lock.json of 1,500 npm packages
// against a generated set of 50,000 OSV advisories, twice each with one
// worker (the second scan reuses the cached index), and, when govulncheck
// is installed, times `govulncheck -scan module` on the same module
// offline. Each scenario runs in a child process, so its peak memory is its
// own. It prints a Markdown table for docs/benchmarks.md.
//
//	go run ./bench/sbom [-db ../shared/data/osv-go/entries] [-packages 1500] [-advisories 50000]
package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/sbomscan"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/govulndb"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-scenario" {
		if err := scenario(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "scenario:", err)
			os.Exit(1)
		}
		return
	}
	db := flag.String("db", "../shared/data/osv-go/entries", "the Go vulnerability database (OSV entries)")
	packages := flag.Int("packages", 1500, "npm packages in the generated lockfile")
	advisories := flag.Int("advisories", 50000, "advisories in the generated OSV set")
	flag.Parse()
	if err := run(*db, *packages, *advisories); err != nil {
		fmt.Fprintln(os.Stderr, "bench/sbom:", err)
		os.Exit(1)
	}
}

func run(db string, packages, advisories int) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("the Go vulnerability database: %w", err)
	}
	tmp, err := os.MkdirTemp("", "shipshape-bench-sbom")
	if err != nil {
		return err
	}
	if os.Getenv("BENCH_KEEP") == "" {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintln(os.Stderr, "keeping generated files in", tmp)
	}
	lock := filepath.Join(tmp, "package-lock.json")
	// Two synthetic sets: in one, 1 advisory in 100 names a package of the
	// lockfile (a few hundred findings, a realistic worst case); in the
	// other 1 in 10 does (thousands of findings), to show what output
	// size costs.
	synthetic := filepath.Join(tmp, "osv-synthetic.zip")
	heavy := filepath.Join(tmp, "osv-synthetic-heavy.zip")
	start := time.Now()
	if err := writeLockfile(lock, packages); err != nil {
		return err
	}
	if err := writeAdvisories(synthetic, advisories, packages, 100); err != nil {
		return err
	}
	if err := writeAdvisories(heavy, advisories, packages, 10); err != nil {
		return err
	}
	st, _ := os.Stat(synthetic)
	fmt.Fprintf(os.Stderr, "generated %d npm packages and twice %d advisories (%.1f MB zip) in %s\n",
		packages, advisories, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("Machine: %d cores, %s, %s/%s.\n\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Println("| scenario | components | findings | first scan: total (index + lookup) | second scan, cached index: total (lookup) | speed-up: total (lookup) | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, s := range []struct{ name, kind, input, db string }{
		{"this module vs Go DB (" + countJSON(db) + " advisories, directory)", "goModules", repo, db},
		{fmt.Sprintf("%d-package lockfile vs %d synthetic advisories (zip, 1 %% relevant)", packages, advisories), "npmLockfiles", lock, synthetic},
		{fmt.Sprintf("%d-package lockfile vs %d synthetic advisories (zip, 10 %% relevant)", packages, advisories), "npmLockfiles", lock, heavy},
		{"this module + lockfile vs Go DB + synthetic set (1 %), one directory", "both", repo + "," + lock, db + "," + synthetic},
	} {
		out, rss, err := child(self, s.kind, s.input, s.db)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("%s: %w: %s", s.name, err, out)
		}
		fmt.Printf("| %s | %d | %d | %s (%s) | %s (%s) | %.0f× (%.0f×) | %.0f MB |\n", s.name, r.Components, r.Findings,
			r.First.Round(time.Millisecond), r.FirstLookup.Round(time.Millisecond),
			r.Second.Round(100*time.Microsecond), r.SecondLookup.Round(100*time.Microsecond),
			float64(r.First)/float64(r.Second), float64(r.FirstLookup)/float64(r.SecondLookup), float64(rss)/1e6)
	}
	return govulncheck(repo, db, tmp)
}

// child runs one scenario in a child process and returns its output and
// peak resident memory in bytes.
func child(self string, args ...string) ([]byte, int64, error) {
	cmd := exec.Command(self, append([]string{"-scenario"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, err
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return out, rss, nil
}

type result struct {
	Components int           `json:"components"`
	Findings   int           `json:"findings"`
	First      time.Duration `json:"first"`
	Second     time.Duration `json:"second"`
	// FirstLookup and SecondLookup are the scans' own "looked up in"
	// figures: getting the index (loading it the first time) and matching.
	FirstLookup  time.Duration `json:"firstLookup"`
	SecondLookup time.Duration `json:"secondLookup"`
}

// scenario scans twice with one Scanner, as one worker would.
func scenario(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("want KIND INPUT DB")
	}
	kind, input, db := args[0], args[1], args[2]
	scanner := sbomscan.New(sbomscan.Config{Logger: slog.New(slog.DiscardHandler)})
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	taskrun.RegisterActivities(env, []task.Type{scanner.Type()}, taskrun.Options{})
	dbs := strings.Split(db, ",")
	with := task.Params{"unknownAs": "high", "db": dbs[0]}
	switch kind {
	case "goModules":
		with["goModules"] = []any{input}
	case "npmLockfiles":
		with["npmLockfiles"] = []any{input}
	case "both":
		in := strings.Split(input, ",")
		with["goModules"], with["npmLockfiles"] = []any{in[0]}, []any{in[1]}
		// Both databases in one directory, as `starter vulndb sync` lays them out.
		dir, err := os.MkdirTemp("", "bench-db")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.Symlink(dbs[1], filepath.Join(dir, "synthetic.zip")); err != nil {
			return err
		}
		// WalkDir does not follow a symlinked directory: link the files.
		if err := linkFiles(dbs[0], filepath.Join(dir, "Go")); err != nil {
			return err
		}
		with["db"] = dir
	}
	var r result
	for i := range 2 {
		if i == 1 && os.Getenv("BENCH_CPUPROFILE") != "" {
			// Profile the cached scan: go tool pprof bench-sbom BENCH_CPUPROFILE.
			f, err := os.Create(os.Getenv("BENCH_CPUPROFILE"))
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		start := time.Now()
		val, err := env.ExecuteActivity(sbomscan.Name, task.Input{
			RunID: "bench", Plan: "bench", Phase: "p", Task: "t", Uses: sbomscan.Name, Params: with,
		})
		took := time.Since(start)
		if err != nil {
			return err
		}
		var out task.Output
		if err := val.Get(&out); err != nil {
			return err
		}
		lookup, err := lookupTime(out.Output)
		if err != nil {
			return err
		}
		if i == 0 {
			r.First, r.FirstLookup = took, lookup
			r.Components, r.Findings = int(out.Metrics["sbom.components"]), int(out.Metrics["vulns.total"])
			if !strings.Contains(out.Output, "indexed in") {
				return fmt.Errorf("first scan did not index the database:\n%s", out.Output)
			}
		} else {
			r.Second, r.SecondLookup = took, lookup
			if !strings.Contains(out.Output, "cached index") {
				return fmt.Errorf("second scan did not use the cached index:\n%s", out.Output)
			}
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// lookupTime reads the "looked up in D" figure of a scan's output.
func lookupTime(output string) (time.Duration, error) {
	_, rest, ok := strings.Cut(output, "looked up in ")
	if !ok {
		return 0, fmt.Errorf("no lookup time in the output:\n%s", output)
	}
	return time.ParseDuration(strings.Fields(rest)[0])
}

func linkFiles(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		if err := os.Symlink(abs, filepath.Join(dst, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

func countJSON(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	return fmt.Sprintf("%d", len(files))
}

// govulncheck times `govulncheck -scan module` on the repository's module
// against the same Go database, laid out as govulncheck reads it, offline.
func govulncheck(repo, db, tmp string) error {
	bin := os.Getenv("GOVULNCHECK")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("govulncheck"); err != nil {
			fmt.Println("\ngovulncheck: not installed (go install golang.org/x/vuln/cmd/govulncheck@latest), no comparison.")
			return nil
		}
	}
	layout := filepath.Join(tmp, "govulndb")
	if err := govulndb.Write(layout, db); err != nil {
		return err
	}
	fmt.Println("\n| govulncheck run (offline, -db file://…) | findings | wall time | peak RSS |")
	fmt.Println("|---|---|---|---|")
	for _, mode := range []string{"module", "package", "symbol"} {
		cmd := exec.Command(bin, "-db", "file://"+layout, "-scan", mode, "-format", "json")
		if mode != "module" {
			cmd.Args = append(cmd.Args, "./...")
		}
		// -scan module wants Go files in its directory and no patterns;
		// any package of the module will do.
		cmd.Dir = filepath.Join(repo, "cmd", "starter")
		if mode != "module" {
			cmd.Dir = repo
		}
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
		start := time.Now()
		out, err := cmd.Output()
		took := time.Since(start)
		if err != nil {
			fmt.Printf("| `govulncheck -scan %s` | failed: %v | | |\n", mode, err)
			continue
		}
		ids := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var msg struct {
				Finding *struct {
					OSV string `json:"osv"`
				} `json:"finding"`
			}
			if dec.Decode(&msg) == nil && msg.Finding != nil {
				ids[msg.Finding.OSV] = true
			}
		}
		var rss int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss * 1024
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		fmt.Printf("| `govulncheck -scan %s` | %d %v | %s | %.0f MB |\n", mode, len(ids), list, took.Round(time.Millisecond), float64(rss)/1e6)
	}
	return nil
}

// writeLockfile writes a package-lock.json (v3) of n packages, some
// nested twice at another version, a fifth of them dev-only.
func writeLockfile(path string, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	pkgs := map[string]any{"": map[string]any{"name": "bench-app", "version": "1.0.0"}}
	for i := range n {
		name := pkgName(i)
		key := "node_modules/" + name
		if i%10 == 9 {
			key = "node_modules/" + pkgName(i-1) + "/node_modules/" + name
		}
		pkgs[key] = map[string]any{
			"version":   fmt.Sprintf("%d.%d.%d", rng.IntN(5), rng.IntN(20), rng.IntN(30)),
			"resolved":  "https://registry.npmjs.org/" + name + "/-/" + name + ".tgz",
			"integrity": "sha512-bench",
			"dev":       i%5 == 0,
		}
	}
	data, err := json.MarshalIndent(map[string]any{"name": "bench-app", "version": "1.0.0", "lockfileVersion": 3, "packages": pkgs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func pkgName(i int) string {
	if i%7 == 0 {
		return fmt.Sprintf("@bench/pkg-%04d", i)
	}
	return fmt.Sprintf("bench-pkg-%04d", i)
}

// writeAdvisories writes n OSV advisories into a zip: one in every
// relevantEvery names a package of the lockfile (about half of those
// affect its version), the rest other npm and Go packages; severities mix
// CVSS v3 and v4 vectors, severity words and none; pairs alias each other.
func writeAdvisories(path string, n, packages, relevantEvery int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	vectors := []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
		"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
	}
	words := []string{"CRITICAL", "HIGH", "MODERATE", "LOW"}
	for i := range n {
		id := fmt.Sprintf("GHSA-bench-%05d", i)
		eco, name := "npm", fmt.Sprintf("other-pkg-%05d", rng.IntN(20000))
		switch {
		case i%relevantEvery == 0:
			name = pkgName(rng.IntN(packages))
		case i%3 == 0:
			eco, name = "Go", fmt.Sprintf("example.com/bench/mod%05d", rng.IntN(10000))
		}
		e := map[string]any{
			"schema_version": "1.6.0", "id": id, "modified": "2099-01-01T00:00:00Z",
			"aliases": []string{fmt.Sprintf("CVE-2099-%05d", i-i%2)}, // pairs alias each other
			"summary": "Synthetic advisory " + id,
			"details": strings.Repeat("Synthetic details. ", 20),
			"affected": []any{map[string]any{
				"package": map[string]string{"ecosystem": eco, "name": name},
				"ranges": []any{map[string]any{"type": "SEMVER", "events": []any{
					map[string]string{"introduced": "0"},
					map[string]string{"fixed": fmt.Sprintf("%d.%d.0", rng.IntN(5), rng.IntN(20))},
				}}},
			}},
		}
		switch i % 4 {
		case 0, 1:
			e["severity"] = []any{map[string]string{"type": "CVSS_V3", "score": vectors[rng.IntN(len(vectors))]}}
		case 2:
			e["database_specific"] = map[string]string{"severity": words[rng.IntN(len(words))]}
		}
		w, err := zw.Create(id + ".json")
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(e); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
