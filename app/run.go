package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"skiff/db"
)

// Version is stamped at build time: go build -ldflags "-X skiff/app.Version=v1.2.3".
var Version = "dev"

const usage = `Skiff: a single-binary SaaS starter kit.

Usage: skiff [command]

Commands:
  serve         start the web server (the default)
  migrate       apply pending database migrations and exit
  backup PATH   write a consistent, checked snapshot of the database to PATH
  restore PATH  replace the database with the snapshot at PATH (server stopped)
  copy-to-postgres URL
                copy the SQLite database into an empty PostgreSQL one at URL
                (server stopped), check every table's rows, say what to change
  stripe-setup  check the Stripe prices and create the webhook endpoint
  stripe-sync   reconcile every customer's subscriptions from Stripe
  healthcheck   exit 0 when the server on ADDR is ready (GET /readyz), else 1
  version       print the version and exit
  help          show this help

Configuration comes from the environment and from a .env file in the
working directory (the environment wins). See .env.example.
`

// Run is the whole program: main only adds the process's environment and
// signals, so tests can run it too. It reads the command and the settings,
// then hands over to the command's own function.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "skiff", versionString())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "stripe-setup", "stripe-sync", "backup", "restore", "healthcheck", "copy-to-postgres":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}

	getenv, err := WithDotEnv(".env", getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)

	switch cmd {
	case "backup", "restore":
		if len(args) != 2 || args[1] == "" {
			return fmt.Errorf("usage: skiff %s PATH", cmd)
		}
		return backupOrRestore(ctx, cmd, args[1], cfg, stdout)
	case "migrate":
		return runMigrate(ctx, cfg, logger)
	case "copy-to-postgres":
		if len(args) != 2 || !db.IsPostgres(args[1]) {
			return errors.New("usage: skiff copy-to-postgres postgres://user:password@host:5432/name")
		}
		return copyToPostgres(ctx, cfg, args[1], logger, stdout)
	case "healthcheck":
		return runHealthcheck(ctx, cfg, stdout)
	case "stripe-setup", "stripe-sync":
		return runStripeCommand(ctx, cmd, cfg, logger, stdout)
	}
	return runServe(ctx, cfg, logger)
}

// runMigrate is `skiff migrate`: apply pending migrations and exit.
func runMigrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	database, applied, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer database.Close()
	// A log line like the server's (JSON in production), not a plain one:
	// the unit runs this before each start, into the same journal.
	logger.Info("database is up to date", "database", database.Target(), "migrations_applied", len(applied))
	return nil
}

// runStripeCommand is `skiff stripe-setup` and `skiff stripe-sync`, which
// need the whole server's Stripe client and plans, but no HTTP listener.
func runStripeCommand(ctx context.Context, cmd string, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	if cmd == "stripe-sync" {
		// It reconciles the subscriptions of existing customers: an empty,
		// new database (the wrong DATABASE_PATH) has none.
		if err := databaseExists(cfg); err != nil {
			return err
		}
	}
	database, _, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer database.Close()
	mailer, err := newMailer(cfg, logger)
	if err != nil {
		return err
	}
	srv, err := NewServer(ctx, cfg, database, logger, mailer)
	if err != nil {
		return err
	}
	defer srv.Close()
	if cmd == "stripe-setup" {
		return stripeSetup(ctx, cfg, srv, stdout)
	}
	n, err := srv.syncStripe(ctx)
	fmt.Fprintf(stdout, "%d subscription(s) reconciled\n", n)
	// Then each paying team's seats, from the subscriptions just read.
	seats, seatErr := srv.syncAllSeats(ctx)
	fmt.Fprintf(stdout, "%d subscription(s) set to their team's members\n", seats)
	return errors.Join(err, seatErr)
}

// runServe is `skiff serve`: it holds the database's lock, opens it and
// serves until ctx ends.
func runServe(ctx context.Context, cfg Config, logger *slog.Logger) error {
	// One server per SQLite file; restore checks the same lock. Several
	// instances share a PostgreSQL database.
	if !cfg.Postgres() {
		unlock, err := db.LockFile(cfg.DatabasePath)
		if errors.Is(err, db.ErrLocked) {
			return fmt.Errorf("another skiff is already serving %s", cfg.DatabasePath)
		}
		if err != nil {
			return err
		}
		defer unlock()
	}
	database, _, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer database.Close()
	mailer, err := newMailer(cfg, logger)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, database, logger, mailer)
}

// openDatabase opens the database, applies pending migrations (returning
// their names) and rewrites stored addresses into their normal form.
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger) (*db.DB, []string, error) {
	database, err := db.Open(ctx, cfg.Database())
	if err != nil {
		return nil, nil, err
	}
	applied, err := database.Migrate(ctx)
	if err != nil {
		database.Close()
		return nil, nil, err
	}
	for _, name := range applied {
		logger.Info("migration applied", "name", name)
	}
	// Addresses stored before their normal form changed (a Unicode domain
	// is now kept as xn--): rewritten once, so their owners can still log in.
	changed, conflicts, err := database.RewriteEmails(ctx, normalizeEmail)
	if err != nil {
		database.Close()
		return nil, nil, err
	}
	if changed > 0 {
		logger.Info("addresses rewritten in their normal form", "count", changed)
	}
	for _, email := range conflicts {
		logger.Warn("an address has the same normal form as another account's: left as it is, merge or rename one", "email", email)
	}
	return database, applied, nil
}

// serve runs the HTTP server until ctx is cancelled (SIGINT or SIGTERM), then
// lets in-flight requests finish before returning.
func serve(ctx context.Context, cfg Config, database *db.DB, logger *slog.Logger, mailer Mailer) error {
	srv, err := NewServer(ctx, cfg, database, logger, mailer)
	if err != nil {
		return err
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	if err := srv.Start(workCtx); err != nil {
		stopWork()
		srv.Close()
		return err
	}
	defer srv.Close()
	defer stopWork() // runs before Close: the mail worker stops after the HTTP server
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, how, err := listen(cfg)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on PPROF_ADDR %s: %w", cfg.PprofAddr, err)
		}
		defer startProfiler(pln, logger).Close()
	}
	logger.Info("skiff is ready", "version", versionString(), "addr", ln.Addr().String(), "listener", how, "url", cfg.Origin(), "env", cfg.Env)
	if cfg.Dev() && srv.devMail != nil && !isLoopback(cfg.Addr) {
		// Other machines can reach this instance, but never its mail.
		logger.Warn("ADDR is not a loopback address: the development mailbox (/dev/mail) only answers clients on this machine", "addr", cfg.Addr)
	}

	if srv.stripe != nil && cfg.Stripe.WebhookSecret == "" {
		logger.Warn("STRIPE_WEBHOOK_SECRET is not set: webhooks are refused until it is (run `skiff stripe-setup`)")
	}
	d := newDrainer(httpServer)
	go checkMailServer(workCtx, mailer, cfg.SMTPURL, logger)
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if cfg.DrainDelay > 0 {
		// Several instances: /readyz says so first, and the load balancer
		// stops sending here before the listener closes.
		srv.draining.Store(true)
		logger.Info("draining: /readyz answers 503 before the listener closes", "drain_delay", cfg.DrainDelay.String())
		time.Sleep(cfg.DrainDelay)
	}
	logger.Info("shutting down: finishing requests in flight")
	if err := d.shutdown(ln, 25*time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated by Config.Validate
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Dev() {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func versionString() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return Version
}
