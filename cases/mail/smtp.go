package mail

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// SMTP is a mail server: smtp://[user:pass@]host[:port] (port 25 by
// default). STARTTLS is used whenever the server offers it; AUTH PLAIN
// when a user is given (net/smtp refuses it over plain text except to
// localhost, so a password never crosses a network in clear).
type SMTP struct {
	Host, Port string
	User, Pass string
	Timeout    time.Duration
	// TLS is the STARTTLS configuration (nil: verify the host's certificate).
	TLS *tls.Config
}

// ParseSMTP reads an smtp:// URL.
func ParseSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, fmt.Errorf("--smtp: want smtp://[user:pass@]host[:port], not %q", redactURL(raw))
	}
	s := &SMTP{Host: u.Hostname(), Port: u.Port(), Timeout: 30 * time.Second}
	if s.Port == "" {
		s.Port = "25"
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Pass, _ = u.User.Password()
	}
	return s, nil
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return "(unparseable)"
}

// String is the server without its password, for logs.
func (s *SMTP) String() string { return "smtp://" + net.JoinHostPort(s.Host, s.Port) }

// Send delivers one message.
func (s *SMTP) Send(from string, m *Message) error {
	msg, err := compose(from, m)
	if err != nil {
		return err
	}
	rcpts, err := mail.ParseAddressList(m.To)
	if err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, s.Port), s.Timeout)
	if err != nil {
		return err
	}
	// One deadline for the whole conversation: a server that stops
	// answering must not hold the sender forever.
	_ = conn.SetDeadline(time.Now().Add(s.Timeout))
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Pass, s.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r.Address); err != nil {
			return fmt.Errorf("recipient %s: %w", r.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose writes m as a MIME message: the text body, and each attachment
// base64-encoded in a multipart/mixed. The Message-ID is derived from the
// queue id so a receiver can tell a retry of the same message.
func compose(from string, m *Message) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.CreatedAt.Format(time.RFC1123Z))
	h("Message-ID", fmt.Sprintf("<envelope-mail-%d-%d@%s>", m.ID, m.CreatedAt.Unix(), domainOf(from)))
	h("MIME-Version", "1.0")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if len(m.Attachments) == 0 {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n" + body)
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"8bit"}})
	if err != nil {
		return nil, err
	}
	pw.Write([]byte(body))
	for _, a := range m.Attachments {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {a.ContentType},
			"Content-Transfer-Encoding": {"base64"},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Content)
		for len(enc) > 76 {
			pw.Write([]byte(enc[:76] + "\r\n"))
			enc = enc[76:]
		}
		pw.Write([]byte(enc + "\r\n"))
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func domainOf(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			return d
		}
	}
	return "envelope.invalid"
}
