// Package mailpit runs a real SMTP server for tests: the mailpit binary
// (github.com/axllent/mailpit, installed by .ci/run), on free loopback
// ports, read back through its HTTP API. A test without the binary skips
// with a message saying how to install it; under CI it fails instead, so
// the mail tests cannot silently stop running.
package mailpit

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Version is the mailpit the tests are written against.
const Version = "v1.33.1"

// Server is one mailpit: SMTP on SMTPPort, its API on API.
type Server struct {
	SMTPPort, HTTPPort int
	API                string
	bin                string
	args               []string // extra flags, e.g. STARTTLS and AUTH
	cmd                *exec.Cmd
	t                  testing.TB
}

// Binary finds mailpit on PATH or in $(go env GOPATH)/bin, or skips t.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(trimNL(out))
		}
	}
	if gopath != "" {
		p := filepath.Join(gopath, "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "mailpit not found on PATH or in $(go env GOPATH)/bin: go install github.com/axllent/mailpit@" + Version
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI installs it in .ci/run)")
	}
	t.Skip(msg)
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// FreePort returns a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// New picks ports for a mailpit without starting it: a test of an outage
// points the sender at SMTPPort first, then calls Start.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: Binary(t), SMTPPort: FreePort(t), HTTPPort: FreePort(t), t: t}
	s.API = "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort)
	t.Cleanup(s.Stop)
	return s
}

// Start runs a mailpit, with any extra flags, and waits until its API
// answers.
func Start(t testing.TB, args ...string) *Server {
	s := New(t)
	s.args = args
	s.Start()
	return s
}

// SMTPURL is the server as --smtp takes it.
func (s *Server) SMTPURL() string { return "smtp://127.0.0.1:" + strconv.Itoa(s.SMTPPort) }

// Start starts the server on its ports (again, after Stop).
func (s *Server) Start() {
	s.t.Helper()
	db := filepath.Join(s.t.TempDir(), "mailpit.db")
	s.cmd = exec.Command(s.bin, "--smtp", "127.0.0.1:"+strconv.Itoa(s.SMTPPort), "--listen", "127.0.0.1:"+strconv.Itoa(s.HTTPPort),
		"--database", db, "--disable-version-check", "--smtp-disable-rdns", "--quiet")
	s.cmd.Args = append(s.cmd.Args, s.args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get(s.API + "/api/v1/messages"); err == nil {
			r.Body.Close()
			if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.SMTPPort)); err == nil {
				c.Close()
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatal("mailpit did not start within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Address is one recipient as the API gives it.
type Address struct{ Name, Address string }

// Summary is a message in the list.
type Summary struct {
	ID          string
	MessageID   string
	Subject     string
	To          []Address
	From        Address
	Attachments int
}

// Attachment is an attachment of a message.
type Attachment struct {
	PartID      string
	FileName    string
	ContentType string
	Size        int
}

// Message is one message in full.
type Message struct {
	Summary
	Text        string
	Attachments []Attachment
}

// Messages lists what the server received.
func (s *Server) Messages() []Summary {
	s.t.Helper()
	var out struct{ Messages []Summary }
	s.get("/api/v1/messages", &out)
	return out.Messages
}

// Message reads one message.
func (s *Server) Message(id string) *Message {
	s.t.Helper()
	var m struct {
		ID, MessageID, Subject, Text string
		To                           []Address
		From                         Address
		Attachments                  []Attachment
	}
	s.get("/api/v1/message/"+id, &m)
	return &Message{Summary: Summary{ID: m.ID, MessageID: m.MessageID, Subject: m.Subject, To: m.To, From: m.From, Attachments: len(m.Attachments)}, Text: m.Text, Attachments: m.Attachments}
}

// Part downloads an attachment.
func (s *Server) Part(id, part string) []byte {
	s.t.Helper()
	r, err := http.Get(s.API + "/api/v1/message/" + id + "/part/" + part)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *Server) get(path string, v any) {
	s.t.Helper()
	r, err := http.Get(s.API + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		s.t.Fatalf("mailpit %s: %s", path, r.Status)
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		s.t.Fatal(fmt.Errorf("mailpit %s: %w", path, err))
	}
}
