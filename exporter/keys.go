package exporter

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Key file names in a key directory.
const (
	PrivateKeyFile = "signing-key.private.pem" // PKCS#8, mode 0600
	PublicKeyFile  = "signing-key.pem"         // PKIX, what openssl -pubin reads
)

// DefaultKeyDir and DefaultPackageDir are relative to the working
// directory, like the default SQLite database.
const (
	DefaultKeyDir     = "envelope-keys"
	DefaultPackageDir = "envelope-packages"
)

// Signer holds the Ed25519 key that signs packages. The key lives in a
// directory outside the database on purpose: whoever can edit the database
// (and so the audit log and the packages table) should not thereby be able
// to sign a forged package.
type Signer struct {
	key ed25519.PrivateKey
}

// LoadOrCreateKey reads the signing key from dir, generating it on first
// use. The private key is written with mode 0600 in a directory of mode
// 0700; the public key next to it is what recipients verify with.
func LoadOrCreateKey(dir string) (*Signer, error) {
	s, err := LoadKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(dir)
	} else if err != nil {
		return nil, err
	}
	// The public half is derived, so a deleted or damaged copy is
	// rewritten rather than trusted.
	pubPath := filepath.Join(dir, PublicKeyFile)
	if cur, err := os.ReadFile(pubPath); err != nil || !bytes.Equal(cur, s.PublicPEM()) {
		if err := writeFileAtomic(pubPath, s.PublicPEM(), 0o600, true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// LoadKey reads the signing key from dir and never creates one: a missing
// key is an error wrapping fs.ErrNotExist.
func LoadKey(dir string) (*Signer, error) {
	priv := filepath.Join(dir, PrivateKeyFile)
	b, err := os.ReadFile(priv)
	if err != nil {
		return nil, fmt.Errorf("read the signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PKCS#8 PEM private key", priv)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", priv, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an Ed25519 key", priv)
	}
	return &Signer{key: ek}, nil
}

func createKey(dir string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the key directory: %w", err)
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	s := &Signer{key: k}
	// No overwrite: if another process generated a key meanwhile, its key
	// wins and is loaded instead, so two keys never sign at once.
	err = writeFileAtomic(filepath.Join(dir, PrivateKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600, false)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(dir)
	} else if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, PublicKeyFile), s.PublicPEM(), 0o600, true); err != nil {
		return nil, err
	}
	return s, nil
}

// writeFileAtomic writes a file through a temporary file in the same
// directory, so a reader never sees half of it. Unless replace is set, an
// existing file is left alone and fs.ErrExist returned.
func writeFileAtomic(path string, data []byte, mode os.FileMode, replace bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		// link fails if path exists: a no-clobber rename.
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return err
	}
	// The new name is durable only once its directory is: without this a
	// power cut could lose the signing key, and the next start would make
	// a new one that no package already sent verifies against.
	return syncDir(filepath.Dir(path))
}

// Public returns the public key.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// PublicPEM returns the public key as a PKIX PEM block ("PUBLIC KEY").
func (s *Signer) PublicPEM() []byte { return PublicKeyPEM(s.Public()) }

// Fingerprint is the SHA-256 of the public key's DER encoding, in hex: what
// the PDF prints so a reader can match the key served by the platform.
func (s *Signer) Fingerprint() string { return Fingerprint(s.Public()) }

// Sign signs data with Ed25519 (a raw 64-byte signature).
func (s *Signer) Sign(data []byte) []byte { return ed25519.Sign(s.key, data) }

// PublicKeyPEM encodes an Ed25519 public key as PKIX PEM.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub) // cannot fail for Ed25519
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Fingerprint returns the hex SHA-256 of a public key's PKIX DER encoding.
func Fingerprint(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParsePublicKeyPEM reads an Ed25519 public key from PEM (the output of
// envelope signing-key, or GET /api/v1/signing-key).
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("the public key is not an Ed25519 key")
	}
	return pub, nil
}
