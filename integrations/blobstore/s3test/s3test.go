// Package s3test runs an in-process S3 server (gofakes3, in memory) for
// tests of the S3 store and of the backups and drills kept in it.
package s3test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/shipshape-dev/shipshape/internal/awstest"
)

// Server is a running S3 server with one bucket.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:PORT).
	Endpoint string
	Bucket   string

	mu       sync.Mutex
	requests []Request
}

// Request is what the server saw of one request.
type Request struct {
	Method, Path, Query string
	// SSE is the x-amz-server-side-encryption header, KMSKey the
	// x-amz-server-side-encryption-aws-kms-key-id one.
	SSE, KMSKey string
}

// Start serves an S3 API on loopback with bucket created, until the test
// ends, and points the AWS SDK's default credentials chain at static
// test credentials (environment variables, so a worker started by the
// test inherits them).
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(backend)
	s := &Server{Bucket: bucket}
	api := fake.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			SSE: r.Header.Get("X-Amz-Server-Side-Encryption"), KMSKey: r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"),
		})
		s.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.Endpoint = srv.URL
	awstest.Credentials(t)
	return s
}

// URL is a storage URL for prefix in the server's bucket.
func (s *Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + prefix + "?pathStyle=true&endpoint=" + url.QueryEscape(s.Endpoint)
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
