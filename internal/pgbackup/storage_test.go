package pgbackup_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

func TestCheckAndOpen(t *testing.T) {
	for raw, msg := range map[string]string{
		"/var/backups":              "",
		"file:///var/backups":       "",
		"s3://bucket/prefix":        "",
		"azblob://acct/container/p": "",
		"file://host/var/backups":   "a file URL names a local path",
		"gs://bucket/prefix":        `unknown scheme "gs"`,
		"s3://bucket/p?sse=none":    "sse",
		"azblob://acct":             "want azblob://account/container",
		// Credentials never go in a storage URL (issue 21, finding 7).
		"file://user:pw@/var/backups":                               "no credentials",
		"s3://bucket/p?endpoint=http://user:pw@127.0.0.1:9000":      "credentials do not belong",
		"azblob://acct/c/p?endpoint=http://user:pw@127.0.0.1:10000": "credentials do not belong",
	} {
		err := pgbackup.Check(raw)
		if msg == "" && err != nil || msg != "" && (err == nil || !strings.Contains(err.Error(), msg)) {
			t.Errorf("Check(%q) = %v, want %q", raw, err, msg)
		}
	}
	dir := t.TempDir()
	s, err := pgbackup.Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := s.(*file.Store); !ok || d.Root() != dir {
		t.Fatalf("Open(file://%s) = %#v", dir, s)
	}
}
