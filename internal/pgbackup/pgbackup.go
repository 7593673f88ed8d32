// Package pgbackup is the layout of PostgreSQL backups in a store: where
// a backup's dump and manifest live, how they are listed, read, marked
// verified by a restore drill, and which ones retention removes.
//
// A backup of database DB is a folder of keys under the store's prefix:
//
//	DB/20261125T061500Z-3f9a1c2b/dump.zst      custom-format pg_dump, zstd
//	DB/20261125T061500Z-3f9a1c2b/dump.tar.zst  or a directory-format dump, tar, zstd
//	DB/20261125T061500Z-3f9a1c2b/manifest.json written last: the backup is complete
//	DB/20261125T061500Z-3f9a1c2b/verified.json written by a drill that verified it
//
// A folder without a manifest is a backup that did not finish.
package pgbackup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/postgres"
)

// Formats of the dump.
const (
	FormatCustom    = "custom"
	FormatDirectory = "directory"
)

// Keys within a backup's folder.
const (
	ManifestKey = "manifest.json"
	VerifiedKey = "verified.json"
	customKey   = "dump.zst"
	dirKey      = "dump.tar.zst"
)

// Manifest describes one complete backup.
type Manifest struct {
	// ID is the backup's folder name: <UTC start>-<random>.
	ID     string `json:"id"`
	Source Source `json:"source"`
	// Started and Finished bound the dump; the data is as of Started
	// (the snapshot's time).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Format is custom or directory; Compression is zstd.
	Format      string `json:"format"`
	Compression string `json:"compression"`
	// Key is the dump's key, relative to the store's prefix.
	Key string `json:"key"`
	// Size is the stored (compressed) size and SHA256 its hash, hex.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// DumpSize is the size of the dump before compression.
	DumpSize int64 `json:"dumpSize"`
	// Tables are the row counts and checksums taken in the dump's
	// snapshot.
	Tables []postgres.TableSum `json:"tables"`
	// Checksum is the method of the tables' checksums; empty in
	// manifests older than the field: postgres.SumMD5.
	Checksum postgres.SumMethod `json:"checksum,omitempty"`
	// Run and Task name who made it.
	Run  string `json:"run,omitempty"`
	Task string `json:"task,omitempty"`
	// Verified is set when read, from verified.json.
	Verified *Verification `json:"-"`
}

// Source identifies the database a backup was taken of.
type Source struct {
	Host          string `json:"host"`
	Port          int    `json:"port"`
	Database      string `json:"database"`
	ServerVersion string `json:"serverVersion"`
	// SystemID is the cluster's system identifier, when the backup's
	// user could read it.
	SystemID string `json:"systemId,omitempty"`
}

// Verification is what a restore drill wrote when it verified a backup.
type Verification struct {
	Drill    string    `json:"drill"`
	Verified time.Time `json:"verified"`
	Tables   int       `json:"tables"`
	Rows     int64     `json:"rows"`
}

// Folder is the backup's folder key, with a trailing slash.
func (m *Manifest) Folder() string { return m.Source.Database + "/" + m.ID + "/" }

// Rows is the total of the manifest's row counts, large objects apart.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		if !isLargeObjects(t) {
			n += t.Rows
		}
	}
	return n
}

// TableCount is the number of tables, large objects apart.
func (m *Manifest) TableCount() int {
	n := 0
	for _, t := range m.Tables {
		if !isLargeObjects(t) {
			n++
		}
	}
	return n
}

func isLargeObjects(t postgres.TableSum) bool {
	return t.Schema == "pg_catalog" && t.Name == postgres.LargeObjects
}

// NewID is a backup's folder name for a backup started at t.
func NewID(t time.Time, random string) string {
	return t.UTC().Format("20060102T150405Z") + "-" + random
}

// DumpKey is where a backup's dump goes.
func DumpKey(database, id, format string) string {
	name := customKey
	if format == FormatDirectory {
		name = dirKey
	}
	return database + "/" + id + "/" + name
}

// Write stores m as its backup's manifest, completing the backup.
func Write(ctx context.Context, s Store, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return s.Put(ctx, m.Folder()+ManifestKey, bytes.NewReader(b))
}

// MarkVerified records that a drill verified m.
func MarkVerified(ctx context.Context, s Store, m *Manifest, v Verification) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return s.Put(ctx, m.Folder()+VerifiedKey, bytes.NewReader(b))
}

// ErrNoBackup means no complete backup was found.
var ErrNoBackup = errors.New("no complete backup")

// Folder is a backup folder found in a store, complete or not.
type Folder struct {
	Key      string // DB/ID/
	Manifest *Manifest
	// Modified is the newest modification time of its objects.
	Modified time.Time
	Objects  []string
}

// Folders lists the backup folders of database (every database when
// empty), newest first by ID.
func Folders(ctx context.Context, s Store, database string) ([]Folder, error) {
	prefix := ""
	if database != "" {
		prefix = database + "/"
	}
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	byKey := map[string]*Folder{}
	var order []string
	for _, o := range objs {
		dir, _ := path.Split(o.Key)
		if strings.Count(dir, "/") != 2 {
			continue // not DB/ID/name
		}
		f := byKey[dir]
		if f == nil {
			f = &Folder{Key: dir}
			byKey[dir] = f
			order = append(order, dir)
		}
		f.Objects = append(f.Objects, o.Key)
		if o.Modified.After(f.Modified) {
			f.Modified = o.Modified
		}
	}
	out := make([]Folder, 0, len(order))
	for _, dir := range order {
		f := byKey[dir]
		for _, k := range f.Objects {
			if path.Base(k) != ManifestKey {
				continue
			}
			m, err := Read(ctx, s, k)
			if err != nil {
				return nil, err
			}
			f.Manifest = m
		}
		if f.Manifest != nil {
			for _, k := range f.Objects {
				if path.Base(k) == VerifiedKey {
					v, err := readVerification(ctx, s, k)
					if err != nil {
						return nil, err
					}
					f.Manifest.Verified = v
				}
			}
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		return path.Base(strings.TrimSuffix(out[i].Key, "/")) > path.Base(strings.TrimSuffix(out[j].Key, "/"))
	})
	return out, nil
}

// List returns the complete backups of database, newest first.
func List(ctx context.Context, s Store, database string) ([]*Manifest, error) {
	folders, err := Folders(ctx, s, database)
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, f := range folders {
		if f.Manifest != nil {
			out = append(out, f.Manifest)
		}
	}
	return out, nil
}

// Find returns database's newest complete backup, or the one whose ID
// is id.
func Find(ctx context.Context, s Store, database, id string) (*Manifest, error) {
	list, err := List(ctx, s, database)
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		if id == "" || m.ID == id {
			return m, nil
		}
	}
	if id != "" {
		return nil, fmt.Errorf("%w of %q with ID %q", ErrNoBackup, database, id)
	}
	return nil, fmt.Errorf("%w of %q", ErrNoBackup, database)
}

// Read reads the manifest at key.
func Read(ctx context.Context, s Store, key string) (*Manifest, error) {
	var m Manifest
	if err := readJSON(ctx, s, key, &m); err != nil {
		return nil, err
	}
	if m.ID == "" || m.Key == "" || m.SHA256 == "" {
		return nil, fmt.Errorf("manifest %s: id, key or sha256 missing", key)
	}
	if !m.Checksum.Valid() {
		return nil, fmt.Errorf("manifest %s: checksum: unknown method %q (this version knows %s and %s)", key, m.Checksum, postgres.SumMD5, postgres.SumHash)
	}
	return &m, nil
}

func readVerification(ctx context.Context, s Store, key string) (*Verification, error) {
	var v Verification
	if err := readJSON(ctx, s, key, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func readJSON(ctx context.Context, s Store, key string, v any) error {
	r, err := s.Open(ctx, key, 0)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// Retention says which backups to keep: the newest Keep (0: no count
// limit) and those younger than MaxAge (0: no age limit); a backup
// either rule keeps is kept. Incomplete folders older than Grace are
// removed.
type Retention struct {
	Keep   int
	MaxAge time.Duration
	Grace  time.Duration
}

// Expired returns the folders r removes from folders (newest first, as
// Folders returns them) at now. It never removes the newest complete
// backup nor the newest verified one, whatever the rules say, and keeps
// everything when neither Keep nor MaxAge is set.
func (r Retention) Expired(folders []Folder, now time.Time) []Folder {
	var out []Folder
	newestDone, newestVerified := false, false
	complete := 0
	for _, f := range folders {
		m := f.Manifest
		if m == nil {
			if r.Grace > 0 && now.Sub(f.Modified) > r.Grace {
				out = append(out, f)
			}
			continue
		}
		complete++
		keep := r.Keep <= 0 && r.MaxAge <= 0 ||
			r.Keep > 0 && complete <= r.Keep ||
			r.MaxAge > 0 && now.Sub(m.Finished) <= r.MaxAge
		if !newestDone {
			keep, newestDone = true, true
		}
		if m.Verified != nil && !newestVerified {
			keep, newestVerified = true, true
		}
		if !keep {
			out = append(out, f)
		}
	}
	return out
}

// Delete removes a backup folder: its manifest first, so a deletion cut
// short leaves an incomplete folder (removed later), never a manifest
// whose dump is gone. Deleting what is gone is not an error.
func Delete(ctx context.Context, s Store, f Folder) error {
	keys := append([]string(nil), f.Objects...)
	sort.SliceStable(keys, func(i, j int) bool { return path.Base(keys[i]) == ManifestKey && path.Base(keys[j]) != ManifestKey })
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return nil
}
