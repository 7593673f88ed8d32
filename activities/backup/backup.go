// Package backup is the backup task type: it dumps a PostgreSQL database
// with pg_dump into a blob store, with a manifest of row counts and
// checksums taken in the dump's own snapshot, and applies retention.
package backup

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the PostgreSQL backup task type.
const Name = "backup"

// Decl declares the backup task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Backs up a PostgreSQL database with pg_dump to a directory, an S3 bucket or an Azure Blob container, streamed through zstd and SHA-256 (never held in memory). " +
		"Row counts and checksums of every table are taken in the dump's own snapshot (a REPEATABLE READ transaction whose exported snapshot pg_dump uses), so they match the dump exactly; " +
		"a JSON manifest beside the dump records them with the source, times, size and hash, and is written last, so a backup without one is incomplete. " +
		"Retention then removes old backups, never the newest one nor the newest that a restore drill verified. See [Backups and restore drills](drills.md).",
	Params: []plan.Param{
		{Name: "source", Type: plan.TypeString, Required: true, Doc: "The database, as a `postgres://user[:password]@host:port/db` URL. Prefer leaving the password out of the plan: pg_dump then reads PGPASSWORD or ~/.pgpass on the worker. It never appears in logs, events or the report."},
		{Name: "storage", Type: plan.TypeString, Required: true, Doc: "Where backups go: a directory (`file:///var/backups` or a path), `s3://bucket/prefix` or `azblob://account/container/prefix` (see [Storage](drills.md#storage))."},
		{Name: "format", Type: plan.TypeString, Default: pgbackup.FormatCustom, Enum: []string{pgbackup.FormatCustom, pgbackup.FormatDirectory}, Doc: "pg_dump's format: `custom` (one stream) or `directory` (dumped by `jobs` in parallel, stored as a tar stream)."},
		{Name: "jobs", Type: plan.TypeInt, Default: 1, Doc: "Tables pg_dump dumps at once (directory format only)."},
		{Name: "compressionLevel", Type: plan.TypeInt, Default: 2, Doc: "zstd level: 1 fastest, 2 default (about zstd -3), 3 better, 4 best (klauspost/compress's encoder levels)."},
		{Name: "keep", Type: plan.TypeInt, Default: 0, Doc: "Retention: keep the newest N complete backups of the database (0: no count limit)."},
		{Name: "maxAge", Type: plan.TypeDuration, Default: "0s", Doc: "Retention: keep backups younger than this (0: no age limit). A backup kept by keep or maxAge stays; with neither set, nothing is removed."},
		{Name: "incompleteGrace", Type: plan.TypeDuration, Default: "24h", Doc: "Retention: backups that never finished (no manifest) are removed once this old."},
		{Name: "pgDumpArgs", Type: plan.TypeStringList, Doc: "Extra pg_dump arguments (`--exclude-table=audit.*`). Table checksums cover every table: a drill of a partial dump reports the missing tables."},
	},
	Metrics: []plan.Metric{
		{Name: "backup.size", Unit: plan.UnitBytes, Doc: "Bytes stored (compressed)."},
		{Name: "backup.dump_size", Unit: plan.UnitBytes, Doc: "Bytes pg_dump wrote (before compression)."},
		{Name: "backup.duration", Unit: plan.UnitSeconds, Doc: "From opening the snapshot until the manifest was stored."},
		{Name: "backup.tables", Unit: plan.UnitCount, Doc: "Tables in the snapshot."},
		{Name: "backup.rows", Unit: plan.UnitCount, Doc: "Rows in those tables."},
		{Name: "backup.expired", Unit: plan.UnitCount, Doc: "Backups retention removed after this one."},
	},
	Timeout:     2 * time.Hour,
	Heartbeat:   30 * time.Second,
	MaxAttempts: 2,
	Check:       check,
}

func check(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	if _, err := postgres.ParseSource(p.String("source")); err != nil {
		problems = append(problems, plan.ParamProblem{Param: "source", Msg: err.Error()})
	}
	if err := pgbackup.Check(p.String("storage")); err != nil {
		problems = append(problems, plan.ParamProblem{Param: "storage", Msg: err.Error()})
	}
	if l := p.Int("compressionLevel"); with["compressionLevel"] != nil && (l < 1 || l > 4) {
		problems = append(problems, plan.ParamProblem{Param: "compressionLevel", Msg: "must be 1 to 4"})
	}
	if p.Int("jobs") > 1 && p.String("format") != pgbackup.FormatDirectory {
		problems = append(problems, plan.ParamProblem{Param: "jobs", Msg: "only the directory format dumps in parallel: set format: directory"})
	}
	return problems
}

// Backup runs backup tasks.
type Backup struct {
	logger *slog.Logger
	events taskrun.EventPublisher
}

// New returns the backup task type's activities: logger (nil: the
// default) logs what they do, events (nil: none) receives their progress.
func New(logger *slog.Logger, events taskrun.EventPublisher) *Backup {
	if logger == nil {
		logger = slog.Default()
	}
	return &Backup{logger: logger, events: events}
}

// Type is the backup task type, run by b.
func (b *Backup) Type() task.Type { return task.Type{Decl: Decl, Run: b.Run} }

// Run dumps a database into a store and applies retention.
func (b *Backup) Run(ctx context.Context, in task.Input) (task.Output, error) {
	p := in.Params
	src, err := postgres.ParseSource(p.String("source"))
	if err != nil {
		return task.Output{}, task.InvalidParams("source: %v", err)
	}
	store, err := pgbackup.Open(ctx, p.String("storage"))
	if err != nil {
		return task.Output{}, task.InvalidParams("storage: %v", err)
	}
	format := p.String("format")
	if format == "" {
		format = pgbackup.FormatCustom
	}
	pgDump, err := postgres.Bin("pg_dump")
	if err != nil {
		return task.Output{}, err
	}
	started := time.Now().UTC()
	// Effectively once per task: an attempt that runs again after its
	// worker died once the backup was complete (manifest written) finds
	// that backup and reports it, rather than storing a second one.
	if done, err := finished(ctx, store, src.Database, in); err != nil {
		return task.Output{}, err
	} else if done != nil {
		out := backupOutput(done, store.String(), started, nil)
		out.Output = "an earlier attempt of this task stored it: " + out.Output
		return out, nil
	}

	conn, err := src.Connect(ctx)
	if err != nil {
		return task.Output{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m := &pgbackup.Manifest{
		Source:      pgbackup.Source{Host: src.Host, Port: src.Port, Database: src.Database},
		Format:      format,
		Compression: "zstd",
		Run:         in.RunID,
		Task:        in.Phase + "/" + in.Task,
	}
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&m.Source.ServerVersion); err != nil {
		return task.Output{}, fmt.Errorf("server version: %w", err)
	}
	num, err := postgres.ServerVersion(ctx, conn)
	if err != nil {
		return task.Output{}, err
	}
	m.Checksum = postgres.MethodFor(num)
	// Only superusers and pg_monitor may read the system identifier.
	_ = conn.QueryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&m.Source.SystemID)

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return task.Output{}, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return task.Output{}, fmt.Errorf("export snapshot: %w", err)
	}
	m.Started = time.Now().UTC()
	// The table sums run in the snapshot's own transaction while pg_dump
	// dumps the same snapshot from its connections: both only read, under
	// compatible locks, and the sums' scans overlap the dump's.
	sumsCtx, stopSums := context.WithCancel(ctx)
	defer stopSums()
	sums := make(chan error, 1)
	go func() {
		var err error
		m.Tables, err = postgres.TableSums(sumsCtx, tx, m.Checksum)
		sums <- err
	}()
	sumsDone := false
	waitSums := func() error {
		if sumsDone {
			return nil
		}
		sumsDone = true
		return <-sums
	}
	// Whatever happens, the transaction is not touched again (rollback,
	// commit) before the sums are done with it.
	defer func() {
		stopSums()
		_ = waitSums()
	}()
	m.ID = pgbackup.NewID(m.Started, randomHex(4))
	m.Key = pgbackup.DumpKey(src.Database, m.ID, format)

	level := zstd.SpeedDefault
	if l := p.Int("compressionLevel"); l >= 1 && l <= 4 {
		level = zstd.EncoderLevel(l)
	}
	args := append([]string{"--snapshot=" + snapshot, "--no-password", "--dbname=" + src.Conninfo()}, p.Strings("pgDumpArgs")...)
	counter := &countingWriter{}
	prog := taskrun.NewProgress(b.events, b.logger, in)
	defer prog.Every(ctx, 5*time.Second, func() task.Progress {
		return task.Progress{Done: -1, Message: "dumped " + mib(counter.n.Load()),
			Metrics: map[string]float64{"backup.dump_size": float64(counter.n.Load())}}
	})()

	put := func(dump func(w io.Writer) error) (size int64, sum string, err error) {
		pr, pw := io.Pipe()
		stored := &countingWriter{}
		h := sha256.New()
		done := make(chan error, 1)
		go func() {
			done <- store.Put(ctx, m.Key, io.TeeReader(pr, io.MultiWriter(h, stored)))
		}()
		enc, err := zstd.NewWriter(pw, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(2))
		if err != nil {
			pw.CloseWithError(err)
			<-done
			return 0, "", err
		}
		err = dump(io.MultiWriter(enc, counter))
		if cerr := enc.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err) // nil: EOF
		perr := <-done
		if err != nil {
			return 0, "", err
		}
		if perr != nil {
			return 0, "", fmt.Errorf("store %s: %w", m.Key, perr)
		}
		return stored.n.Load(), hex.EncodeToString(h.Sum(nil)), nil
	}
	var dump func(w io.Writer) error
	if format == pgbackup.FormatDirectory {
		dump = func(w io.Writer) error {
			tmp, err := os.MkdirTemp("", "shipshape-dump-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir := filepath.Join(tmp, "dump")
			jobs := max(p.Int("jobs"), 1)
			if err := src.Run(ctx, pgDump, nil, append(args, "--format=directory", "--compress=0", "--jobs="+strconv.Itoa(jobs), "--file="+dir)...); err != nil {
				return err
			}
			return tarDir(dir, w)
		}
	} else {
		dump = func(w io.Writer) error {
			return src.Run(ctx, pgDump, w, append(args, "--format=custom", "--compress=0")...)
		}
	}
	if m.Size, m.SHA256, err = put(dump); err != nil {
		return task.Output{}, fmt.Errorf("backup of %s: %w", src, err)
	}
	if err := waitSums(); err != nil {
		return task.Output{}, err
	}
	m.DumpSize = counter.n.Load()
	if err := tx.Commit(ctx); err != nil {
		return task.Output{}, fmt.Errorf("end snapshot: %w", err)
	}
	m.Finished = time.Now().UTC()
	if err := pgbackup.Write(ctx, store, m); err != nil {
		return task.Output{}, fmt.Errorf("store the manifest: %w", err)
	}
	b.logger.Info("backup stored", "source", src.String(), "store", store.String(), "key", m.Key, "size", m.Size)

	expired, err := applyRetention(ctx, store, src.Database, pgbackup.Retention{
		Keep: p.Int("keep"), MaxAge: p.Duration("maxAge"), Grace: p.Duration("incompleteGrace"),
	})
	out := backupOutput(m, store.String(), started, expired)
	if err != nil {
		// The backup is stored; retention runs again after the next one.
		out.Output += fmt.Sprintf("\nretention: %v", err)
		b.logger.Warn("retention failed", "store", store.String(), "error", err)
	}
	return out, nil
}

// finished returns the complete backup an earlier attempt of this task
// (same run, same phase and task) stored, if any.
func finished(ctx context.Context, store pgbackup.Store, database string, in task.Input) (*pgbackup.Manifest, error) {
	all, err := pgbackup.List(ctx, store, database)
	if err != nil {
		return nil, fmt.Errorf("list the backups of %s in %s: %w", database, store, err)
	}
	for _, m := range all {
		if m.Run == in.RunID && m.Task == in.Phase+"/"+in.Task {
			return m, nil
		}
	}
	return nil, nil
}

func applyRetention(ctx context.Context, store pgbackup.Store, database string, r pgbackup.Retention) ([]string, error) {
	folders, err := pgbackup.Folders(ctx, store, database)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, f := range r.Expired(folders, time.Now()) {
		if err := pgbackup.Delete(ctx, store, f); err != nil {
			return removed, err
		}
		removed = append(removed, f.Key)
	}
	return removed, nil
}

func backupOutput(m *pgbackup.Manifest, store string, started time.Time, expired []string) task.Output {
	table := plan.Table{Title: "Tables in the snapshot", Columns: []string{"table", "rows", "checksum"}}
	for _, t := range m.Tables {
		table.Rows = append(table.Rows, []string{t.Schema + "." + t.Name, strconv.FormatInt(t.Rows, 10), t.Checksum})
	}
	text := fmt.Sprintf("backup %s of %q (PostgreSQL %s) in %s: %d tables, %d rows, %s dumped, %s stored (zstd), sha256 %s",
		m.ID, m.Source.Database, m.Source.ServerVersion, store, m.TableCount(), m.Rows(), mib(m.DumpSize), mib(m.Size), m.SHA256)
	if len(expired) > 0 {
		text += fmt.Sprintf("\nretention removed %d: %s", len(expired), strings.Join(expired, ", "))
	}
	return task.Output{
		Metrics: map[string]float64{
			"backup.size":      float64(m.Size),
			"backup.dump_size": float64(m.DumpSize),
			"backup.duration":  m.Finished.Sub(started).Seconds(),
			"backup.tables":    float64(m.TableCount()),
			"backup.rows":      float64(m.Rows()),
			"backup.expired":   float64(len(expired)),
		},
		Output: text,
		Tables: []plan.Table{table},
	}
}

// tarDir writes the files of dir to w as a tar stream, names relative to dir.
func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o600, Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// countingWriter counts what passes through it.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mib writes a size in MiB, for messages (metrics carry bytes).
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
