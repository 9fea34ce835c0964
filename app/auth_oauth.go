package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"skiff/db"
	"skiff/views"
)

// oauthRoutes registers social login and connecting or disconnecting a
// provider from settings.
func (s *Server) oauthRoutes(public, user group) {
	public.handle("GET /auth/{provider}", old(s.handleOAuthBegin))
	public.handle("GET /auth/{provider}/callback", old(s.handleOAuthCallback))
	user.handle("POST /settings/identities/connect", old(s.handleIdentityConnect))
	user.handle("POST /settings/identities/{id}/delete", old(s.handleIdentityDelete))
}

// oauthProvider returns the configured provider with this id, or nil.
func (s *Server) oauthProvider(id string) *oauthProvider {
	for _, p := range s.oauth {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// providerButtons lists the configured providers for the login and signup pages.
func (s *Server) providerButtons() []views.Provider {
	var out []views.Provider
	for _, p := range s.oauth {
		out = append(out, views.Provider{ID: p.ID, Name: p.Name})
	}
	return out
}

// oauthPending is what the session remembers between the redirect to the
// provider and the callback: in the user's own scs session, not a cookie of
// its own, for one use and ten minutes.
type oauthPending struct {
	Provider string    `json:"provider"`
	State    string    `json:"state"`
	Verifier string    `json:"verifier"` // PKCE: its S256 hash went to the provider, it goes with the code
	Nonce    string    `json:"nonce"`    // OpenID Connect: the ID token must carry it back
	Expires  time.Time `json:"expires"`
	Next     string    `json:"next"`
	UserID   int64     `json:"user_id"` // connecting the provider to this logged-in user; 0 for a login
}

const sessionOAuth = "oauth_pending"

// handleOAuthBegin handles "GET /auth/{provider}": redirect to the provider
// to log in. Connecting a provider to an account is a form in settings
// (handleIdentityConnect): it needs the password, which a link cannot carry.
func (s *Server) handleOAuthBegin(w http.ResponseWriter, r *http.Request) {
	op := s.oauthProvider(r.PathValue("provider"))
	if op == nil {
		s.notFound(w, r)
		return
	}
	if s.currentUser(r) != nil {
		s.redirect(w, r, "/settings/security#connected-accounts", "To connect "+op.Name+", confirm it is you under Connected accounts.")
		return
	}
	s.beginOAuth(w, r, op, 0, safeNext(r.URL.Query().Get("next")))
}

// handleIdentityConnect handles "POST /settings/identities/connect"
// (`provider`, `current_password`): a new way into the account, so the
// address must be proven and the user re-authenticated before the redirect to
// the provider; the callback links it and tells the address.
func (s *Server) handleIdentityConnect(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := s.currentUser(r)
	op := s.oauthProvider(r.PostForm.Get("provider"))
	if op == nil {
		s.notFound(w, r)
		return
	}
	if !s.requireVerified(w, r, u, "connect "+op.Name) {
		return
	}
	var f views.Form
	if !s.reauthenticateForm(w, r, u, &f) {
		return
	}
	if len(f.Errors) > 0 {
		s.renderSecurity(w, r, http.StatusUnprocessableEntity, views.SettingsSecurity{ConnectForm: f})
		return
	}
	s.beginOAuth(w, r, op, u.ID, "")
}

// beginOAuth starts a flow at provider op: a login (userID 0) or connecting
// op to userID. A code stolen on its way back (a leaky log, a hostile app on
// the device) is useless without this session's PKCE verifier, and an ID
// token is accepted only with this session's nonce.
func (s *Server) beginOAuth(w http.ResponseWriter, r *http.Request, op *oauthProvider, userID int64, next string) {
	pending := oauthPending{
		Provider: op.ID, State: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Expires: time.Now().Add(10 * time.Minute), Next: next, UserID: userID,
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pending.Verifier)}
	if op.openID {
		pending.Nonce = rand.Text()
		opts = append(opts, oidc.Nonce(pending.Nonce))
	}
	raw, _ := json.Marshal(pending)
	s.sessions.Put(r.Context(), sessionOAuth, string(raw))
	code := http.StatusFound
	if r.Method == http.MethodPost {
		code = http.StatusSeeOther // the connect form; the CSP's form-action lists op.authOrigin
	}
	http.Redirect(w, r, op.config.AuthCodeURL(pending.State, opts...), code)
}

// readPending decodes the flow this browser started and checks that the
// callback belongs to it; the error says why not, for the log.
func readPending(raw, provider, returnedState string) (oauthPending, error) {
	var p oauthPending
	switch {
	case raw == "":
		return p, errors.New("no sign-in pending in this session (none started, or already used)")
	case json.Unmarshal([]byte(raw), &p) != nil || p.Verifier == "":
		return p, errors.New("the pending sign-in is unreadable or from an older version")
	case p.Provider != provider:
		return p, fmt.Errorf("the pending sign-in is with %s", p.Provider)
	case time.Now().After(p.Expires):
		return p, errors.New("the pending sign-in started more than ten minutes ago")
	case subtle.ConstantTimeCompare([]byte(returnedState), []byte(p.State)) != 1:
		return p, errors.New("the state differs from the one sent to the provider")
	}
	return p, nil
}

// Errors of the account linking rules.
var (
	errIdentityTaken = errors.New("identity linked to another account")
	errEmailInUse    = errors.New("email used by an account the provider cannot vouch for")
	errNoEmail       = errors.New("provider shared no email address")
)

// handleOAuthCallback handles "GET /auth/{provider}/callback". Every refusal
// is logged with its reason and the request id (the X-Request-Id header), so
// that "I cannot log in" leads to a cause; the user sees a plain message.
func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	op := s.oauthProvider(r.PathValue("provider"))
	if op == nil {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	refused := func(level slog.Level, why error) {
		s.log.Log(ctx, level, "oauth: sign-in refused", "provider", op.ID, "reason", why.Error(), "request_id", state(r).id)
	}
	q := r.URL.Query()
	pending, err := readPending(s.sessions.PopString(ctx, sessionOAuth), op.ID, q.Get("state")) // one use, whatever happens next
	if err != nil {
		refused(slog.LevelInfo, err)
		s.clientError(w, r, http.StatusBadRequest, "This sign-in is no longer valid",
			"The sign-in did not start here, was already used, or took too long. Please start again from the login page.")
		return
	}
	var current *db.User
	back := "/login"
	if pending.UserID != 0 {
		back = "/settings/security"
		// Connecting: the browser must still be logged in to that account.
		if current = s.currentUser(r); current == nil || current.ID != pending.UserID {
			refused(slog.LevelInfo, errors.New("connecting, but the browser is no longer logged in to the account that asked"))
			s.redirect(w, r, "/login", "Please log in again, then connect "+op.Name+" from Settings.")
			return
		}
	}
	fail := func(msg string, level slog.Level, why error) {
		refused(level, why)
		s.redirect(w, r, back, msg)
	}
	if e := q.Get("error"); e != "" {
		why := fmt.Errorf("the provider answered error=%q: %q", truncate(e, 60), truncate(q.Get("error_description"), 200))
		if e == "access_denied" {
			fail("Sign-in with "+op.Name+" was cancelled.", slog.LevelInfo, why)
		} else {
			fail(op.Name+" could not sign you in ("+truncate(e, 60)+"). Please try again.", slog.LevelWarn, why)
		}
		return
	}
	unavailable := "We could not sign you in with " + op.Name + ". Please try again."
	tok, err := op.config.Exchange(oidc.ClientContext(ctx, s.oauthHTTP), q.Get("code"), oauth2.VerifierOption(pending.Verifier))
	if err != nil {
		fail(unavailable, slog.LevelWarn, fmt.Errorf("code exchange: %w", err))
		return
	}
	who, err := op.identify(ctx, tok, pending.Nonce)
	if err != nil {
		fail(unavailable, slog.LevelWarn, err)
		return
	}
	email, verified := normalizeEmail(who.Email), who.Verified
	if emailProblem(email) != "" {
		email, verified = "", false
	}

	var u db.User
	var took proven // a takeover of an unverified account is its first proof
	resolve := func(q db.Queries) error {
		var err error
		u, took, err = s.resolveIdentity(ctx, q, op, who.ID, email, verified, current)
		return err
	}
	if current != nil {
		// Connecting: only while the session that asked still stands.
		err = s.userTx(r, resolve)
	} else {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error { return resolve(db.Q(tx)) })
	}
	switch {
	case errors.Is(err, errSessionEnded):
		refused(slog.LevelInfo, err)
		s.userTxError(w, r, err)
		return
	case errors.Is(err, errIdentityTaken):
		fail("This "+op.Name+" account is already connected to another Skiff account.", slog.LevelInfo, err)
		return
	case errors.Is(err, errEmailInUse):
		fail("An account already uses "+email+", and "+op.Name+" has not verified that address. Log in to that account, then connect "+op.Name+" in Settings.", slog.LevelInfo, err)
		return
	case errors.Is(err, errNoEmail):
		fail(op.Name+" did not share an email address with us, so we cannot create your account.", slog.LevelInfo, err)
		return
	case errors.Is(err, errAccountDisabled):
		refused(slog.LevelInfo, err)
		s.disabledPage(w, r)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	if current != nil {
		s.redirect(w, r, "/settings/security", op.Name+" is now connected to your account.")
		return
	}
	if err := s.startSession(r, u, false); err != nil {
		s.sessionError(w, r, err)
		return
	}
	if took.passwordRemoved {
		s.sessions.Put(ctx, sessionFlash, "Your email address is confirmed. The password set before it was confirmed was removed: "+
			"choose a new one with \"Forgot your password?\" if you want one.")
	}
	http.Redirect(w, r, cmp.Or(pending.Next, "/dashboard"), http.StatusSeeOther)
}

// resolveIdentity applies the linking rules and returns the user to log in.
// A user is found by identity, never by email alone: an existing account is
// linked by email only when the provider vouches for the address. An
// unverified local account then loses to the provider's verified owner: that
// is the account's first proof, which wipes what was set up before it
// (account pre-hijacking); what it did is returned. Linking a provider is
// announced to the address.
func (s *Server) resolveIdentity(ctx context.Context, q db.Queries, op *oauthProvider, providerUserID, email string, verified bool, current *db.User) (db.User, proven, error) {
	connected := func(u db.User) error {
		if err := q.LinkIdentity(ctx, u.ID, op.ID, providerUserID, email); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, u, op.Name+" was connected to your account",
			"The "+op.Name+" account "+email+" was connected to your Skiff account: it can now be used to log in.")
	}
	id, err := q.IdentityByProvider(ctx, op.ID, providerUserID)
	if err == nil {
		if current != nil && id.UserID != current.ID {
			return db.User{}, proven{}, errIdentityTaken
		}
		if email != "" && email != id.Email {
			if err := q.UpdateIdentityEmail(ctx, id.ID, email); err != nil {
				return db.User{}, proven{}, err
			}
		}
		u, err := activeUser(q.UserByID(ctx, id.UserID))
		return u, proven{}, err
	}
	if !errors.Is(err, db.ErrNotFound) {
		return db.User{}, proven{}, err
	}
	if current != nil {
		return *current, proven{}, connected(*current)
	}
	if email == "" {
		return db.User{}, proven{}, errNoEmail
	}
	existing, err := activeUser(q.UserByEmail(ctx, email))
	switch {
	case err == nil && verified:
		p, err := s.onAddressProven(ctx, q, existing, holder{})
		if err != nil {
			return db.User{}, p, err
		}
		if err := connected(existing); err != nil {
			return db.User{}, p, err
		}
		u, err := q.UserByID(ctx, existing.ID)
		return u, p, err
	case err == nil:
		return db.User{}, proven{}, errEmailInUse
	case !errors.Is(err, db.ErrNotFound):
		return db.User{}, proven{}, err
	}
	// A new account. When the provider does not vouch for the address, the
	// account starts unverified with this identity linked; whoever proves the
	// address later (in another browser) inherits neither.
	u, err := q.CreateUser(ctx, email, "", verified)
	if err != nil {
		return db.User{}, proven{}, err
	}
	if err := q.LinkIdentity(ctx, u.ID, op.ID, providerUserID, email); err != nil {
		return db.User{}, proven{}, err
	}
	if !verified {
		if err := s.queueVerification(ctx, q, u); err != nil {
			return db.User{}, proven{}, err
		}
	}
	return u, proven{}, nil
}

// activeUser passes a user through, refusing a disabled one.
func activeUser(u db.User, err error) (db.User, error) {
	if err == nil && u.Disabled {
		return u, errAccountDisabled
	}
	return u, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
