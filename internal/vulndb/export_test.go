package vulndb

import (
	"os"
	"path/filepath"
)

// ReadEntries parses every *.json advisory of dir, for tests that check
// an index against the advisories it was built from.
func ReadEntries(dir string) ([]*Entry, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		e, ok, err := ParseEntry(b)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}
