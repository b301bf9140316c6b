package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"envelope/cases/auditlog"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// seededLog writes storetest's case history into a new database at dsn
// and returns the open database.
func seededLog(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	storetest.SeedLog(t, db)
	return db
}

// Every attack of the suite, run against the real CLI on both engines:
// `audit verify --checkpoint` and `--witness` with a checkpoint taken
// before the attack fail, naming the checkpoint and what broke.
func TestAuditVerifyCheckpointCatchesAttacks(t *testing.T) {
	for _, at := range storetest.AuditAttacks {
		t.Run(strings.ReplaceAll(at.Name, " ", "_"), func(t *testing.T) {
			eachDSN(t, func(t *testing.T, dsn string) {
				db := seededLog(t, dsn)
				keys, witness := t.TempDir(), t.TempDir()
				code, cp, errOut := cli(t, dsn, "", "audit checkpoint", "--keys", keys)
				if code != 0 {
					t.Fatalf("audit checkpoint: %d %s", code, errOut)
				}
				file := filepath.Join(t.TempDir(), "cp.txt")
				os.WriteFile(file, []byte(cp), 0o600)
				key, err := auditlog.LoadKey(keys)
				if err != nil {
					t.Fatal(err)
				}
				w := &auditlog.Witness{DB: db, Key: key, Dir: witness}
				if err := w.Once(context.Background()); err != nil {
					t.Fatal(err)
				}
				code, out, errOut := cli(t, dsn, "", "audit verify", "--keys", keys, "--checkpoint", file, "--witness", witness)
				if code != 0 || strings.Count(out, "OK checkpoint") != 2 {
					t.Fatalf("untampered: %d %s %s", code, out, errOut)
				}

				storetest.DropTriggers(t, db)
				at.Run(t, db)
				for _, args := range [][]string{{"--checkpoint", file}, {"--witness", witness}} {
					code, out, errOut := cli(t, dsn, "", append([]string{"audit verify", "--keys", keys}, args...)...)
					if code != 1 || !strings.Contains(out, "FAILED checkpoint") || !strings.Contains(out, at.Detail) ||
						!strings.Contains(errOut, "not a consistent extension of checkpoint") {
						t.Errorf("%v after %q: %d\n%s\n%s", args, at.Name, code, out, errOut)
					}
					if args[0] == "--checkpoint" && !strings.Contains(errOut, file) {
						t.Errorf("the failure does not name %s: %s", file, errOut)
					}
				}
			})
		})
	}
}

// The first checkpoint that does not hold is named: one taken before the
// deleted event still holds, the next does not.
func TestAuditVerifyNamesFirstFailingCheckpoint(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "e.db")
	db := seededLog(t, dsn)
	keys, witness := t.TempDir(), t.TempDir()
	key, err := auditlog.LoadOrCreateKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	w := &auditlog.Witness{DB: db, Key: key, Dir: witness}
	w.Once(context.Background())
	storetest.SeedLog(t, db)
	w.Once(context.Background())
	w.Once(context.Background()) // unchanged: not written again
	storetest.SeedLog(t, db)
	w.Once(context.Background())
	files, _ := filepath.Glob(filepath.Join(witness, auditlog.FilePrefix+"*"))
	if len(files) != 3 {
		t.Fatalf("%d checkpoint files, want 3: %v", len(files), files)
	}
	storetest.DropTriggers(t, db)
	if _, err := db.Writer().Exec("UPDATE audit_events SET actor = 'x' WHERE seq = 12"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, dsn, "", "audit verify", "--keys", keys, "--witness", witness)
	if code != 1 || !strings.Contains(errOut, filepath.Base(files[1])) || strings.Contains(out, files[2]) {
		t.Fatalf("want %s named: %d\n%s\n%s", files[1], code, out, errOut)
	}
	if !strings.Contains(out, "audit event 12") {
		t.Errorf("the edited event is not named:\n%s", out)
	}
}

// A checkpoint signed by another key is refused, not trusted.
func TestAuditVerifyRefusesForeignCheckpoint(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "e.db")
	seededLog(t, dsn)
	mine, theirs := t.TempDir(), t.TempDir()
	cli(t, dsn, "", "audit key", "--keys", mine)
	_, cp, _ := cli(t, dsn, "", "audit checkpoint", "--keys", theirs)
	file := filepath.Join(t.TempDir(), "cp.txt")
	os.WriteFile(file, []byte(cp), 0o600)
	code, _, errOut := cli(t, dsn, "", "audit verify", "--keys", mine, "--checkpoint", file)
	if code != 1 || !strings.Contains(errOut, "not a checkpoint signed by audit key") {
		t.Fatalf("%d %s", code, errOut)
	}
	// With the other key given explicitly, it verifies.
	_, vkey, _ := cli(t, dsn, "", "audit key", "--keys", theirs)
	vfile := filepath.Join(t.TempDir(), "audit.pub")
	os.WriteFile(vfile, []byte(vkey), 0o600)
	if code, out, errOut := cli(t, dsn, "", "audit verify", "--keys", mine, "--audit-key", vfile, "--checkpoint", file); code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
}

// serve --witness writes a checkpoint at start and at shutdown, and POSTs
// each to --witness-url.
func TestServeWitness(t *testing.T) {
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 4096)
		n, _ := r.Body.Read(b)
		mu.Lock()
		got = append(got, string(b[:n]))
		mu.Unlock()
	}))
	defer recv.Close()
	dsn := filepath.Join(t.TempDir(), "e.db")
	witness := filepath.Join(t.TempDir(), "w")
	s := serveInProcess(t, "--db", dsn, "--demo", "--witness", witness, "--witness-url", recv.URL, "--witness-every", "1h")
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(witness, auditlog.FilePrefix+"*"))
	if len(files) == 0 {
		t.Fatalf("no checkpoint in %s: %s", witness, s.stderr.String())
	}
	st, _ := os.Stat(files[0])
	if st.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint file mode %v", st.Mode().Perm())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || !strings.Contains(got[0], "envelope-audit-") {
		t.Fatalf("the receiver got %q", got)
	}
}

// Attacks that leave the head row disagreeing with the events fail
// `audit verify` even without a checkpoint.
func TestAuditVerifyWithoutCheckpointCatchesMovedHead(t *testing.T) {
	for _, at := range storetest.AuditAttacks {
		if at.Unpinned == "" {
			continue
		}
		t.Run(strings.ReplaceAll(at.Name, " ", "_"), func(t *testing.T) {
			eachDSN(t, func(t *testing.T, dsn string) {
				db := seededLog(t, dsn)
				if code, out, errOut := cli(t, dsn, "", "audit verify"); code != 0 {
					t.Fatalf("untampered: %d %s %s", code, out, errOut)
				}
				storetest.DropTriggers(t, db)
				at.Run(t, db)
				code, out, errOut := cli(t, dsn, "", "audit verify")
				if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, at.Unpinned) || !strings.Contains(errOut, "NOT intact") {
					t.Errorf("after %q: %d\n%s\n%s", at.Name, code, out, errOut)
				}
			})
		})
	}
}
