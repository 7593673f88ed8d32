package activities

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"

	"github.com/shipshape-dev/shipshape/activities/pgbackup"
	"github.com/shipshape-dev/shipshape/integrations/blobstore"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/plan"
)

// BackupType is the name of the PostgreSQL backup task type.
const BackupType = "backup"

var backupType = plan.TaskType{
	Name: BackupType,
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
	Check:       checkBackup,
}

func checkBackup(with map[string]any) []plan.ParamProblem {
	p := Params(with)
	var problems []plan.ParamProblem
	if _, err := parseSource(p.String("source")); err != nil {
		problems = append(problems, plan.ParamProblem{Param: "source", Msg: err.Error()})
	}
	if err := blobstore.Check(p.String("storage")); err != nil {
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

// pgSource is a database named by a postgres:// URL.
type pgSource struct {
	url      *url.URL
	Host     string
	Port     int
	Database string
	User     string
	password string
}

// parseSource reads a postgres:// URL; host and port default as libpq's.
func parseSource(raw string) (pgSource, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return pgSource{}, fmt.Errorf("want a postgres://user@host:port/database URL")
	}
	s := pgSource{url: u, Host: u.Hostname(), Port: 5432, Database: strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return pgSource{}, fmt.Errorf("port %q is not a number", p)
		}
	}
	if s.Host == "" {
		s.Host = "localhost"
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.password, _ = u.User.Password()
	}
	if s.Database == "" || strings.Contains(s.Database, "/") {
		return pgSource{}, fmt.Errorf("name the database in the URL's path (postgres://host/DATABASE)")
	}
	return s, nil
}

// String is the URL without its password.
func (s pgSource) String() string { return s.url.Redacted() }

// conninfo is the URL without its password, for pg_dump and pg_restore's
// arguments (visible to every user of the machine); the password goes in
// their environment (env).
func (s pgSource) conninfo() string {
	u := *s.url
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

func (s pgSource) env() []string {
	env := append(os.Environ(), "LC_ALL=C")
	if s.password != "" {
		env = append(env, "PGPASSWORD="+s.password)
	}
	return env
}

func (s pgSource) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s, redactErr(err, s.password))
	}
	return conn, nil
}

// redactErr removes a password from an error's text, in case a driver
// quotes its connection string.
func redactErr(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "xxxxx"))
}

// Backup dumps a database into a store and applies retention.
func (a *Activities) Backup(ctx context.Context, in TaskInput) (TaskOutput, error) {
	p := in.Params
	src, err := parseSource(p.String("source"))
	if err != nil {
		return TaskOutput{}, InvalidParams("source: %v", err)
	}
	store, err := openStore(ctx, p.String("storage"))
	if err != nil {
		return TaskOutput{}, InvalidParams("storage: %v", err)
	}
	format := p.String("format")
	if format == "" {
		format = pgbackup.FormatCustom
	}
	pgDump, err := postgres.Bin("pg_dump")
	if err != nil {
		return TaskOutput{}, err
	}
	started := time.Now().UTC()

	conn, err := src.connect(ctx)
	if err != nil {
		return TaskOutput{}, err
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
		return TaskOutput{}, fmt.Errorf("server version: %w", err)
	}
	// Only superusers and pg_monitor may read the system identifier.
	_ = conn.QueryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&m.Source.SystemID)

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return TaskOutput{}, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return TaskOutput{}, fmt.Errorf("export snapshot: %w", err)
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
		m.Tables, err = postgres.TableSums(sumsCtx, tx)
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
	args := append([]string{"--snapshot=" + snapshot, "--no-password", "--dbname=" + src.conninfo()}, p.Strings("pgDumpArgs")...)
	counter := &countingWriter{}
	prog := a.progress(in)
	defer prog.Every(ctx, 5*time.Second, func() Progress {
		return Progress{Done: -1, Message: "dumped " + mib(counter.n.Load()),
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
			if err := runPG(ctx, src, pgDump, nil, append(args, "--format=directory", "--compress=0", "--jobs="+strconv.Itoa(jobs), "--file="+dir)...); err != nil {
				return err
			}
			return tarDir(dir, w)
		}
	} else {
		dump = func(w io.Writer) error {
			return runPG(ctx, src, pgDump, w, append(args, "--format=custom", "--compress=0")...)
		}
	}
	if m.Size, m.SHA256, err = put(dump); err != nil {
		return TaskOutput{}, fmt.Errorf("backup of %s: %w", src, err)
	}
	if err := waitSums(); err != nil {
		return TaskOutput{}, err
	}
	m.DumpSize = counter.n.Load()
	if err := tx.Commit(ctx); err != nil {
		return TaskOutput{}, fmt.Errorf("end snapshot: %w", err)
	}
	m.Finished = time.Now().UTC()
	if err := pgbackup.Write(ctx, store, m); err != nil {
		return TaskOutput{}, fmt.Errorf("store the manifest: %w", err)
	}
	a.logger().Info("backup stored", "source", src.String(), "store", store.String(), "key", m.Key, "size", m.Size)

	expired, err := applyRetention(ctx, store, src.Database, pgbackup.Retention{
		Keep: p.Int("keep"), MaxAge: p.Duration("maxAge"), Grace: p.Duration("incompleteGrace"),
	})
	out := backupOutput(m, store.String(), started, expired)
	if err != nil {
		// The backup is stored; retention runs again after the next one.
		out.Output += fmt.Sprintf("\nretention: %v", err)
		a.logger().Warn("retention failed", "store", store.String(), "error", err)
	}
	return out, nil
}

func applyRetention(ctx context.Context, store blobStore, database string, r pgbackup.Retention) ([]string, error) {
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

func backupOutput(m *pgbackup.Manifest, store string, started time.Time, expired []string) TaskOutput {
	table := plan.Table{Title: "Tables in the snapshot", Columns: []string{"table", "rows", "checksum"}}
	for _, t := range m.Tables {
		table.Rows = append(table.Rows, []string{t.Schema + "." + t.Name, strconv.FormatInt(t.Rows, 10), t.Checksum})
	}
	text := fmt.Sprintf("backup %s of %q (PostgreSQL %s) in %s: %d tables, %d rows, %s dumped, %s stored (zstd), sha256 %s",
		m.ID, m.Source.Database, m.Source.ServerVersion, store, m.TableCount(), m.Rows(), mib(m.DumpSize), mib(m.Size), m.SHA256)
	if len(expired) > 0 {
		text += fmt.Sprintf("\nretention removed %d: %s", len(expired), strings.Join(expired, ", "))
	}
	return TaskOutput{
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

// pgCommand is a PostgreSQL client program run with the source's
// password in its environment, not its arguments.
func pgCommand(ctx context.Context, src pgSource, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = src.env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runPG runs a PostgreSQL client program, its standard output to stdout
// (nil: discarded), and returns its error with the end of its standard
// error.
func runPG(ctx context.Context, src pgSource, bin string, stdout io.Writer, args ...string) error {
	cmd := pgCommand(ctx, src, bin, args...)
	cmd.Stdout = stdout
	stderr := newTailBuffer(20)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		return fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, redactErr(errors.New(msg), src.password))
	}
	return nil
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
