package pgbackup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// folder is a complete backup finished age ago, verified if v.
func folder(id string, age time.Duration, verified bool) Folder {
	m := &Manifest{ID: id, Source: Source{Database: "app"}, Finished: now.Add(-age)}
	if verified {
		m.Verified = &Verification{Drill: "d"}
	}
	return Folder{Key: "app/" + id + "/", Manifest: m, Modified: now.Add(-age)}
}

func incomplete(id string, age time.Duration) Folder {
	return Folder{Key: "app/" + id + "/", Modified: now.Add(-age)}
}

func ids(fs []Folder) string {
	var s []string
	for _, f := range fs {
		s = append(s, strings.TrimSuffix(strings.TrimPrefix(f.Key, "app/"), "/"))
	}
	return strings.Join(s, ",")
}

func TestRetentionExpired(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		r       Retention
		folders []Folder // newest first
		want    string
	}{
		{"no rules keep everything", Retention{},
			[]Folder{folder("5", day, false), folder("4", 2*day, false)}, ""},
		{"keep newest 2", Retention{Keep: 2},
			[]Folder{folder("5", day, false), folder("4", 2*day, false), folder("3", 3*day, false), folder("2", 4*day, false)}, "3,2"},
		{"younger than 3 days", Retention{MaxAge: 3 * day},
			[]Folder{folder("5", day, false), folder("4", 2*day, false), folder("3", 4*day, false)}, "3"},
		{"either rule keeps", Retention{Keep: 1, MaxAge: 3 * day},
			[]Folder{folder("5", day, false), folder("4", 2*day, false), folder("3", 4*day, false), folder("2", 5*day, false)}, "3,2"},
		{"the newest complete backup is kept however old", Retention{MaxAge: day},
			[]Folder{incomplete("6", time.Minute), folder("5", 10*day, false), folder("4", 20*day, false)}, "4"},
		{"the only verified backup is kept", Retention{Keep: 1},
			[]Folder{folder("5", day, false), folder("4", 2*day, false), folder("3", 3*day, true), folder("2", 4*day, true)}, "4,2"},
		{"incomplete folders go after the grace period", Retention{Keep: 5, Grace: day},
			[]Folder{incomplete("6", time.Hour), folder("5", day, false), incomplete("4", 2*day)}, "4"},
		{"incomplete folders stay without a grace period", Retention{Keep: 1},
			[]Folder{incomplete("6", 30*day), folder("5", day, false)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.r.Expired(tc.folders, now)); got != tc.want {
				t.Fatalf("expired %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFoldersFindDelete writes backups into a directory store and lists,
// finds, marks and deletes them.
func TestFoldersFindDelete(t *testing.T) {
	ctx := context.Background()
	s, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		if err := s.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	var ms []*Manifest
	for i, start := range []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Hour)} {
		m := &Manifest{ID: NewID(start, "abc"+string(rune('0'+i))), Source: Source{Database: "app"}, Started: start, Finished: start.Add(time.Minute),
			Format: FormatCustom, Compression: "zstd", SHA256: "00", Tables: []postgres.TableSum{{Schema: "public", Name: "t", Rows: 3}}}
		m.Key = DumpKey("app", m.ID, m.Format)
		put(m.Key, "dump")
		if err := Write(ctx, s, m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	put("app/20261125T115900Z-zzz/dump.zst", "half") // a backup that did not finish
	put("other/20261125T115900Z-yyy/dump.zst", "x")

	folders, err := Folders(ctx, s, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(folders); got != "20261125T115900Z-zzz,"+ms[1].ID+","+ms[0].ID {
		t.Fatalf("folders %s", got)
	}
	latest, err := Find(ctx, s, "app", "")
	if err != nil || latest.ID != ms[1].ID || latest.Rows() != 3 || latest.TableCount() != 1 {
		t.Fatalf("latest %+v, %v", latest, err)
	}
	if _, err := Find(ctx, s, "app", "nope"); err == nil || !strings.Contains(err.Error(), `no complete backup of "app" with ID "nope"`) {
		t.Fatalf("find missing: %v", err)
	}
	if err := MarkVerified(ctx, s, ms[0], Verification{Drill: "run/drill", Verified: now, Tables: 1, Rows: 3}); err != nil {
		t.Fatal(err)
	}
	list, _ := List(ctx, s, "app")
	if len(list) != 2 || list[1].Verified == nil || list[1].Verified.Drill != "run/drill" || list[0].Verified != nil {
		t.Fatalf("verified mark not read back: %+v", list)
	}
	if err := Delete(ctx, s, folders[2]); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, s, folders[2]); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := List(ctx, s, "app"); len(list) != 1 || list[0].ID != ms[1].ID {
		t.Fatalf("after delete: %v", list)
	}
}
