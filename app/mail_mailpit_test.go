package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests send Skiff's mail to a real SMTP server, Mailpit
// (github.com/axllent/mailpit), run as a child process on free loopback
// ports, and read what arrived through its HTTP API. The in-process sink in
// mail_smtp_test.go checks the flows; this checks that a real server, with
// its own SMTP stack and MIME parser, gets well-formed mail, and that
// STARTTLS and AUTH work with a private CA. CI installs it
// (go install github.com/axllent/mailpit@v1.33.1); elsewhere the tests skip
// without it unless SKIFF_MAILPIT=required.

// mailFrom is MAIL_FROM in these tests: every Message-ID must be on its domain.
const mailFrom = "Acme <no-reply@acme.example>"

// TestMailpit follows each mailed flow from the mail Mailpit received: the
// link's GET shows a button, the button's POST uses the token.
func TestMailpit(t *testing.T) {
	mp := startMailpit(t)
	ts := newTestServer(t, withSMTPURL("smtp://"+mp.smtpAddr), withMailFrom(mailFrom))
	ada := ts.newClient()

	t.Run("signup verification", func(t *testing.T) {
		ada.signup("ada@example.com")
		m := mp.waitFor(t, "ada@example.com", "Confirm your email address")
		wantSkiffMail(t, m)
		page := ada.get(ts.path(m.link(t, ts.URL+"/verify-email?token=")))
		wantRedirect(t, pressButton(t, ada, page), "/dashboard")
		wantBody(t, ada.get("/dashboard"), "Your email address is confirmed.")
	})

	t.Run("password reset", func(t *testing.T) {
		anon := ts.newClient()
		wantStatus(t, anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
		m := mp.waitFor(t, "ada@example.com", "Reset your password")
		wantSkiffMail(t, m)
		page := anon.get(ts.path(m.link(t, ts.URL+"/reset-password?token=")))
		wantBody(t, page, "Choose a new password")
		wantRedirect(t, pressButton(t, anon, page, "password", "a brand new passphrase"), "/login")
		wantRedirect(t, ts.newClient().login("ada@example.com", "a brand new passphrase", false), "/dashboard")
		wantSkiffMail(t, mp.waitFor(t, "ada@example.com", "Your password was reset"))
	})

	t.Run("magic link", func(t *testing.T) {
		c := ts.newClient()
		wantStatus(t, c.post("/login/magic", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
		m := mp.waitFor(t, "ada@example.com", "Your login link")
		wantSkiffMail(t, m)
		page := c.get(ts.path(m.link(t, ts.URL+"/login/magic/confirm?token=")))
		wantBody(t, page, "Continue as ada@example.com")
		wantRedirect(t, pressButton(t, c, page), "/dashboard")
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	})

	// Mailpit stops, a signup queues its mail, Mailpit comes back on the same
	// port: the mail arrives on its own retry (not 30 s later at the idle
	// poll), and only once.
	t.Run("SMTP down then up", func(t *testing.T) {
		mp.stop()
		bob := ts.newClient()
		bob.signup("bob@example.com")
		deadline := time.Now().Add(10 * time.Second)
		var attempts int
		for attempts < 2 && time.Now().Before(deadline) {
			ts.db.Read.QueryRow(`SELECT attempts FROM emails WHERE to_addr = 'bob@example.com'`).Scan(&attempts)
			time.Sleep(20 * time.Millisecond)
		}
		if attempts < 2 {
			t.Fatalf("%d attempts while Mailpit was down, want retries", attempts)
		}
		mp.start(t)
		wantSkiffMail(t, mp.waitFor(t, "bob@example.com", "Confirm your email address"))
		waitForStatus(t, ts, "bob@example.com", "sent")
		time.Sleep(200 * time.Millisecond) // room for a duplicate to show up
		if n := len(mp.find(t, "bob@example.com", "Confirm your email address")); n != 1 {
			t.Fatalf("Mailpit holds %d copies of the mail, want 1", n)
		}
	})
}

// TestMailpitPrivateCA: an SMTP server whose certificate a private CA signed
// is trusted once SSL_CERT_FILE names that CA (Go's crypto/x509 reads it on
// Linux instead of the system bundle file), as the README says; without it
// the same send fails on the certificate. Mailpit requires STARTTLS and
// accepts any login, so the password goes over that TLS. Go reads
// SSL_CERT_FILE once per process, so each send runs in a child process (this
// test binary, running only TestMailpitPrivateCAChild).
func TestMailpitPrivateCA(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestCA(t, dir)
	mp := startMailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls", "--smtp-auth-accept-any")
	smtpURL := "smtp://apikey:s3cret@" + mp.smtpAddr + "?tls=required"

	send := func(to, sslCertFile string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMailpitPrivateCAChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "SKIFF_MAILPIT_CHILD_SMTP_URL="+smtpURL, "SKIFF_MAILPIT_CHILD_TO="+to)
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+sslCertFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := send("ca@example.com", caFile)
	if err != nil {
		t.Fatalf("with SSL_CERT_FILE=the private CA: %v\n%s", err, out)
	}
	m := mp.waitFor(t, "ca@example.com", "Private CA")
	if m.Username != "apikey" {
		t.Errorf("Mailpit saw user %q, want apikey (the login went over STARTTLS)", m.Username)
	}
	wantSkiffMail(t, m)

	// The system bundle does not hold the private CA: the send fails, on
	// the certificate.
	out, err = send("nobody@example.com", filepath.Join(dir, "missing.pem"))
	if err == nil || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Fatalf("without the CA in SSL_CERT_FILE: err %v, want an unknown authority:\n%s", err, out)
	}
}

// TestMailpitPrivateCAChild sends one mail through SMTP_URL. It runs only as
// TestMailpitPrivateCA's child process, with SSL_CERT_FILE set by the parent.
func TestMailpitPrivateCAChild(t *testing.T) {
	smtpURL := os.Getenv("SKIFF_MAILPIT_CHILD_SMTP_URL")
	if smtpURL == "" {
		t.Skip("run by TestMailpitPrivateCA")
	}
	cfg, err := LoadConfig(envOf(map[string]string{"SMTP_URL": smtpURL, "MAIL_FROM": mailFrom}))
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := newMailer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = mailer.Send(context.Background(), Message{To: os.Getenv("SKIFF_MAILPIT_CHILD_TO"), Subject: "Private CA",
		Text: "Sent over STARTTLS.", HTML: "<p>Sent over STARTTLS.</p>"})
	if err != nil {
		t.Fatal(err)
	}
}

// withSMTPURL sends mail to the SMTP server at raw.
func withSMTPURL(raw string) testOption {
	return func(c *testSetup) { c.SMTPURL, _ = url.Parse(raw) }
}

// withMailFrom sets MAIL_FROM.
func withMailFrom(from string) testOption { return func(c *testSetup) { c.MailFrom = from } }

// wantSkiffMail checks what every mail Skiff sends must be: a Message-ID on
// MAIL_FROM's domain (not this machine's hostname), no header naming the
// mail library, a plain-text part and an HTML part.
func wantSkiffMail(t testing.TB, m mailpitMessage) {
	t.Helper()
	if id := m.Header.Get("Message-ID"); !regexp.MustCompile(`^<[A-Za-z0-9]{20,}@acme\.example>$`).MatchString(id) {
		t.Errorf("%q: Message-ID %q, want <random@acme.example>", m.Subject, id)
	}
	for _, k := range []string{"X-Mailer", "User-Agent"} {
		if v := m.Header.Get(k); v != "" {
			t.Errorf("%q: %s: %s", m.Subject, k, v)
		}
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") || m.Text == "" || m.HTML == "" {
		t.Errorf("%q: Content-Type %q, text %d bytes, HTML %d bytes; want both parts", m.Subject, ct, len(m.Text), len(m.HTML))
	}
}

// pressButton submits the form of a page opened from a mailed link, as a
// browser does when its button is pressed: the form's action, its hidden
// token, and the extra fields given as name, value pairs.
func pressButton(t testing.TB, c *client, page response, fields ...string) response {
	t.Helper()
	wantStatus(t, page, http.StatusOK)
	for _, form := range strings.Split(page.body, "<form")[1:] {
		form, _, _ = strings.Cut(form, "</form>")
		action := regexp.MustCompile(`^[^>]*action="([^"]+)"`).FindStringSubmatch(form)
		token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(form)
		if action == nil || token == nil {
			continue // the logout button, a search box
		}
		values := url.Values{"token": {token[1]}}
		for i := 0; i+1 < len(fields); i += 2 {
			values.Set(fields[i], fields[i+1])
		}
		return c.post(action[1], values)
	}
	t.Fatalf("no form with a token on %s:\n%.1500s", page.Request.URL.Path, page.body)
	return response{}
}

// mailpit is a Mailpit child process. stop and start simulate an outage:
// start brings it back on the same ports with the same database.
type mailpit struct {
	bin      string
	args     []string
	smtpAddr string // host:port of its SMTP listener
	api      string // http://host:port of its web UI and API
	logs     *syncBuffer
	cmd      *exec.Cmd
}

// startMailpit runs Mailpit on two free loopback ports with a database in
// a temporary folder, and waits until it answers. args are extra flags.
func startMailpit(t *testing.T, args ...string) *mailpit {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		if os.Getenv("SKIFF_MAILPIT") == "required" {
			t.Fatal("SKIFF_MAILPIT=required but mailpit is not on PATH")
		}
		t.Skip("mailpit not found (go install github.com/axllent/mailpit@v1.33.1)")
	}
	mp := &mailpit{bin: bin, smtpAddr: freeLoopbackAddr(t), logs: &syncBuffer{}}
	httpAddr := freeLoopbackAddr(t)
	mp.api = "http://" + httpAddr
	mp.args = append([]string{
		"--smtp", mp.smtpAddr, "--listen", httpAddr,
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--smtp-disable-rdns",
	}, args...)
	mp.start(t)
	t.Cleanup(mp.stop)
	return mp
}

// start runs the process and waits until both listeners answer.
func (mp *mailpit) start(t testing.TB) {
	t.Helper()
	mp.cmd = exec.Command(mp.bin, mp.args...)
	mp.cmd.Stdout, mp.cmd.Stderr = mp.logs, mp.logs
	if err := mp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(mp.api + "/readyz")
		if err == nil {
			res.Body.Close()
		}
		if err == nil && res.StatusCode == http.StatusOK {
			if c, err := net.Dial("tcp", mp.smtpAddr); err == nil {
				c.Close()
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start within 20 s; its output:\n%s", mp.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills the process: its SMTP port refuses connections until start.
func (mp *mailpit) stop() {
	if mp.cmd == nil {
		return
	}
	mp.cmd.Process.Kill()
	mp.cmd.Wait()
	mp.cmd = nil
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mailpitMessage is a message as Mailpit's API returns it
// (GET /api/v1/message/{ID}), with its headers (GET .../headers).
type mailpitMessage struct {
	ID       string
	Subject  string
	Username string // the SMTP login, when there was one
	To       []struct{ Address string }
	Text     string
	HTML     string
	Header   http.Header `json:"-"`
}

// link returns the first link in the mail's text that starts with prefix.
func (m mailpitMessage) link(t testing.TB, prefix string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no link starting with %s in:\n%s", prefix, m.Text)
	return ""
}

// find returns the ids of the messages Mailpit holds to to whose subject
// contains subject, newest first.
func (mp *mailpit) find(t testing.TB, to, subject string) []string {
	t.Helper()
	var list struct {
		Messages []mailpitMessage `json:"messages"`
	}
	mp.getJSON(t, "/api/v1/messages?limit=500", &list)
	var ids []string
	for _, m := range list.Messages {
		if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, to) && strings.Contains(m.Subject, subject) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// waitFor waits for a message to to whose subject contains subject, and
// returns the newest such message with its headers.
func (mp *mailpit) waitFor(t testing.TB, to, subject string) mailpitMessage {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ids := mp.find(t, to, subject); len(ids) > 0 {
			var m mailpitMessage
			mp.getJSON(t, "/api/v1/message/"+ids[0], &m)
			mp.getJSON(t, "/api/v1/message/"+ids[0]+"/headers", &m.Header)
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s reached Mailpit within 15 s", subject, to)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (mp *mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	res, err := http.Get(mp.api + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// writeTestCA writes a private CA and a certificate it signed for
// 127.0.0.1 and localhost, as PEM files in dir.
func writeTestCA(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, key := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Skiff test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "PRIVATE KEY", keyDER)
}
