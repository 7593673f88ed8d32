package s3_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/blobstoretest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3test"
)

func TestParseURL(t *testing.T) {
	o, err := s3.ParseURL("s3://backups/prod/pg?region=eu-west-1&endpoint=http://127.0.0.1:9000&pathStyle=true&sse=aws:kms&kmsKeyId=alias/b&partSize=16777216")
	if err != nil {
		t.Fatal(err)
	}
	want := s3.Options{Bucket: "backups", Prefix: "prod/pg/", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000",
		PathStyle: true, SSE: "aws:kms", KMSKeyID: "alias/b", PartSize: 16 << 20}
	if o != want {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	if o, err := s3.ParseURL("s3://b"); err != nil || o.Prefix != "" || o.Bucket != "b" {
		t.Fatalf("bare bucket: %+v %v", o, err)
	}
	for raw, msg := range map[string]string{
		"s3:///prefix":                 "no bucket",
		"s3://b/p?sse=DES":             "sse",
		"s3://b/p?kmsKeyId=k":          "kmsKeyId needs sse=aws:kms",
		"s3://b/p?partSize=1024":       "partSize",
		"s3://b/p?endpoint=127.0.0.1":  "endpoint",
		"s3://b/p?pathstyle=true":      `unknown parameter "pathstyle"`,
		"s3://key:secret@b/p":          "credentials do not belong",
		"s3://b/p?pathStyle=sometimes": "pathStyle",
	} {
		if _, err := s3.ParseURL(raw); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("s3.ParseURL(%q) = %v, want an error with %q", raw, err, msg)
		}
	}
}

func openS3(t *testing.T, srv *s3test.Server, prefix string) *s3.Store {
	t.Helper()
	o, err := s3.ParseURL(srv.URL(prefix))
	if err != nil {
		t.Fatal(err)
	}
	o.PartSize = 5 << 20
	s, err := s3.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The S3 store against an in-process S3 server (gofakes3).
func TestStore(t *testing.T) {
	srv := s3test.Start(t, "backups")
	s := openS3(t, srv, "prod/")
	blobstoretest.Basics(t, s)
	// Another prefix in the same bucket sees none of it.
	if objs, err := openS3(t, srv, "staging/").List(context.Background(), ""); err != nil || len(objs) != 0 {
		t.Fatalf("staging/ lists %+v, %v", objs, err)
	}
	if got := s.String(); !strings.HasPrefix(got, "s3://backups/prod/?endpoint=") {
		t.Errorf("String() = %q", got)
	}
}

// A 12 MiB object goes up in three 5 MiB parts (a multipart upload) and
// reads back whole and from an offset.
func TestMultipart(t *testing.T) {
	srv := s3test.Start(t, "backups")
	blobstoretest.LargeObject(t, openS3(t, srv, "prod/"), 12<<20)
	parts := 0
	for _, r := range srv.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Query, "partNumber=") {
			parts++
		}
	}
	if parts != 3 {
		t.Fatalf("%d parts uploaded, want 3", parts)
	}
}

func TestPutCancelled(t *testing.T) {
	srv := s3test.Start(t, "backups")
	blobstoretest.PutCancelled(t, openS3(t, srv, "prod/"))
}

// sse and kmsKeyId in the URL ask S3 to encrypt every object: the
// headers go with every upload, single or multipart.
func TestServerSideEncryption(t *testing.T) {
	srv := s3test.Start(t, "backups")
	o, err := s3.ParseURL(srv.URL("prod/") + "&sse=aws:kms&kmsKeyId=alias/backups&partSize=5242880")
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "small", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	blobstoretest.LargeObject(t, s, 6<<20)
	uploads := 0
	for _, r := range srv.Requests() {
		creates := r.Method == "POST" && strings.HasPrefix(r.Query, "uploads")
		single := r.Method == "PUT" && !strings.Contains(r.Query, "partNumber=")
		if !creates && !single {
			continue
		}
		uploads++
		if r.SSE != "aws:kms" || r.KMSKey != "alias/backups" {
			t.Errorf("%s %s?%s: sse %q key %q", r.Method, r.Path, r.Query, r.SSE, r.KMSKey)
		}
	}
	if uploads != 2 {
		t.Fatalf("%d uploads seen, want 2", uploads)
	}
}
