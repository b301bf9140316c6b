// Package auditlog signs and checks checkpoints of the audit log's Merkle
// tree (C2SP tlog-checkpoint signed notes, as the Go checksum database
// and Certificate Transparency logs publish), and hands them to
// witnesses: folders and receivers outside the database.
//
// The audit key lives in the keys folder, never in the database, and is
// not the package signing key: whoever can write the database can rewrite
// the log, but cannot sign a checkpoint of the rewritten log, and a
// checkpoint signed before the rewrite no longer holds against it.
package auditlog

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key file names in the keys folder.
const (
	PrivateKeyFile = "audit-key.private" // note signer key, mode 0600
	PublicKeyFile  = "audit-key.pub"     // note verifier key
)

// Key is the audit key: a signed-note Ed25519 signer whose name is the
// log's origin line.
type Key struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// LoadOrCreateKey reads the audit key from dir, generating it on first
// use. Both files are written 0600 in a 0700 folder, whatever the umask.
func LoadOrCreateKey(dir string) (*Key, error) {
	k, err := LoadKey(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the key folder: %w", err)
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "envelope-audit-"+hex.EncodeToString(id[:]))
	if err != nil {
		return nil, err
	}
	// No overwrite: if another process made a key meanwhile, its key
	// wins, so two audit keys never sign one log.
	if err := createFile(filepath.Join(dir, PrivateKeyFile), []byte(skey+"\n")); errors.Is(err, fs.ErrExist) {
		return LoadKey(dir)
	} else if err != nil {
		return nil, err
	}
	if err := createFile(filepath.Join(dir, PublicKeyFile), []byte(vkey+"\n")); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return LoadKey(dir)
}

// LoadKey reads the audit key from dir; a missing key is an error
// wrapping fs.ErrNotExist.
func LoadKey(dir string) (*Key, error) {
	skey, err := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("read the audit key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PrivateKeyFile), err)
	}
	pubPath := filepath.Join(dir, PublicKeyFile)
	vkey, err := os.ReadFile(pubPath)
	if err != nil {
		return nil, fmt.Errorf("read the audit key's public half: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pubPath, err)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, fmt.Errorf("%s is not the public half of %s", pubPath, PrivateKeyFile)
	}
	// A public half that does not check the private half's signature was
	// replaced: refuse it rather than publish it.
	probe := []byte("envelope audit key check\n")
	if sig, err := s.Sign(probe); err != nil || !v.Verify(probe, sig) {
		return nil, fmt.Errorf("%s does not verify %s's signatures", pubPath, PrivateKeyFile)
	}
	return &Key{signer: s, verifier: v, vkey: strings.TrimSpace(string(vkey))}, nil
}

// VerifierKey is the public half in the signed-note verifier format
// (name+hash+key): what `envelope audit key` prints and auditors keep.
func (k *Key) VerifierKey() string { return k.vkey }

// Verifier checks the key's signatures.
func (k *Key) Verifier() note.Verifier { return k.verifier }

// ReadVerifier reads a verifier key (the output of `envelope audit key`)
// from a file.
func ReadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("%s is not an audit verifier key (envelope audit key prints one): %w", path, err)
	}
	return v, nil
}

// createFile writes a new file of mode 0600 (never replacing one) and
// syncs it and its folder, so a key survives a power cut.
func createFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err == nil {
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
