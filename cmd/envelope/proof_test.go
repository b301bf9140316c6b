package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"envelope/exporter"
)

// exported produces the package of an approved warrant and returns the
// package, the keys folder and the audit verifier key file.
func exported(t *testing.T) (pkg, keys, auditKey string) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	keys, pkgs := filepath.Join(dir, "keys"), filepath.Join(dir, "packages")
	number := approvedWarrant(t, db)
	if code, _, errOut := cli(t, db, "", "metadata", "import", "../../testdata/export/records.ndjson"); code != 0 {
		t.Fatalf("metadata import: %d %s", code, errOut)
	}
	pkg = filepath.Join(t.TempDir(), "pkg.zip")
	if code, _, errOut := cli(t, db, "", "export", "--keys", keys, "--packages", pkgs, "--out", pkg, number); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	_, vkey, _ := cli(t, db, "", "audit key", "--keys", keys)
	auditKey = filepath.Join(t.TempDir(), "audit.pub")
	os.WriteFile(auditKey, []byte(vkey), 0o600)
	return pkg, keys, auditKey
}

// repack rewrites a package as a forger would: edit changes the files,
// then manifest.json's sums, SHA256SUMS and its signature (by signer) are
// made to match.
func repack(t *testing.T, src, dst string, signer *exporter.Signer, edit func(files map[string][]byte)) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	zr.Close()
	edit(files)
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	var m map[string]any
	json.Unmarshal(files[exporter.ManifestFile], &m)
	for _, f := range m["files"].([]any) {
		e := f.(map[string]any)
		b := files[e["path"].(string)]
		e["sha256"], e["size"] = sum(b), len(b)
	}
	files[exporter.ManifestFile], _ = json.MarshalIndent(m, "", "  ")
	var names []string
	for n := range files {
		if n != exporter.SumsFile && n != exporter.SigFile {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var sums bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&sums, "%s  %s\n", sum(files[n]), n)
	}
	files[exporter.SumsFile] = sums.Bytes()
	files[exporter.SigFile] = signer.Sign(sums.Bytes())
	out, _ := os.Create(dst)
	zw := zip.NewWriter(out)
	for _, n := range append(names, exporter.SumsFile, exporter.SigFile) {
		w, _ := zw.Create(n)
		w.Write(files[n])
	}
	zw.Close()
	out.Close()
}

// An intact package verifies with --key, with --fingerprint, and with
// sha256sum -c and openssl, with no envelope at all.
func TestVerifyIntactPackageEveryWay(t *testing.T) {
	pkg, keys, auditKey := exported(t)
	pub := filepath.Join(keys, exporter.PublicKeyFile)
	// The package first, as the spec writes it.
	code, out, errOut := cli(t, "", "", "verify", pkg, "--key", pub, "--audit-key", auditKey)
	if code != 0 || !strings.Contains(out, "audit events are proven") {
		t.Fatalf("--key: %d %s %s", code, out, errOut)
	}
	k, _ := exporter.LoadKey(keys)
	if code, out, errOut := cli(t, "", "", "verify", "--keys", keys, "--fingerprint", k.Fingerprint(), pkg); code != 0 {
		t.Fatalf("--fingerprint: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "", "", "verify", "--keys", keys, "--fingerprint", strings.Repeat("ab", 32), pkg); code != 1 || !strings.Contains(errOut, "no key with fingerprint") {
		t.Fatalf("unknown fingerprint: %d %s", code, errOut)
	}
	// The audit files are covered like any other.
	dir := t.TempDir()
	if b, err := exec.Command("unzip", "-q", pkg, "-d", dir).CombinedOutput(); err != nil {
		t.Skipf("unzip: %v %s", err, b)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, exporter.SumsFile))
	for _, f := range []string{exporter.CheckpointFile, exporter.AuditEventsFile} {
		if !strings.Contains(string(sums), "  "+f+"\n") {
			t.Errorf("SHA256SUMS does not cover %s", f)
		}
	}
	c := exec.Command("sha256sum", "-c", "--strict", exporter.SumsFile)
	c.Dir = dir
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v %s", err, b)
	}
	c = exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", exporter.SumsFile, "-sigfile", exporter.SigFile)
	c.Dir = dir
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, b)
	}
}

// A package re-signed with another key, that key laid beside it and
// inside it, fails: verification uses the keys folder's key, and reports
// the planted ones.
func TestVerifyIgnoresPlantedKey(t *testing.T) {
	pkg, keys, _ := exported(t)
	forger, err := exporter.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	forged := filepath.Join(dir, "forged.zip")
	repack(t, pkg, forged, forger, func(files map[string][]byte) {
		files["signing-key.pem"] = forger.PublicPEM()
	})
	os.WriteFile(filepath.Join(dir, exporter.PublicKeyFile), forger.PublicPEM(), 0o644)
	code, out, errOut := cli(t, "", "", "verify", "--keys", keys, forged)
	if code != 1 || !strings.Contains(out, "SHA256SUMS.sig") || !strings.Contains(errOut, "NOT intact") {
		t.Fatalf("forged package: %d %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "beside the package: ignored") || !strings.Contains(out, "the package holds signing-key.pem") {
		t.Errorf("planted keys not reported:\n%s", out)
	}
	// Without a keys folder or --key, nothing beside it is used either.
	if code, _, errOut := cli(t, "", "", "verify", "--keys", filepath.Join(dir, "none"), forged); code != 2 || !strings.Contains(errOut, "no public key") {
		t.Fatalf("no trusted key: %d %s", code, errOut)
	}
}

// An insider holding the package key but not the audit key edits an
// inclusion proof, or drops the approval, and re-signs: the proofs fail.
func TestVerifyCatchesEditedProof(t *testing.T) {
	pkg, keys, auditKey := exported(t)
	signer, err := exporter.LoadKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(*exporter.AuditProof){
		"edited proof": func(ap *exporter.AuditProof) {
			p := ap.Events[0].Proof
			p[len(p)-1] = strings.Repeat("0", 64)
		},
		"edited event": func(ap *exporter.AuditProof) {
			ap.Events[0].Leaf = strings.Replace(ap.Events[0].Leaf, "@", "+forged@", 1)
		},
		"approval dropped": func(ap *exporter.AuditProof) {
			var keep []exporter.ProvenEvent
			for _, e := range ap.Events {
				if e.Action != "case.approve" {
					keep = append(keep, e)
				}
			}
			ap.Events = keep
		},
	}
	for name, edit := range edits {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.zip")
			repack(t, pkg, bad, signer, func(files map[string][]byte) {
				var ap exporter.AuditProof
				if err := json.Unmarshal(files[exporter.AuditEventsFile], &ap); err != nil || len(ap.Events) < 3 {
					t.Fatalf("events.json: %v %d", err, len(ap.Events))
				}
				edit(&ap)
				files[exporter.AuditEventsFile], _ = json.Marshal(ap)
			})
			code, out, errOut := cli(t, "", "", "verify", "--keys", keys, "--audit-key", auditKey, bad)
			if code != 1 || !strings.Contains(out, "FAILED "+exporter.AuditEventsFile) {
				t.Fatalf("%s: %d %s %s", name, code, out, errOut)
			}
			if strings.Contains(out, "SHA256SUMS") {
				t.Errorf("the re-signed package should pass its hashes:\n%s", out)
			}
			// One line per problem, naming the event, hashes in hex: not
			// the merkle library's multi-line decimal byte arrays.
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(line, "FAILED ") && !strings.HasPrefix(line, "NOTE ") {
					t.Errorf("stray output line %q in:\n%s", line, out)
				}
			}
			if name == "edited proof" && !regexp.MustCompile(`FAILED audit/events.json: event \d+ \(case\.\w+ by [^)]+\) is not proven to be in the audit log of the checkpoint: the proof leads to root [0-9a-f]{64}, not to [0-9a-f]{64}\n`).MatchString(out) {
				t.Errorf("%s: the failure does not name the event with hex roots:\n%s", name, out)
			}
		})
	}
}

// Rotating the signing key keeps the old public key: a package signed
// before verifies by its fingerprint, and doctor names it.
func TestSigningKeyRotation(t *testing.T) {
	pkg, keys, auditKey := exported(t)
	old, _ := exporter.LoadKey(keys)
	db := filepath.Join(t.TempDir(), "r.db")
	code, out, errOut := cli(t, db, "", "signing-key rotate", "--keys", keys)
	if code != 0 || !strings.Contains(out, old.Fingerprint()) {
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	cur, _ := exporter.LoadKey(keys)
	if cur.Fingerprint() == old.Fingerprint() {
		t.Fatal("the key did not change")
	}
	if code, out, _ := cli(t, "", "", "verify", "--keys", keys, "--audit-key", auditKey, pkg); code != 1 || !strings.Contains(out, "SHA256SUMS.sig") {
		t.Fatalf("the new key verified an old package: %d %s", code, out)
	}
	if code, out, errOut := cli(t, "", "", "verify", "--keys", keys, "--fingerprint", old.Fingerprint(), pkg); code != 0 {
		t.Fatalf("old package by fingerprint: %d %s %s", code, out, errOut)
	}
}

// A court clerk with only the platform's package key still verifies a
// package: the signature covers the proof files, and verify says that the
// audit events were not checked against the log. A package made before
// packages carried proofs (here: the proof files removed and re-signed
// with the real key, which only the platform holds) verifies the same way.
func TestVerifyWithoutAuditKeySaysWhatItDidNotCheck(t *testing.T) {
	pkg, keys, _ := exported(t)
	pub := filepath.Join(t.TempDir(), "signing-key.pem")
	b, err := os.ReadFile(filepath.Join(keys, exporter.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pub, b, 0o600)
	none := filepath.Join(t.TempDir(), "no-keys")
	code, out, errOut := cli(t, "", "", "verify", pkg, "--key", pub, "--keys", none)
	if code != 0 || !strings.Contains(out, "NOTE no audit key") {
		t.Fatalf("package key only: %d %s %s", code, out, errOut)
	}
	signer, err := exporter.LoadKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.zip")
	repack(t, pkg, old, signer, func(files map[string][]byte) {
		dropFiles(files, exporter.CheckpointFile, exporter.AuditEventsFile)
	})
	code, out, errOut = cli(t, "", "", "verify", "--keys", keys, old)
	if code != 0 || !strings.Contains(out, "NOTE the package carries no audit proof") {
		t.Fatalf("package without proof: %d %s %s", code, out, errOut)
	}
	// Only one of the two proof files is a broken package, not an old one.
	half := filepath.Join(t.TempDir(), "half.zip")
	repack(t, pkg, half, signer, func(files map[string][]byte) {
		dropFiles(files, exporter.CheckpointFile)
	})
	if code, out, _ := cli(t, "", "", "verify", "--keys", keys, half); code != 1 || !strings.Contains(out, "FAILED "+exporter.CheckpointFile) {
		t.Fatalf("half a proof: %d %s", code, out)
	}
}

// dropFiles removes files from a package being repacked, and from its
// manifest's list.
func dropFiles(files map[string][]byte, names ...string) {
	var m map[string]any
	json.Unmarshal(files[exporter.ManifestFile], &m)
	var kept []any
	for _, f := range m["files"].([]any) {
		if !slices.Contains(names, f.(map[string]any)["path"].(string)) {
			kept = append(kept, f)
		}
	}
	m["files"] = kept
	files[exporter.ManifestFile], _ = json.Marshal(m)
	for _, n := range names {
		delete(files, n)
	}
}

// A package re-signed with another key and shipped with a keys folder
// holding that key, verified from its own folder: the default keys folder
// (relative to where verify runs) is that shipped one, and verify refuses
// it rather than trusting it.
func TestVerifyRefusesKeysShippedWithPackage(t *testing.T) {
	pkg, keys, _ := exported(t)
	forger, err := exporter.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repack(t, pkg, filepath.Join(dir, "forged.zip"), forger, func(map[string][]byte) {})
	shipped := filepath.Join(dir, exporter.DefaultKeyDir)
	os.MkdirAll(shipped, 0o700)
	os.WriteFile(filepath.Join(shipped, exporter.PublicKeyFile), forger.PublicPEM(), 0o644)
	t.Chdir(dir)
	// The shipped folder is named as such, and the manifest still names
	// the platform's key, so the forgery fails.
	for _, p := range []string{"forged.zip", filepath.Join(dir, "forged.zip")} {
		code, out, errOut := cli(t, "", "", "verify", p)
		if code != 1 || !strings.Contains(out, "lies in the package's own folder") || !strings.Contains(out, "FAILED "+exporter.ManifestFile) {
			t.Errorf("verify %s beside a shipped keys folder: %d %s %s", p, code, out, errOut)
		}
	}
	// A keys folder beneath the package's folder is named too.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, exporter.DefaultKeyDir), 0o700)
	os.WriteFile(filepath.Join(sub, exporter.DefaultKeyDir, exporter.PublicKeyFile), forger.PublicPEM(), 0o644)
	t.Chdir(sub)
	if code, out, _ := cli(t, "", "", "verify", filepath.Join(dir, "forged.zip")); code != 1 || !strings.Contains(out, "lies in the package's own folder") {
		t.Errorf("keys folder beneath the package's folder: %d %s", code, out)
	}
	// Named explicitly, the operator's own keys folder is used, and the
	// forgery fails.
	if code, out, _ := cli(t, "", "", "verify", "--keys", keys, filepath.Join(dir, "forged.zip")); code != 1 || !strings.Contains(out, "FAILED") {
		t.Errorf("--keys: %d %s", code, out)
	}
}

// A package whose manifest names another signing key than the one it
// verifies with fails, naming both fingerprints.
func TestVerifyManifestNamesVerifyingKey(t *testing.T) {
	pkg, keys, auditKey := exported(t)
	signer, err := exporter.LoadKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("ab", 32)
	bad := filepath.Join(t.TempDir(), "bad.zip")
	repack(t, pkg, bad, signer, func(files map[string][]byte) {
		var m map[string]any
		if err := json.Unmarshal(files[exporter.ManifestFile], &m); err != nil || m["signing_key_sha256"] != signer.Fingerprint() {
			t.Fatalf("manifest: %v %v", err, m["signing_key_sha256"])
		}
		m["signing_key_sha256"] = other
		files[exporter.ManifestFile], _ = json.Marshal(m)
	})
	code, out, errOut := cli(t, "", "", "verify", "--keys", keys, "--audit-key", auditKey, bad)
	if code != 1 || !strings.Contains(out, "FAILED "+exporter.ManifestFile+": names signing key "+other) || !strings.Contains(out, signer.Fingerprint()) {
		t.Fatalf("mismatched manifest key: %d %s %s", code, out, errOut)
	}
}
