package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"envelope/cases/mail"
	"envelope/cases/mail/mailpit"
	"envelope/cases/store/storetest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// the pool that trusts it.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// A server that requires STARTTLS and AUTH: the sender upgrades, checks
// the certificate and signs in with the user:pass of --smtp; a certificate
// it does not trust is a failed attempt (retried), never a send in clear.
func TestSTARTTLSAndAuth(t *testing.T) {
	cert, key, pool := selfSigned(t, t.TempDir())
	mp := mailpit.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls", "--smtp-auth-accept-any")
	db := storetest.SQLite(t)
	smtp, err := mail.ParseSMTP(strings.Replace(mp.SMTPURL(), "smtp://", "smtp://legal:s3cret@", 1))
	if err != nil || smtp.User != "legal" || smtp.Pass != "s3cret" {
		t.Fatalf("parse: %+v %v", smtp, err)
	}
	if strings.Contains(smtp.String(), "s3cret") {
		t.Errorf("the password reaches logs: %s", smtp)
	}
	m := &mail.Mailer{DB: db, Templates: mail.DefaultTemplates(), BaseURL: "https://envelope.example.org"}
	queue(t, db, m, "a@example.org")

	snd := &mail.Sender{DB: db, SMTP: smtp, From: "envelope@example.org"}
	if sent, failed, _ := snd.Flush(ctx); sent != 0 || failed != 1 {
		t.Fatalf("untrusted certificate: sent %d failed %d", sent, failed)
	}
	if l, _ := mail.List(ctx, db, "", 1); !strings.Contains(l[0].LastError, "certificate") {
		t.Errorf("last error: %q", l[0].LastError)
	}
	smtp.TLS = &tls.Config{ServerName: "127.0.0.1", RootCAs: pool}
	db.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if sent, failed, err := snd.Flush(ctx); sent != 1 || failed != 0 {
		t.Fatalf("trusted certificate: sent %d failed %d %v", sent, failed, err)
	}
	if got := mp.Messages(); len(got) != 1 || got[0].To[0].Address != "a@example.org" {
		t.Fatalf("delivered: %+v", got)
	}
	if _, err := mail.ParseSMTP("smtp://:pw@/"); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("bad URL: %v", err)
	}
}
