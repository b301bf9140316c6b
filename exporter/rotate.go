package exporter

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RetiredDir is the folder of a key folder that keeps the public halves of
// keys that signed packages before a rotation, named by fingerprint:
// packages already sent stay verifiable.
const RetiredDir = "retired"

// KnownKey is a public key of the key folder: the current one or a
// retired one.
type KnownKey struct {
	Path        string
	Public      ed25519.PublicKey
	Fingerprint string
	Current     bool
}

// KnownKeys returns the key folder's current public key (if any) and its
// retired ones.
func KnownKeys(dir string) ([]KnownKey, error) {
	var out []KnownKey
	paths := []string{filepath.Join(dir, PublicKeyFile)}
	retired, _ := filepath.Glob(filepath.Join(dir, RetiredDir, "*.pem")) // fails only on a bad pattern
	sort.Strings(retired)
	paths = append(paths, retired...)
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		pub, err := ParsePublicKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, KnownKey{Path: p, Public: pub, Fingerprint: Fingerprint(pub), Current: i == 0})
	}
	return out, nil
}

// RotateKey replaces the signing key of dir by a new one. The old public
// key is kept in dir/retired/FINGERPRINT.pem first; the old private key is
// then overwritten, so it can sign nothing more. A running server keeps
// signing with the key it loaded until it is restarted.
func RotateKey(dir string) (old, cur *Signer, err error) {
	old, err = LoadKey(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, RetiredDir), 0o700); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, RetiredDir, old.Fingerprint()+".pem"), old.PublicPEM(), 0o600, true); err != nil {
		return nil, nil, err
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	cur = &Signer{key: k}
	if err := writeFileAtomic(filepath.Join(dir, PrivateKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600, true); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, PublicKeyFile), cur.PublicPEM(), 0o600, true); err != nil {
		return nil, nil, err
	}
	return old, cur, nil
}

// FindKey returns the known key (current or retired) with the given
// fingerprint, a hex SHA-256 or a prefix of at least 16 digits of one.
func FindKey(dir, fingerprint string) (*KnownKey, error) {
	fp := strings.ToLower(strings.TrimSpace(fingerprint))
	if len(fp) < 16 {
		return nil, fmt.Errorf("fingerprint %q: give at least 16 hex digits", fingerprint)
	}
	keys, err := KnownKeys(dir)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if strings.HasPrefix(k.Fingerprint, fp) {
			return &k, nil
		}
	}
	return nil, fmt.Errorf("no key with fingerprint %s in %s (current or %s/)", fingerprint, dir, RetiredDir)
}
