package vulndb_test

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

const fixtureDB = "testdata/osv"

// realDB is the Go vulnerability database that lives beside the
// repository (../shared/data/osv-go/entries from the repository root).
func realDB(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "osv-go", "entries"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: the shared Go vulnerability database is not at %s (it lives outside the repository)", dir)
	}
	return dir
}

func mustLoad(t testing.TB, path string) *vulndb.Index {
	t.Helper()
	idx, err := vulndb.Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return idx
}

// mustZip writes every file below dir into a zip archive, as osv.dev's
// all.zip has them: flat, one advisory per file.
func mustZip(t testing.TB, dir, zipPath string) {
	t.Helper()
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create(filepath.Base(p))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

func libFindings(t *testing.T, idx *vulndb.Index) []vulndb.Finding {
	t.Helper()
	return idx.Match([]vulndb.Query{
		{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.1.0"},
		{Ecosystem: "Go", Name: "stdlib", Version: "go1.21.1"},
		{Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"},
	})
}

func TestLoadDirectoryAndZip(t *testing.T) {
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	mustZip(t, fixtureDB, zipPath)
	mixed := t.TempDir()
	mustZip(t, filepath.Join(fixtureDB, "nested"), filepath.Join(mixed, "github.zip"))
	for _, name := range []string{"GO-2099-0001.json", "GO-2099-0003.json", "GO-2099-0004.json", "GHSA-npm1-0000-0001.json"} {
		data, err := os.ReadFile(filepath.Join(fixtureDB, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mixed, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, path := range map[string]string{
		"directory with nested folders and index files": fixtureDB,
		"zip archive":                       zipPath,
		"directory of JSON files and a zip": mixed,
	} {
		t.Run(name, func(t *testing.T) {
			idx := mustLoad(t, path)
			if idx.Advisories != 4 || idx.Withdrawn != 1 {
				t.Errorf("advisories %d, withdrawn %d; want 4 and 1", idx.Advisories, idx.Withdrawn)
			}
			var ids []string
			for _, f := range libFindings(t, idx) {
				ids = append(ids, f.ID+"/"+f.Rating.Severity.String())
			}
			want := "GO-2099-0001/CRITICAL GHSA-npm1-0000-0001/MEDIUM GO-2099-0004/UNKNOWN"
			if got := strings.Join(ids, " "); got != want {
				t.Errorf("findings %s, want %s", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "GO-BAD.json"), []byte(`{"id": "GO-BAD", "affected": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name, path, want string
		noDB             bool
	}{
		{"missing", filepath.Join(empty, "nope"), "does not exist", true},
		{"no advisory files", empty, "no *.json or *.zip files", true},
		{"truncated JSON", bad, "GO-BAD.json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vulndb.Load(context.Background(), tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error %v, want it to mention %q", err, tt.want)
			}
			if errors.Is(err, vulndb.ErrNoDatabase) != tt.noDB {
				t.Errorf("errors.Is(err, ErrNoDatabase) = %v, want %v", !tt.noDB, tt.noDB)
			}
		})
	}
}

func TestLoadRealGoDatabase(t *testing.T) {
	idx := mustLoad(t, realDB(t))
	if total := idx.Advisories + idx.Withdrawn; total != 4291 {
		t.Errorf("read %d advisories, want the 4,291 of the snapshot", total)
	}
	if idx.Withdrawn == 0 {
		t.Error("no withdrawn advisory skipped; the snapshot has some")
	}
}

func TestCacheReusesIndexUntilTheDatabaseChanges(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(fixtureDB, "GO-2099-0001.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "GO-2099-0001.json"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	c := vulndb.NewCache(2)
	ctx := context.Background()

	// Concurrent first scans share one load.
	var wg sync.WaitGroup
	indexes := make([]*vulndb.Index, 4)
	for i := range indexes {
		wg.Go(func() {
			idx, _, err := c.Get(ctx, dir)
			if err != nil {
				t.Error(err)
			}
			indexes[i] = idx
		})
	}
	wg.Wait()
	for _, idx := range indexes[1:] {
		if idx != indexes[0] {
			t.Fatal("concurrent first Gets loaded the database more than once")
		}
	}
	again, look, err := c.Get(ctx, dir)
	if err != nil || again != indexes[0] || !look.Cached {
		t.Fatalf("second Get: %p cached=%v err=%v, want the first index from the cache", again, look.Cached, err)
	}

	// A new advisory file changes the fingerprint: the index is rebuilt.
	src, err = os.ReadFile(filepath.Join(fixtureDB, "GO-2099-0004.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "GO-2099-0004.json"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	_ = os.Chtimes(filepath.Join(dir, "GO-2099-0004.json"), later, later)
	fresh, look, err := c.Get(ctx, dir)
	if err != nil || look.Cached || fresh.Advisories != 2 {
		t.Fatalf("after adding an advisory: cached=%v advisories=%d err=%v, want a fresh index of 2", look.Cached, fresh.Advisories, err)
	}

	// A file rewritten in place leaves the directory's time alone: it is
	// seen when every file is compared, every Recheck.
	withdrawn := strings.Replace(string(src), `"modified"`, `"withdrawn": "2099-03-01T00:00:00Z", "modified"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "GO-2099-0004.json"), []byte(withdrawn), 0o644); err != nil {
		t.Fatal(err)
	}
	evenLater := later.Add(time.Second)
	_ = os.Chtimes(filepath.Join(dir, "GO-2099-0004.json"), evenLater, evenLater)
	if stale, look, _ := c.Get(ctx, dir); !look.Cached || stale.Withdrawn != 0 {
		t.Errorf("in-place rewrite within Recheck: cached=%v withdrawn=%d, want the cached index", look.Cached, stale.Withdrawn)
	}
	c.Recheck = 0
	rewritten, look, err := c.Get(ctx, dir)
	if err != nil || look.Cached || rewritten.Withdrawn != 1 {
		t.Fatalf("after an in-place rewrite with Recheck 0: cached=%v withdrawn=%d err=%v, want a fresh index", look.Cached, rewritten.Withdrawn, err)
	}

	if _, _, err := c.Get(ctx, filepath.Join(dir, "missing")); !errors.Is(err, vulndb.ErrNoDatabase) {
		t.Errorf("missing database: %v, want ErrNoDatabase", err)
	}
}
