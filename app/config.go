package app

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"skiff/db"
	"strconv"
	"strings"
	"time"
)

// Config is everything Skiff reads from its environment. LoadConfig fills it;
// nothing else in the app reads environment variables.
type Config struct {
	Addr         string   // ADDR: where the HTTP server listens
	BaseURL      *url.URL // BASE_URL: the public origin, used for links and cookie security
	DatabasePath string   // DATABASE_PATH: the SQLite file
	DatabaseURL  string   // DATABASE_URL: postgres://...: PostgreSQL instead of the SQLite file
	// DRAIN_DELAY: after SIGTERM, how long /readyz answers 503 while
	// requests are still served, before the listener closes, so that a
	// load balancer's health check takes the instance out first (default 0
	// on SQLite, 3s with DATABASE_URL: several instances behind Caddy).
	DrainDelay        time.Duration
	Env               string // APP_ENV: "development" or "production"
	TrustProxyHeaders bool   // TRUST_PROXY_HEADERS: read the client IP from X-Forwarded-For
	// TRUSTED_PROXIES: the addresses whose X-Forwarded-For is believed
	// (comma-separated CIDRs; default loopback, Caddy on the same host).
	TrustedProxies []netip.Prefix
	LogLevel       string // LOG_LEVEL: debug, info, warn or error
	PprofAddr      string // PPROF_ADDR: a loopback address for Go's profiler; empty for none
	ReadCache      bool   // READ_CACHE: "off" sends every session and user read to SQLite (db/cache.go)
	PasskeySignup  bool   // PASSKEY_SIGNUP: accounts may be created with a passkey and no password
	// LISTEN_FDS, when LISTEN_PID is this process: sockets systemd opened
	// for it (deploy/skiff.socket). Skiff then serves the one it was given
	// instead of listening on ADDR. Not a setting: systemd sets both.
	ListenFDs int

	Stripe StripeConfig

	SMTPURL         *url.URL // SMTP_URL: smtp://user:pass@host:587?tls=required or smtps://...:465; nil for the dev mailbox
	MailFrom        string   // MAIL_FROM: the sender of every mail
	MagicLinkSignup bool     // MAGIC_LINK_SIGNUP: a magic link to an unknown address creates an account

	OAuth OAuthConfig

	AdminEmails map[string]bool // ADMIN_EMAILS: comma-separated addresses of the founders
	CORSOrigins map[string]bool // CORS_ORIGINS: origins (https://app.example.com) allowed to call /api/v1 from a browser

	BackupDir      string        // BACKUP_DIR: where scheduled snapshots go; empty for none
	BackupInterval time.Duration // BACKUP_INTERVAL: how often (default 24h)
	BackupKeep     int           // BACKUP_KEEP: how many snapshots to keep (default 7)

	// Limits are not read from the environment: the defaults follow OWASP and
	// NIST guidance, and tests change them directly.
	Limits Limits
}

// StripeConfig holds the Stripe settings. Billing is on when SecretKey is set.
type StripeConfig struct {
	SecretKey       string // STRIPE_SECRET_KEY (sk_test_... or sk_live_...)
	WebhookSecret   string // STRIPE_WEBHOOK_SECRET (whsec_...), printed by `skiff stripe-setup`
	PricePro        string // STRIPE_PRICE_PRO (price_...)
	PriceEnterprise string // STRIPE_PRICE_ENTERPRISE (price_...)
	TrialDays       int64  // STRIPE_TRIAL_DAYS: free trial on new subscriptions, 0 for none
	APIBase         string // STRIPE_API_BASE: another API server (stripe-mock, a test fake)
	// RedirectOrigins (STRIPE_REDIRECT_ORIGINS) are the https origins of
	// Stripe's Checkout and portal pages, Stripe's own unless you set up a
	// custom domain in Stripe. The CSP's form-action lists them: a browser
	// follows a form's redirect only to an origin listed there.
	RedirectOrigins []string
}

// defaultStripeRedirectOrigins are where Stripe serves Checkout and the
// customer portal without a custom domain.
const defaultStripeRedirectOrigins = "https://checkout.stripe.com,https://billing.stripe.com"

// OAuthConfig holds the social login providers; each is on when its client
// id is set.
type OAuthConfig struct {
	GitHubClientID, GitHubClientSecret string // GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET
	GitHubURL, GitHubAPIURL            string // GITHUB_URL, GITHUB_API_URL (GitHub Enterprise Server)
	GoogleClientID, GoogleClientSecret string // GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET
	OIDCIssuerURL                      string // OIDC_ISSUER_URL
	OIDCClientID, OIDCClientSecret     string // OIDC_CLIENT_ID, OIDC_CLIENT_SECRET
	OIDCName                           string // OIDC_NAME: the button's label
}

// Enabled reports whether billing is configured.
func (c StripeConfig) Enabled() bool { return c.SecretKey != "" }

// Limits are the rate limits and size caps the server enforces.
type Limits struct {
	LoginPerIP         Rate  // login attempts from one IP address
	LoginFailsPerUser  Rate  // failed logins against one email address (NIST SP 800-63B: at most 100)
	SignupPerIP        Rate  // accounts created from one IP address
	MailPerAddress     Rate  // mails with links (reset, magic link, verification) to one address
	MailPerIP          Rate  // such mails requested from one IP address
	APIPerUser         Rate  // API requests of one user, whatever token they use
	EmailChangePerUser Rate  // email change requests of one user ("address in use" answers)
	TwoFactorPerUser   Rate  // wrong second-factor codes (login, turning it off) of one user
	MaxAPITokens       int   // API tokens one user may hold
	MaxOwnedTeams      int   // teams one user may create (their personal team aside)
	MaxFormBytes       int64 // larger request bodies get 413
}

// Rate is N events per Per, with bursts up to N.
type Rate struct {
	N   int
	Per time.Duration
}

// DefaultLimits are the limits used unless a test changes them.
func DefaultLimits() Limits {
	return Limits{
		LoginPerIP:         Rate{N: 10, Per: time.Minute},
		LoginFailsPerUser:  Rate{N: 100, Per: time.Hour},
		SignupPerIP:        Rate{N: 10, Per: time.Hour},
		MailPerAddress:     Rate{N: 5, Per: time.Hour},
		MailPerIP:          Rate{N: 20, Per: time.Hour},
		APIPerUser:         Rate{N: 600, Per: time.Minute},
		EmailChangePerUser: Rate{N: 10, Per: time.Hour},
		TwoFactorPerUser:   Rate{N: 5, Per: 5 * time.Minute},
		MaxAPITokens:       50,
		MaxOwnedTeams:      10,
		MaxFormBytes:       64 << 10,
	}
}

// LoadConfig reads the configuration through getenv and validates it. Each
// group of settings is read by a function of its own, in this order; the
// first malformed value stops it with an error naming the key.
func LoadConfig(getenv func(string) string) (Config, error) {
	e := env(getenv)
	cfg := Config{Limits: DefaultLimits()}
	for _, load := range []func(env) error{
		cfg.loadServer, cfg.loadStripe, cfg.loadOAuth, cfg.loadAccess, cfg.loadBackups, cfg.loadMail, cfg.loadBaseURL,
	} {
		if err := load(e); err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}

// env reads the settings through a getenv function.
type env func(key string) string

// get returns the trimmed value of key, or def when it is unset or blank.
func (e env) get(key, def string) string {
	if v := strings.TrimSpace(e(key)); v != "" {
		return v
	}
	return def
}

// Database is what db.Open takes: DATABASE_URL when set, else DATABASE_PATH.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return c.DatabasePath
}

// Postgres reports whether the database is PostgreSQL (DATABASE_URL).
func (c Config) Postgres() bool { return c.DatabaseURL != "" }

// loadServer reads where and how the server runs.
func (c *Config) loadServer(e env) error {
	var err error
	c.Addr = e.get("ADDR", "localhost:8080")
	c.DatabasePath = e.get("DATABASE_PATH", "data/skiff.db")
	c.DatabaseURL = e.get("DATABASE_URL", "")
	drain := "0s"
	if c.DatabaseURL != "" {
		drain = "3s"
	}
	if c.DrainDelay, err = time.ParseDuration(e.get("DRAIN_DELAY", drain)); err != nil || c.DrainDelay < 0 || c.DrainDelay > time.Minute {
		return fmt.Errorf("config: DRAIN_DELAY must be a duration from 0s to 1m, such as 3s, got %q", e("DRAIN_DELAY"))
	}
	c.Env = e.get("APP_ENV", "development")
	c.LogLevel = e.get("LOG_LEVEL", "info")
	c.PprofAddr = e.get("PPROF_ADDR", "")
	if pid, _ := strconv.Atoi(e("LISTEN_PID")); pid == os.Getpid() {
		c.ListenFDs, _ = strconv.Atoi(e("LISTEN_FDS"))
	}
	if c.TrustProxyHeaders, err = parseBool(e.get("TRUST_PROXY_HEADERS", "false")); err != nil {
		return fmt.Errorf("config: TRUST_PROXY_HEADERS must be true or false, got %q", e("TRUST_PROXY_HEADERS"))
	}
	if c.TrustedProxies, err = parsePrefixes(e.get("TRUSTED_PROXIES", "127.0.0.1/32,::1/128")); err != nil {
		return fmt.Errorf("config: TRUSTED_PROXIES must be addresses or CIDR ranges separated by commas (127.0.0.1/32,::1/128): %w", err)
	}
	if c.ReadCache, err = parseBool(e.get("READ_CACHE", "on")); err != nil {
		return fmt.Errorf("config: READ_CACHE must be on or off, got %q", e("READ_CACHE"))
	}
	if c.PasskeySignup, err = parseBool(e.get("PASSKEY_SIGNUP", "false")); err != nil {
		return fmt.Errorf("config: PASSKEY_SIGNUP must be true or false, got %q", e("PASSKEY_SIGNUP"))
	}
	return nil
}

// loadStripe reads the billing settings.
func (c *Config) loadStripe(e env) error {
	c.Stripe = StripeConfig{
		SecretKey:       e.get("STRIPE_SECRET_KEY", ""),
		WebhookSecret:   e.get("STRIPE_WEBHOOK_SECRET", ""),
		PricePro:        e.get("STRIPE_PRICE_PRO", ""),
		PriceEnterprise: e.get("STRIPE_PRICE_ENTERPRISE", ""),
		APIBase:         e.get("STRIPE_API_BASE", ""),
	}
	for _, o := range strings.Split(e.get("STRIPE_REDIRECT_ORIGINS", defaultStripeRedirectOrigins), ",") {
		if o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/")); o != "" {
			c.Stripe.RedirectOrigins = append(c.Stripe.RedirectOrigins, o)
		}
	}
	if days := e.get("STRIPE_TRIAL_DAYS", "0"); days != "" {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 730 {
			return fmt.Errorf("config: STRIPE_TRIAL_DAYS must be a number of days from 0 to 730, got %q", days)
		}
		c.Stripe.TrialDays = n
	}
	return nil
}

// loadOAuth reads the social login providers.
func (c *Config) loadOAuth(e env) error {
	c.OAuth = OAuthConfig{
		GitHubClientID: e.get("GITHUB_CLIENT_ID", ""), GitHubClientSecret: e.get("GITHUB_CLIENT_SECRET", ""),
		GitHubURL:      strings.TrimSuffix(e.get("GITHUB_URL", "https://github.com"), "/"),
		GitHubAPIURL:   strings.TrimSuffix(e.get("GITHUB_API_URL", "https://api.github.com"), "/"),
		GoogleClientID: e.get("GOOGLE_CLIENT_ID", ""), GoogleClientSecret: e.get("GOOGLE_CLIENT_SECRET", ""),
		// Not trimmed: the issuer is compared byte for byte with each ID token's
		// "iss", and Auth0-style issuers end with "/" (see discoverOpenID).
		OIDCIssuerURL: e.get("OIDC_ISSUER_URL", ""),
		OIDCClientID:  e.get("OIDC_CLIENT_ID", ""), OIDCClientSecret: e.get("OIDC_CLIENT_SECRET", ""),
		OIDCName: e.get("OIDC_NAME", "Single sign-on"),
	}
	return nil
}

// loadAccess reads who may open /admin and which origins may call the API.
func (c *Config) loadAccess(e env) error {
	c.AdminEmails = map[string]bool{}
	for _, a := range strings.Split(e.get("ADMIN_EMAILS", ""), ",") {
		if a = normalizeAdminEmail(a); a != "" {
			c.AdminEmails[a] = true
		}
	}
	c.CORSOrigins = map[string]bool{}
	for _, o := range strings.Split(e.get("CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("config: CORS_ORIGINS must list origins such as https://app.example.com, got %q", o)
		}
		c.CORSOrigins[o] = true
	}
	return nil
}

// loadBackups reads the schedule of snapshots.
func (c *Config) loadBackups(e env) error {
	c.BackupDir = e.get("BACKUP_DIR", "")
	var err error
	if c.BackupInterval, err = time.ParseDuration(e.get("BACKUP_INTERVAL", "24h")); err != nil || c.BackupInterval < time.Minute {
		return fmt.Errorf("config: BACKUP_INTERVAL must be a duration of at least 1m such as 6h, got %q", e("BACKUP_INTERVAL"))
	}
	if c.BackupKeep, err = strconv.Atoi(e.get("BACKUP_KEEP", "7")); err != nil || c.BackupKeep < 1 {
		return fmt.Errorf("config: BACKUP_KEEP must be a number of at least 1, got %q", e("BACKUP_KEEP"))
	}
	return nil
}

// loadMail reads the sender, the SMTP server and magic-link sign-up.
func (c *Config) loadMail(e env) error {
	c.MailFrom = e.get("MAIL_FROM", "Skiff <no-reply@localhost>")
	var err error
	if c.MagicLinkSignup, err = parseBool(e.get("MAGIC_LINK_SIGNUP", "false")); err != nil {
		return fmt.Errorf("config: MAGIC_LINK_SIGNUP must be true or false, got %q", e("MAGIC_LINK_SIGNUP"))
	}
	if raw := e.get("SMTP_URL", ""); raw != "" {
		c.SMTPURL, err = parseSMTPURL(raw)
	}
	return err
}

// parseSMTPURL checks SMTP_URL's scheme, host and TLS option.
func parseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("config: SMTP_URL must look like smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465")
	}
	tls := u.Query().Get("tls")
	if tls != "" && tls != "required" {
		return nil, fmt.Errorf("config: SMTP_URL's tls option can only be tls=required, got %q", tls)
	}
	// go-mail sends a password only over TLS; without it, it picks a
	// challenge mechanism (CRAM-MD5, SCRAM) or, against the usual
	// PLAIN/LOGIN server, fails every send, even to localhost. And TLS
	// only "when offered" is TLS an attacker on the path can take away.
	// So a password comes with TLS required, and this says so now
	// rather than in a log line at every retry.
	if u.Scheme == "smtp" && u.User != nil && tls != "required" {
		return nil, errors.New("config: SMTP_URL has a user name, so it must require TLS: " +
			"add ?tls=required (STARTTLS, usually port 587) or use smtps:// (port 465)")
	}
	return u, nil
}

// loadBaseURL reads the public origin, last; Validate checks its shape.
func (c *Config) loadBaseURL(e env) error {
	raw := e.get("BASE_URL", "http://localhost:8080")
	var err error
	if c.BaseURL, err = url.Parse(raw); err != nil {
		return fmt.Errorf("config: BASE_URL is not a URL: %q", raw)
	}
	return nil
}

// isLoopback reports whether addr (host:port) can only be reached from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}

// Validate reports the first bad setting as one line that names its key.
// Each group of settings is checked by a function of its own, in this order.
func (c Config) Validate() error {
	for _, check := range []func() error{c.validateServer, c.validateStripe, c.validateOAuth, c.validateMail, c.validateLogLevel} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateServer checks the environment, the public origin, the addresses
// and the database path.
func (c Config) validateServer() error {
	switch {
	case c.Env != "development" && c.Env != "production":
		return fmt.Errorf("config: APP_ENV must be development or production, got %q", c.Env)
	case c.BaseURL == nil || (c.BaseURL.Scheme != "http" && c.BaseURL.Scheme != "https") || c.BaseURL.Host == "":
		return errors.New("config: BASE_URL must be an absolute http:// or https:// URL such as https://app.example.com")
	case c.BaseURL.Path != "" && c.BaseURL.Path != "/", c.BaseURL.RawQuery != "", c.BaseURL.Fragment != "", c.BaseURL.User != nil:
		return fmt.Errorf("config: BASE_URL must be an origin only (scheme and host), got %q", c.BaseURL)
	case c.Env == "production" && c.BaseURL.Scheme != "https":
		return fmt.Errorf("config: BASE_URL must use https:// when APP_ENV=production, got %q", c.BaseURL)
	case c.Addr == "":
		return errors.New("config: ADDR must not be empty")
	case c.DatabaseURL != "" && !db.IsPostgres(c.DatabaseURL):
		return errors.New("config: DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:5432/name (leave it empty for the SQLite file at DATABASE_PATH)")
	case c.DatabaseURL == "" && (c.DatabasePath == "" || strings.ContainsAny(c.DatabasePath, "?#")):
		return fmt.Errorf("config: DATABASE_PATH must be a file path without '?' or '#', got %q", c.DatabasePath)
	case c.PprofAddr != "" && !isLoopback(c.PprofAddr):
		return fmt.Errorf("config: PPROF_ADDR must be a loopback address such as 127.0.0.1:6060 (the profiler must never be public), got %q", c.PprofAddr)
	}
	return nil
}

// validateStripe checks the redirect origins, and the keys and prices when
// billing is on.
func (c Config) validateStripe() error {
	// Each origin goes into the Content-Security-Policy header as it is.
	for _, o := range c.Stripe.RedirectOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme != "https" || u.Host == "" || o != "https://"+u.Host ||
			strings.ContainsFunc(u.Host, func(r rune) bool { return !strings.ContainsRune(hostChars, r) }) {
			return fmt.Errorf("config: STRIPE_REDIRECT_ORIGINS must list https origins such as https://checkout.stripe.com, got %q", o)
		}
	}
	st := c.Stripe
	if !st.Enabled() {
		return nil
	}
	switch {
	case !strings.HasPrefix(st.SecretKey, "sk_") && !strings.HasPrefix(st.SecretKey, "rk_"):
		return errors.New("config: STRIPE_SECRET_KEY must be a secret key (sk_test_... or sk_live_...)")
	case st.PricePro == "" || st.PriceEnterprise == "":
		return errors.New("config: STRIPE_PRICE_PRO and STRIPE_PRICE_ENTERPRISE must be set when STRIPE_SECRET_KEY is (price_... ids)")
	}
	if st.APIBase != "" {
		if u, err := url.Parse(st.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("config: STRIPE_API_BASE must be an http(s) URL, got %q", st.APIBase)
		}
	}
	return nil
}

// validateOAuth checks that each provider's id and secret come together, and
// the providers' URLs.
func (c Config) validateOAuth() error {
	o := c.OAuth
	for _, p := range []struct{ key, id, secret string }{
		{"GITHUB", o.GitHubClientID, o.GitHubClientSecret},
		{"GOOGLE", o.GoogleClientID, o.GoogleClientSecret},
		{"OIDC", o.OIDCClientID, o.OIDCClientSecret},
	} {
		if (p.id == "") != (p.secret == "") {
			return fmt.Errorf("config: %s_CLIENT_ID and %s_CLIENT_SECRET must be set together", p.key, p.key)
		}
	}
	for key, v := range map[string]string{"GITHUB_URL": o.GitHubURL, "GITHUB_API_URL": o.GitHubAPIURL, "OIDC_ISSUER_URL": o.OIDCIssuerURL} {
		if v == "" && key == "OIDC_ISSUER_URL" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("config: %s must be an http(s) URL, got %q", key, v)
		}
	}
	if (o.OIDCClientID != "") != (o.OIDCIssuerURL != "") {
		return errors.New("config: OIDC_ISSUER_URL and OIDC_CLIENT_ID must be set together")
	}
	return nil
}

// validateMail checks the sender, and that production has a mail server.
func (c Config) validateMail() error {
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
		return fmt.Errorf("config: MAIL_FROM must be an address such as \"Skiff <no-reply@example.com>\", got %q", c.MailFrom)
	}
	if c.Env == "production" && c.SMTPURL == nil {
		return errors.New("config: SMTP_URL must be set when APP_ENV=production (without it mail only reaches the development mailbox)")
	}
	return nil
}

// validateLogLevel checks LOG_LEVEL.
func (c Config) validateLogLevel() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("config: LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
}

// hostChars are the characters of a host name with its port.
const hostChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:"

// Secure reports whether the site is served over HTTPS, which turns on Secure
// __Host- cookies and HSTS.
func (c Config) Secure() bool { return c.BaseURL.Scheme == "https" }

// Dev reports whether the app runs in development mode.
func (c Config) Dev() bool { return c.Env == "development" }

// Origin returns BASE_URL without a trailing slash, for building links.
func (c Config) Origin() string { return c.BaseURL.Scheme + "://" + c.BaseURL.Host }

// parsePrefixes reads comma-separated CIDR ranges; a bare address is its
// own range (/32 or /128).
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return strconv.ParseBool(s)
}

// WithDotEnv returns a getenv that falls back to the KEY=VALUE lines of the
// file at path when the real environment does not set a key: the real
// environment always wins. A missing file is not an error.
func WithDotEnv(path string, getenv func(string) string) (func(string) string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i]) // trailing comment on an unquoted value
		}
		file[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return file[key]
	}, nil
}

// normalizeAdminEmail puts an ADMIN_EMAILS entry, and the address it is
// compared with, in the form every address is stored in (normalizeEmail), so
// "Boss@Bücher.de" in the environment matches the account
// boss@xn--bcher-kva.de, and a look-alike account cannot match it.
func normalizeAdminEmail(s string) string { return normalizeEmail(s) }
