package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
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
	public.handle("GET /auth/{provider}", s.handleOAuthBegin)
	public.handle("GET /auth/{provider}/callback", s.handleOAuthCallback)
	user.handle("POST /settings/identities/connect", s.handleIdentityConnect)
	user.handle("POST /settings/identities/{id}/delete", s.handleIdentityDelete)
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
func (s *Server) handleOAuthBegin(w http.ResponseWriter, r *http.Request) error {
	op := s.oauthProvider(r.PathValue("provider"))
	if op == nil {
		return db.ErrNotFound
	}
	if s.currentUser(r) != nil {
		s.redirect(w, r, "/settings/security#connected-accounts", "To connect "+op.Name+", confirm it is you under Connected accounts.")
		return nil
	}
	return s.beginOAuth(w, r, op, 0, safeNext(r.URL.Query().Get("next")))
}

// handleIdentityConnect handles "POST /settings/identities/connect"
// (`provider`, `current_password`): a new way into the account, so the
// address must be proven and the user re-authenticated before the redirect to
// the provider; the callback links it and tells the address.
func (s *Server) handleIdentityConnect(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	u := s.currentUser(r)
	op := s.oauthProvider(r.PostForm.Get("provider"))
	if op == nil {
		return db.ErrNotFound
	}
	if err := requireVerifiedAddress(u, "connect "+op.Name); err != nil {
		return err
	}
	var f views.Form
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionSecurity, views.Settings{ConnectForm: f})
	}
	return s.beginOAuth(w, r, op, u.ID, "")
}

// beginOAuth starts a flow at provider op: a login (userID 0) or connecting
// op to userID. A code stolen on its way back (a leaky log, a hostile app on
// the device) is useless without this session's PKCE verifier, and an ID
// token is accepted only with this session's nonce.
func (s *Server) beginOAuth(w http.ResponseWriter, r *http.Request, op *oauthProvider, userID int64, next string) error {
	pending := oauthPending{
		Provider: op.ID, State: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Expires: time.Now().Add(10 * time.Minute), Next: next, UserID: userID,
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pending.Verifier)}
	if op.openID {
		pending.Nonce = rand.Text()
		opts = append(opts, oidc.Nonce(pending.Nonce))
	}
	raw, err := json.Marshal(pending)
	if err != nil {
		return err
	}
	s.sessions.Put(r.Context(), sessionOAuth, string(raw))
	code := http.StatusFound
	if r.Method == http.MethodPost {
		code = http.StatusSeeOther // the connect form; the CSP's form-action lists op.authOrigin
	}
	http.Redirect(w, r, op.config.AuthCodeURL(pending.State, opts...), code)
	return nil
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

// handleOAuthCallback handles "GET /auth/{provider}/callback": the flow this
// browser started comes back, the provider says who signed in, the linking
// rules find (or make) their account, and they are logged in, or the
// provider is connected to the account that asked.
func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) error {
	op := s.oauthProvider(r.PathValue("provider"))
	if op == nil {
		return db.ErrNotFound
	}
	flow, err := s.oauthReturned(r, op)
	if err != nil {
		return s.oauthRefused(w, r, op, err)
	}
	who, err := s.oauthIdentify(r, op, flow)
	if err != nil {
		return s.oauthRefused(w, r, op, err)
	}
	u, took, err := s.oauthLink(r, op, flow, who)
	if err != nil {
		return s.oauthRefused(w, r, op, err)
	}
	s.outbox.notify()
	if flow.current != nil {
		s.redirect(w, r, "/settings/security", op.Name+" is now connected to your account.")
		return nil
	}
	var flash string
	if took.passwordRemoved {
		flash = addressConfirmed + ". " + passwordRemovedNote
	}
	return s.logIn(w, r, u, false, cmp.Or(flow.Next, "/dashboard"), flash)
}

// oauthRefusal is a callback turned down. It is logged with its reason and
// the request id (the X-Request-Id header), so that "I cannot log in" leads
// to a cause; the person is sent to `to` with a plain message, or, when
// answer is set, gets that error's answer instead.
type oauthRefusal struct {
	level   slog.Level
	why     error
	to, msg string
	answer  error
}

func (e *oauthRefusal) Error() string { return "oauth: sign-in refused: " + e.why.Error() }

// oauthRefused answers err, a refusal of a callback, or returns it when it
// is not one.
func (s *Server) oauthRefused(w http.ResponseWriter, r *http.Request, op *oauthProvider, err error) error {
	ref, ok := errors.AsType[*oauthRefusal](err)
	if !ok {
		return err
	}
	s.log.Log(r.Context(), ref.level, "oauth: sign-in refused", "provider", op.ID, "reason", ref.why.Error(), "request_id", state(r).id)
	if ref.answer != nil {
		return s.userTxFailed(w, r, ref.answer) // the session ended meanwhile, or a page
	}
	s.redirect(w, r, ref.to, ref.msg)
	return nil
}

// oauthFlow is a flow that came back to the browser that started it.
type oauthFlow struct {
	oauthPending
	current *db.User // connecting: the logged-in user who asked; nil for a login
	back    string   // where a refusal sends the browser: the login, or the settings
}

// refuse is a refusal that sends the browser back where the flow began.
func (f oauthFlow) refuse(level slog.Level, why error, msg string) error {
	return &oauthRefusal{level: level, why: why, to: f.back, msg: msg}
}

// oauthReturned reads the flow this browser started (for one use, whatever
// happens next) and checks that the callback belongs to it, and that a
// browser connecting a provider is still logged in to the account that asked.
func (s *Server) oauthReturned(r *http.Request, op *oauthProvider) (oauthFlow, error) {
	pending, err := readPending(s.sessions.PopString(r.Context(), sessionOAuth), op.ID, r.URL.Query().Get("state"))
	if err != nil {
		return oauthFlow{}, &oauthRefusal{level: slog.LevelInfo, why: err, answer: &clientError{
			Status: http.StatusBadRequest, Code: "bad_oauth_state", Title: "This sign-in is no longer valid",
			Message: "The sign-in did not start here, was already used, or took too long. Please start again from the login page."}}
	}
	flow := oauthFlow{oauthPending: pending, back: "/login"}
	if pending.UserID == 0 {
		return flow, nil
	}
	flow.current, flow.back = s.currentUser(r), "/settings/security"
	if flow.current == nil || flow.current.ID != pending.UserID {
		return flow, &oauthRefusal{level: slog.LevelInfo, to: "/login", msg: "Please log in again, then connect " + op.Name + " from Settings.",
			why: errors.New("connecting, but the browser is no longer logged in to the account that asked")}
	}
	return flow, nil
}

// oauthIdentify reads the provider's answer: an error it reports, else the
// code, exchanged (with this flow's PKCE verifier) for a token that tells
// who signed in. An address that is not one we accept counts as none.
func (s *Server) oauthIdentify(r *http.Request, op *oauthProvider, flow oauthFlow) (oauthUser, error) {
	ctx, q := r.Context(), r.URL.Query()
	if e := q.Get("error"); e != "" {
		why := fmt.Errorf("the provider answered error=%q: %q", truncate(e, 60), truncate(q.Get("error_description"), 200))
		if e == "access_denied" {
			return oauthUser{}, flow.refuse(slog.LevelInfo, why, "Sign-in with "+op.Name+" was cancelled.")
		}
		return oauthUser{}, flow.refuse(slog.LevelWarn, why, op.Name+" could not sign you in ("+truncate(e, 60)+"). Please try again.")
	}
	unavailable := "We could not sign you in with " + op.Name + ". Please try again."
	tok, err := op.config.Exchange(oidc.ClientContext(ctx, s.oauthHTTP), q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return oauthUser{}, flow.refuse(slog.LevelWarn, fmt.Errorf("code exchange: %w", err), unavailable)
	}
	who, err := op.identify(ctx, tok, flow.Nonce)
	if err != nil {
		return oauthUser{}, flow.refuse(slog.LevelWarn, err, unavailable)
	}
	who.Email = normalizeEmail(who.Email)
	if emailProblem(who.Email) != "" {
		who.Email, who.Verified = "", false
	}
	return who, nil
}

// oauthLink applies the linking rules (resolveIdentity) in one transaction:
// for a connect, only while the session that asked still stands. A refusal
// of the rules says why in the person's words.
func (s *Server) oauthLink(r *http.Request, op *oauthProvider, flow oauthFlow, who oauthUser) (db.User, proven, error) {
	var u db.User
	var took proven // a takeover of an unverified account is its first proof
	resolve := func(q db.Queries) error {
		var err error
		u, took, err = s.resolveIdentity(r.Context(), q, op, who, flow.current)
		return err
	}
	var err error
	if flow.current != nil {
		err = s.userTx(r, resolve)
	} else {
		err = s.db.Tx(r.Context(), resolve)
	}
	switch {
	case errors.Is(err, errSessionEnded), errors.Is(err, errAccountDisabled):
		return u, took, &oauthRefusal{level: slog.LevelInfo, why: err, answer: err}
	case errors.Is(err, errIdentityTaken):
		return u, took, flow.refuse(slog.LevelInfo, err, "This "+op.Name+" account is already connected to another Skiff account.")
	case errors.Is(err, errEmailInUse):
		return u, took, flow.refuse(slog.LevelInfo, err, "An account already uses "+who.Email+", and "+op.Name+
			" has not verified that address. Log in to that account, then connect "+op.Name+" in Settings.")
	case errors.Is(err, errNoEmail):
		return u, took, flow.refuse(slog.LevelInfo, err, op.Name+" did not share an email address with us, so we cannot create your account.")
	}
	return u, took, err
}

// resolveIdentity applies the linking rules to who, signed in at op, and
// returns the user to log in. A user is found by identity, never by email
// alone: an existing account is linked by email only when the provider
// vouches for the address. An unverified local account then loses to the
// provider's verified owner: that is the account's first proof, which wipes
// what was set up before it (account pre-hijacking); what it did is
// returned. Linking a provider is announced to the address.
func (s *Server) resolveIdentity(ctx context.Context, q db.Queries, op *oauthProvider, who oauthUser, current *db.User) (db.User, proven, error) {
	id, err := q.IdentityByProvider(ctx, op.ID, who.ID)
	switch {
	case err == nil:
		u, err := s.knownIdentity(ctx, q, id, who, current)
		return u, proven{}, err
	case !errors.Is(err, db.ErrNotFound):
		return db.User{}, proven{}, err
	case current != nil:
		return *current, proven{}, s.connectIdentity(ctx, q, *current, op, who)
	case who.Email == "":
		return db.User{}, proven{}, errNoEmail
	}
	existing, err := activeUser(q.UserByEmail(ctx, who.Email))
	switch {
	case err == nil && who.Verified:
		return s.takeOverAccount(ctx, q, existing, op, who)
	case err == nil:
		return db.User{}, proven{}, errEmailInUse
	case !errors.Is(err, db.ErrNotFound):
		return db.User{}, proven{}, err
	}
	u, err := s.createOAuthAccount(ctx, q, op, who)
	return u, proven{}, err
}

// knownIdentity returns the account an identity is linked to (refused when
// connecting it to another one), keeping the address the provider last
// reported.
func (s *Server) knownIdentity(ctx context.Context, q db.Queries, id db.Identity, who oauthUser, current *db.User) (db.User, error) {
	if current != nil && id.UserID != current.ID {
		return db.User{}, errIdentityTaken
	}
	if who.Email != "" && who.Email != id.Email {
		if err := q.UpdateIdentityEmail(ctx, id.ID, who.Email); err != nil {
			return db.User{}, err
		}
	}
	return activeUser(q.UserByID(ctx, id.UserID))
}

// connectIdentity links who to u, and tells u's address.
func (s *Server) connectIdentity(ctx context.Context, q db.Queries, u db.User, op *oauthProvider, who oauthUser) error {
	if err := q.LinkIdentity(ctx, u.ID, op.ID, who.ID, who.Email); err != nil {
		return err
	}
	return s.onWayInChanged(ctx, q, u, op.Name+" was connected to your account",
		"The "+op.Name+" account "+who.Email+" was connected to your Skiff account: it can now be used to log in.")
}

// takeOverAccount links who to existing, the account of the address the
// provider vouches for: a first proof of the address for an unverified one.
func (s *Server) takeOverAccount(ctx context.Context, q db.Queries, existing db.User, op *oauthProvider, who oauthUser) (db.User, proven, error) {
	p, err := s.onAddressProven(ctx, q, existing, holder{})
	if err != nil {
		return db.User{}, p, err
	}
	if err := s.connectIdentity(ctx, q, existing, op, who); err != nil {
		return db.User{}, p, err
	}
	u, err := q.UserByID(ctx, existing.ID)
	return u, p, err
}

// createOAuthAccount makes a new account for who. When the provider does not
// vouch for the address, the account starts unverified with this identity
// linked; whoever proves the address later (in another browser) inherits
// neither.
func (s *Server) createOAuthAccount(ctx context.Context, q db.Queries, op *oauthProvider, who oauthUser) (db.User, error) {
	u, err := q.CreateUser(ctx, who.Email, "", who.Verified)
	if err != nil {
		return db.User{}, err
	}
	if err := q.LinkIdentity(ctx, u.ID, op.ID, who.ID, who.Email); err != nil {
		return db.User{}, err
	}
	if !who.Verified {
		if err := s.queueVerification(ctx, q, u); err != nil {
			return db.User{}, err
		}
	}
	return u, nil
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
