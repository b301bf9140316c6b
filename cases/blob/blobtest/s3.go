// Package blobtest starts, for tests, a real S3 protocol server: gofakes3
// on an httptest listener, reached by the s3blob driver over a socket as
// a deployment reaches MinIO or AWS S3.
package blobtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is a running fake S3 server holding one bucket.
type S3 struct {
	// URL is the server's endpoint, http://127.0.0.1:PORT.
	URL string
	// Bucket is the bucket created on it.
	Bucket string
	// Backend is the server's storage, for a test to look behind the API.
	Backend gofakes3.Backend
	parts   atomic.Int64
}

// NewS3 starts a server with the bucket name and sets the AWS environment
// a deployment sets (test credentials; no shared config files, no instance
// metadata lookups), so the test must not be parallel.
func NewS3(t testing.TB, bucket string) *S3 {
	t.Helper()
	Credentials(t, "envelope-test", "envelope-test-secret")
	s := &S3{Bucket: bucket, Backend: s3mem.New()}
	if err := s.Backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(s.Backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			s.parts.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Credentials sets the AWS environment to the given keys (none if both
// are empty), isolated from the machine's ~/.aws and instance metadata.
func Credentials(t testing.TB, id, secret string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Setting is the --blobs setting of the bucket, with extra query
// parameters (such as "prefix=envelope/") appended.
func (s *S3) Setting(extra ...string) string {
	q := append([]string{"endpoint=" + s.URL, "region=us-east-1", "use_path_style=true"}, extra...)
	return "s3://" + s.Bucket + "?" + strings.Join(q, "&")
}

// Parts is how many multipart upload parts the server has received.
func (s *S3) Parts() int64 { return s.parts.Load() }

// Has reports whether key is stored in the bucket, asked of the server's
// storage rather than through the S3 API.
func (s *S3) Has(t testing.TB, key string) bool {
	t.Helper()
	_, err := s.Backend.HeadObject(s.Bucket, key)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return true
}

// Put stores content under key directly in the server's storage, as
// another writer would.
func (s *S3) Put(t testing.TB, key string, content []byte) {
	t.Helper()
	if _, err := s.Backend.PutObject(s.Bucket, key, map[string]string{}, bytes.NewReader(content), int64(len(content)), nil); err != nil {
		t.Fatal(err)
	}
}

// Delete removes key from the server's storage, as a lost object would be.
func (s *S3) Delete(t testing.TB, key string) {
	t.Helper()
	if _, err := s.Backend.DeleteObject(s.Bucket, key); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		t.Fatal(err)
	}
}

// Keys lists the keys stored under prefix, asked of the server's storage.
func (s *S3) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := s.Backend.ListBucket(s.Bucket, &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}
