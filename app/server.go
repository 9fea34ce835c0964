package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
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
	// seatQueue holds teams whose members changed, for the seat worker
	// (billing_seats.go).
	seatQueue chan int64
	oauth     []*oauthProvider // configured social logins, in button order
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
	// freshCodes are the recovery codes just made, for their page (auth_2fa_codes.go).
	freshCodes freshCodes
	handler    http.Handler
	started    bool
	now        func() time.Time // the clock of TOTP checks, fresh recovery codes and backup names (tests move it)
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
		loginIPLimiter:     newRateLimiter(cfg.Limits.LoginPerIP, 100_000),
		loginFailLimiter:   newRateLimiter(cfg.Limits.LoginFailsPerUser, 100_000),
		signupIPLimiter:    newRateLimiter(cfg.Limits.SignupPerIP, 100_000),
		mailAddrLimiter:    newRateLimiter(cfg.Limits.MailPerAddress, 100_000),
		mailIPLimiter:      newRateLimiter(cfg.Limits.MailPerIP, 100_000),
		apiLimiter:         newRateLimiter(cfg.Limits.APIPerUser, 100_000),
		twoFactorLimiter:   newRateLimiter(cfg.Limits.TwoFactorPerUser, 100_000),
		emailChangeLimiter: newRateLimiter(cfg.Limits.EmailChangePerUser, 100_000),
		outbox:             newOutbox(database, mailer, logger),
		seatQueue:          make(chan int64, 256),
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
// the seats of paying teams) until ctx ends.
func (s *Server) Start(ctx context.Context) {
	s.started = true
	go s.outbox.run(ctx)
	go s.runNightlySync(ctx)
	go s.runSeatSync(ctx)
	go s.runScheduledBackups(ctx)
}

// Close stops the expired-session cleanup and, if Start ran, waits for the
// mail worker to finish the mail it is sending (cancel Start's ctx first).
func (s *Server) Close() {
	s.store.write.StopCleanup()
	if s.started {
		<-s.outbox.done
	}
}
