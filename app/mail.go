package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail ready to send.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers mail. The outbox worker is its only caller.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// newMailer returns the SMTP mailer when SMTP_URL is set, else the
// development mailbox (mail kept in memory, shown at /dev/mail).
func newMailer(cfg Config, logger *slog.Logger) (Mailer, error) {
	if cfg.SMTPURL == nil {
		return &devMailer{log: logger}, nil
	}
	return newSMTPMailer(cfg.SMTPURL, cfg.MailFrom)
}

// smtpMailer sends through an SMTP server with go-mail.
type smtpMailer struct {
	from    string
	domain  string // MAIL_FROM's domain, the right half of every Message-ID
	host    string
	options []gomail.Option
}

// newSMTPMailer reads smtp://host:port (STARTTLS when offered),
// smtp://user:pass@host:port?tls=required (STARTTLS required, which
// LoadConfig insists on with a user) or smtps://user:pass@host:port
// (implicit TLS).
func newSMTPMailer(u *url.URL, from string) (*smtpMailer, error) {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("config: MAIL_FROM is not an address: %w", err)
	}
	m := &smtpMailer{from: from, domain: addr.Address[strings.LastIndex(addr.Address, "@")+1:], host: u.Hostname()}
	opts := []gomail.Option{gomail.WithTimeout(20 * time.Second)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	} else if u.Query().Get("tls") == "required" {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("config: SMTP_URL has a bad port %q", p)
		}
		port = n
	}
	opts = append(opts, gomail.WithPort(port))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		// Auto-discovery picks the strongest mechanism the server offers and
		// refuses to send a password in the clear without TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	m.options = opts
	return m, nil
}

// check connects and logs in as a delivery would (TLS as SMTP_URL asks, the
// login), and sends nothing.
func (m *smtpMailer) check(ctx context.Context) error {
	c, err := gomail.NewClient(m.host, m.options...)
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return err
	}
	return c.Close()
}

// checkMailServer tells the operator at start-up, rather than at the first
// signup, that the mail server refuses SMTP_URL's settings: a local relay
// offers no STARTTLS for ?tls=required, or takes no login. Start-up goes on
// (the server may only be down for a moment; the outbox keeps every mail).
func checkMailServer(ctx context.Context, mailer Mailer, u *url.URL, logger *slog.Logger) {
	m, ok := mailer.(*smtpMailer)
	if !ok {
		return
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := m.check(checkCtx)
	if err == nil {
		logger.Info("mail server accepts the connection and login", "smtp", u.Redacted())
		return
	}
	if ctx.Err() != nil {
		return // shutting down
	}
	hint := "mail waits in the outbox and is retried; fix SMTP_URL or the mail server"
	switch msg := err.Error(); {
	case strings.Contains(msg, "STARTTLS"):
		hint = "the server offers no STARTTLS, which ?tls=required insists on: for a relay that takes mail without TLS " +
			"(Postfix or Mailpit on this machine), use smtp://HOST:PORT with no user and no ?tls=required"
	case strings.Contains(msg, "AUTH"):
		hint = "the server takes no login: for a relay that trusts this machine drop USER:PASSWORD@ from SMTP_URL; " +
			"for a provider use the port it gives for logins (usually 587)"
	}
	logger.Error("the mail server refuses SMTP_URL's settings: no mail goes out until this is fixed",
		"smtp", u.Redacted(), "err", err, "hint", hint)
}

// Send delivers one message with a plain-text body and an HTML alternative.
func (m *smtpMailer) Send(ctx context.Context, msg Message) error {
	// No User-Agent or X-Mailer: go-mail would name itself and its version,
	// which tells the world what to attack and the recipient nothing.
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := gm.From(m.from); err != nil {
		return err
	}
	if err := gm.To(msg.To); err != nil {
		return err
	}
	gm.Subject(msg.Subject)
	gm.SetDate()
	// go-mail's SetMessageID puts the machine's hostname on the right
	// (<…@vm>, <…@ip-10-0-0-5>): it tells every recipient the server's name,
	// and a bare hostname is no domain the sender owns, which is what keeps
	// an id unique (RFC 5322 3.6.4). MAIL_FROM's domain is; rand.Text gives
	// the left half 130 random bits.
	gm.SetMessageIDWithValue(rand.Text() + "@" + m.domain)
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	c, err := gomail.NewClient(m.host, m.options...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, gm)
}

// devMailer is the development mailbox. It keeps the newest devMailboxSize
// mails in memory for GET /dev/mail, and logs their links so they can be
// clicked from the terminal. Not in the database: the outbox empties a mail's
// body once it is sent, so the links are gone from the file and its backups.
type devMailer struct {
	log *slog.Logger

	mu    sync.Mutex
	last  int64     // the id of the newest mail; ids start at 1
	mails []devMail // oldest first, at most devMailboxSize
}

// devMailboxSize bounds the memory the development mailbox uses.
const devMailboxSize = 100

// devMail is one mail in the development mailbox.
type devMail struct {
	ID     int64
	SentAt time.Time
	Message
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func (d *devMailer) Send(_ context.Context, m Message) error {
	d.mu.Lock()
	d.last++
	d.mails = append(d.mails, devMail{ID: d.last, SentAt: time.Now().UTC(), Message: m})
	if len(d.mails) > devMailboxSize {
		d.mails = slices.Delete(d.mails, 0, 1)
	}
	d.mu.Unlock()
	d.log.Info("dev mailbox: mail delivered (see /dev/mail)", "to", m.To, "subject", m.Subject, "links", linkRE.FindAllString(m.Text, -1))
	return nil
}

// recent returns the mails it holds, newest first. The slice is the
// caller's own; the mails are values, so nothing is shared.
func (d *devMailer) recent() []devMail {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.mails)
	slices.Reverse(out)
	return out
}

// byID returns the mail with that id, if it is still held.
func (d *devMailer) byID(id int64) (devMail, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.mails {
		if m.ID == id {
			return m, true
		}
	}
	return devMail{}, false
}
