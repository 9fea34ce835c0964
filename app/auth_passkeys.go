package app

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"skiff/db"
	"skiff/views"
)

// Passkeys (WebAuthn, github.com/go-webauthn/webauthn). The pages work
// without JavaScript; assets/static/passkey.js runs the browser's ceremony
// where PublicKeyCredential exists, talking JSON to the routes below. Each
// ceremony's challenge is made here, kept in the visitor's session only,
// spent by the first answer, and dead after passkeyTimeout. The relying
// party is BASE_URL: its host is the RP id, its origin the only one
// accepted.

// passkeyTimeout is how long a ceremony's challenge lives.
const passkeyTimeout = 5 * time.Minute

// Session keys of the ceremonies in progress.
const (
	sessionPasskeyRegistration = "passkey_registration" // webauthn.SessionData, JSON
	sessionPasskeyLogin        = "passkey_login"
	sessionPasskeyMFA          = "passkey_mfa" // a passkey as the second factor of a login
	sessionPasskeySignup       = "passkey_signup"
)

// passkeyRoutes registers the passkey pages and their JSON ceremony.
func (s *Server) passkeyRoutes(public, user group) {
	user.handle("POST /settings/passkeys/options", s.ceremony(s.handlePasskeyRegistrationOptions))
	user.handle("POST /settings/passkeys", s.ceremony(s.handlePasskeyRegistration))
	user.handle("POST /settings/passkeys/{id}/rename", s.handlePasskeyRename)
	user.handle("POST /settings/passkeys/{id}/delete", s.handlePasskeyDelete)
	public.handle("POST /login/passkey/options", s.ceremony(s.handlePasskeyLoginOptions))
	public.handle("POST /login/passkey", s.ceremony(s.handlePasskeyLogin))
	public.handle("POST /signup/passkey/options", s.ceremony(s.handlePasskeySignupOptions))
	public.handle("POST /signup/passkey", s.ceremony(s.handlePasskeySignup))
	public.handle("POST /login/2fa/passkey/options", s.ceremony(s.handlePasskeyMFAOptions))
	public.handle("POST /login/2fa/passkey", s.ceremony(s.handlePasskeyMFA))
}

// newWebAuthn is the relying party of BASE_URL, or nil when its host is an
// IP address: WebAuthn takes only a domain name as the relying party's id
// (localhost works in development). Passkeys are then off, and said so.
func newWebAuthn(cfg Config) (*webauthn.WebAuthn, error) {
	if net.ParseIP(cfg.BaseURL.Hostname()) != nil {
		return nil, nil
	}
	return webauthn.New(&webauthn.Config{
		RPID:          cfg.BaseURL.Hostname(),
		RPDisplayName: views.ProductName,
		RPOrigins:     []string{cfg.Origin()},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired, // discoverable: a login needs no address typed
			UserVerification: protocol.VerificationRequired,           // a PIN or biometric: a full login on its own
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyTimeout},
		},
	})
}

// passkeyUser is an account as WebAuthn sees it.
type passkeyUser struct {
	u      db.User
	handle []byte
	keys   []db.Passkey
}

func (p passkeyUser) WebAuthnID() []byte          { return p.handle }
func (p passkeyUser) WebAuthnName() string        { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string { return userView(&p.u).Name() }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(p.keys))
	for _, k := range p.keys {
		c := webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey, AttestationType: k.AttestationType,
			Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: k.BackupEligible, BackupState: k.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
		for _, t := range k.Transports {
			c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
		}
		out = append(out, c)
	}
	return out
}

// loadPasskeyUser reads u's handle (made the first time) and passkeys.
func (s *Server) loadPasskeyUser(r *http.Request, u db.User) (passkeyUser, error) {
	handle, err := s.db.WebAuthnHandle(r.Context(), u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	keys, err := s.db.Passkeys(r.Context(), u.ID)
	return passkeyUser{u: u, handle: handle, keys: keys}, err
}

// errPasskeysOff answers the passkey routes while BASE_URL's host is an IP
// address.
var errPasskeysOff = &clientError{Status: http.StatusNotFound, Code: "passkeys_off",
	Message: "Passkeys are not available on this site."}

// ceremony adapts a JSON handler: its answer, or its error as JSON (a
// *clientError its own status and message, anything else a logged 500).
func (s *Server) ceremony(h func(w http.ResponseWriter, r *http.Request) (any, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var v any
		err := error(errPasskeysOff)
		if s.webauthn != nil {
			v, err = h(w, r)
		}
		status := http.StatusOK
		if err != nil {
			ce, ok := errors.AsType[*clientError](err)
			if !ok {
				s.log.Error("passkey ceremony", "err", err, "request_id", state(r).id, "path", r.URL.Path)
				ce = &clientError{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong; it was logged. Please try again."}
			}
			status, v = ce.Status, map[string]any{"error": map[string]string{"code": ce.Code, "message": ce.Message}}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if err := json.NewEncoder(w).Encode(v); err != nil {
			s.log.Warn("passkey ceremony: write the answer", "err", err, "request_id", state(r).id)
		}
		return nil
	}
}

// passkeyRefused is the answer to a ceremony whose response does not check
// out: tampered, replayed, late, from another origin or another account's
// key. The reason is logged, not told.
func (s *Server) passkeyRefused(r *http.Request, why error) error {
	s.log.Warn("passkey refused", "err", why, "request_id", state(r).id, "path", r.URL.Path)
	return &clientError{Status: http.StatusBadRequest, Code: "passkey_refused",
		Message: "This passkey could not be checked. Please try again."}
}

// putCeremony keeps a ceremony's session data (webauthn.SessionData, or a
// struct holding it) in the visitor's session.
func (s *Server) putCeremony(r *http.Request, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.sessions.Put(r.Context(), key, string(b)) // the session codec keeps strings, not bytes
	return nil
}

// popCeremony takes a ceremony's session data out of the session, into v: a
// challenge answers once. None (never begun, spent, or another browser's)
// is a 400.
func (s *Server) popCeremony(r *http.Request, key string, v any) error {
	b := s.sessions.PopString(r.Context(), key)
	if b == "" || json.Unmarshal([]byte(b), v) != nil {
		return &clientError{Status: http.StatusBadRequest, Code: "no_challenge",
			Message: "This passkey prompt expired or was already used. Please start again."}
	}
	return nil
}

// readCeremonyBody reads a ceremony's JSON body into v: 400 for anything
// that is not one, 413 past the form limit.
func (s *Server) readCeremonyBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxFormBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &clientError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The request is too large."}
	}
	if err != nil || json.Unmarshal(body, v) != nil {
		return badRequest("bad_json", "The passkey's answer could not be read.")
	}
	return nil
}

// --- Adding a passkey (Settings → Password and security) ---

// handlePasskeyRegistrationOptions handles "POST /settings/passkeys/options"
// (current_password): a new way in, so the address must be proven and the
// user re-authenticated, as for an API token. It answers the options for
// navigator.credentials.create.
func (s *Server) handlePasskeyRegistrationOptions(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := readForm(r); err != nil {
		return nil, err
	}
	u := s.currentUser(r)
	if err := requireVerifiedAddress(u, "add a passkey"); err != nil {
		return nil, err
	}
	msg, err := s.reauthenticate(r, u, r.PostForm.Get("current_password"))
	if err != nil {
		return nil, err
	}
	if msg != "" {
		return nil, &clientError{Status: http.StatusUnprocessableEntity, Code: "reauthenticate", Message: msg}
	}
	pu, err := s.loadPasskeyUser(r, *u)
	if err != nil {
		return nil, err
	}
	if len(pu.keys) >= db.MaxPasskeys {
		return nil, &clientError{Status: http.StatusUnprocessableEntity, Code: "limit",
			Message: "You have " + strconv.Itoa(db.MaxPasskeys) + " passkeys, the most an account may hold. Remove one first."}
	}
	creation, sd, err := s.webauthn.BeginRegistration(pu,
		webauthn.WithExclusions(webauthn.Credentials(pu.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, err
	}
	return creation, s.putCeremony(r, sessionPasskeyRegistration, sd)
}

// handlePasskeyRegistration handles "POST /settings/passkeys" (JSON: name,
// credential): the passkey is checked against the challenge of this
// session, stored, and the address told, in one transaction.
func (s *Server) handlePasskeyRegistration(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := s.readCeremonyBody(w, r, &in); err != nil {
		return nil, err
	}
	var sd webauthn.SessionData
	if err := s.popCeremony(r, sessionPasskeyRegistration, &sd); err != nil {
		return nil, err
	}
	name := passkeyName(in.Name)
	u := s.currentUser(r)
	pu, err := s.loadPasskeyUser(r, *u)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	cred, err := s.webauthn.CreateCredential(pu, sd, parsed)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	key := passkeyRow(u.ID, cred, name)
	err = s.userTx(r, func(q db.Queries) error {
		if _, err := q.AddPasskey(r.Context(), key); err != nil {
			return err
		}
		return s.onWayInChanged(r.Context(), q, *u, "A passkey was added",
			"A passkey named \""+name+"\" was added to your Skiff account. It can log in as you, without a password, until it is removed.")
	})
	switch {
	case errors.Is(err, db.ErrLimitReached):
		return nil, &clientError{Status: http.StatusUnprocessableEntity, Code: "limit", Message: "You have as many passkeys as an account may hold. Remove one first."}
	case errors.Is(err, db.ErrCredentialTaken):
		return nil, &clientError{Status: http.StatusConflict, Code: "taken", Message: "This passkey is registered already."}
	case errors.Is(err, errSessionEnded):
		return nil, &clientError{Status: http.StatusUnauthorized, Code: "session_ended", Message: "Your session ended meanwhile. Please log in again."}
	case err != nil:
		return nil, err
	}
	s.outbox.notify()
	s.sessions.Put(r.Context(), sessionFlash, "Passkey \""+name+"\" added. You can log in with it from now on.")
	return map[string]string{"redirect": views.SectionSecurity.Path + "#passkeys"}, nil
}

// passkeyName is a passkey's name as given, trimmed and cut to 60
// characters, or a default.
func passkeyName(name string) string {
	name = strings.TrimSpace(strings.ToValidUTF8(name, ""))
	if utf8.RuneCountInString(name) > 60 {
		name = string([]rune(name)[:60])
	}
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
		return "Passkey"
	}
	return name
}

// --- Logging in with a passkey ---

// handlePasskeyLoginOptions handles "POST /login/passkey/options": the
// options for navigator.credentials.get, for any of the site's passkeys (a
// discoverable login: the browser offers the ones it holds, in a prompt or,
// with mediation=conditional, in the email field's autofill).
func (s *Server) handlePasskeyLoginOptions(w http.ResponseWriter, r *http.Request) (any, error) {
	mediation := protocol.MediationDefault
	if r.URL.Query().Get("mediation") == "conditional" {
		mediation = protocol.MediationConditional
	}
	assertion, sd, err := s.webauthn.BeginDiscoverableMediatedLogin(mediation)
	if err != nil {
		return nil, err
	}
	return assertion, s.putCeremony(r, sessionPasskeyLogin, sd)
}

// handlePasskeyLogin handles "POST /login/passkey" (JSON: credential,
// remember, next): a full login when the passkey checks out, as a password
// and second factor would be (user verification was required).
func (s *Server) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
		Remember   bool            `json:"remember"`
		Next       string          `json:"next"`
	}
	if err := s.readCeremonyBody(w, r, &in); err != nil {
		return nil, err
	}
	if ok, wait := s.loginIPLimiter.allow(s.clientIP(r)); !ok {
		return nil, &clientError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many login attempts from your network. Please wait a moment.", RetryAfter: wait}
	}
	var sd webauthn.SessionData
	if err := s.popCeremony(r, sessionPasskeyLogin, &sd); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	var found passkeyUser
	user, cred, err := s.webauthn.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
		id, err := s.db.UserIDByWebAuthnHandle(r.Context(), handle)
		if err != nil {
			return nil, err
		}
		u, err := s.db.UserByID(r.Context(), id)
		if err != nil {
			return nil, err
		}
		found, err = s.loadPasskeyUser(r, u)
		return found, err
	}, sd, parsed)
	if err != nil || user == nil {
		return nil, s.passkeyRefused(r, err)
	}
	if err := s.passkeyUsed(r, cred, found.u.ID); err != nil {
		return nil, err
	}
	u, err := s.db.UserByID(r.Context(), found.u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.completeSession(r, u, in.Remember); err != nil {
		return nil, err
	}
	next := safeNext(in.Next)
	if next == "" {
		next = "/dashboard"
	}
	return map[string]string{"redirect": next}, nil
}

// passkeyUsed finishes a checked assertion of userID's: the credential must
// be theirs, its counter must not have gone back (a cloned key: refused and
// logged), and its use is recorded.
func (s *Server) passkeyUsed(r *http.Request, cred *webauthn.Credential, userID int64) error {
	key, err := s.db.PasskeyByCredentialID(r.Context(), cred.ID)
	if err != nil || key.UserID != userID {
		return s.passkeyRefused(r, errors.New("the credential is not the account's"))
	}
	if cred.Authenticator.CloneWarning {
		// Its counter went backwards: two copies of one key exist.
		s.log.Error("passkey refused: its signature counter went backwards, so the key may have been cloned",
			"user_id", key.UserID, "passkey", key.ID, "stored", key.SignCount, "request_id", state(r).id)
		return &clientError{Status: http.StatusForbidden, Code: "passkey_cloned",
			Message: "This passkey cannot be used: it looks copied. Log in another way and remove it."}
	}
	return s.db.UsePasskey(r.Context(), key.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
}

// --- Signing up with a passkey (PASSKEY_SIGNUP=true) ---

// pendingSignup is a passkey signup between its two steps: the address it
// is for and the user handle its passkey gets, with the challenge.
type pendingSignup struct {
	Session webauthn.SessionData `json:"session"`
	Email   string               `json:"email"`
	Handle  []byte               `json:"handle"`
}

// handlePasskeySignupOptions handles "POST /signup/passkey/options" (email):
// the options for navigator.credentials.create, for an account of that
// address, made only when the passkey comes back.
func (s *Server) handlePasskeySignupOptions(w http.ResponseWriter, r *http.Request) (any, error) {
	if !s.cfg.PasskeySignup {
		return nil, errPasskeysOff
	}
	if err := readForm(r); err != nil {
		return nil, err
	}
	email := normalizeEmail(r.PostForm.Get("email"))
	if msg := emailProblem(email); msg != "" {
		return nil, &clientError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: msg}
	}
	if ok, wait := s.signupIPLimiter.allow(s.clientIP(r)); !ok {
		return nil, tooMany(wait)
	}
	// As the password signup says it (views.EmailTaken), before the device
	// makes a passkey for an account that cannot be.
	if _, err := s.db.UserByEmail(r.Context(), email); err == nil {
		return nil, &clientError{Status: http.StatusUnprocessableEntity, Code: "email_taken", Message: views.EmailTaken}
	} else if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	p := pendingSignup{Email: email, Handle: randomBytes(64)}
	creation, sd, err := s.webauthn.BeginRegistration(passkeyUser{u: db.User{Email: email}, handle: p.Handle},
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, err
	}
	p.Session = *sd
	return creation, s.putCeremony(r, sessionPasskeySignup, p)
}

// handlePasskeySignup handles "POST /signup/passkey" (JSON: credential): the
// account (no password, the address unproven), its passkey and the
// verification mail commit together, then the browser is logged in. The
// address counts as proven only once its link is followed; the first-proof
// rule keeps the passkey when that happens in this account's own session.
func (s *Server) handlePasskeySignup(w http.ResponseWriter, r *http.Request) (any, error) {
	if !s.cfg.PasskeySignup {
		return nil, errPasskeysOff
	}
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := s.readCeremonyBody(w, r, &in); err != nil {
		return nil, err
	}
	var p pendingSignup
	if err := s.popCeremony(r, sessionPasskeySignup, &p); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	cred, err := s.webauthn.CreateCredential(passkeyUser{u: db.User{Email: p.Email}, handle: p.Handle}, p.Session, parsed)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	var u db.User
	err = s.db.Tx(r.Context(), func(q db.Queries) error {
		var err error
		if u, err = q.CreateUser(r.Context(), p.Email, "", false); err != nil {
			return err
		}
		if err := q.SetWebAuthnHandle(r.Context(), u.ID, p.Handle); err != nil {
			return err
		}
		key := passkeyRow(u.ID, cred, "Passkey")
		if _, err := q.AddPasskey(r.Context(), key); err != nil {
			return err
		}
		return s.queueVerification(r.Context(), q, u)
	})
	switch {
	case errors.Is(err, db.ErrEmailTaken):
		return nil, &clientError{Status: http.StatusConflict, Code: "email_taken", Message: views.EmailTaken}
	case errors.Is(err, db.ErrCredentialTaken):
		return nil, &clientError{Status: http.StatusConflict, Code: "taken", Message: "This passkey is registered already."}
	case err != nil:
		return nil, err
	}
	s.outbox.notify()
	if err := s.completeSession(r, u, false); err != nil {
		return nil, err
	}
	return map[string]string{"redirect": "/dashboard"}, nil
}

// passkeyRow is a checked new credential as the passkeys table keeps it.
func passkeyRow(userID int64, cred *webauthn.Credential, name string) db.Passkey {
	key := db.Passkey{UserID: userID, CredentialID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: name}
	for _, t := range cred.Transport {
		key.Transports = append(key.Transports, string(t))
	}
	return key
}

// --- A passkey as the second factor ---

// pendingMFAUser is the account whose login waits for its second factor in
// this session, read fresh; a late, gone or since-reset login is a 400 that
// sends the visitor back to log in.
func (s *Server) pendingMFAUser(r *http.Request) (db.User, error) {
	again := &clientError{Status: http.StatusBadRequest, Code: "log_in_again", Message: "That took too long. " + logInAgain}
	id, ok := s.pendingSecondFactor(r)
	if !ok {
		return db.User{}, again
	}
	u, err := s.db.UserByID(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && u.AuthEpoch != s.sessions.GetInt64(r.Context(), sessionMFAEpoch)) {
		return db.User{}, again
	}
	return u, err
}

// handlePasskeyMFAOptions handles "POST /login/2fa/passkey/options": the
// options for navigator.credentials.get, for the passkeys of the account
// whose password was just typed.
func (s *Server) handlePasskeyMFAOptions(w http.ResponseWriter, r *http.Request) (any, error) {
	u, err := s.pendingMFAUser(r)
	if err != nil {
		return nil, err
	}
	pu, err := s.loadPasskeyUser(r, u)
	if err != nil {
		return nil, err
	}
	if len(pu.keys) == 0 {
		return nil, &clientError{Status: http.StatusBadRequest, Code: "no_passkey", Message: "This account has no passkey. Enter a code instead."}
	}
	assertion, sd, err := s.webauthn.BeginLogin(pu)
	if err != nil {
		return nil, err
	}
	return assertion, s.putCeremony(r, sessionPasskeyMFA, sd)
}

// handlePasskeyMFA handles "POST /login/2fa/passkey" (JSON: credential): one
// of the account's passkeys completes the login instead of a TOTP code.
func (s *Server) handlePasskeyMFA(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := s.readCeremonyBody(w, r, &in); err != nil {
		return nil, err
	}
	u, err := s.pendingMFAUser(r)
	if err != nil {
		return nil, err
	}
	if ok, wait := s.twoFactorLimiter.allow(strconv.FormatInt(u.ID, 10)); !ok {
		return nil, &clientError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many attempts. Please wait a moment.", RetryAfter: wait}
	}
	var sd webauthn.SessionData
	if err := s.popCeremony(r, sessionPasskeyMFA, &sd); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	pu, err := s.loadPasskeyUser(r, u)
	if err != nil {
		return nil, err
	}
	cred, err := s.webauthn.ValidateLogin(pu, sd, parsed)
	if err != nil {
		return nil, s.passkeyRefused(r, err)
	}
	if err := s.passkeyUsed(r, cred, u.ID); err != nil {
		return nil, err
	}
	if err := s.completeSession(r, u, s.sessions.GetBool(r.Context(), sessionMFARemember)); err != nil {
		return nil, err
	}
	return map[string]string{"redirect": "/dashboard"}, nil
}

// --- Managing passkeys (plain forms) ---

// handlePasskeyRename handles "POST /settings/passkeys/{id}/rename" (name).
func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) error {
	if s.webauthn == nil {
		return errPasskeysOff
	}
	id, err := idParam(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	name := passkeyName(r.PostForm.Get("name"))
	if err := s.db.RenamePasskey(r.Context(), s.currentUser(r).ID, id, name); err != nil {
		return err
	}
	s.redirect(w, r, views.SectionSecurity.Path+"#passkeys", "Passkey renamed to \""+name+"\".")
	return nil
}

// handlePasskeyDelete handles "POST /settings/passkeys/{id}/delete": unless
// it is the last way to log in.
func (s *Server) handlePasskeyDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	key, err := s.db.DeletePasskey(r.Context(), s.currentUser(r).ID, id)
	if errors.Is(err, db.ErrLastLoginMethod) {
		return &clientError{Status: http.StatusConflict, Code: "last_login_method", Title: "Your last way to log in",
			Message: "This passkey is the only way into your account: set a password or add another passkey first."}
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, views.SectionSecurity.Path+"#passkeys", "Passkey \""+key.Name+"\" removed. It no longer logs in.")
	return nil
}
