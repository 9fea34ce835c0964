package app

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"skiff/db"
)

// Session keys.
const (
	sessionUserID    = "user_id"
	sessionAuthEpoch = "auth_epoch" // the user's auth_epoch at login
	sessionFlash     = "flash"
	sessionAuthAt    = "auth_at" // Unix time of the login, for re-authentication
	sessionSID       = "sid"     // the id of this session's row in user_sessions

	// Between the first factor and the TOTP code.
	sessionMFAUser     = "mfa_user_id"
	sessionMFAEpoch    = "mfa_auth_epoch" // a reset meanwhile voids the half-done login
	sessionMFARemember = "mfa_remember"
	sessionMFAUntil    = "mfa_until"
	sessionTOTPPending = "totp_pending" // an enrolment's key URL until confirmed
)

// Session lifetimes: a remembered login lasts 30 days; any other ends with the
// browser, and at most 12 hours after login.
const (
	rememberedSessionLifetime = 30 * 24 * time.Hour
	browserSessionLifetime    = 12 * time.Hour
)

func newSessionManager(cfg Config, store scs.Store) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.Codec = sessionCodec{memo: &decodeMemo{}}
	sm.Lifetime = rememberedSessionLifetime
	sm.IdleTimeout = 0 // an idle timeout would write the session on every request
	sm.HashTokenInStore = true
	sm.Cookie.Name = "session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = ""
	sm.Cookie.Persist = false // persistent only when "remember me" is ticked
	sm.Cookie.Secure = cfg.Secure()
	if cfg.Secure() {
		// __Host- cookies must be Secure, host-only and Path=/: a subdomain
		// or a plain-HTTP page cannot plant or overwrite them.
		sm.Cookie.Name = "__Host-session"
	}
	return sm
}

// sessionStore is scs/sqlite3store writing through the single writer
// connection, with lookups on the read pool through a prepared statement (a
// lookup happens on every request that carries a cookie).
type sessionStore struct {
	db    *db.DB
	write sessionWriter
}

// sessionWriter is scs's store for the engine: sqlite3store or postgresstore.
type sessionWriter interface {
	Commit(token string, b []byte, expiry time.Time) error
	Delete(token string) error
	StopCleanup()
}

// newSessionWriter returns scs's store for d's engine. sqlite3store deletes
// expired sessions every 30 minutes; on Postgres the clean-up job does, once
// for every instance (jobs.go).
func newSessionWriter(d *db.DB) sessionWriter {
	if d.Postgres() {
		return postgresstore.NewWithCleanupInterval(d.Write, 0)
	}
	return sqlite3store.NewWithCleanupInterval(d.Write, 30*time.Minute)
}

func (s sessionStore) Find(token string) ([]byte, bool, error) {
	return s.db.SessionData(context.Background(), token)
}

// FindCtx is Find with the request's context (scs prefers it).
func (s sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return s.db.SessionData(ctx, token)
}
func (s sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.write.Commit(token, b, expiry)
}
func (s sessionStore) Delete(token string) error { return s.write.Delete(token) }

// loadAndSaveSession is scs's LoadAndSave, except for HEAD: a HEAD request
// (what mail scanners and link previews send) reads the session like a GET,
// so it gets the GET's answer, but whatever the handler changes in it is never
// saved: no flash consumed, no OAuth flow or enrolment started, no cookie set.
// HEAD never changes anything (the handlers skip their few GET-time database
// writes on HEAD too: readOnly).
func (s *Server) loadAndSaveSession(next http.Handler) http.Handler {
	save := s.sessions.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnly(r) {
			save.ServeHTTP(w, r)
			return
		}
		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// readOnly reports whether this request must change nothing: HEAD, which
// Go's mux routes to GET handlers.
func readOnly(r *http.Request) bool { return r.Method == http.MethodHead }

// startSession is called once u proved the first factor (password, magic
// link, provider). With two-factor on, it remembers the half-done login and
// returns errSecondFactor (logIn sends the user to /login/2fa);
// otherwise it completes the login. It must run before anything is written.
func (s *Server) startSession(r *http.Request, u db.User, remember bool) error {
	ctx := r.Context()
	if u.Disabled {
		return errAccountDisabled
	}
	secret, err := s.db.TOTPSecret(ctx, u.ID)
	if err != nil {
		return err
	}
	if secret != "" {
		if err := s.sessions.RenewToken(ctx); err != nil {
			return err
		}
		s.sessions.Remove(ctx, sessionUserID)
		s.sessions.Put(ctx, sessionMFAUser, u.ID)
		s.sessions.Put(ctx, sessionMFAEpoch, u.AuthEpoch)
		s.sessions.Put(ctx, sessionMFARemember, remember)
		s.sessions.Put(ctx, sessionMFAUntil, time.Now().Add(5*time.Minute).Unix())
		return errSecondFactor
	}
	return s.completeSession(r, u, remember)
}

// completeSession logs u (freshly read) in on this request's session: a new
// token (session fixation), the session's row in the user's list, a mail about
// a new device. A disabled account gets errAccountDisabled.
func (s *Server) completeSession(r *http.Request, u db.User, remember bool) error {
	ctx := r.Context()
	for _, k := range []string{sessionMFAUser, sessionMFAEpoch, sessionMFARemember, sessionMFAUntil} {
		s.sessions.Remove(ctx, k)
	}
	if u.Disabled {
		return errAccountDisabled
	}
	sid := base64.RawURLEncoding.EncodeToString(randomBytes(16))
	device, ip := deviceName(r.UserAgent()), s.clientIP(r)
	err := s.db.Tx(ctx, func(q db.Queries) error {
		if err := q.RecordLogin(ctx, u.ID); err != nil {
			return err
		}
		newDevice, err := q.StartUserSession(ctx, sid, u.ID, device, ip)
		if err != nil || !newDevice {
			return err
		}
		return s.queueMail(ctx, q, u.Email, newSignInMail(device, ip, time.Now(), s.cfg.Origin()))
	})
	if err != nil {
		return err
	}
	s.outbox.notify()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionSID, sid)
	s.sessions.Put(ctx, sessionUserID, u.ID)
	s.sessions.Put(ctx, sessionAuthEpoch, u.AuthEpoch)
	s.sessions.Put(ctx, sessionAuthAt, time.Now().Unix())
	s.sessions.RememberMe(ctx, remember)
	if !remember {
		// RenewToken set the deadline to the 30-day Lifetime; shorten it.
		s.sessions.SetDeadline(ctx, time.Now().Add(browserSessionLifetime).UTC())
	}
	return nil
}

// keepSession keeps this request's session logged in across a change that
// ended the user's other sessions (which bumped auth_epoch to epoch): a new
// token, as for any privilege change, and the new epoch.
func (s *Server) keepSession(ctx context.Context, epoch int64) error {
	if err := s.renewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionAuthEpoch, epoch)
	return nil
}

// renewToken gives the session a new token and keeps its deadline: scs's
// RenewToken resets it to the 30-day Lifetime, which would turn a browser
// session (12 hours at most after login) into a remembered one. Every renewal
// after login goes through here.
func (s *Server) renewToken(ctx context.Context) error {
	deadline := s.sessions.Deadline(ctx)
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	if !deadline.IsZero() {
		s.sessions.SetDeadline(ctx, deadline)
	}
	return nil
}

// errSessionEnded means this request's session was ended (a reset, a first
// proof, a disable, a sign-out) while the request was under way.
var errSessionEnded = errors.New("session ended meanwhile")

// userTx runs fn in a write transaction of the logged-in user that first
// checks, inside it, that this request's session still stands. A request
// authenticates when it starts, then may spend most of its time in argon2id;
// without the check, a change that ended the session meanwhile (a reset, a
// first proof) could be undone by it: a password set, a token or link issued
// after the reset had revoked everything.
func (s *Server) userTx(r *http.Request, fn func(q db.Queries) error) error {
	ctx := r.Context()
	u := s.currentUser(r)
	epoch := s.sessions.GetInt64(ctx, sessionAuthEpoch)
	return s.db.Tx(ctx, func(q db.Queries) error {
		ok, err := q.SessionValid(ctx, u.ID, epoch, state(r).sid)
		if err != nil {
			return err
		}
		if !ok {
			return errSessionEnded
		}
		return fn(q)
	})
}

// userTxFailed answers the error of a userTx whose session ended meanwhile:
// the browser is logged out and sent to log in again. Any other error is
// returned.
func (s *Server) userTxFailed(w http.ResponseWriter, r *http.Request, err error) error {
	if !errors.Is(err, errSessionEnded) {
		return err
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	s.redirect(w, r, "/login", "Your session ended meanwhile (a password reset, or a sign-out). Please log in again.")
	return nil
}

// errAccountDisabled stops every way into an account the admin disabled
// (startSession, the mailed links, a provider's callback). It is the answer
// too: returned to the page adapter, it is this 403 page.
var errAccountDisabled = &clientError{Status: http.StatusForbidden, Code: "account_disabled", Title: "Account disabled",
	Message: "This account has been disabled. Contact support if you think this is a mistake."}

// errSecondFactor means the login waits for the TOTP code.
var errSecondFactor = errors.New("second factor required")

// logIn starts u's session once the first factor is proven (startSession)
// and sends the browser on to next with flash, or first to the second
// factor's page (the flash is then dropped: the login is not done).
func (s *Server) logIn(w http.ResponseWriter, r *http.Request, u db.User, remember bool, next, flash string) error {
	err := s.startSession(r, u, remember)
	if errors.Is(err, errSecondFactor) {
		http.Redirect(w, r, "/login/2fa", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, next, flash)
	return nil
}

// loadUser puts the logged-in user, if any, into the request state. A session
// whose user is gone, or whose auth epoch is older than the user's (after a
// password reset or "sign out everywhere"), is destroyed.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		st := state(r)
		st.sessionLoaded = true
		id := s.sessions.GetInt64(ctx, sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		sid := s.sessions.GetString(ctx, sessionSID)
		su, err := s.db.UserForSession(ctx, id, sid)
		u, sub := su.User, su.Sub
		switch {
		case errors.Is(err, db.ErrNotFound) || (err == nil && (u.AuthEpoch != s.sessions.GetInt64(ctx, sessionAuthEpoch) || su.LastSeen.IsZero() || u.Disabled)):
			// The user is gone, signed out everywhere or disabled, or this
			// session was revoked: anonymous from now on (HEAD changes
			// nothing, and scs's Destroy deletes at once).
			if !readOnly(r) {
				if err := s.sessions.Destroy(ctx); err != nil {
					s.serverError(w, r, err)
					return
				}
			}
		case err != nil:
			s.serverError(w, r, err)
			return
		default:
			st.user, st.sub, st.plan, st.sid, st.team, st.lastTeam = &u, sub, PlanFree, sid, su.Team, su.LastTeam
			if sub != nil {
				st.plan = entitledPlan(sub.Status, sub.Plan)
			}
			// "Last seen" is refreshed at most every five minutes, so a
			// read-only request almost never writes.
			if time.Since(su.LastSeen) > lastSeenEvery && !readOnly(r) {
				if err := s.db.TouchUserSession(ctx, sid); err != nil {
					// Logged, not answered: "last seen" is a courtesy, and
					// the request does not depend on it.
					s.log.Warn("touch session", "err", err, "request_id", st.id)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// currentUser returns the logged-in user or nil.
func (s *Server) currentUser(r *http.Request) *db.User {
	return state(r).user
}

// requireUser sends anonymous visitors to the login page, coming back here after.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.currentUser(r) == nil {
			target := "/login"
			if r.Method == http.MethodGet {
				target += "?next=" + urlQueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}
