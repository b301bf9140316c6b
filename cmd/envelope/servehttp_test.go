package main

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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "envelope test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// --tls-cert and --tls-key serve HTTPS; half of them, or a proxy that is
// not an address, is refused before anything is served.
func TestServeTLS(t *testing.T) {
	cert, key := selfSigned(t)
	db := filepath.Join(t.TempDir(), "e.db")
	srv := serveInProcess(t, "--db", db, "--tls-cert", cert, "--tls-key", key, "--trusted-proxy", "10.0.0.0/8,192.0.2.1")
	defer srv.stop(t)
	if !strings.HasPrefix(srv.addr, "https://") {
		t.Fatalf("serving on %s", srv.addr)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(srv.addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz over TLS: %v %v", resp, err)
	}
	resp.Body.Close()

	for _, args := range [][]string{
		{"--tls-cert", cert},
		{"--trusted-proxy", "not-an-address"},
		{"--tls-cert", cert, "--tls-key", cert},
	} {
		if code, _, errOut := cli(t, filepath.Join(t.TempDir(), "e.db"), "", append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...); code == 0 || errOut == "" {
			t.Errorf("serve %v: %d %q", args, code, errOut)
		}
	}
}

// The cap on open connections cannot be held over TLS either: with
// --max-conns 1 taken by a client that finished its TLS handshake and
// sends nothing, a new client's request is answered, and the silent one
// is closed (the server sees through TLS to the connection it capped).
func TestServeCapOverTLS(t *testing.T) {
	cert, key := selfSigned(t)
	srv := serveInProcess(t, "--db", filepath.Join(t.TempDir(), "e.db"), "--tls-cert", cert, "--tls-key", key, "--max-conns", "1")
	defer srv.stop(t)
	conf := &tls.Config{InsecureSkipVerify: true}
	silent, err := tls.Dial("tcp", strings.TrimPrefix(srv.addr, "https://"), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get(srv.addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with the only slot held: %v %v after %v", resp, err, time.Since(start))
	}
	resp.Body.Close()
	silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Fatalf("the silent TLS connection, once another client came: %v, want it closed", err)
	}
}

// An --api-rate the limiter cannot keep is refused by name at start: above
// a million a second the period is under the microsecond the shared
// buckets count in (each request then failed to be checked, was logged
// and fell back to the instance's own buckets), and so small a rate that
// its period overflows a Duration came out as no limit at all.
func TestAPIRateBounds(t *testing.T) {
	for _, rate := range []float64{2e6, 1e-12} {
		o := &httpOptions{maxConns: 1, apiRate: rate, apiBurst: 1}
		if err := o.check(); err == nil || !strings.Contains(err.Error(), "--api-rate") {
			t.Errorf("--api-rate %g: %v; limit %+v", rate, err, o.apiLimit())
		}
	}
	for _, rate := range []float64{1e6, 100, 0.001} {
		o := &httpOptions{maxConns: 1, apiRate: rate, apiBurst: 1}
		if err := o.check(); err != nil || o.apiLimit().Every < time.Microsecond {
			t.Errorf("--api-rate %g: %v; limit %+v", rate, err, o.apiLimit())
		}
	}
}
