package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

// evidenceCmd writes one archive an auditor can keep: `starter evidence
// RUN --out FILE.tar.gz` holds the run's reports (json, md, html, junit),
// the plan as it ran (vars resolved), its event log from NATS, the
// artifacts its tasks kept (SBOMs, SARIF, charts) that --artifact-dir
// holds, and MANIFEST.sha256 with a SHA-256 sum of every file (check with
// `sha256sum -c MANIFEST.sha256` after unpacking).
func evidenceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	var c conn
	c.register(fs)
	out := fs.String("out", "", "the archive to write (default RUN-evidence.tar.gz)")
	artifactDir := fs.String("artifact-dir", "", "where the run's artifacts were written (the --report-dir of starter run), to include them")
	noEvents := fs.Bool("no-events", false, "leave out the event log (when NATS cannot be reached)")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "one RUN"); err != nil {
		return err
	}
	runID := pos[0]
	if *out == "" {
		*out = runID + "-evidence.tar.gz"
	}
	logger := newLogger(stderr, c.logLevel)
	cl, err := c.dial(ctx, logger)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := runs.Result(ctx, cl, runID)
	if err != nil {
		return err
	}
	in, err := runs.Input(ctx, cl, runID, c.statusOptions()...)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	render := func(name string, fn func(io.Writer, *plan.RunResult) error) error {
		var b bytes.Buffer
		if err := fn(&b, res); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		files[name] = b.Bytes()
		return nil
	}
	for name, fn := range map[string]func(io.Writer, *plan.RunResult) error{
		"report.json": report.JSON, "report.md": report.Markdown, "junit.xml": report.JUnit, "report.html": report.HTML,
	} {
		if err := render(name, fn); err != nil {
			return err
		}
	}
	planJSON, err := json.MarshalIndent(in.Plan, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the plan: %w", err)
	}
	files["plan.json"] = planJSON
	if !*noEvents {
		log, err := eventLog(ctx, c.nats, runID)
		if err != nil {
			return fmt.Errorf("read the run's events (--no-events leaves them out): %w", err)
		}
		files["events.jsonl"] = log
	}
	if *artifactDir != "" {
		for _, ph := range res.Phases {
			for _, t := range ph.Tasks {
				for _, a := range t.Artifacts {
					if a.Path == "" || filepath.IsAbs(a.Path) || strings.Contains(a.Path, "..") || strings.Contains(a.Path, "://") {
						continue
					}
					data, err := os.ReadFile(filepath.Join(*artifactDir, filepath.FromSlash(a.Path)))
					if err != nil {
						fmt.Fprintf(stderr, "evidence: artifact %s not included: %v\n", a.Path, err)
						continue
					}
					files[path.Join("artifacts", filepath.ToSlash(a.Path))] = data
				}
			}
		}
	}
	if err := writeEvidence(*out, files, res.FinishedAt); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "evidence of %s written to %s (%d files and MANIFEST.sha256)\n", runID, *out, len(files))
	return nil
}

// eventLog is the run's events from the stream, one JSON object a line.
func eventLog(ctx context.Context, cfg natsevents.Config, runID string) ([]byte, error) {
	cfg.ReadOnly = true
	client := natsevents.New(cfg)
	ictx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := client.Init(ictx); err != nil {
		return nil, err
	}
	defer client.Close()
	var b bytes.Buffer
	err := client.Consume(ictx, natsevents.ConsumeOptions{FilterSubject: events.SubjectPrefix + ".run.>"}, func(m natsevents.Message) error {
		var e events.Event
		if json.Unmarshal(m.Data, &e) == nil && e.RunID == runID {
			b.Write(bytes.TrimSpace(m.Data))
			b.WriteByte('\n')
		}
		return nil
	})
	return b.Bytes(), err
}

// writeEvidence writes files and their MANIFEST.sha256 as a gzipped tar,
// whole or not at all, every entry dated at the run's end.
func writeEvidence(out string, files map[string][]byte, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var manifest strings.Builder
	for _, name := range names {
		sum := sha256.Sum256(files[name])
		fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".evidence-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: at, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, name := range names {
		if err := add(name, files[name]); err != nil {
			return err
		}
	}
	if err := add("MANIFEST.sha256", []byte(manifest.String())); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
