package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"skiff/db"
)

// Server is the HTTP application. Every dependency is an explicit field, set
// by NewServer.
type Server struct {
	cfg      Config
	db       *db.DB
	log      *slog.Logger
	sessions *scs.SessionManager
	store    sessionStore
	hasher   *passwordHasher
	stripe   *stripeclient.API // nil when billing is not configured
	plans    []Plan

	loginIPLimiter   *rateLimiter
	loginFailLimiter *rateLimiter
	signupIPLimiter  *rateLimiter
	handler          http.Handler
}

// NewServer wires the application together. Call Close when done with it.
func NewServer(cfg Config, database *db.DB, logger *slog.Logger) *Server {
	s := &Server{
		cfg:    cfg,
		db:     database,
		log:    logger,
		hasher: newPasswordHasher(defaultArgon),
		stripe: newStripeClient(cfg.Stripe, logger),
		plans:  newPlans(cfg.Stripe),
		store: sessionStore{
			read:  sqlite3store.NewWithCleanupInterval(database.Read, 0),
			write: sqlite3store.NewWithCleanupInterval(database.Write, 30*time.Minute),
		},
		loginIPLimiter:   newRateLimiter(cfg.Limits.LoginPerIP, 100_000),
		loginFailLimiter: newRateLimiter(cfg.Limits.LoginFailsPerUser, 100_000),
		signupIPLimiter:  newRateLimiter(cfg.Limits.SignupPerIP, 100_000),
	}
	s.sessions = newSessionManager(cfg, s.store)
	s.sessions.ErrorFunc = s.serverError
	s.handler = s.routes()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Close stops the server's background work (expired-session cleanup).
func (s *Server) Close() {
	s.store.write.StopCleanup()
}
