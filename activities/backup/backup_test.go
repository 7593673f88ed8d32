package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"

	"github.com/shipshape-dev/shipshape/activities/backup"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

// run runs one backup task with params with.
func run(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, backup.New(slog.New(slog.DiscardHandler), nil).Type(), with)
}

func dbSums(t *testing.T, url string, method postgres.SumMethod) []postgres.TableSum {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s, err := postgres.TableSums(ctx, conn, method)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// restoreCustom restores a custom-format backup with pg_restore, the
// plain way (no drill), into a new database of c.
func restoreCustom(t *testing.T, c *postgres.Cluster, store *file.Store, m *pgbackup.Manifest, db string) string {
	t.Helper()
	url := pgtest.CreateDB(t, c, db)
	f, err := os.Open(filepath.Join(store.Root(), filepath.FromSlash(m.Key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	bin, _ := postgres.Bin("pg_restore")
	cmd := exec.Command(bin, "--no-owner", "--exit-on-error", "-d", url)
	cmd.Stdin = dec
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	return url
}

// TestBackupCustomFormat backs up a real database seeded with pgbench's
// tables, JSONB and large objects into a directory store while another
// connection keeps writing: the manifest's counts and checksums are those
// of the dump's snapshot (a plain pg_restore of the dump sums the same),
// and its hash is the stored object's.
func TestBackupCustomFormat(t *testing.T) {
	c := pgtest.Start(t, "test/backup")
	src := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, src, 1)
	storeDir := t.TempDir()

	// A writer racing the dump.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var inserted atomic.Int64
	wg.Go(func() {
		conn, err := pgx.Connect(ctx, src)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		for ctx.Err() == nil {
			if _, err := conn.Exec(ctx, `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())`); err == nil {
				inserted.Add(1)
			}
		}
	})
	out, err := run(t, map[string]any{"source": src, "storage": storeDir, "compressionLevel": 1})
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if inserted.Load() == 0 {
		t.Fatal("the racing writer wrote nothing")
	}
	store, _ := file.New(storeDir)
	m, err := pgbackup.Find(context.Background(), store, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != "custom" || m.Compression != "zstd" || m.Source.Database != "app" || m.Source.Port != c.Port || !strings.HasPrefix(m.Source.ServerVersion, "1") || m.Run != "test-run" {
		t.Fatalf("manifest %+v", m)
	}
	if out.Metrics["backup.tables"] != 5 || out.Metrics["backup.rows"] != float64(m.Rows()) || out.Metrics["backup.size"] != float64(m.Size) || m.Size <= 0 || m.DumpSize <= m.Size {
		t.Fatalf("metrics %v, manifest size %d dump %d", out.Metrics, m.Size, m.DumpSize)
	}
	if strings.Contains(out.Output, c.Password) {
		t.Fatal("the source's password is in the output")
	}
	f, _ := os.Open(filepath.Join(storeDir, m.Key))
	h := sha256.New()
	n, _ := io.Copy(h, f)
	f.Close()
	if hex.EncodeToString(h.Sum(nil)) != m.SHA256 || n != m.Size {
		t.Fatalf("stored object: %d bytes, hash differs from the manifest's %s", n, m.SHA256)
	}

	if m.Checksum != postgres.SumHash {
		t.Fatalf("checksum method %q, want %q on PostgreSQL 11+", m.Checksum, postgres.SumHash)
	}
	restored := restoreCustom(t, c, store, m, "restored")
	if got := dbSums(t, restored, m.Checksum); !reflect.DeepEqual(got, m.Tables) {
		t.Fatalf("restored sums differ from the manifest's:\n%v", postgres.CompareSums(m.Tables, got))
	}
	if now := dbSums(t, src, m.Checksum); reflect.DeepEqual(now, m.Tables) {
		t.Fatal("the source did not change after the snapshot: the race proved nothing")
	}
}

// TestBackupDirectoryFormatRetention dumps with two jobs in directory
// format, three times, keeping two: the oldest goes, a backup that never
// finished goes after its grace period, the rest stay.
func TestBackupDirectoryFormatRetention(t *testing.T) {
	c := pgtest.Start(t, "test/backup-dir")
	src := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, src, 1)
	storeDir := t.TempDir()
	store, _ := file.New(storeDir)
	ctx := context.Background()
	if err := store.Put(ctx, "app/20200101T000000Z-dead/dump.tar.zst", strings.NewReader("half")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	_ = os.Chtimes(filepath.Join(storeDir, "app/20200101T000000Z-dead/dump.tar.zst"), old, old)

	var ids []string
	for i := range 3 {
		// Three runs' backups, as a schedule makes them (one run backs up
		// once per task).
		runner := &tasktest.Runner{Types: []task.Type{backup.New(slog.New(slog.DiscardHandler), nil).Type()}, Task: fmt.Sprintf("nightly-%d", i)}
		out, err := runner.Run(t, backup.Name, map[string]any{"source": src, "storage": "file://" + storeDir, "format": "directory", "jobs": 2, "keep": 2})
		if err != nil {
			t.Fatal(err)
		}
		m, err := pgbackup.Find(ctx, store, "app", "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		if !strings.HasSuffix(m.Key, "dump.tar.zst") || m.Format != "directory" {
			t.Fatalf("manifest %+v", m)
		}
		wantExpired := map[int]float64{0: 1, 1: 0, 2: 1}[i] // the dead folder, nothing, the oldest backup
		if out.Metrics["backup.expired"] != wantExpired {
			t.Fatalf("backup %d expired %v, want %v: %s", i, out.Metrics["backup.expired"], wantExpired, out.Output)
		}
		time.Sleep(1100 * time.Millisecond) // IDs are to the second
	}
	list, _ := pgbackup.List(ctx, store, "app")
	if len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
		t.Fatalf("kept %v, want %v", list, ids[1:])
	}
}

func TestBackupRefusesBadSource(t *testing.T) {
	_, err := run(t, map[string]any{"source": "mysql://x/y", "storage": t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "source: want a postgres://") {
		t.Fatalf("err = %v", err)
	}
}

// TestBackupOncePerTask: an attempt of the same task that runs again after
// the backup was stored (its worker died before it reported) stores no
// second backup; it reports the first. Another task stores its own.
func TestBackupOncePerTask(t *testing.T) {
	c := pgtest.Start(t, "test/backup-once")
	src := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, src, 1)
	storeDir := t.TempDir()
	with := map[string]any{"source": src, "storage": storeDir}
	first, err := run(t, with)
	if err != nil {
		t.Fatal(err)
	}
	again, err := run(t, with)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := file.New(storeDir)
	list, err := pgbackup.List(context.Background(), store, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !strings.Contains(again.Output, "an earlier attempt of this task stored it") ||
		again.Metrics["backup.size"] != first.Metrics["backup.size"] {
		t.Fatalf("%d backups after a repeated attempt, output %q: want the first one reported", len(list), again.Output)
	}
	other := &tasktest.Runner{Types: []task.Type{backup.New(slog.New(slog.DiscardHandler), nil).Type()}, Task: "another"}
	if _, err := other.Run(t, backup.Name, with); err != nil {
		t.Fatal(err)
	}
	if list, _ = pgbackup.List(context.Background(), store, "app"); len(list) != 2 {
		t.Fatalf("%d backups after another task, want 2", len(list))
	}
}
