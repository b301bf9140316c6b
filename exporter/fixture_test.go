package exporter

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/metadata"
	"envelope/cases/store"
)

var ctx = context.Background()

// T0 is when the tests' cases are approved.
var T0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Targets of the test cases.
const (
	phone   = "+14155550123"
	account = "acct-42"
)

// fixture is a database with a metadata store, an exporter with its own
// key and packages directories, two users and a settable clock.
type fixture struct {
	t        testing.TB
	db       *store.DB
	meta     *metadata.Store
	exp      *Exporter
	clock    atomic.Int64
	intake   *cases.User
	reviewer *cases.User
	keyDir   string
	// agency, if set, is the agency of the cases logCase logs.
	agency *cases.Agency
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db}
	f.set(T0)
	db.Now = func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	f.meta = metadata.New(db)
	dir := t.TempDir()
	f.keyDir = filepath.Join(dir, "keys")
	var err error
	if f.exp, err = New(db, f.meta, f.keyDir, filepath.Join(dir, "packages")); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOrg(ctx, "test", testOrg()); err != nil {
		t.Fatal(err)
	}
	f.intake = f.user("ivy@example.org", cases.RoleIntake)
	f.reviewer = f.user("rex@example.org", cases.RoleReviewer)
	return f
}

func (f *fixture) set(t time.Time) { f.clock.Store(t.UnixNano()) }

func (f *fixture) user(email string, role cases.Role) *cases.User {
	f.t.Helper()
	u, _, err := f.db.CreateUser(ctx, "test", email, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// importFile loads a metadata NDJSON file from testdata/export; every line
// must be stored.
func (f *fixture) importFile(name string) {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "export", name))
	if err != nil {
		f.t.Fatal(err)
	}
	sum, err := f.meta.Import(ctx, bytes.NewReader(b), metadata.ImportOptions{OnError: func(e *metadata.LineError) {
		f.t.Errorf("%s: %v", name, e)
	}})
	if err != nil || sum.Rejected != 0 {
		f.t.Fatalf("import %s: %+v %v", name, sum, err)
	}
}

// logCase logs a case by hand (the policy engine is not a dependency of
// this package) with a decision allowing allowed and denying denied.
func (f *fixture) logCase(p cases.ProcessType, targets []string, allowed []cases.Allowed, denied []cases.Denied) *cases.Case {
	f.t.Helper()
	issued := T0.Add(-48 * time.Hour)
	ag := cases.Agency{Name: "Federal Bureau of Investigation", Country: "US", VerifiedDomains: []string{"fbi.gov"}}
	if f.agency != nil {
		ag = *f.agency
	}
	req := &cases.Request{
		ReceivedAt: T0.Add(-time.Hour),
		Agency:     ag,
		Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
		Process: cases.Process{Type: p, IssuingAuthority: "U.S. District Court for the Northern District of California",
			Reference: "3:26-mj-70412", IssuedAt: &issued},
	}
	for _, t := range targets {
		kind := cases.TargetPhone
		if t[0] != '+' {
			kind = cases.TargetAccountID
		}
		req.Targets = append(req.Targets, cases.Target{Kind: kind, Value: t})
	}
	for _, a := range allowed {
		req.Categories = append(req.Categories, a.Category)
	}
	for _, d := range denied {
		req.Categories = append(req.Categories, d.Category)
	}
	outcome := cases.OutcomeApprove
	if len(denied) > 0 {
		outcome = cases.OutcomePartial
	}
	dec := &cases.Decision{Outcome: outcome, PolicyVersion: "sha256:test", DecidedAt: T0.Add(-time.Hour),
		Allowed: allowed, Denied: denied, Findings: []cases.Finding{}, UserNotice: cases.NoticeDelayed}
	c, err := f.db.CreateCase(ctx, f.intake.Email, store.NewCase{Request: req, Decision: dec})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) approve(c *cases.Case) *cases.Case {
	f.t.Helper()
	c, err := f.db.Review(ctx, f.reviewer, c.Number, cases.StatusApproved, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// octWindow is the historical case's window: October 2026.
var octWindow = &cases.Window{From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}

// warrant logs and approves a search warrant for both targets: some
// categories allowed, some denied.
func (f *fixture) warrant() *cases.Case {
	f.t.Helper()
	return f.approve(f.logCase(cases.SearchWarrant, []string{phone, account}, []cases.Allowed{
		{Category: cases.BasicSubscriberInfo, Rule: "US-WARRANT"},
		{Category: cases.IPLogs, Rule: "US-WARRANT", Window: octWindow},
		{Category: cases.DeviceInfo, Rule: "US-WARRANT"},
		{Category: cases.Profile, Rule: "US-WARRANT"},
		{Category: cases.GroupInfo, Rule: "US-WARRANT"},
		{Category: cases.Contacts, Rule: "US-WARRANT"},
	}, []cases.Denied{
		{Category: cases.EnforcementHistory, Rule: "TEST-DENY", Reason: "not asked of the court"},
		{Category: cases.LinkedAccounts, Rule: "TEST-DENY", Reason: "not asked of the court"},
		{Category: cases.MessagePairs, Rule: "US-WARRANT", Reason: "prospective only"},
		{Category: cases.MessageContent, Rule: "GLOBAL-CONTENT", Reason: "content is never disclosed"},
	}))
}

// penWindow is the pen register's allowed window.
var penWindow = &cases.Window{From: T0.Add(-24 * time.Hour), To: T0.Add(30 * 24 * time.Hour)}

// penRegister logs and approves a pen register on phone.
func (f *fixture) penRegister() *cases.Case {
	f.t.Helper()
	return f.approve(f.logCase(cases.PenRegister, []string{phone}, []cases.Allowed{
		{Category: cases.MessagePairs, Rule: "US-PEN-REGISTER", Window: penWindow, Prospective: true},
		{Category: cases.IPLogs, Rule: "US-PEN-REGISTER", Window: penWindow, Prospective: true},
	}, []cases.Denied{{Category: cases.MessageContent, Rule: "GLOBAL-CONTENT", Reason: "content is never disclosed"}}))
}

// collect posts collection events (NDJSON lines) at the fixture's clock.
func (f *fixture) collect(lines ...string) metadata.CollectResult {
	f.t.Helper()
	res, err := f.meta.Collect(ctx, strings.NewReader(strings.Join(lines, "\n")), metadata.CollectOptions{})
	if err != nil || res.Rejected != 0 {
		f.t.Fatalf("collect: %+v %v", res, err)
	}
	return res
}

func (f *fixture) export(c *cases.Case) *Package {
	f.t.Helper()
	p, err := f.exp.Export(ctx, f.reviewer.Email, c.Number)
	if err != nil {
		f.t.Fatalf("export %s: %v", c.Number, err)
	}
	return p
}

// unzip reads every entry of a package.
func unzip(t testing.TB, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		out[e.Name] = b
	}
	return out
}

// extract writes a package's entries into a new folder.
func extract(t testing.TB, path string) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range unzip(t, path) {
		full := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func metadataQuery(c cases.Category, accountID string) metadata.Query {
	return metadata.Query{Category: c, Accounts: []string{accountID}}
}

func metadataImportOptions() metadata.ImportOptions { return metadata.ImportOptions{} }

// testOrg is the organisation profile packages are produced under.
func testOrg() *cases.Org {
	return &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main Street\nPalo Alto, CA 94301",
		ContactEmail: "lers@example.com", CustodianName: "Jordan Lee", CustodianTitle: "Custodian of Records"}
}

// path copies package p out of the blob store into the packages folder,
// as the command line does, and returns the file's path.
func (f *fixture) path(p *Package) string {
	f.t.Helper()
	path, err := f.exp.CopyOut(ctx, p.FileName, "")
	if err != nil {
		f.t.Fatalf("copy out %s: %v", p.FileName, err)
	}
	return path
}
