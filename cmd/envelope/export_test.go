package main

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
	"envelope/exporter"
)

// approvedWarrant logs a search warrant for +14155550123 allowing basic
// subscriber info and October's IP logs, approved by a second user.
func approvedWarrant(t *testing.T, dbPath string) string {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	intake, _, _ := s.CreateUser(ctx, "test", "ivy@example.org", cases.RoleIntake)
	rev, _, _ := s.CreateUser(ctx, "test", "rex@example.org", cases.RoleReviewer)
	issued := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	oct := &cases.Window{From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	req := &cases.Request{
		ReceivedAt: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		Agency:     cases.Agency{Name: "Federal Bureau of Investigation", Country: "US"},
		Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
		Process:    cases.Process{Type: cases.SearchWarrant, IssuingAuthority: "N.D. Cal.", Reference: "3:26-sw-1", IssuedAt: &issued},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: "+14155550123"}},
		Categories: []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs},
	}
	dec := &cases.Decision{Outcome: cases.OutcomeApprove, PolicyVersion: "sha256:test", DecidedAt: req.ReceivedAt,
		Allowed:    []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-WARRANT"}, {Category: cases.IPLogs, Rule: "US-WARRANT", Window: oct}},
		UserNotice: cases.NoticeNotify}
	c, err := s.CreateCase(ctx, intake.Email, store.NewCase{Request: req, Decision: dec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Review(ctx, rev, c.Number, cases.StatusApproved, ""); err != nil {
		t.Fatal(err)
	}
	// The warrant's user notice comes before production (it is held until
	// then).
	if _, err := s.RecordNotice(ctx, rev, c.Number, cases.NoticeKindSent, "e-mail", ""); err != nil {
		t.Fatal(err)
	}
	return c.Number
}

func TestExportVerifySigningKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	keys, pkgs := filepath.Join(dir, "keys"), filepath.Join(dir, "packages")
	number := approvedWarrant(t, db)
	if code, _, errOut := cli(t, db, "", "metadata", "import", "../../testdata/export/records.ndjson"); code != 0 {
		t.Fatalf("metadata import: %d %s", code, errOut)
	}

	if code, _, _ := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs); code != 2 {
		t.Errorf("export without a case: %d", code)
	}
	out := filepath.Join(dir, "copy.zip")
	code, stdout, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--out", out, number)
	fields := strings.Fields(stdout)
	if code != 0 || len(fields) != 2 || len(fields[0]) != 64 || fields[1] != out {
		t.Fatalf("export: %d %q %q", code, stdout, errOut)
	}
	// The package is stored in the database (every instance serves it);
	// --out is the operator's copy.
	if stored := storedBlobs(t, db, number+"-001-%.zip"); stored != 1 {
		t.Fatalf("%d stored packages, want 1", stored)
	}
	// A historical order is produced once; an unknown case is an error.
	if code, _, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, number); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("second export: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "LR-2026-999999"); code != 1 {
		t.Errorf("unknown case: %d", code)
	}

	code, stdout, errOut = cli(t, db, "", "verify", "--keys", keys, out)
	if code != 0 || !strings.HasPrefix(stdout, "OK ") {
		t.Fatalf("verify: %d %q %q", code, stdout, errOut)
	}
	// The key printed is the key that verifies.
	code, pem, _ := cli(t, db, "", "signing-key", "--keys", keys)
	if code != 0 || !strings.HasPrefix(pem, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("signing-key: %d %q", code, pem)
	}
	keyFile := filepath.Join(dir, "served.pem")
	os.WriteFile(keyFile, []byte(pem), 0o644)
	// The audit key's public half checks the package's audit proofs.
	_, vkey, _ := cli(t, db, "", "audit key", "--keys", keys)
	auditKey := filepath.Join(t.TempDir(), "audit.pub")
	os.WriteFile(auditKey, []byte(vkey), 0o644)
	if code, _, errOut := cli(t, db, "", "verify", "--key", keyFile, "--audit-key", auditKey, out); code != 0 {
		t.Fatalf("verify --key: %d %s", code, errOut)
	}

	// Two altered files: both reported, exit 1.
	bad := filepath.Join(dir, "bad.zip")
	alter(t, out, bad, "records/ip_logs.csv", "records/basic_subscriber_info.json")
	code, stdout, errOut = cli(t, db, "", "verify", "--key", keyFile, bad)
	if code != 1 || !strings.Contains(stdout, "FAILED records/ip_logs.csv") || !strings.Contains(stdout, "FAILED records/basic_subscriber_info.json") ||
		!strings.Contains(errOut, "NOT intact") {
		t.Fatalf("verify altered: %d %q %q", code, stdout, errOut)
	}
	// Another key: the signature fails.
	other := filepath.Join(dir, "other")
	if _, err := exporter.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := cli(t, db, "", "verify", "--keys", other, out); code != 1 || !strings.Contains(stdout, "SHA256SUMS.sig") {
		t.Fatalf("verify with another key: %d %q", code, stdout)
	}
	if code, _, _ := cli(t, db, "", "verify", "--key", filepath.Join(dir, "none.pem"), out); code != 1 {
		t.Errorf("missing key file: %d", code)
	}
}

// alter copies a zip, appending a byte to the named entries.
func alter(t *testing.T, src, dst string, names ...string) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, _ := os.Create(dst)
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		rc, _ := e.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		for _, n := range names {
			if e.Name == n {
				b = append(b, ' ')
			}
		}
		w, _ := zw.Create(e.Name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// export --due produces again the pen register with new pairs, printing
// its package, and nothing when nothing is new.
func TestExportDue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	keys, pkgs := filepath.Join(dir, "keys"), filepath.Join(dir, "packages")
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	md := metadata.New(s) // before approval: it opens the collection window
	intake, _, _ := s.CreateUser(ctx, "test", "ivy@example.org", cases.RoleIntake)
	rev, _, _ := s.CreateUser(ctx, "test", "rex@example.org", cases.RoleReviewer)
	now := time.Now().UTC().Truncate(time.Second)
	req := &cases.Request{
		ReceivedAt: now.Add(-time.Hour),
		Agency:     cases.Agency{Name: "Federal Bureau of Investigation", Country: "US"},
		Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
		Process:    cases.Process{Type: cases.PenRegister, IssuingAuthority: "N.D. Cal.", Reference: "3:26-pr-1", IssuedAt: &now},
		Targets:    []cases.Target{{Kind: cases.TargetPhone, Value: "+14155550123"}},
		Categories: []cases.Category{cases.MessagePairs},
	}
	win := &cases.Window{From: now.Add(-24 * time.Hour), To: now.Add(30 * 24 * time.Hour)}
	dec := &cases.Decision{Outcome: cases.OutcomeApprove, PolicyVersion: "sha256:test", DecidedAt: req.ReceivedAt,
		Allowed:    []cases.Allowed{{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: win, Prospective: true}},
		UserNotice: cases.NoticeDelayed}
	c, err := s.CreateCase(ctx, intake.Email, store.NewCase{Request: req, Decision: dec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Review(ctx, rev, c.Number, cases.StatusApproved, ""); err != nil {
		t.Fatal(err)
	}
	collect := func(to string) {
		t.Helper()
		ev := `{"from":"+14155550123","to":"` + to + `","at":"` + time.Now().UTC().Add(time.Millisecond).Format(time.RFC3339Nano) + `","kind":"text"}`
		if res, err := md.Collect(ctx, strings.NewReader(ev), metadata.CollectOptions{}); err != nil || res.Kept != 1 {
			t.Fatalf("collect: %+v %v", res, err)
		}
	}
	collect("+14155550188")
	if code, _, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, c.Number); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if code, stdout, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--due"); code != 0 || stdout != "" {
		t.Fatalf("export --due with nothing new: %d %q %q", code, stdout, errOut)
	}
	collect("+14155550199")
	code, stdout, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--due")
	fields := strings.Fields(stdout)
	if code != 0 || len(fields) != 2 || !strings.Contains(fields[1], c.Number+"-002-") {
		t.Fatalf("export --due: %d %q %q", code, stdout, errOut)
	}
	if code, _, _ := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--due", c.Number); code != 2 {
		t.Errorf("--due with a case: %d", code)
	}
	if code, _, _ := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--due", "--out", filepath.Join(dir, "x.zip")); code != 2 {
		t.Errorf("--due with --out: %d", code)
	}
}

// storedBlobs counts the complete blobs of the database whose names are
// LIKE pattern.
func storedBlobs(t *testing.T, dsn, pattern string) int {
	t.Helper()
	return countRows(t, dsn, "SELECT COUNT(*) FROM blobs WHERE complete = ? AND name LIKE ?", true, pattern)
}
