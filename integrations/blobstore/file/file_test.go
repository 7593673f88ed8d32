package file_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/blobstoretest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
)

func TestStore(t *testing.T) {
	d, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobstoretest.Basics(t, d)
}

func TestLargeObject(t *testing.T) {
	d, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobstoretest.LargeObject(t, d, 3<<20)
}

func TestPutCancelled(t *testing.T) {
	d, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobstoretest.PutCancelled(t, d)
}
