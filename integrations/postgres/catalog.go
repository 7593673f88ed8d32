package postgres

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Catalog is a database's schema as its catalog describes it, outside
// the system schemas: each object by its qualified name, with a
// definition that changes when the object does.
type Catalog struct {
	// Tables are ordinary and partitioned tables, "schema.table".
	Tables []string `json:"tables"`
	// Columns are "schema.table.column" → type, nullability, default.
	Columns map[string]string `json:"columns"`
	// Indexes are "schema.index" → its definition.
	Indexes map[string]string `json:"indexes"`
	// Constraints are "schema.table.constraint" → its definition.
	Constraints map[string]string `json:"constraints"`
}

// userNamespaces is the SQL condition that a namespace (n) is not the
// system's.
const userNamespaces = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// ReadCatalog reads the schema of the database q is connected to.
func ReadCatalog(ctx context.Context, q Querier) (Catalog, error) {
	c := Catalog{Columns: map[string]string{}, Indexes: map[string]string{}, Constraints: map[string]string{}}
	tables, err := pairs(ctx, q, `SELECT n.nspname || '.' || c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userNamespaces)
	if err != nil {
		return Catalog{}, fmt.Errorf("read the tables: %w", err)
	}
	for t := range tables {
		c.Tables = append(c.Tables, t)
	}
	slices.Sort(c.Tables)
	if c.Columns, err = pairs(ctx, q, `SELECT n.nspname || '.' || c.relname || '.' || a.attname,
			format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
			|| coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND `+userNamespaces); err != nil {
		return Catalog{}, fmt.Errorf("read the columns: %w", err)
	}
	if c.Indexes, err = pairs(ctx, q, `SELECT n.nspname || '.' || c.relname, pg_get_indexdef(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('i', 'I') AND `+userNamespaces); err != nil {
		return Catalog{}, fmt.Errorf("read the indexes: %w", err)
	}
	if c.Constraints, err = pairs(ctx, q, `SELECT n.nspname || '.' || c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE `+userNamespaces); err != nil {
		return Catalog{}, fmt.Errorf("read the constraints: %w", err)
	}
	return c, nil
}

func pairs(ctx context.Context, q Querier, sql string) (map[string]string, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// CatalogDiff counts what changed between two catalogs.
type CatalogDiff struct {
	// TablesAlter are tables of both catalogs whose columns, indexes or
	// constraints changed in any way.
	TablesAdded, TablesDropped, TablesAlter                []string
	ColumnsAdded, ColumnsDropped, ColumnsAlter             []string
	IndexesAdded, IndexesDropped, IndexesAlter             []string
	ConstraintsAdded, ConstraintsDropped, ConstraintsAlter []string
}

// Diff is what changed from before to after: objects added, dropped, and
// altered (a column whose type, nullability or default changed; an index
// or constraint whose definition changed; a table that is in both whose
// columns, indexes or constraints changed).
func Diff(before, after Catalog) CatalogDiff {
	var d CatalogDiff
	set := func(s []string) map[string]string {
		m := map[string]string{}
		for _, k := range s {
			m[k] = ""
		}
		return m
	}
	d.TablesAdded, d.TablesDropped, _ = diffMaps(set(before.Tables), set(after.Tables))
	d.ColumnsAdded, d.ColumnsDropped, d.ColumnsAlter = diffMaps(before.Columns, after.Columns)
	d.IndexesAdded, d.IndexesDropped, d.IndexesAlter = diffMaps(before.Indexes, after.Indexes)
	d.ConstraintsAdded, d.ConstraintsDropped, d.ConstraintsAlter = diffMaps(before.Constraints, after.Constraints)

	// A table is altered when something of it changed and it was there
	// before and after.
	kept := map[string]bool{}
	for _, t := range before.Tables {
		kept[t] = slices.Contains(after.Tables, t)
	}
	altered := map[string]bool{}
	for _, names := range [][]string{d.ColumnsAdded, d.ColumnsDropped, d.ColumnsAlter, d.ConstraintsAdded, d.ConstraintsDropped, d.ConstraintsAlter} {
		for _, n := range names {
			if i := strings.LastIndexByte(n, '.'); i > 0 && kept[n[:i]] {
				altered[n[:i]] = true
			}
		}
	}
	for _, names := range []struct {
		list []string
		defs map[string]string
	}{{d.IndexesAdded, after.Indexes}, {d.IndexesAlter, after.Indexes}, {d.IndexesDropped, before.Indexes}} {
		for _, n := range names.list {
			if t := indexTable(names.defs[n]); kept[t] {
				altered[t] = true
			}
		}
	}
	d.TablesAlter = sorted(slices.Collect(maps.Keys(altered)))
	return d
}

// Count is how many objects were added, dropped or altered, tables
// altered left out (their columns, indexes or constraints are counted).
func (d CatalogDiff) Count() int {
	n := 0
	for _, l := range [][]string{d.TablesAdded, d.TablesDropped, d.ColumnsAdded, d.ColumnsDropped, d.ColumnsAlter,
		d.IndexesAdded, d.IndexesDropped, d.IndexesAlter, d.ConstraintsAdded, d.ConstraintsDropped, d.ConstraintsAlter} {
		n += len(l)
	}
	return n
}

// Summary says what changed in a few words: "+1 table, +3 columns, ~1
// column, -1 index"; "no change" when nothing did.
func (d CatalogDiff) Summary() string {
	var parts []string
	for _, c := range []struct {
		sign, what string
		list       []string
	}{
		{"+", "table", d.TablesAdded}, {"-", "table", d.TablesDropped},
		{"+", "column", d.ColumnsAdded}, {"-", "column", d.ColumnsDropped}, {"~", "column", d.ColumnsAlter},
		{"+", "index", d.IndexesAdded}, {"-", "index", d.IndexesDropped}, {"~", "index", d.IndexesAlter},
		{"+", "constraint", d.ConstraintsAdded}, {"-", "constraint", d.ConstraintsDropped}, {"~", "constraint", d.ConstraintsAlter},
	} {
		if n := len(c.list); n > 0 {
			what := c.what
			if n > 1 {
				what += "s"
				if c.what == "index" {
					what = "indexes"
				}
			}
			parts = append(parts, fmt.Sprintf("%s%d %s", c.sign, n, what))
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// indexOn finds the table in an index definition as pg_get_indexdef
// writes it: "CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING …".
var indexOn = regexp.MustCompile(` ON (?:ONLY )?(\S+) USING `)

// indexTable is the table an index definition is on, or "".
func indexTable(def string) string {
	if m := indexOn.FindStringSubmatch(def); m != nil {
		return strings.ReplaceAll(m[1], `"`, "")
	}
	return ""
}

func diffMaps(before, after map[string]string) (added, dropped, changed []string) {
	for k, v := range after {
		if w, ok := before[k]; !ok {
			added = append(added, k)
		} else if w != v {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			dropped = append(dropped, k)
		}
	}
	return sorted(added), sorted(dropped), sorted(changed)
}

func sorted(s []string) []string { slices.Sort(s); return s }

// SchemaProblems are the schema's common defects, each a list of the
// objects that have it.
type SchemaProblems struct {
	// FKWithoutIndex are foreign keys ("schema.table.constraint") whose
	// columns lead no index of their table: deleting from the referenced
	// table scans the referencing one.
	FKWithoutIndex []string
	// TablesWithoutPK are tables without a primary key.
	TablesWithoutPK []string
	// InvalidIndexes are indexes left invalid (a CREATE INDEX
	// CONCURRENTLY that failed).
	InvalidIndexes []string
}

// CheckSchema finds the schema's common defects.
func CheckSchema(ctx context.Context, q Querier) (SchemaProblems, error) {
	var p SchemaProblems
	list := func(sql string) ([]string, error) {
		m, err := pairs(ctx, q, sql)
		if err != nil {
			return nil, err
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return sorted(out), nil
	}
	var err error
	if p.FKWithoutIndex, err = list(`SELECT n.nspname || '.' || c.relname || '.' || k.conname, ''
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND ` + userNamespaces + ` AND NOT EXISTS (
			SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid
			AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey
			AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] <@ k.conkey)`); err != nil {
		return p, fmt.Errorf("find foreign keys without an index: %w", err)
	}
	if p.TablesWithoutPK, err = list(`SELECT n.nspname || '.' || c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ` + userNamespaces + `
		AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')`); err != nil {
		return p, fmt.Errorf("find tables without a primary key: %w", err)
	}
	if p.InvalidIndexes, err = list(`SELECT n.nspname || '.' || c.relname, '' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND ` + userNamespaces); err != nil {
		return p, fmt.Errorf("find invalid indexes: %w", err)
	}
	return p, nil
}
