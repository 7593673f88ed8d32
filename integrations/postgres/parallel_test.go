package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestParallelTableSums: summing tables in block ranges over several
// connections gives exactly TableSums' counts and checksums, whatever the
// split (ranges of 1, 100 and 1000 blocks, and none).
func TestParallelTableSums(t *testing.T) {
	c := pgtest.Start(t, "test/parallel-sums")
	url := pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, url, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	connect := func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, url) }
	conn, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	want, err := postgres.TableSums(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range []int64{1, 100, 1000, postgres.SplitBlocks} {
		for _, workers := range []int{1, 2, 3} {
			got, err := postgres.ParallelTableSumsSplit(ctx, connect, workers, split)
			if err != nil {
				t.Fatalf("split %d, %d workers: %v", split, workers, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("split %d, %d workers:\n got %v\nwant %v", split, workers, got, want)
			}
		}
	}
	if _, err := postgres.ParallelTableSumsSplit(ctx, func(context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, url+"&dbname=nope") }, 2, 1); err == nil {
		t.Fatal("no error from a database that does not exist")
	}
}
