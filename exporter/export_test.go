package exporter

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"envelope/cases"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/export")

// pairEvents are the pen register's first batch of collection events,
// planted bodies and all.
func pairEvents(at time.Time) []string {
	ts := func(d time.Duration) string { return at.Add(d).Format(time.RFC3339) }
	return []string{
		`{"from":"+14155550123","to":"+14155550188","at":"` + ts(10*time.Minute) + `","kind":"text","body":"PLANTED-BODY-pair one"}`,
		`{"from":"+14155550188","to":"+14155550123","at":"` + ts(20*time.Minute) + `","kind":"media","content":"PLANTED-CONTENT-pair"}`,
		`{"from":"+14155550166","to":"+14155550177","at":"` + ts(30*time.Minute) + `","kind":"text"}`, // no target: dropped
		`{"from":"+14155550123","to":"g-family","at":"` + ts(40*time.Minute) + `","kind":"group"}`,
	}
}

// golden compares got with testdata/export/golden/name, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "export", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./exporter -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// The records of a historical and a prospective case are exactly the golden
// files, on both engines: fixed records, fixed clock.
func TestGoldenRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		f.importFile("planted.ndjson")
		w := f.warrant()
		pkg := f.export(w)
		files := unzip(t, f.path(pkg))
		var names []string
		for name, b := range files {
			if strings.HasPrefix(name, "records/") {
				names = append(names, name)
				golden(t, "warrant/"+name, b)
			}
		}
		sort.Strings(names)
		want := []string{}
		for _, c := range []string{"basic_subscriber_info", "contacts", "device_info", "group_info", "ip_logs", "profile"} {
			want = append(want, "records/"+c+".csv", "records/"+c+".json")
		}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("record files %v, want %v", names, want)
		}

		pr := f.penRegister()
		f.set(T0.Add(2 * time.Hour))
		f.collect(pairEvents(T0)...)
		pkg = f.export(pr)
		for name, b := range unzip(t, f.path(pkg)) {
			if strings.HasPrefix(name, "records/") {
				golden(t, "pen_register/"+name, b)
			}
		}
	})
}

// Every JSON file is valid JSON, and the manifest describes the case, the
// decision and every file.
func TestManifest(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.importFile("records.ndjson")
	w := f.warrant()
	pkg := f.export(w)
	files := unzip(t, f.path(pkg))
	for name, b := range files {
		if strings.HasSuffix(name, ".json") && !json.Valid(b) {
			t.Errorf("%s is not valid JSON", name)
		}
	}
	var m Manifest
	if err := json.Unmarshal(files[ManifestFile], &m); err != nil {
		t.Fatal(err)
	}
	if m.Case.Number != w.Number || m.PolicyVersion != "sha256:test" || m.Decision.Outcome != cases.OutcomePartial ||
		m.Package.Sequence != 1 || m.Case.ApprovedBy != f.reviewer.Email || len(m.Categories) != 6 {
		t.Errorf("manifest: %+v", m)
	}
	if len(m.Files) != len(files)-3 {
		t.Errorf("manifest lists %d files, the package holds %d besides the manifest, sums and signature", len(m.Files), len(files)-3)
	}
	for _, fs := range m.Files {
		if sumOf(fs.Path, files[fs.Path]) != fs {
			t.Errorf("manifest entry %+v does not match the file", fs)
		}
	}
}

// The PDF, read back by a real reader, names the case, every category, the
// absence of records where there are none, and holds the certificate with
// the records' hashes.
func TestPDFReadsBack(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	f := newFixture(t, storetest.SQLite(t))
	f.importFile("records.ndjson")
	w := f.warrant()
	pkg := f.export(w)
	dir := extract(t, f.path(pkg))
	if keep := os.Getenv("ENVELOPE_KEEP_PDF"); keep != "" {
		// For a look at the layout: ENVELOPE_KEEP_PDF=/tmp/d.pdf go test -run PDF
		b, _ := os.ReadFile(filepath.Join(dir, PDFFile))
		os.WriteFile(keep, b, 0o644)
	}
	out, err := exec.Command("pdftotext", "-layout", filepath.Join(dir, PDFFile), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	var m Manifest
	json.Unmarshal(unzip(t, f.path(pkg))[ManifestFile], &m)
	must := []string{w.Number, "Dear Dana Reyes", "3:26-mj-70412", "The request", "Records not produced",
		"Certificate of authenticity", "No records found", "Alex Example", "198.51.100.24", "Page 1 of"}
	for _, c := range w.Decision.Allowed {
		must = append(must, c.Category.Label())
	}
	for _, fs := range m.Files {
		if fs.Path != PDFFile {
			must = append(must, fs.SHA256)
		}
	}
	for _, s := range must {
		if !strings.Contains(text, s) {
			t.Errorf("the PDF's text lacks %q", s)
		}
	}
	// The no-records statement belongs to group_info, the one empty category.
	if i, j := strings.Index(text, cases.GroupInfo.Label()), strings.Index(text, "No records found"); i < 0 || j < i {
		t.Errorf("\"No records found\" is not under group_info")
	}
}

// Changing one byte of any file makes verify fail, naming that file; the
// untouched package verifies.
func TestVerifyTamper(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.importFile("records.ndjson")
	pkg := f.export(f.warrant())
	pub := f.exp.Builder.Signer.Public()
	orig, err := os.ReadFile(f.path(pkg))
	if err != nil {
		t.Fatal(err)
	}
	if probs := Verify(bytes.NewReader(orig), int64(len(orig)), pub); len(probs) != 0 {
		t.Fatalf("an intact package has problems: %v", probs)
	}
	files := unzip(t, f.path(pkg))
	if len(files) < 10 {
		t.Fatalf("only %d files", len(files))
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			z := rezip(t, files, func(n string, b []byte) []byte {
				if n == name {
					b = bytes.Clone(b)
					b[len(b)/2] ^= 0x01
				}
				return b
			})
			probs := Verify(bytes.NewReader(z), int64(len(z)), pub)
			if !names(probs, name) {
				t.Errorf("tampering with %s: problems %v do not name it", name, probs)
			}
		})
	}
	// An added file, a removed file, and another key.
	z := rezip(t, files, nil, "records/extra.csv")
	if probs := Verify(bytes.NewReader(z), int64(len(z)), pub); !names(probs, "records/extra.csv") {
		t.Errorf("added file: %v", probs)
	}
	delete(files, "records/ip_logs.csv")
	z = rezip(t, files, nil)
	if probs := Verify(bytes.NewReader(z), int64(len(z)), pub); !names(probs, "records/ip_logs.csv") {
		t.Errorf("removed file: %v", probs)
	}
	other, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if probs := Verify(bytes.NewReader(orig), int64(len(orig)), other.Public()); !names(probs, SigFile) {
		t.Errorf("wrong key: %v", probs)
	}
	// A byte flipped in the zip itself (not through a re-zip).
	bad := bytes.Clone(orig)
	bad[len(bad)/3] ^= 0xff
	if probs := Verify(bytes.NewReader(bad), int64(len(bad)), pub); len(probs) == 0 {
		t.Error("a damaged zip verifies")
	}
}

func names(probs []Problem, file string) bool {
	for _, p := range probs {
		for _, f := range strings.Split(p.File, " or ") {
			if f == file {
				return true
			}
		}
	}
	return false
}

// rezip writes files (changed by edit) into a new zip, plus empty extra
// files.
func rezip(t *testing.T, files map[string][]byte, edit func(string, []byte) []byte, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		if edit != nil {
			b = edit(name, b)
		}
		w, _ := zw.Create(name)
		w.Write(b)
	}
	for _, name := range extra {
		w, _ := zw.Create(name)
		w.Write([]byte("x\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sha256sum -c and openssl accept a real package, as the spec promises
// its recipients.
func TestExternalTools(t *testing.T) {
	for _, tool := range []string{"sha256sum", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	f := newFixture(t, storetest.SQLite(t))
	f.importFile("records.ndjson")
	pkg := f.export(f.warrant())
	dir := extract(t, f.path(pkg))
	cmd := exec.Command("sha256sum", "-c", SumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "FAILED") {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	key := filepath.Join(f.keyDir, PublicKeyFile)
	verify := func() ([]byte, error) {
		cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", SumsFile, "-sigfile", SigFile)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := verify(); err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl pkeyutl -verify: %v\n%s", err, out)
	}
	// And both refuse a tampered copy.
	sums, _ := os.ReadFile(filepath.Join(dir, SumsFile))
	os.WriteFile(filepath.Join(dir, SumsFile), append(sums, '\n'), 0o644)
	if out, err := verify(); err == nil {
		t.Fatalf("openssl accepted an altered SHA256SUMS:\n%s", out)
	}
	os.WriteFile(filepath.Join(dir, SumsFile), sums, 0o644)
	os.WriteFile(filepath.Join(dir, "records", "ip_logs.csv"), []byte("forged\n"), 0o644)
	cmd = exec.Command("sha256sum", "-c", SumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("sha256sum -c accepted a forged file:\n%s", out)
	}
}

// Content-looking data planted everywhere it could leak from (message
// bodies and unknown fields in import lines and collection events, records
// of accounts that are not targets, records outside the window, records of
// denied categories) is in no file of any package.
func TestNothingPlantedLeaks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		f.importFile("planted.ndjson")
		// The planted records that can be stored are stored: the test
		// would prove nothing if they had been rejected on import.
		for _, q := range []struct {
			cat     cases.Category
			account string
		}{{cases.BasicSubscriberInfo, "+14155550166"}, {cases.EnforcementHistory, phone}, {cases.LinkedAccounts, phone}, {cases.IPLogs, "+14155550166"}} {
			if recs, err := f.meta.Records(ctx, metadataQuery(q.cat, q.account)); err != nil || len(recs) == 0 {
				t.Fatalf("planted %s of %s not stored: %v", q.cat, q.account, err)
			}
		}
		pr := f.penRegister()
		f.set(T0.Add(2 * time.Hour))
		f.collect(pairEvents(T0)...)
		var pkgs []*Package
		pkgs = append(pkgs, f.export(f.warrant()), f.export(pr))
		for _, pkg := range pkgs {
			for name, b := range unzip(t, f.path(pkg)) {
				for _, bad := range []string{"PLANTED", "192.0.2.", "g-planted", "docks"} {
					if bytes.Contains(b, []byte(bad)) {
						t.Errorf("%s of %s holds planted data %q", name, pkg.FileName, bad)
					}
				}
				// The planted ports are only short numbers, which hashes
				// and signatures hold by chance, so they are looked for
				// as whole values of the records, CSV and JSON.
				for _, v := range recordValues(t, name, b) {
					if v == "9999" || v == "9998" || v == "6666" {
						t.Errorf("%s of %s holds planted port %q", name, pkg.FileName, v)
					}
				}
			}
			// The zip itself: its names and stored bytes.
			raw, _ := os.ReadFile(f.path(pkg))
			if bytes.Contains(raw, []byte("PLANTED")) {
				t.Errorf("%s holds PLANTED in the raw zip", pkg.FileName)
			}
		}
		files := unzip(t, f.path(pkgs[0]))
		for _, denied := range []string{"enforcement_history", "linked_accounts", "message_pairs", "message_content"} {
			if _, ok := files["records/"+denied+".csv"]; ok {
				t.Errorf("denied category %s was exported", denied)
			}
		}
	})
}

// recordValues are the values of a records file (records/*.csv or
// records/*.json) as strings, nil for any other file.
func recordValues(t *testing.T, name string, b []byte) []string {
	t.Helper()
	var out []string
	switch {
	case strings.HasSuffix(name, ".csv"):
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows {
			out = append(out, row...)
		}
	case strings.HasPrefix(name, "records/") && strings.HasSuffix(name, ".json"):
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			default:
				out = append(out, fmt.Sprint(v))
			}
		}
		walk(doc)
	}
	return out
}

// A prospective order is produced again as pairs arrive: each package is
// numbered and holds only what is new; every production is recorded and
// audited, and the case is produced.
func TestProspectiveReproduction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.importFile("records.ndjson")
		pr := f.penRegister()
		f.importLine(`{"kind":"ip_session","account":"+14155550123","at":"` + T0.Add(30*time.Minute).Format(time.RFC3339) + `","ip":"198.51.100.30","port":443}`)
		f.set(T0.Add(2 * time.Hour))
		f.collect(pairEvents(T0)...)
		p1 := f.export(pr)
		if p1.Seq != 1 || p1.Records != 4 || !strings.HasPrefix(p1.FileName, pr.Number+"-001-") {
			t.Fatalf("first package: %+v", p1)
		}
		c, _ := db.Case(ctx, pr.Number)
		if c.Status != cases.StatusProduced || !c.Produced {
			t.Fatalf("case after export: %s produced=%v", c.Status, c.Produced)
		}

		// New pairs, one of them late (stamped before the first export).
		f.set(T0.Add(4 * time.Hour))
		f.importLine(`{"kind":"ip_session","account":"+14155550123","at":"` + T0.Add(3*time.Hour).Format(time.RFC3339) + `","ip":"198.51.100.31","port":443}`)
		f.collect(
			`{"from":"+14155550123","to":"+14155550199","at":"`+T0.Add(3*time.Hour).Format(time.RFC3339)+`","kind":"call"}`,
			`{"from":"+14155550199","to":"+14155550123","at":"`+T0.Add(90*time.Minute).Format(time.RFC3339)+`","kind":"text"}`,
		)
		p2 := f.export(pr)
		if p2.Seq != 2 || p2.LastPairID <= p1.LastPairID {
			t.Fatalf("second package: %+v after %+v", p2, p1)
		}
		files := unzip(t, f.path(p2))
		pairs := string(files["records/message_pairs.csv"])
		if strings.Count(pairs, "\n") != 3 || !strings.Contains(pairs, "+14155550199") || strings.Contains(pairs, "+14155550188") {
			t.Errorf("second package's pairs:\n%s", pairs)
		}
		ips := string(files["records/ip_logs.csv"])
		if !strings.Contains(ips, "198.51.100.31") || strings.Contains(ips, "198.51.100.30") {
			t.Errorf("second package's IP logs:\n%s", ips)
		}
		// Nothing new: an empty third package, still numbered.
		f.set(T0.Add(5 * time.Hour))
		p3 := f.export(pr)
		if p3.Seq != 3 || p3.Records != 0 {
			t.Errorf("third package: %+v", p3)
		}
		list, err := f.exp.Packages(ctx, pr.Number)
		if err != nil || len(list) != 3 || list[1].SHA256 != p2.SHA256 {
			t.Fatalf("packages: %+v %v", list, err)
		}
		evs, _ := db.Events(ctx, "case", fmt.Sprint(pr.ID))
		exports := 0
		for _, e := range evs {
			if e.Action == "case.export" {
				exports++
				if e.Actor != f.reviewer.Email || !strings.Contains(string(e.After), list[exports-1].SHA256) {
					t.Errorf("audit event %d: %s %s", e.Seq, e.Actor, e.After)
				}
			}
		}
		if exports != 3 {
			t.Errorf("%d case.export events", exports)
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Error(err)
		}
	})
}

func (f *fixture) importLine(line string) {
	f.t.Helper()
	sum, err := f.meta.Import(ctx, strings.NewReader(line), metadataImportOptions())
	if err != nil || sum.Stored != 1 {
		f.t.Fatalf("import %s: %+v %v", line, sum, err)
	}
}

// Only approved cases are produced; a historical order is produced once;
// a preservation never.
func TestExportRefusals(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	received := f.logCase(cases.Subpoena, []string{phone}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "US-SUBPOENA"}}, nil)
	if _, err := f.exp.Export(ctx, "x", received.Number); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("received case: %v", err)
	}
	w := f.warrant()
	p := f.export(w)
	if _, err := f.exp.Export(ctx, "x", w.Number); cases.ErrorCode(err) != cases.ECONFLICT || !strings.Contains(err.Error(), p.FileName) {
		t.Errorf("second export of a historical order: %v", err)
	}
	pres := f.approve(f.logCase(cases.Preservation, []string{phone}, []cases.Allowed{{Category: cases.BasicSubscriberInfo, Rule: "PRESERVATION"}}, nil))
	if _, err := f.exp.Export(ctx, "x", pres.Number); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("preservation: %v", err)
	}
	if _, err := f.exp.Export(ctx, "x", "LR-2026-999999"); cases.ErrorCode(err) != cases.ENOTFOUND {
		t.Errorf("no such case: %v", err)
	}
	// Only recorded names are served.
	for _, name := range []string{"../envelope.db", p.FileName + "x", "..%2fkeys", "", "LR-2026-000001-001.zip"} {
		if _, _, err := f.exp.Open(ctx, w.Number, name); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("open %q: %v", name, err)
		}
	}
	if _, file, err := f.exp.Open(ctx, w.Number, p.FileName); err != nil {
		t.Errorf("open %s: %v", p.FileName, err)
	} else {
		file.Close()
	}
}

// The key is generated once, kept private, and loaded thereafter.
func TestSigningKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	a, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(dir)
	if err != nil || !a.Public().Equal(b.Public()) {
		t.Fatalf("second load: %v", err)
	}
	st, _ := os.Stat(filepath.Join(dir, PrivateKeyFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode().Perm())
	}
	pemBytes, _ := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	pub, err := ParsePublicKeyPEM(pemBytes)
	if err != nil || !pub.Equal(a.Public()) {
		t.Errorf("public key file: %v", err)
	}
}

// A crash during a build leaves its temporary file; the next start removes
// it once it is older than any build, and leaves younger ones (a build in
// progress in another server sharing the directory) and packages alone.
func TestNewSweepsStaleBuilds(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, ".building-123.zip")
	young := filepath.Join(dir, ".building-456.zip")
	pkg := filepath.Join(dir, "LR-2026-000001-001-abc.zip")
	for _, n := range []string{old, young, pkg} {
		if err := os.WriteFile(n, []byte("PK"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-staleBuild - time.Hour)
	for _, n := range []string{old, pkg} {
		if err := os.Chtimes(n, long, long); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(storetest.SQLite(t), nil, filepath.Join(t.TempDir(), "keys"), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale build kept: %v", err)
	}
	for _, n := range []string{young, pkg} {
		if _, err := os.Stat(n); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(n), err)
		}
	}
}
