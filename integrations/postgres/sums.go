package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TableSum is one table's row count and content checksum. The checksum
// is order-independent: the sum, as a decimal number, of a 64-bit hash
// of every row's text form (see SumMethod). It is cheap on the server
// (one sequential scan, no sort, no aggregation of whole rows), and a
// restore of the same data gives the same sum.
type TableSum struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// LargeObjects is the TableSum name under which large objects are
// summed (schema pg_catalog): their count and a checksum of each one's
// OID and data, which pg_dump carries like a table.
const LargeObjects = "pg_largeobject"

// Querier runs SQL: a connection or, to sum inside a snapshot, a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SumMethod names the 64-bit row hash a checksum sums. Sums taken with
// different methods do not compare: a backup's manifest records its
// method and the drill verifies the restore with the same one.
type SumMethod string

const (
	// SumMD5 hashes a row to the first 64 bits of the md5 of its text
	// form: any server version, and every backup made before SumHash.
	SumMD5 SumMethod = "md5-64"
	// SumHash hashes a row with hashtextextended(text, 0), the function
	// behind hash partitioning (so stable across server versions; like
	// hash partitions, not across byte orders — every server we drive is
	// little-endian): about a third of SumMD5's time on the server, which
	// shortens both the backup, whose sums share the cores with pg_dump,
	// and the verification. PostgreSQL 11 and later.
	SumHash SumMethod = "hash64"
)

// MethodFor is the cheapest method a server of version num
// (server_version_num, e.g. 150004) can compute.
func MethodFor(num int) SumMethod {
	if num >= 110000 {
		return SumHash
	}
	return SumMD5
}

// Valid reports whether m is a method TableSums knows; "" is taken as
// SumMD5 (manifests written before methods were recorded).
func (m SumMethod) Valid() bool { return m == "" || m == SumMD5 || m == SumHash }

// rowHash is the SQL of one row's 64-bit hash, as numeric (md5) or
// bigint (hash: sum over bigint accumulates in 128 bits, exact) so sums
// do not overflow.
func (m SumMethod) rowHash(expr string) string {
	if m == SumHash {
		return "hashtextextended(" + expr + ", 0)"
	}
	return md5Hash(expr)
}

func md5Hash(expr string) string {
	return "('x' || substr(md5(" + expr + "), 1, 16))::bit(64)::bigint::numeric"
}

// ServerVersion is the server's server_version_num.
func ServerVersion(ctx context.Context, q Querier) (int, error) {
	var num int
	if err := q.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, fmt.Errorf("server version: %w", err)
	}
	return num, nil
}

// TableSums counts and checksums every user table (ordinary tables and
// partitions, not those of extensions or the system), sorted by schema
// and name, and the large objects, run with q: inside a REPEATABLE READ
// transaction they describe one snapshot. Rows are hashed with method;
// large objects (bytea, which hashtextextended does not take) always
// with md5.
func TableSums(ctx context.Context, q Querier, method SumMethod) ([]TableSum, error) {
	if !method.Valid() {
		return nil, fmt.Errorf("unknown checksum method %q", method)
	}
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var sums []TableSum
	for rows.Next() {
		var s TableSum
		if err := rows.Scan(&s.Schema, &s.Name); err != nil {
			rows.Close()
			return nil, err
		}
		sums = append(sums, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	for i := range sums {
		s := &sums[i]
		table := pgx.Identifier{s.Schema, s.Name}.Sanitize()
		sql := `SELECT count(*), coalesce(sum(` + method.rowHash("t::text") + `), 0)::text FROM ` + table + ` AS t`
		if err := q.QueryRow(ctx, sql).Scan(&s.Rows, &s.Checksum); err != nil {
			return nil, fmt.Errorf("checksum %s: %w", table, err)
		}
	}
	lo := TableSum{Schema: "pg_catalog", Name: LargeObjects}
	sql := `SELECT count(*), coalesce(sum(` + md5Hash("convert_to(oid::text || ':', 'UTF8') || lo_get(oid)") + `), 0)::text FROM pg_largeobject_metadata`
	if err := q.QueryRow(ctx, sql).Scan(&lo.Rows, &lo.Checksum); err != nil {
		return nil, fmt.Errorf("checksum large objects: %w", err)
	}
	if lo.Rows > 0 {
		sums = append(sums, lo)
	}
	return sums, nil
}

// CompareSums compares the sums of a restore (got) with the ones taken
// at backup (want) and describes every difference: a table missing, one
// that should not be there, a different count or checksum.
func CompareSums(want, got []TableSum) []string {
	key := func(s TableSum) string { return pgx.Identifier{s.Schema, s.Name}.Sanitize() }
	have := make(map[string]TableSum, len(got))
	for _, s := range got {
		have[key(s)] = s
	}
	var diffs []string
	for _, w := range want {
		k := key(w)
		g, ok := have[k]
		delete(have, k)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: missing (backup had %d rows)", k, w.Rows))
		case g.Rows != w.Rows:
			diffs = append(diffs, fmt.Sprintf("%s: %d rows, backup had %d", k, g.Rows, w.Rows))
		case g.Checksum != w.Checksum:
			diffs = append(diffs, fmt.Sprintf("%s: checksum differs (same %d rows)", k, g.Rows))
		}
	}
	for _, g := range got {
		if _, extra := have[key(g)]; extra {
			diffs = append(diffs, fmt.Sprintf("%s: not in the backup (%d rows)", key(g), g.Rows))
		}
	}
	return diffs
}
