package postgres_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

func sums(t *testing.T, url string) []postgres.TableSum {
	t.Helper()
	return sumsWith(t, url, postgres.SumHash)
}

func sumsWith(t *testing.T, url string, method postgres.SumMethod) []postgres.TableSum {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	s, err := postgres.TableSums(ctx, conn, method)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTableSums sums a real database seeded with pgbench's tables, JSONB
// documents and large objects: the same data gives the same sums, a
// changed row a different checksum, a changed large object too.
func TestTableSums(t *testing.T) {
	c := pgtest.Start(t, "test/sums")
	url := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, url, 1)

	first := sums(t, url)
	var names []string
	rows := map[string]int64{}
	for _, s := range first {
		names = append(names, s.Schema+"."+s.Name)
		rows[s.Name] = s.Rows
		if s.Checksum == "" || s.Checksum == "0" && s.Rows > 0 {
			t.Errorf("%s: checksum %q", s.Name, s.Checksum)
		}
	}
	want := []string{"pg_catalog.pg_largeobject", "public.docs", "public.pgbench_accounts", "public.pgbench_branches", "public.pgbench_history", "public.pgbench_tellers"}
	if strings.Join(names, ",") != strings.Join(append(want[1:], want[0]), ",") {
		t.Fatalf("tables %v, want %v", names, want)
	}
	if rows["pgbench_accounts"] != 100000 || rows["docs"] != 500 || rows[postgres.LargeObjects] != 2 {
		t.Fatalf("rows %v", rows)
	}
	if again := sums(t, url); !reflect.DeepEqual(first, again) {
		t.Fatalf("sums changed without a change:\n%v\n%v", first, again)
	}
	if d := postgres.CompareSums(first, first); len(d) != 0 {
		t.Fatalf("differences with itself: %v", d)
	}

	pgtest.Exec(t, url, `UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 4242`)
	changed := sums(t, url)
	d := postgres.CompareSums(first, changed)
	if len(d) != 1 || !strings.Contains(d[0], `"pgbench_accounts": checksum differs`) {
		t.Fatalf("after one update: %v", d)
	}

	pgtest.Exec(t, url, `DELETE FROM docs WHERE id = 1`, `SELECT lo_put((SELECT min(oid) FROM pg_largeobject_metadata), 0, '\xff')`,
		`CREATE TABLE extra (x int)`)
	d = postgres.CompareSums(changed, sums(t, url))
	joined := strings.Join(d, "\n")
	for _, w := range []string{`"docs": 499 rows, backup had 500`, `"pg_largeobject": checksum differs`, `"extra": not in the backup`} {
		if !strings.Contains(joined, w) {
			t.Errorf("differences lack %q:\n%s", w, joined)
		}
	}
}

// TestSumMethods: the md5 method (manifests written before methods were
// recorded, "") and the hash method each give stable sums of the same
// counts, different checksums, and both see a changed row; an unknown
// method is refused.
func TestSumMethods(t *testing.T) {
	c := pgtest.Start(t, "test/summethods")
	url := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, url, 1)

	md5 := sumsWith(t, url, postgres.SumMD5)
	legacy := sumsWith(t, url, "")
	hash := sumsWith(t, url, postgres.SumHash)
	if !reflect.DeepEqual(md5, legacy) {
		t.Fatalf("\"\" is not md5-64:\n%v\n%v", md5, legacy)
	}
	if len(md5) != len(hash) {
		t.Fatalf("tables: %v vs %v", md5, hash)
	}
	for i := range md5 {
		m, h := md5[i], hash[i]
		if m.Name != h.Name || m.Rows != h.Rows {
			t.Errorf("%s %d rows (md5) vs %s %d rows (hash)", m.Name, m.Rows, h.Name, h.Rows)
		}
		if m.Name != postgres.LargeObjects && m.Rows > 0 && m.Checksum == h.Checksum {
			t.Errorf("%s: same checksum %s with both methods", m.Name, m.Checksum)
		}
	}
	if again := sumsWith(t, url, postgres.SumHash); !reflect.DeepEqual(hash, again) {
		t.Fatalf("hash sums changed without a change")
	}
	pgtest.Exec(t, url, `UPDATE pgbench_tellers SET tbalance = tbalance + 1 WHERE tid = 3`)
	for _, m := range []postgres.SumMethod{postgres.SumMD5, postgres.SumHash} {
		before := md5
		if m == postgres.SumHash {
			before = hash
		}
		d := postgres.CompareSums(before, sumsWith(t, url, m))
		if len(d) != 1 || !strings.Contains(d[0], `"pgbench_tellers": checksum differs`) {
			t.Errorf("%s after one update: %v", m, d)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := postgres.TableSums(context.Background(), conn, "sha1"); err == nil || !strings.Contains(err.Error(), `"sha1"`) {
		t.Fatalf("unknown method: %v", err)
	}
	if postgres.MethodFor(100023) != postgres.SumMD5 || postgres.MethodFor(110000) != postgres.SumHash {
		t.Fatal("MethodFor: PostgreSQL 11 is where hashtextextended starts")
	}
}
