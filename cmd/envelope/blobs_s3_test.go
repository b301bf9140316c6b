package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"envelope/cases/blob/blobtest"
)

// With --blobs s3://... (a real S3 protocol server on a socket), export
// stores the package in the bucket, not in the database; its copy
// verifies; a serve process (another instance, reaching the bucket with
// the AWS variables of its environment) serves it byte for byte; doctor
// checks it there and finds it gone when the object is lost. A setting
// that names no bucket is bad usage; a bucket that cannot be reached
// stops export, serve and doctor at start, naming --blobs.
func TestPackagesInAnS3Bucket(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		s3 := blobtest.NewS3(t, "envelope")
		setting := s3.Setting("prefix=packages/")
		dir := t.TempDir()
		keys, pkgs := filepath.Join(dir, "keys"), packagesDir(dir)
		number := approvedWarrant(t, dsn)
		if code, _, errOut := cli(t, dsn, "", "metadata", "import", "../../testdata/export/records.ndjson"); code != 0 {
			t.Fatalf("metadata import: %s", errOut)
		}
		out := filepath.Join(dir, "copy.zip")
		code, stdout, errOut := cli(t, dsn, "", "export", "--keys", keys, "--packages", pkgs, "--blobs", setting, "--out", out, number)
		if code != 0 {
			t.Fatalf("export: %d %q %q", code, stdout, errOut)
		}
		names, err := filepath.Glob(filepath.Join(pkgs, number+"-001-*.zip"))
		if err != nil || len(names) != 0 {
			t.Errorf("the package was left in --packages: %v", names)
		}
		objects := s3.Keys(t, "packages/")
		if len(objects) != 1 || !strings.HasPrefix(objects[0], "packages/"+number+"-001-") {
			t.Fatalf("the bucket holds %q, want the package of %s under packages/", objects, number)
		}
		name := strings.TrimPrefix(objects[0], "packages/")
		if n := storedBlobs(t, dsn, number+"%"); n != 0 {
			t.Errorf("%d packages stored in the database too", n)
		}
		if code, stdout, errOut := cli(t, dsn, "", "verify", "--keys", keys, out); code != 0 || !strings.HasPrefix(stdout, "OK ") {
			t.Fatalf("verify: %d %q %q", code, stdout, errOut)
		}

		token := addUser(t, dsn, "al@example.org", "auditor")
		srv := startServe(t, dsn, dir, "--blobs", setting)
		r, err := (&apiClient{hc: newHTTPClient(1), base: srv.base, token: token}).get("/cases/" + number + "/exports/" + name)
		srv.stop()
		want, _ := os.ReadFile(out)
		if err != nil || r.status != 200 || !bytes.Equal(r.body, want) {
			t.Fatalf("download through serve: %v %d, %d bytes (want %d)", err, r.status, len(r.body), len(want))
		}

		doctor := func(blobs string) (int, string) {
			t.Helper()
			code, out, _ := cli(t, dsn, "", "doctor", "--keys", keys, "--packages", pkgs, "--blobs", blobs, "--min-free", "1MiB")
			return code, out
		}
		if code, out := doctor(setting); code != 0 || !strings.Contains(out, "ok   packages: 1 package file(s) present, SHA-256 as recorded") || strings.Contains(out, "FAIL") {
			t.Fatalf("doctor: %d\n%s", code, out)
		}
		nosuch := strings.Replace(setting, "s3://envelope", "s3://nosuch", 1)
		if code, out := doctor(nosuch); code != 1 || !strings.Contains(out, `FAIL packages: blob store "`+nosuch+`": there is no bucket "nosuch"`) ||
			!strings.Contains(out, "AWS_ACCESS_KEY_ID") || strings.Count(out, "FAIL") != 1 || !strings.Contains(out, "skip package signers: the blob store cannot be opened") {
			t.Errorf("doctor, no such bucket: %d\n%s", code, out)
		}
		s3.Delete(t, "packages/"+name)
		if code, out := doctor(setting); code != 1 || !strings.Contains(out, name+" (missing)") {
			t.Errorf("doctor, object lost: %d\n%s", code, out)
		}

		for _, tc := range []struct {
			args []string
			code int
			says string
		}{
			{[]string{"export", "--keys", keys, "--packages", pkgs, "--blobs", "s3://envelope/packages", number}, 2, "give a key prefix as ?prefix="},
			{[]string{"export", "--keys", keys, "--packages", pkgs, "--blobs", nosuch, number}, 1, `there is no bucket "nosuch"`},
			{[]string{"retention", "purge", "--retain-closed", "30d", "--blobs", "s3://?region=x"}, 2, "no bucket"},
			{[]string{"serve", "--addr", "127.0.0.1:0", "--keys", keys, "--packages", pkgs, "--blobs", nosuch}, 1, `there is no bucket "nosuch"`},
		} {
			code, _, errOut := cli(t, dsn, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, "--blobs: ") || !strings.Contains(errOut, tc.says) {
				t.Errorf("%s: %d %q, want %d and %q", tc.args[0], code, errOut, tc.code, tc.says)
			}
		}
	})
}
