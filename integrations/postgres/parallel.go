package postgres

import (
	"context"
	"fmt"
	"math/big"
	"sync"

	"github.com/jackc/pgx/v5"
)

// splitBlocks is the size, in 8 kB blocks, from which a table is summed
// in ranges over several connections (64 MB).
const splitBlocks = 8192

// ParallelTableSums is TableSums over workers connections made by
// connect: a large table is summed in block ranges (ctid ranges, which
// PostgreSQL 14 and later scan directly), the ranges at once, and the
// counts and sums added up. The connections are not one snapshot: use it
// where nothing writes (a restored scratch database), TableSums in a
// transaction where something may.
func ParallelTableSums(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), workers int) ([]TableSum, error) {
	return parallelTableSums(ctx, connect, workers, splitBlocks)
}

// parallelTableSums splits tables of split blocks or more.
func parallelTableSums(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), workers int, split int64) ([]TableSum, error) {
	first, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	defer first.Close(context.WithoutCancel(ctx))
	var version int
	if err := first.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return nil, err
	}
	if workers < 2 || version < 140000 {
		return TableSums(ctx, first)
	}
	sums, err := listTables(ctx, first)
	if err != nil {
		return nil, err
	}
	type part struct {
		table int
		where string
	}
	var parts []part
	for i, s := range sums {
		if s.blocks < split {
			parts = append(parts, part{table: i})
			continue
		}
		step := s.blocks/int64(workers) + 1
		for lo := int64(0); lo < s.blocks; lo += step {
			where := fmt.Sprintf("WHERE ctid >= '(%d,0)'::tid", lo)
			if lo+step < s.blocks {
				where += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", lo+step)
			}
			parts = append(parts, part{table: i, where: where})
		}
	}

	type total struct {
		rows int64
		sum  big.Int
	}
	totals := make([]total, len(sums))
	var mu sync.Mutex
	work := make(chan part)
	errs := make(chan error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := first
			if w > 0 {
				c, err := connect(ctx)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				defer c.Close(context.WithoutCancel(ctx))
				conn = c
			}
			for p := range work {
				s := sums[p.table]
				table := pgx.Identifier{s.Schema, s.Name}.Sanitize()
				var rows int64
				var sum string
				if err := conn.QueryRow(ctx, sumSQL(table, p.where)).Scan(&rows, &sum); err != nil {
					errs <- fmt.Errorf("checksum %s: %w", table, err)
					cancel()
					return
				}
				n, ok := new(big.Int).SetString(sum, 10)
				if !ok {
					errs <- fmt.Errorf("checksum %s: not an integer: %q", table, sum)
					cancel()
					return
				}
				mu.Lock()
				totals[p.table].rows += rows
				totals[p.table].sum.Add(&totals[p.table].sum, n)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, p := range parts {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range sums {
		sums[i].Rows, sums[i].Checksum = totals[i].rows, totals[i].sum.String()
	}
	lo, err := largeObjectSum(ctx, first)
	if err != nil {
		return nil, err
	}
	if lo.Rows > 0 {
		sums = append(sums, lo)
	}
	for i := range sums {
		sums[i].blocks = 0
	}
	return sums, nil
}
