package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"envelope/cases"
)

// Bucket is the store in an S3-compatible bucket (AWS S3, MinIO, Ceph,
// Garage, R2 ...), reached through gocloud.dev/blob's s3blob driver (AWS
// SDK v2). Credentials are the SDK's usual ones: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, a profile, or an instance role.
type Bucket struct {
	b    *gcblob.Bucket
	name string // the bucket, for errors
}

// An upload is sent in parts of PartSize, at most PartsInFlight at a
// time, so a package of any size holds at most about
// (PartsInFlight+1)*PartSize bytes of memory while it is stored. A file
// smaller than one part is sent in one PUT.
const (
	PartSize      = 8 << 20 // S3 asks at least 5 MiB of every part but the last
	PartsInFlight = 2
)

// ReachTimeout bounds the check at Open that the bucket can be reached,
// so a wrong endpoint fails serve or doctor at start rather than hanging.
const ReachTimeout = 20 * time.Second

// s3Example is the form of an s3 setting, shown by errors about one.
const s3Example = "s3://BUCKET?endpoint=https://HOST&region=REGION (docs/operations.md, \"Blob store\")"

// openBucket opens the bucket an s3:// setting names and checks that it
// can be reached and listed with the credentials at hand.
func openBucket(ctx context.Context, setting string, u *url.URL) (*Bucket, error) {
	setting = redactSetting(u)
	if err := checkS3URL(u); err != nil {
		return nil, settingErrorf("blob store %q: %v; the form is %s", setting, err, s3Example)
	}
	// The SDK would look for a checksum in every download and warn on
	// stderr at each one a server sends none for (many S3-compatible
	// servers do not). A package's integrity is its recorded SHA-256 and
	// its signature, checked by verify and doctor, so by default the SDK
	// does not check downloads; response_checksum_validation=when_supported
	// in the setting turns its check on.
	if q := u.Query(); !q.Has("response_checksum_validation") {
		q.Set("response_checksum_validation", "when_required")
		u.RawQuery = q.Encode()
	}
	mux := new(gcblob.URLMux)
	mux.RegisterBucket(s3blob.Scheme, new(s3blob.URLOpener))
	b, err := mux.OpenBucketURL(ctx, u)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "open blob.Bucket: ")
		msg = strings.TrimPrefix(msg, "open bucket "+u.String()+": ")
		return nil, settingErrorf("blob store %q: %s; the form is %s", setting, msg, s3Example)
	}
	bk := &Bucket{b: b, name: u.Host}
	if err := bk.reach(ctx, pathStyleHint(u.Query())); err != nil {
		b.Close()
		return nil, fmt.Errorf("blob store %q: %w", setting, err)
	}
	return bk, nil
}

// checkS3URL refuses what the driver would take but not mean: no bucket,
// a path (a key prefix is ?prefix=), an endpoint that is no http(s) URL.
func checkS3URL(u *url.URL) error {
	if u.Host == "" {
		return errors.New("no bucket: the URL's host is the bucket's name")
	}
	if u.User != nil {
		return errors.New("credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("the path %q is not used: the URL's host is the bucket; give a key prefix as ?prefix=envelope/", u.Path)
	}
	if e := u.Query().Get("endpoint"); e != "" {
		eu, err := url.Parse(e)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return fmt.Errorf("endpoint %q is not an http:// or https:// URL of the S3 server", e)
		}
		if eu.User != nil {
			return errors.New("credentials do not go in the endpoint's URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
	}
	return nil
}

// redactSetting is an s3 setting as errors show it: a password written
// into the URL, or into its endpoint's, replaced by "xxxxx", for the error
// refusing it is printed by serve and doctor and read by whoever holds
// their output.
func redactSetting(u *url.URL) string {
	shown := *u
	q := shown.Query()
	if eu, err := url.Parse(q.Get("endpoint")); err == nil && eu.User != nil {
		q.Set("endpoint", eu.Redacted())
		shown.RawQuery = q.Encode()
	}
	return shown.Redacted()
}

// pathStyleHint is advice for a bucket not reached at an endpoint of its
// own: the SDK then names the bucket in the host name (BUCKET.HOST),
// which most servers but AWS do not answer.
func pathStyleHint(q url.Values) string {
	if q.Get("endpoint") != "" && q.Get("use_path_style") == "" && q.Get("s3ForcePathStyle") == "" {
		return "; for MinIO and most servers other than AWS add use_path_style=true"
	}
	return ""
}

// reach lists one key of the bucket, so a missing bucket, a wrong endpoint
// or credentials that are refused are found before the first package;
// hint is added to the message of an endpoint not reached.
func (s *Bucket) reach(ctx context.Context, hint string) error {
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	ok, err := s.b.IsAccessible(ctx)
	switch {
	case err == nil && !ok:
		return fmt.Errorf("there is no bucket %q on that S3 server: create it first (mc mb, aws s3 mb)", s.name)
	case gcerrors.Code(err) == gcerrors.PermissionDenied:
		return fmt.Errorf("bucket %q refused the credentials (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy): %v", s.name, err)
	case err != nil && (strings.Contains(err.Error(), "get credentials") || strings.Contains(err.Error(), "retrieve credentials")):
		return fmt.Errorf("no credentials for bucket %q: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE): %v", s.name, err)
	case err != nil:
		return fmt.Errorf("bucket %q cannot be reached (check endpoint= and region=%s): %v", s.name, hint, err)
	}
	return nil
}

// Put streams r into the bucket in parts. S3 makes the object visible
// only once the upload completes, and an upload cut off leaves nothing
// (cancelling the writer's context aborts it). A stored name is never
// replaced: the write is conditional (If-None-Match: *, which AWS S3 and
// current MinIO honour on a single PUT and on completing a multipart
// upload; servers differ: gofakes3 honours it on a single PUT only, older
// ones not at all), and Put checks for the name first, so on any server a
// second Put is refused. Only where the server ignores the condition could
// two writers of one name racing between that check and the end of their
// uploads both succeed, the last one's content kept; envelope names every
// package and letter once.
func (s *Bucket) Put(ctx context.Context, name string, r io.Reader) error {
	if ok, err := s.b.Exists(ctx, name); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	} else if ok {
		return storedAlready(name)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, name, &gcblob.WriterOptions{ContentType: contentType(name), IfNotExist: true,
		BufferSize: PartSize, MaxConcurrency: PartsInFlight})
	if err != nil {
		return s.putError(name, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel() // abort the upload: nothing is stored
		w.Close()
		return s.putError(name, err)
	}
	if err := w.Close(); err != nil {
		return s.putError(name, err)
	}
	return nil
}

// storedAlready is the error of a Put of a stored name, as the
// database's store answers it.
func storedAlready(name string) error {
	return cases.Errorf(cases.ECONFLICT, "%s is stored already", name)
}

// putError says a conditional write lost to a stored name as
// storedAlready does.
func (s *Bucket) putError(name string, err error) error {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return storedAlready(name)
	}
	return fmt.Errorf("store %s in bucket %q: %w", name, s.name, err)
}

// contentType is what a download of name is served as.
func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Open returns a reader of the object name, read as it is downloaded.
func (s *Bucket) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	r, err := s.b.NewReader(ctx, name, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, 0, fmt.Errorf("open %s: not in bucket %q: %w", name, s.name, fs.ErrNotExist)
	} else if err != nil {
		return nil, 0, fmt.Errorf("open %s in bucket %q: %w", name, s.name, err)
	}
	return r, r.Size(), nil
}

// Delete deletes the object name; one not stored is no error.
func (s *Bucket) Delete(ctx context.Context, name string) error {
	err := s.b.Delete(ctx, name)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %s from bucket %q: %w", name, s.name, err)
	}
	return nil
}

// Close releases the bucket's client.
func (s *Bucket) Close() error { return s.b.Close() }
