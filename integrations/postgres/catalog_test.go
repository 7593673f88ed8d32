package postgres

import (
	"slices"
	"testing"
)

// TestDiff: what a migration added, dropped and altered, from two
// catalogs as ReadCatalog reads them.
func TestDiff(t *testing.T) {
	before := Catalog{
		Tables: []string{"public.accounts", "public.audit", "public.old"},
		Columns: map[string]string{"public.accounts.id": "integer NOT NULL", "public.accounts.email": "text",
			"public.audit.at": "timestamp", "public.old.x": "integer"},
		Indexes: map[string]string{"public.accounts_pkey": "CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (id)",
			"public.audit_at": "CREATE INDEX audit_at ON public.audit USING btree (at)"},
		Constraints: map[string]string{"public.accounts.accounts_pkey": "PRIMARY KEY (id)",
			"public.accounts.email_check": "CHECK ((email <> ''::text))"},
	}
	after := Catalog{
		Tables: []string{"public.accounts", "public.audit", "public.notes"},
		Columns: map[string]string{"public.accounts.id": "integer NOT NULL", "public.accounts.email": "text NOT NULL",
			"public.audit.at": "timestamp", "public.notes.body": "text"},
		Indexes: map[string]string{"public.accounts_pkey": "CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (id)",
			"public.audit_at": "CREATE INDEX audit_at ON ONLY public.audit USING brin (at)"},
		Constraints: map[string]string{"public.accounts.accounts_pkey": "PRIMARY KEY (id)",
			"public.accounts.email_check": "CHECK ((length(email) > 3))"},
	}
	d := Diff(before, after)
	for name, c := range map[string]struct{ got, want []string }{
		"tables added":        {d.TablesAdded, []string{"public.notes"}},
		"tables dropped":      {d.TablesDropped, []string{"public.old"}},
		"tables altered":      {d.TablesAlter, []string{"public.accounts", "public.audit"}},
		"columns added":       {d.ColumnsAdded, []string{"public.notes.body"}},
		"columns dropped":     {d.ColumnsDropped, []string{"public.old.x"}},
		"columns altered":     {d.ColumnsAlter, []string{"public.accounts.email"}},
		"indexes added":       {d.IndexesAdded, nil},
		"indexes altered":     {d.IndexesAlter, []string{"public.audit_at"}},
		"constraints altered": {d.ConstraintsAlter, []string{"public.accounts.email_check"}},
		"constraints added":   {d.ConstraintsAdded, nil},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	if got := indexTable(`CREATE INDEX "Mixed" ON "Sales".orders USING btree (id)`); got != "Sales.orders" {
		t.Errorf("indexTable: %q", got)
	}
}

func TestDiffSummary(t *testing.T) {
	d := CatalogDiff{TablesAdded: []string{"a"}, ColumnsAdded: []string{"a.x", "a.y"}, ColumnsAlter: []string{"b.z"}, IndexesDropped: []string{"i", "j"}}
	if got, want := d.Summary(), "+1 table, +2 columns, ~1 column, -2 indexes"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if d.Count() != 6 {
		t.Errorf("Count() = %d, want 6", d.Count())
	}
	if got := (CatalogDiff{}).Summary(); got != "no change" {
		t.Errorf("empty: %q", got)
	}
}
