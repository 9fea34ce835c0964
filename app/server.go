package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-webauthn/webauthn/webauthn"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"skiff/db"
)

// Server is the HTTP application. Every dependency is an explicit field, set
// by NewServer.
type Server struct {
	// pagePatterns are the page routes registered through groups, in order:
	// tests walk them (every route of a team is in the isolation matrix).
	pagePatterns []string
	// apiPatterns are the JSON API's endpoints, in order.
	apiPatterns []string
	// teamActions is each team route's action in the permission table.
	teamActions map[string]string

	cfg      Config
	db       *db.DB
	log      *slog.Logger
	sessions *scs.SessionManager
	store    sessionStore
	hasher   *passwordHasher
	stripe   *stripeclient.API  // nil when billing is not configured
	webauthn *webauthn.WebAuthn // the passkeys' relying party: BASE_URL
	outbox   *outbox
	// draining is set once the server is stopping (DRAIN_DELAY): /readyz
	// answers 503 while requests are still served.
	draining atomic.Bool
	// jobs runs the background work: goroutines on SQLite, River's jobs on
	// Postgres (jobs.go).
	jobs  jobRunner
	oauth []*oauthProvider // configured social logins, in button order
	// oauthHTTP calls the OAuth providers (tests point it at fakes).
	oauthHTTP *http.Client
	plans     []Plan
	// devMail is the development mailbox when it is the mailer, else nil.
	devMail *devMailer

	loginIPLimiter     *rateLimiter
	loginFailLimiter   *rateLimiter
	signupIPLimiter    *rateLimiter
	mailAddrLimiter    *rateLimiter
	mailIPLimiter      *rateLimiter
	apiLimiter         *rateLimiter // per user
	twoFactorLimiter   *rateLimiter
	emailChangeLimiter *rateLimiter
	handler            http.Handler
	now                func() time.Time // the clock of TOTP checks, fresh recovery codes and backup names (tests move it)
}

// NewServer wires the application together. Start its background work with
// Start, and call Close when done with it. It fails when an OpenID Connect
// issuer is configured and its discovery document cannot be read.
func NewServer(ctx context.Context, cfg Config, database *db.DB, logger *slog.Logger, mailer Mailer) (*Server, error) {
	database.SetReadCache(cfg.ReadCache) // READ_CACHE=off: every read goes to SQLite
	s := &Server{
		teamActions: map[string]string{},
		cfg:         cfg,
		db:          database,
		log:         logger,
		hasher:      newPasswordHasher(defaultArgon),
		stripe:      newStripeClient(cfg.Stripe, logger),
		plans:       newPlans(cfg.Stripe),
		store: sessionStore{
			db:    database,
			write: newSessionWriter(database),
		},
		loginIPLimiter:   newRateLimiter(cfg.Limits.LoginPerIP, 100_000).sharedIn(database, "login_ip", logger),
		loginFailLimiter: newRateLimiter(cfg.Limits.LoginFailsPerUser, 100_000).sharedIn(database, "login_fails", logger),
		signupIPLimiter:  newRateLimiter(cfg.Limits.SignupPerIP, 100_000).sharedIn(database, "signup_ip", logger),
		mailAddrLimiter:  newRateLimiter(cfg.Limits.MailPerAddress, 100_000).sharedIn(database, "mail_address", logger),
		mailIPLimiter:    newRateLimiter(cfg.Limits.MailPerIP, 100_000).sharedIn(database, "mail_ip", logger),
		// Per instance, also on Postgres: a request budget, not a guard of
		// secrets, and one write per API call would cost more than it saves.
		apiLimiter:         newRateLimiter(cfg.Limits.APIPerUser, 100_000),
		twoFactorLimiter:   newRateLimiter(cfg.Limits.TwoFactorPerUser, 100_000).sharedIn(database, "two_factor", logger),
		emailChangeLimiter: newRateLimiter(cfg.Limits.EmailChangePerUser, 100_000).sharedIn(database, "email_change", logger),
		outbox:             newOutbox(database, mailer, logger),
	}
	s.now = time.Now
	s.devMail, _ = mailer.(*devMailer) // GET /dev/mail lists what it holds
	s.oauthHTTP = &http.Client{Timeout: 15 * time.Second}
	var err error
	if s.oauth, err = s.newOAuthProviders(ctx); err != nil {
		s.store.write.StopCleanup()
		return nil, err
	}
	if s.webauthn, err = newWebAuthn(cfg); err != nil {
		s.store.write.StopCleanup()
		return nil, fmt.Errorf("passkeys: BASE_URL %s: %w", cfg.Origin(), err)
	}
	if s.webauthn == nil {
		logger.Warn("passkeys are off: BASE_URL's host is an IP address, and WebAuthn needs a domain name (localhost works in development)", "base_url", cfg.Origin())
	}
	if s.jobs, err = newJobRunner(s); err != nil {
		s.store.write.StopCleanup()
		return nil, err
	}
	s.sessions = newSessionManager(cfg, s.store)
	s.sessions.ErrorFunc = s.serverError
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Start runs the background work (mail delivery, the daily billing sync,
// the seats of paying teams, backups, clean-up) until ctx ends (jobs.go).
func (s *Server) Start(ctx context.Context) error {
	return s.jobs.start(ctx)
}

// Close stops the expired-session cleanup and waits for the background work
// under way to finish, the mail being sent above all (cancel Start's ctx
// first).
func (s *Server) Close() {
	s.store.write.StopCleanup()
	s.jobs.stop()
}
