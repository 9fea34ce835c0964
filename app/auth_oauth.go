package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/google"
	"github.com/markbates/goth/providers/openidConnect"

	"skiff/db"
	"skiff/views"
)

// oauthProvider is one configured social login. gothic is not used: its
// default cookie store is keyed from an environment variable and not Secure,
// and it accepts a caller-supplied state. The state lives in the scs session
// instead, for one use and ten minutes.
type oauthProvider struct {
	ID, Name string
	// authOrigin is where the provider's login page lives: the CSP's
	// form-action lists it, so the connect form may redirect there.
	authOrigin string
	// provider builds the goth provider; OpenID Connect needs discovery (a
	// network call), so it is built on first use and kept once it works.
	provider func(ctx context.Context) (goth.Provider, error)
	// verifiedEmail returns the address and whether the provider vouches for it.
	verifiedEmail func(ctx context.Context, sess goth.Session, u goth.User) (string, bool, error)
}

// newOAuthProviders returns the configured providers, in button order.
func (s *Server) newOAuthProviders() []*oauthProvider {
	o := s.cfg.OAuth
	callback := func(id string) string { return s.cfg.Origin() + "/auth/" + id + "/callback" }
	var out []*oauthProvider
	if o.GitHubClientID != "" {
		p := github.NewCustomisedURL(o.GitHubClientID, o.GitHubClientSecret, callback("github"),
			o.GitHubURL+"/login/oauth/authorize", o.GitHubURL+"/login/oauth/access_token",
			o.GitHubAPIURL+"/user", o.GitHubAPIURL+"/user/emails", "user:email")
		p.HTTPClient = s.oauthHTTP
		out = append(out, &oauthProvider{
			ID: "github", Name: "GitHub", authOrigin: originOf(o.GitHubURL),
			provider: func(context.Context) (goth.Provider, error) { return p, nil },
			verifiedEmail: func(ctx context.Context, sess goth.Session, _ goth.User) (string, bool, error) {
				return s.githubEmail(ctx, sess)
			},
		})
	}
	if o.GoogleClientID != "" {
		p := google.New(o.GoogleClientID, o.GoogleClientSecret, callback("google"), "openid", "email", "profile")
		p.HTTPClient = s.oauthHTTP
		out = append(out, &oauthProvider{
			ID: "google", Name: "Google", authOrigin: "https://accounts.google.com",
			provider: func(context.Context) (goth.Provider, error) { return p, nil },
			verifiedEmail: func(_ context.Context, _ goth.Session, u goth.User) (string, bool, error) {
				return u.Email, claimTrue(u.RawData["verified_email"]) || claimTrue(u.RawData["email_verified"]), nil
			},
		})
	}
	if o.OIDCClientID != "" {
		var mu sync.Mutex
		var built *openidConnect.Provider
		var verifier *oidc.IDTokenVerifier
		build := func(ctx context.Context) (goth.Provider, error) {
			mu.Lock()
			defer mu.Unlock()
			if built != nil {
				return built, nil
			}
			p, err := openidConnect.New(o.OIDCClientID, o.OIDCClientSecret, callback("oidc"),
				o.OIDCIssuerURL+"/.well-known/openid-configuration", "openid", "email", "profile")
			if err != nil {
				return nil, err
			}
			p.SetName("oidc")
			p.HTTPClient = s.oauthHTTP
			// goth decodes the ID token without checking its signature; go-oidc
			// checks it against the issuer's published keys.
			op, err := oidc.NewProvider(oidc.ClientContext(ctx, s.oauthHTTP), o.OIDCIssuerURL)
			if err != nil {
				return nil, err
			}
			built, verifier = p, op.Verifier(&oidc.Config{ClientID: o.OIDCClientID})
			return built, nil
		}
		out = append(out, &oauthProvider{
			ID: "oidc", Name: o.OIDCName, provider: build, authOrigin: originOf(o.OIDCIssuerURL),
			verifiedEmail: func(ctx context.Context, sess goth.Session, u goth.User) (string, bool, error) {
				raw := sess.(*openidConnect.Session).IDToken
				tok, err := verifier.Verify(oidc.ClientContext(ctx, s.oauthHTTP), raw)
				if err != nil {
					return "", false, fmt.Errorf("id token: %w", err)
				}
				var claims struct {
					Email         string `json:"email"`
					EmailVerified any    `json:"email_verified"`
				}
				if err := tok.Claims(&claims); err != nil {
					return "", false, err
				}
				if tok.Subject != u.UserID {
					return "", false, errors.New("id token subject differs from the user")
				}
				return claims.Email, claimTrue(claims.EmailVerified), nil
			},
		})
	}
	return out
}

// originOf returns the scheme and host of rawURL.
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// claimTrue reads a boolean claim that some providers send as a string.
func claimTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// githubEmail asks GitHub for the user's primary address and whether GitHub
// verified it (the profile's email field is neither).
func (s *Server) githubEmail(ctx context.Context, sess goth.Session) (string, bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.cfg.OAuth.GitHubAPIURL+"/user/emails", nil)
	req.Header.Set("Authorization", "Bearer "+sess.(*github.Session).AccessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := s.oauthHTTP.Do(req)
	if err != nil {
		return "", false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("github /user/emails: status %d", res.StatusCode)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&emails); err != nil {
		return "", false, err
	}
	for _, e := range emails {
		if e.Primary {
			return e.Email, e.Verified, nil
		}
	}
	return "", false, nil
}

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
// provider and the callback.
type oauthPending struct {
	Provider string    `json:"provider"`
	State    string    `json:"state"`
	Session  string    `json:"session"` // goth's session, marshalled
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
		s.redirect(w, r, "/settings#connected-accounts", "To connect "+op.Name+", confirm it is you under Connected accounts.")
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
		s.renderSettingsFull(w, r, http.StatusUnprocessableEntity, views.Settings{ConnectForm: f})
		return
	}
	s.beginOAuth(w, r, op, u.ID, "")
}

// beginOAuth starts a flow at provider op: a login (userID 0) or connecting
// op to userID. The state lives in the session, for one use and ten minutes.
func (s *Server) beginOAuth(w http.ResponseWriter, r *http.Request, op *oauthProvider, userID int64, next string) {
	back := "/login"
	if userID != 0 {
		back = "/settings"
	}
	p, err := op.provider(r.Context())
	if err != nil {
		s.log.Error("oauth: provider unavailable", "provider", op.ID, "err", err)
		s.redirect(w, r, back, op.Name+" is not reachable right now. Please try again in a moment.")
		return
	}
	var raw [32]byte
	rand.Read(raw[:])
	state := base64.RawURLEncoding.EncodeToString(raw[:])
	sess, err := p.BeginAuth(state)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	authURL, err := sess.GetAuthURL()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pending, _ := json.Marshal(oauthPending{
		Provider: op.ID, State: state, Session: sess.Marshal(), Expires: time.Now().Add(10 * time.Minute),
		Next: next, UserID: userID,
	})
	s.sessions.Put(r.Context(), sessionOAuth, string(pending))
	if r.Method == http.MethodPost && originOf(authURL) != op.authOrigin {
		// The CSP's form-action would stop a form's redirect to an origin it
		// does not list (an OpenID provider whose login page is not on its
		// issuer's host): offer a link instead.
		s.render(w, r, http.StatusOK, views.MessagePage(s.page(r, "Connect "+op.Name), views.Message{
			Title: "Connect " + op.Name, Text: "Continue to " + op.Name + " to sign in there and connect it.",
			LinkURL: authURL, LinkLabel: "Continue to " + op.Name,
		}))
		return
	}
	code := http.StatusFound
	if r.Method == http.MethodPost {
		code = http.StatusSeeOther
	}
	http.Redirect(w, r, authURL, code)
}

// Errors of the account linking rules.
var (
	errIdentityTaken = errors.New("identity linked to another account")
	errEmailInUse    = errors.New("email used by an account the provider cannot vouch for")
	errNoEmail       = errors.New("provider shared no email address")
)

// handleOAuthCallback handles "GET /auth/{provider}/callback".
func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	op := s.oauthProvider(r.PathValue("provider"))
	if op == nil {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	var pending oauthPending
	raw := s.sessions.PopString(ctx, sessionOAuth) // one use, whatever happens next
	q := r.URL.Query()
	if raw == "" || json.Unmarshal([]byte(raw), &pending) != nil || pending.Provider != op.ID ||
		time.Now().After(pending.Expires) || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending.State)) != 1 {
		s.clientError(w, r, http.StatusBadRequest, "This sign-in is no longer valid",
			"The sign-in did not start here, was already used, or took too long. Please start again from the login page.")
		return
	}
	var current *db.User
	back := "/login"
	if pending.UserID != 0 {
		back = "/settings"
		// Connecting: the browser must still be logged in to that account.
		if current = s.currentUser(r); current == nil || current.ID != pending.UserID {
			s.redirect(w, r, "/login", "Please log in again, then connect "+op.Name+" from Settings.")
			return
		}
	}
	fail := func(msg string, err error) {
		if err != nil {
			s.log.Warn("oauth: sign-in failed", "provider", op.ID, "err", err, "request_id", state(r).id)
		}
		s.redirect(w, r, back, msg)
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			fail("Sign-in with "+op.Name+" was cancelled.", nil)
		} else {
			fail(op.Name+" could not sign you in ("+truncate(e, 60)+"). Please try again.", nil)
		}
		return
	}
	unavailable := "We could not sign you in with " + op.Name + ". Please try again."
	p, err := op.provider(ctx)
	if err != nil {
		fail(unavailable, err)
		return
	}
	sess, err := p.UnmarshalSession(pending.Session)
	if err != nil {
		fail(unavailable, err)
		return
	}
	if _, err := sess.Authorize(p, q); err != nil {
		fail(unavailable, err)
		return
	}
	gu, err := p.FetchUser(sess)
	if errors.Is(err, github.ErrNoVerifiedGitHubPrimaryEmail) {
		err = nil // fine: githubEmail reports the address as unverified
	}
	if err != nil || gu.UserID == "" {
		fail(unavailable, err)
		return
	}
	email, verified, err := op.verifiedEmail(ctx, sess, gu)
	if err != nil {
		fail(unavailable, err)
		return
	}
	email = normalizeEmail(email)
	if emailProblem(email) != "" {
		email, verified = "", false
	}

	var u db.User
	var took proven // a takeover of an unverified account is its first proof
	resolve := func(q db.Queries) error {
		var err error
		u, took, err = s.resolveIdentity(ctx, q, op, gu.UserID, email, verified, current)
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
		s.userTxError(w, r, err)
		return
	case errors.Is(err, errIdentityTaken):
		fail("This "+op.Name+" account is already connected to another Skiff account.", nil)
		return
	case errors.Is(err, errEmailInUse):
		fail("An account already uses "+email+", and "+op.Name+" has not verified that address. Log in to that account, then connect "+op.Name+" in Settings.", nil)
		return
	case errors.Is(err, errNoEmail):
		fail(op.Name+" did not share an email address with us, so we cannot create your account.", nil)
		return
	case errors.Is(err, errAccountDisabled):
		s.disabledPage(w, r)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	if current != nil {
		s.redirect(w, r, "/settings", op.Name+" is now connected to your account.")
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
