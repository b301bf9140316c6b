package auditlog_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"envelope/cases/auditlog"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// The key is made once, 0600, and a second load gives the same key.
func TestKeyMadeOncePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := auditlog.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auditlog.LoadOrCreateKey(dir)
	if err != nil || k2.VerifierKey() != k1.VerifierKey() {
		t.Fatalf("second load: %v %q %q", err, k1.VerifierKey(), k2.VerifierKey())
	}
	for _, f := range []string{auditlog.PrivateKeyFile, auditlog.PublicKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, err, st.Mode())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", st.Mode().Perm())
	}
	// A public half replaced by another key's is refused.
	other, _ := auditlog.LoadOrCreateKey(t.TempDir())
	os.WriteFile(filepath.Join(dir, auditlog.PublicKeyFile), []byte(other.VerifierKey()), 0o600)
	if _, err := auditlog.LoadKey(dir); err == nil {
		t.Fatal("a foreign public half was accepted")
	}
}

// A checkpoint opens with its key, and not once its text is changed.
func TestCheckpointSignOpen(t *testing.T) {
	k, err := auditlog.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	th := store.TreeHead{Size: 42, Root: bytes.Repeat([]byte{7}, 32)}
	cp, err := k.Sign(th)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(cp), k.Verifier().Name()+"\n42\n") {
		t.Fatalf("not a tlog checkpoint: %q", cp)
	}
	got, err := auditlog.Open(cp, k.Verifier())
	if err != nil || got.Size != 42 || !bytes.Equal(got.Root, th.Root) {
		t.Fatalf("open: %+v %v", got, err)
	}
	forged := bytes.Replace(cp, []byte("\n42\n"), []byte("\n41\n"), 1)
	if _, err := auditlog.Open(forged, k.Verifier()); err == nil {
		t.Fatal("an edited checkpoint opened")
	}
}

// The witness hands a checkpoint over when the log grew; a receiver that
// fails gets it again at the next round.
func TestWitnessRetriesReceiver(t *testing.T) {
	db := storetest.SQLite(t)
	storetest.SeedLog(t, db)
	k, _ := auditlog.LoadOrCreateKey(t.TempDir())
	var calls, fail atomic.Int32
	fail.Store(1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		if fail.Load() == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	dir := filepath.Join(t.TempDir(), "w")
	w := &auditlog.Witness{DB: db, Key: k, Dir: dir, URL: recv.URL}
	ctx := context.Background()
	if err := w.Once(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("failing receiver: %v", err)
	}
	fail.Store(0)
	if err := w.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Once(ctx); err != nil || calls.Load() != 2 {
		t.Fatalf("unchanged log handed over again: %v, %d calls", err, calls.Load())
	}
	got, err := auditlog.ReadDir(dir, k.Verifier())
	if err != nil || len(got) != 2 || got[0].Head.Size != storetest.SeedEvents {
		t.Fatalf("witness folder: %+v %v", got, err)
	}
}
