package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpSink is an in-process SMTP server (github.com/emersion/go-smtp) that
// keeps every message it accepts. stop and start simulate an outage.
type smtpSink struct {
	t    testing.TB
	addr string

	mu     sync.Mutex
	server *smtp.Server
	ln     net.Listener
	mails  []sentMail
}

// sentMail is a received message, parsed.
type sentMail struct {
	From, To, Subject string
	Text, HTML        string
	Header            mail.Header
}

// newSMTPSink starts a server on a free loopback port.
func newSMTPSink(t testing.TB) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{t: t, addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *smtpSink) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.server, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln)
}

// stop takes the server down (connections are refused).
func (s *smtpSink) stop() {
	s.mu.Lock()
	srv, ln := s.server, s.ln
	s.server, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		ln.Close() // Serve may not have taken the listener yet
		srv.Close()
	}
}

// start brings the server back on the same address.
func (s *smtpSink) start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

// waitFor returns the first mail to `to` whose subject contains subject.
func (s *smtpSink) waitFor(to, subject string) sentMail {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, m := range s.mails {
			if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no mail %q to %s arrived; got %v", subject, to, s.subjects())
	return sentMail{}
}

func (s *smtpSink) subjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.mails {
		out = append(out, m.To+": "+m.Subject)
	}
	return out
}

// link returns the first link in the mail's text that starts with prefix.
// latest waits for a mail to to whose subject contains subject and returns
// the newest such mail.
func (s *smtpSink) latest(to, subject string) sentMail {
	s.t.Helper()
	s.waitFor(to, subject)
	s.mu.Lock()
	defer s.mu.Unlock()
	var last sentMail
	for _, m := range s.mails {
		if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
			last = m
		}
	}
	return last
}

func (m sentMail) link(t testing.TB, prefix string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no link starting with %s in:\n%s", prefix, m.Text)
	return ""
}

type sinkSession struct {
	sink     *smtpSink
	from, to string
}

func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	m := sentMail{From: s.from, To: s.to, Subject: subject, Header: msg.Header}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(decodePart(p))
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, m)
	s.sink.mu.Unlock()
	return nil
}

// decodePart undoes quoted-printable (multipart.Reader does) or base64.
func decodePart(p *multipart.Part) io.Reader {
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		b, _ := io.ReadAll(p)
		return base64Reader(b)
	}
	return p
}

func base64Reader(b []byte) io.Reader {
	out, err := base64Std.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		return bytes.NewReader(b)
	}
	return bytes.NewReader(out)
}

var base64Std = base64.StdEncoding

// TestMailServerCheckedAtStartUp: `skiff serve` connects to the mail server
// once at start-up and says at once, with what to change, when it refuses
// SMTP_URL's settings (here ?tls=required against a relay without STARTTLS),
// instead of leaving it to the first signup's mail.
func TestMailServerCheckedAtStartUp(t *testing.T) {
	sink := newSMTPSink(t) // offers no STARTTLS, like a local Mailpit or Postfix
	for _, tt := range []struct{ smtpURL, want string }{
		{"smtp://" + sink.addr + "?tls=required", `msg="the mail server refuses SMTP_URL's settings`},
		{"smtp://" + sink.addr, `msg="mail server accepts the connection and login"`},
	} {
		env := map[string]string{"ADDR": "127.0.0.1:0", "APP_ENV": "development", "DATABASE_PATH": filepath.Join(t.TempDir(), "skiff.db"),
			"SMTP_URL": tt.smtpURL}
		ctx, cancel := context.WithCancel(context.Background())
		logs := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- Run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, logs) }()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(logs.String(), tt.want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), tt.want) {
			t.Fatalf("SMTP_URL %s: no %s in the logs:\n%s", tt.smtpURL, tt.want, logs)
		}
		if strings.Contains(tt.want, "refuses") && !strings.Contains(logs.String(), "no user and no ?tls=required") {
			t.Errorf("the refusal does not say what to change:\n%s", logs)
		}
	}
}
