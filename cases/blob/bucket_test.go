package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/blob/blobtest"
)

// openBucket opens the --blobs setting of a fake S3 server's bucket.
func openBucket(t *testing.T, setting string) blob.Store {
	t.Helper()
	b, err := blob.Open(context.Background(), setting, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*blob.Bucket); !ok {
		t.Fatalf("Open(%q) is a %T", setting, b)
	}
	return b
}

// generated is a reader of n bytes made as they are read (never held
// whole), that calls at(offset) once when the read passes offset.
type generated struct {
	n, off, atOff int64
	at            func()
	sum           []byte
	h             interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newGenerated(n int64) *generated { return &generated{n: n, atOff: -1, h: sha256.New()} }

func (g *generated) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if g.at != nil && g.off >= g.atOff {
		at := g.at
		g.at = nil
		at()
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	for i := range p {
		o := g.off + int64(i)
		p[i] = byte(o*7 + o/4099)
	}
	g.off += int64(len(p))
	g.h.Write(p)
	return len(p), nil
}

func (g *generated) sha256() string { return hex.EncodeToString(g.h.Sum(nil)) }

// A file of several parts is streamed in parts (a multipart upload),
// is not visible while it is being sent, and reads back byte for byte,
// with its size, through another Open of the setting (another instance);
// an empty file and a one-byte file are files.
func TestBucketRoundTrip(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.NewS3(t, "envelope-packages")
	a, other := openBucket(t, s3.Setting()), openBucket(t, s3.Setting())
	for _, n := range []int64{0, 1, 2*blob.PartSize + 12345} {
		name := "LR-2026-000001-001-" + strings.Repeat("x", int(n%7)) + ".zip"
		g := newGenerated(n)
		if n > blob.PartSize {
			g.atOff, g.at = blob.PartSize+1, func() {
				if s3.Has(t, name) {
					t.Error("the object is visible before it is complete")
				}
				if _, _, err := other.Open(ctx, name); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("open while being stored: %v", err)
				}
			}
		}
		before := s3.Parts()
		if err := a.Put(ctx, name, g); err != nil {
			t.Fatalf("put %d bytes: %v", n, err)
		}
		if parts := s3.Parts() - before; n > blob.PartSize && parts != 3 {
			t.Errorf("%d bytes were sent in %d parts, want 3", n, parts)
		} else if n <= blob.PartSize && parts != 0 {
			t.Errorf("%d bytes were sent in %d parts, want one PUT", n, parts)
		}
		r, size, err := other.Open(ctx, name)
		if err != nil || size != n {
			t.Fatalf("open %s: size %d, %v", name, size, err)
		}
		r.Close()
		if sum, err := blob.SHA256(ctx, other, name); err != nil || sum != g.sha256() {
			t.Errorf("%s reads back with SHA-256 %s, stored %s: %v", name, sum, g.sha256(), err)
		}
	}
}

// A stored name is never replaced: not by a second Put (of one PUT or of
// a multipart upload), and not by a Put that another writer overtook
// between its check and its upload (the conditional write refuses it;
// gofakes3 checks the condition on a single PUT only, so the overtaking
// is tested there). Each answers as the database's store does.
func TestBucketNeverReplaces(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.NewS3(t, "envelope")
	b := openBucket(t, s3.Setting())
	if err := b.Put(ctx, "a.zip", strings.NewReader("first")); err != nil {
		t.Fatal(err)
	}
	err := b.Put(ctx, "a.zip", strings.NewReader("second"))
	if cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "a.zip is stored already") {
		t.Errorf("second put: %v", err)
	}
	big := newGenerated(blob.PartSize + 1)
	if err := b.Put(ctx, "big.zip", big); err != nil {
		t.Fatal(err)
	}
	err = b.Put(ctx, "big.zip", newGenerated(blob.PartSize+2))
	if cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("second put of a multipart file: %v", err)
	}
	if sum, err := blob.SHA256(ctx, b, "big.zip"); err != nil || sum != big.sha256() {
		t.Errorf("the multipart file was replaced: %s %v", sum, err)
	}
	overtaken := newGenerated(1000)
	overtaken.atOff, overtaken.at = 0, func() { s3.Put(t, "b.zip", []byte("the other writer's")) }
	err = b.Put(ctx, "b.zip", overtaken)
	if cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), "b.zip is stored already") {
		t.Errorf("overtaken put: %v", err)
	}
	for name, want := range map[string]string{"a.zip": "first", "b.zip": "the other writer's"} {
		r, _, err := b.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != want {
			t.Errorf("%s reads %q, want %q", name, got, want)
		}
	}
}

// failing reads n bytes of a file, then fails as a package build would.
type failing struct{ g *generated }

func (f failing) Read(p []byte) (int, error) {
	n, err := f.g.Read(p)
	if err == io.EOF {
		return 0, errors.New("the package build failed")
	}
	return n, err
}

// A Put whose reader fails mid-way (after parts were sent) stores
// nothing, and the name can be stored afterwards.
func TestBucketAbortedPut(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.NewS3(t, "envelope")
	b := openBucket(t, s3.Setting())
	if err := b.Put(ctx, "c.zip", failing{newGenerated(blob.PartSize + 10)}); err == nil || !strings.Contains(err.Error(), "the package build failed") {
		t.Fatalf("failed put: %v", err)
	}
	if s3.Has(t, "c.zip") {
		t.Fatal("a failed put left an object")
	}
	if err := b.Put(ctx, "c.zip", bytes.NewReader([]byte("complete"))); err != nil {
		t.Fatal(err)
	}
}

// A name not stored opens as fs.ErrNotExist; a delete removes the object
// from the bucket, and deleting it again is no error. With a prefix,
// every key is under it.
func TestBucketDeleteAndPrefix(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.NewS3(t, "envelope")
	b := openBucket(t, s3.Setting("prefix=envelope/"))
	if _, _, err := b.Open(ctx, "d.zip"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open a name never stored: %v", err)
	}
	if err := b.Put(ctx, "d.zip", strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	if !s3.Has(t, "envelope/d.zip") || s3.Has(t, "d.zip") {
		t.Fatal("the key is not under the prefix")
	}
	for range 2 {
		if err := b.Delete(ctx, "d.zip"); err != nil {
			t.Fatal(err)
		}
	}
	if s3.Has(t, "envelope/d.zip") {
		t.Error("a deleted object is still in the bucket")
	}
	if _, _, err := b.Open(ctx, "d.zip"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open a deleted name: %v", err)
	}
}

// A setting that names no bucket is refused as bad usage, saying what is
// wrong; a bucket named well that cannot be reached (missing, server
// down, no credentials) is refused at Open, saying so.
func TestBucketSettings(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.NewS3(t, "envelope")
	down := httptest.NewServer(nil)
	down.Close()
	for _, tc := range []struct {
		setting, says string
		usage         bool
	}{
		{"s3://", "no bucket", true},
		{"s3:///?region=x", "no bucket", true},
		{"s3://envelope/packages", `path "/packages" is not used`, true},
		{"s3://envelope?endpoint=127.0.0.1:9000", `endpoint "127.0.0.1:9000" is not an http://`, true},
		{"s3://envelope?regoin=eu-west-1", `unknown query parameter "regoin"`, true},
		{"s3://envelope?use_path_style=maybe", `"use_path_style"`, true},
		{strings.Replace(s3.Setting(), "s3://envelope", "s3://nosuch", 1), `no bucket "nosuch"`, false},
		{strings.Replace(s3.Setting(), s3.URL, down.URL, 1), `bucket "envelope" cannot be reached (check endpoint= and region=): `, false},
		{"s3://envelope?endpoint=" + s3.URL + "&region=us-east-1", "add use_path_style=true", false},
	} {
		_, err := blob.Open(ctx, tc.setting, nil)
		var usage *blob.SettingError
		if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), tc.setting) || errors.As(err, &usage) != tc.usage {
			t.Errorf("Open(%q): %v (usage %v), want it to say %q (usage %v)", tc.setting, err, usage != nil, tc.says, tc.usage)
		}
	}
	blobtest.Credentials(t, "", "")
	if _, err := blob.Open(ctx, s3.Setting(), nil); err == nil || !strings.Contains(err.Error(), "no credentials") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("Open without credentials: %v", err)
	}
}

// Credentials written into the setting (as the bucket's user and
// password, or in the endpoint's URL) are refused, and the refusal, which
// serve and doctor print and an operator may paste into a ticket, does not
// repeat the secret.
func TestBucketSettingsHideCredentials(t *testing.T) {
	for _, setting := range []string{"s3://AKIAEXAMPLE:wJalrSECRETKEY@envelope?region=eu-west-1",
		"s3://envelope?endpoint=https://AKIAEXAMPLE:wJalrSECRETKEY@127.0.0.1:9000&use_path_style=true"} {
		_, err := blob.Open(context.Background(), setting, nil)
		var usage *blob.SettingError
		if err == nil || !errors.As(err, &usage) || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") ||
			strings.Contains(err.Error(), "wJalrSECRETKEY") {
			t.Errorf("Open(%q): %v, want a usage error naming AWS_SECRET_ACCESS_KEY without the secret", setting, err)
		}
	}
}
