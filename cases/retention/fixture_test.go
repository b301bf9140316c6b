package retention_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/metadata"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/exporter"
	"envelope/policy"
)

var ctx = context.Background()

// T0 is when the tests' cases are logged and approved.
var T0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// fixture is a database with the metadata store's hooks, an exporter, the
// people who work cases, and a clock the test moves.
type fixture struct {
	t        *testing.T
	db       *store.DB
	meta     *metadata.Store
	exp      *exporter.Exporter
	pkgDir   string
	clock    atomic.Int64
	intake   *cases.User
	reviewer *cases.User
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	return newFixtureIn(t, db, blob.Database{DB: db})
}

// newFixtureIn is newFixture with packages stored in blobs.
func newFixtureIn(t *testing.T, db *store.DB, blobs blob.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db}
	f.set(T0)
	db.Now = func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	f.meta = metadata.New(db)
	dir := t.TempDir()
	f.pkgDir = filepath.Join(dir, "packages")
	var err error
	if f.exp, err = exporter.NewIn(db, f.meta, filepath.Join(dir, "keys"), f.pkgDir, blobs); err != nil {
		t.Fatal(err)
	}
	f.intake = f.user("ivy@example.org", cases.RoleIntake)
	f.reviewer = f.user("rex@example.org", cases.RoleReviewer)
	return f
}

func (f *fixture) set(t time.Time) { f.clock.Store(t.UnixNano()) }

func (f *fixture) now() time.Time { return f.db.Now() }

func (f *fixture) user(email string, role cases.Role) *cases.User {
	f.t.Helper()
	u, _, err := f.db.CreateUser(ctx, "test", email, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// open logs the request testdata/requests/name for one target (and with
// edit's changes), decided by the default policy now, with a legal-process
// document and the target's subscriber record, and has it approved.
func (f *fixture) open(name, target string, edit func(*cases.Request)) *cases.Case {
	f.t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", name))
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := cases.ParseRequest(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Targets = []cases.Target{{Kind: cases.TargetPhone, Value: target}}
	if edit != nil {
		edit(req)
	}
	line := `{"kind":"subscriber","account":"` + target + `","name":"Dana Reyes","last_ip":"198.51.100.7"}`
	if _, err := f.meta.Import(ctx, strings.NewReader(line), metadata.ImportOptions{}); err != nil {
		f.t.Fatal(err)
	}
	c, err := f.db.CreateCase(ctx, f.intake.Email, store.NewCase{Request: req, Decision: policy.Default().Decide(req, f.now())})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.db.AttachDocument(ctx, f.intake, c.Number, "order.pdf", []byte("%PDF-1.4 the order")); err != nil {
		f.t.Fatal(err)
	}
	if c, err = f.db.Review(ctx, f.reviewer, c.Number, cases.StatusApproved, "checked against the order"); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// penRegister opens a pen register on target: pairs are collected from
// T0 until January 2027.
func (f *fixture) penRegister(target string) *cases.Case {
	return f.open("pen_register.json", target, nil)
}

// subpoena opens a subpoena (basic subscriber information) on target.
func (f *fixture) subpoena(target string) *cases.Case {
	return f.open("subpoena.json", target, func(r *cases.Request) { r.ReceivedAt = T0.Add(-time.Hour) })
}

// preservation opens a preservation request on target: its subscriber
// record is frozen until 90 days after T0.
func (f *fixture) preservation(target string) *cases.Case {
	return f.open("subpoena.json", target, func(r *cases.Request) {
		r.ReceivedAt = T0
		r.Process.Type = cases.Preservation
		r.Categories = []cases.Category{cases.BasicSubscriberInfo}
	})
}

// collect sends one message event per stamp between target and a peer, at
// the fixture's clock, and checks each was kept.
func (f *fixture) collect(target string, stamps ...time.Time) {
	f.t.Helper()
	var lines []string
	for i, at := range stamps {
		lines = append(lines, fmt.Sprintf(`{"from":%q,"to":"peer-%d","at":%q,"kind":"text"}`, target, i, at.Format(time.RFC3339Nano)))
	}
	res, err := f.meta.Collect(ctx, strings.NewReader(strings.Join(lines, "\n")), metadata.CollectOptions{})
	if err != nil || res.Kept != int64(len(stamps)) {
		f.t.Fatalf("collect: %+v %v", res, err)
	}
}

func (f *fixture) export(c *cases.Case) *exporter.Package {
	f.t.Helper()
	// A case whose decision says "notify" is produced only once the notice
	// went out; a case that needs none (or had it) answers 409, ignored.
	if c.Decision != nil && c.Decision.UserNotice == cases.NoticeNotify {
		if _, err := f.db.RecordNotice(ctx, f.reviewer, c.Number, cases.NoticeKindSent, "e-mail", ""); err != nil && cases.ErrorCode(err) != cases.ECONFLICT {
			f.t.Fatalf("notice %s: %v", c.Number, err)
		}
	}
	p, err := f.exp.Export(ctx, f.reviewer.Email, c.Number)
	if err != nil {
		f.t.Fatalf("export %s: %v", c.Number, err)
	}
	return p
}

func (f *fixture) close(c *cases.Case) {
	f.t.Helper()
	if _, err := f.db.CloseCase(ctx, f.intake, c.Number, "finished"); err != nil {
		f.t.Fatal(err)
	}
}

// purger applies s to the fixture's database, blob store and packages
// directory.
func (f *fixture) purger(s retention.Settings) *retention.Purger {
	return &retention.Purger{DB: f.db, Settings: s, Blobs: f.exp.Blobs, PackageDir: f.pkgDir}
}

// stored reports whether package p is in the blob store.
func (f *fixture) stored(p *exporter.Package) bool {
	f.t.Helper()
	r, _, err := f.exp.Blobs.Open(ctx, p.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	} else if err != nil {
		f.t.Fatal(err)
	}
	r.Close()
	return true
}

// purge runs a purge as of the fixture's clock; it must not fail.
func (f *fixture) purge(s retention.Settings, dry bool) *retention.Report {
	f.t.Helper()
	rep, err := f.purger(s).Purge(ctx, f.now(), dry)
	if err != nil {
		f.t.Fatalf("purge: %v", err)
	}
	return rep
}

func (f *fixture) count(query string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.Reader().Get(&n, f.db.Reader().Rebind(query), args...); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (f *fixture) pairs(c *cases.Case) int64 {
	return f.count("SELECT COUNT(*) FROM collected_pairs WHERE case_id = ?", c.ID)
}

// events returns the audit events of a case with the given action.
func (f *fixture) events(c *cases.Case, action string) []*cases.Event {
	f.t.Helper()
	evs, err := f.db.Events(ctx, "case", strconv.FormatInt(c.ID, 10))
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*cases.Event
	for _, e := range evs {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func (f *fixture) verifyAudit() {
	f.t.Helper()
	if _, err := f.db.VerifyAudit(ctx); err != nil {
		f.t.Fatalf("audit chain after the purge: %v", err)
	}
}

// purgedOf finds a case in a report.
func purgedOf(rep *retention.Report, c *cases.Case) *retention.Purged {
	for i := range rep.Purged {
		if rep.Purged[i].CaseID == c.ID {
			return &rep.Purged[i]
		}
	}
	return nil
}

func skippedOf(rep *retention.Report, c *cases.Case) string {
	for _, s := range rep.Skipped {
		if s.CaseID == c.ID {
			return s.Reason
		}
	}
	return ""
}
