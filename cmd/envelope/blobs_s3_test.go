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
		intake := addUser(t, dsn, "in@example.org", "intake")
		srv := startServe(t, dsn, dir, "--blobs", setting)
		hc := newHTTPClient(1)
		r, err := (&apiClient{hc: hc, base: srv.base, token: token}).get("/cases/" + number + "/exports/" + name)
		want, _ := os.ReadFile(out)
		if err != nil || r.status != 200 || !bytes.Equal(r.body, want) {
			srv.stop()
			t.Fatalf("download through serve: %v %d, %d bytes (want %d)", err, r.status, len(r.body), len(want))
		}
		// The case's document goes to the bucket too, and reads back.
		order := []byte("%PDF-1.4 the warrant, in the bucket")
		up, err := (&apiClient{hc: hc, base: srv.base, token: intake}).do("PUT", "/cases/"+number+"/document?filename=warrant.pdf", order, "application/pdf")
		if err != nil || up.status != 201 {
			srv.stop()
			t.Fatalf("upload the document: %v %v", up, err)
		}
		down, err := (&apiClient{hc: hc, base: srv.base, token: token}).get("/cases/" + number + "/document")
		srv.stop()
		if err != nil || down.status != 200 || !bytes.Equal(down.body, order) {
			t.Fatalf("download the document: %v %d %q", err, down.status, down.body)
		}
		docs := s3.Keys(t, "packages/document-")
		if len(docs) != 1 || !s3.Has(t, docs[0]) {
			t.Fatalf("the bucket holds documents %q, want the one uploaded", docs)
		}
		if n := storedBlobs(t, dsn, "document-%"); n != 0 {
			t.Errorf("%d documents stored in the database's blobs too", n)
		}

		doctor := func(blobs string) (int, string) {
			t.Helper()
			code, out, _ := cli(t, dsn, "", "doctor", "--keys", keys, "--packages", pkgs, "--blobs", blobs, "--min-free", "1MiB")
			return code, out
		}
		if code, out := doctor(setting); code != 0 || !strings.Contains(out, "ok   packages: 1 package file(s) present, SHA-256 as recorded") ||
			!strings.Contains(out, "ok   documents: 1 case document(s) in the blob store present") || strings.Contains(out, "FAIL") {
			t.Fatalf("doctor: %d\n%s", code, out)
		}
		nosuch := strings.Replace(setting, "s3://envelope", "s3://nosuch", 1)
		if code, out := doctor(nosuch); code != 1 || !strings.Contains(out, `FAIL packages: blob store "`+nosuch+`": there is no bucket "nosuch"`) ||
			!strings.Contains(out, "AWS_ACCESS_KEY_ID") || strings.Count(out, "FAIL") != 1 || !strings.Contains(out, "skip package signers: the blob store cannot be opened") {
			t.Errorf("doctor, no such bucket: %d\n%s", code, out)
		}
		s3.Delete(t, "packages/"+name)
		s3.Delete(t, docs[0])
		if code, out := doctor(setting); code != 1 || !strings.Contains(out, name+" (missing)") ||
			!strings.Contains(out, "FAIL documents: 1 of 1 case documents in the blob store are missing or altered: "+strings.TrimPrefix(docs[0], "packages/")+" (missing)") {
			t.Errorf("doctor, objects lost: %d\n%s", code, out)
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
