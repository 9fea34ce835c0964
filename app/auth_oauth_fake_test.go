package app

import (
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeAccount is a user at a fake provider.
type fakeAccount struct {
	ID       string
	Email    string
	Verified bool
}

// fakeGrant is one authorization: who signed in, and what the authorization
// request asked for, which the token request must match.
type fakeGrant struct {
	acct       fakeAccount
	authorized bool // the browser came through the authorization endpoint

	clientID, redirectURI, nonce string
	challenge, challengeMethod   string // PKCE
}

// fakeProvider plays GitHub (authorize, token, /user, /user/emails), an
// OpenID Connect issuer (discovery, JWKS, RS256-signed ID tokens, userinfo),
// and Google (the same, at Google's addresses). It follows the standards
// rather than the happy path: a code works once, only for the client and
// redirect_uri it was issued to, and only with the PKCE code_verifier whose
// S256 hash came with the authorization request; ID tokens carry the nonce
// that request sent.
type fakeProvider struct {
	*httptest.Server
	t   *testing.T
	key *rsa.PrivateKey

	mu       sync.Mutex
	issuer   string                // the OpenID issuer it names (tests may add a trailing "/")
	authURL  string                // its authorization endpoint, as discovery states it
	codes    map[string]*fakeGrant // authorization code -> grant
	tokens   map[string]fakeAccount
	fail     bool        // answer 500 to token requests
	consent  fakeAccount // who "logs in" at the authorization endpoint (browser tests)
	badSig   bool        // sign ID tokens with the wrong key
	clientID string
	// discoveries counts the reads of the discovery document.
	discoveries int

	// Ways real providers differ from the happy path.
	emailInUserinfoOnly bool   // zitadel, Keycloak by configuration: email claims only from userinfo
	userinfoSubject     string // userinfo describes this subject instead (a broken or hostile provider)
	dropNonce           bool   // ignore the nonce: ID tokens carry none
	ignorePKCE          bool   // a provider without PKCE: the code_verifier is not checked
}

func newFakeProvider(t *testing.T) *fakeProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProvider{t: t, key: key, codes: map[string]*fakeGrant{}, tokens: map[string]fakeAccount{}, clientID: "test-client"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.issuer, f.authURL = f.URL, f.URL+"/authorize"
	t.Cleanup(f.Close)
	return f
}

// code registers an authorization code that signs in acct once the browser
// brings it through the authorization endpoint (client.authorize).
func (f *fakeProvider) code(acct fakeAccount) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := "code-" + acct.ID + "-" + rand.Text()
	f.codes[c] = &fakeGrant{acct: acct}
	return c
}

const googleIssuer = "https://accounts.google.com"

// serve routes the provider's endpoints (GitHub's, Google's and an OpenID
// issuer's paths, all on one server).
func (f *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fake provider: %s %s: %v", r.Method, r.URL, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		f.serveDiscovery(w)
	case "/jwks", "/oauth2/v3/certs":
		f.serveKeys(w)
	case "/login/oauth/authorize", "/authorize", "/o/oauth2/v2/auth":
		f.serveAuthorize(w, r)
	case "/login/oauth/access_token", "/token":
		f.serveToken(w, r)
	case "/user":
		if acct, ok := f.bearerAccount(w, bearer, map[string]any{"message": "Bad credentials"}); ok {
			writeJSON(w, 200, map[string]any{"id": json.Number(acct.ID), "login": "user" + acct.ID, "name": "User " + acct.ID, "email": nil})
		}
	case "/user/emails":
		if acct, ok := f.bearerAccount(w, bearer, map[string]any{"message": "Bad credentials"}); ok {
			writeJSON(w, 200, []any{
				map[string]any{"email": "old-" + acct.Email, "primary": false, "verified": true},
				map[string]any{"email": acct.Email, "primary": true, "verified": acct.Verified},
			})
		}
	case "/userinfo", "/v1/userinfo": // the issuer's, Google's
		if acct, ok := f.bearerAccount(w, bearer, map[string]any{"error": "invalid_token"}); ok {
			sub := cmp.Or(f.userinfoSubject, acct.ID)
			writeJSON(w, 200, map[string]any{"sub": sub, "email": acct.Email, "email_verified": acct.Verified})
		}
	default:
		f.t.Errorf("fake provider: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (f *fakeProvider) serveDiscovery(w http.ResponseWriter) {
	f.discoveries++
	writeJSON(w, 200, map[string]any{
		"issuer": f.issuer, "authorization_endpoint": f.authURL, "token_endpoint": f.URL + "/token",
		"userinfo_endpoint": f.URL + "/userinfo", "jwks_uri": f.URL + "/jwks",
		"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "code_challenge_methods_supported": []string{"S256"},
	})
}

func (f *fakeProvider) serveKeys(w http.ResponseWriter) {
	pub := f.key.PublicKey
	writeJSON(w, 200, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// serveAuthorize: the user consents at once, back to the app with a code and
// the state. A test names the account by the code it registered
// (X-Fake-Code); a browser signs in as f.consent.
func (f *fakeProvider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := r.Header.Get("X-Fake-Code")
	if c == "" {
		c = "code-browser-" + f.consent.ID + "-" + rand.Text()
		f.codes[c] = &fakeGrant{acct: f.consent}
	}
	if g := f.codes[c]; g != nil && !g.authorized {
		g.authorized = true
		g.clientID, g.redirectURI, g.nonce = q.Get("client_id"), q.Get("redirect_uri"), q.Get("nonce")
		g.challenge, g.challengeMethod = q.Get("code_challenge"), q.Get("code_challenge_method")
	}
	back := q.Get("redirect_uri") + "?code=" + url.QueryEscape(c) + "&state=" + url.QueryEscape(q.Get("state"))
	http.Redirect(w, r, back, http.StatusFound)
}

// serveToken exchanges an authorized code for an access token and, for an
// OpenID client, an ID token.
func (f *fakeProvider) serveToken(w http.ResponseWriter, r *http.Request) {
	if f.fail {
		writeJSON(w, 500, map[string]any{"error": "server_error"})
		return
	}
	clientID, _, ok := r.BasicAuth()
	if !ok {
		clientID = r.PostForm.Get("client_id")
	}
	g := f.codes[r.PostForm.Get("code")]
	if why := f.refuseToken(g, clientID, r.PostForm); why != "" {
		writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": why})
		return
	}
	delete(f.codes, r.PostForm.Get("code"))
	token := "at-" + g.acct.ID + "-" + rand.Text()
	f.tokens[token] = g.acct
	res := map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "openid email profile"}
	if clientID != "gh-id" { // GitHub is not an OpenID provider
		res["id_token"] = f.idToken(g, clientID)
	}
	writeJSON(w, 200, res)
}

// bearerAccount returns the account an access token was issued for, or
// answers 401 with body.
func (f *fakeProvider) bearerAccount(w http.ResponseWriter, bearer string, body map[string]any) (fakeAccount, bool) {
	acct, ok := f.tokens[bearer]
	if !ok {
		writeJSON(w, 401, body)
	}
	return acct, ok
}

// refuseToken says why a token request for grant g must fail, or "".
func (f *fakeProvider) refuseToken(g *fakeGrant, clientID string, form url.Values) string {
	switch {
	case g == nil || !g.authorized:
		return "unknown or used code"
	case clientID != g.clientID:
		return "the code was issued to another client"
	case form.Get("redirect_uri") != g.redirectURI:
		return "redirect_uri differs from the authorization request's"
	case f.ignorePKCE:
		return ""
	case g.challenge == "" || g.challengeMethod != "S256":
		return "PKCE with S256 is required"
	case subtle.ConstantTimeCompare([]byte(oauth2.S256ChallengeFromVerifier(form.Get("code_verifier"))), []byte(g.challenge)) != 1:
		return "code_verifier does not match the code_challenge"
	}
	return ""
}

// idToken signs an OpenID Connect ID token for grant g, issued to clientID
// (Google's client gets Google's issuer).
func (f *fakeProvider) idToken(g *fakeGrant, clientID string) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	now := time.Now().Unix()
	claims := map[string]any{"iss": f.issuer, "aud": clientID, "sub": g.acct.ID, "iat": now, "exp": now + 600}
	if clientID == "g-id" {
		claims["iss"] = googleIssuer
	}
	if !f.emailInUserinfoOnly {
		claims["email"], claims["email_verified"] = g.acct.Email, g.acct.Verified
	}
	if !f.dropNonce && g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	signing := enc(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + enc(claims)
	key := f.key
	if f.badSig {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	}
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// set changes the fake's behaviour while the app may be calling it.
func (f *fakeProvider) set(change func(f *fakeProvider)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// withProviders turns on GitHub, Google and OIDC against the fake. Google's
// fixed endpoints are redirected to it by the HTTP client.
func withProviders(f *fakeProvider) testOption {
	return func(c *testSetup) {
		c.OAuth = OAuthConfig{
			GitHubClientID: "gh-id", GitHubClientSecret: "gh-secret", GitHubURL: f.URL, GitHubAPIURL: f.URL,
			GoogleClientID: "g-id", GoogleClientSecret: "g-secret",
			OIDCIssuerURL: f.URL, OIDCClientID: f.clientID, OIDCClientSecret: "oidc-secret", OIDCName: "Acme SSO",
		}
	}
}

// googleToFake sends the requests meant for Google's servers to the fake.
type googleToFake struct{ fake *url.URL }

func (g googleToFake) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Host, "googleapis.com") || strings.HasSuffix(r.URL.Host, "google.com") {
		r = r.Clone(r.Context())
		if r.URL.Host == "oauth2.googleapis.com" {
			r.URL.Path = "/token"
		}
		r.URL.Scheme, r.URL.Host = g.fake.Scheme, g.fake.Host
	}
	return http.DefaultTransport.RoundTrip(r)
}

// oauthServer is a test server with the three providers on the fake.
func oauthServer(t *testing.T, opts ...testOption) (*testServer, *fakeProvider) {
	f := newFakeProvider(t)
	ts := newTestServer(t, append([]testOption{withProviders(f)}, opts...)...)
	u, _ := url.Parse(f.URL)
	ts.srv.oauthHTTP.Transport = googleToFake{u}
	return ts, f
}

// authorize plays the browser at the provider: it follows authURL (the
// redirect to the provider's authorization endpoint), where the account
// registered under code signs in, and returns the path of the provider's
// redirect back to the app, without following it.
func (c *client) authorize(authURL, code string) string {
	c.t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		c.t.Fatal(err)
	}
	if back := u.Query().Get("redirect_uri"); !strings.HasPrefix(back, c.ts.URL+"/auth/") || !strings.HasSuffix(back, "/callback") {
		c.t.Fatalf("redirect_uri %q is not a callback of this app", back)
	}
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	req.Header.Set("X-Fake-Code", code)
	hc := *c.ts.srv.oauthHTTP // reaches the fake, Google's addresses too
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(back, c.ts.URL+"/") {
		c.t.Fatalf("the provider answered %d, Location %q", res.StatusCode, back)
	}
	return strings.TrimPrefix(back, c.ts.URL)
}

// oauth signs in through provider as the account registered under code.
func (c *client) oauth(provider, code string) response {
	c.t.Helper()
	res := c.get("/auth/" + provider)
	if res.StatusCode != http.StatusFound {
		c.t.Fatalf("GET /auth/%s: %d", provider, res.StatusCode)
	}
	return c.get(c.authorize(res.Header.Get("Location"), code))
}

// connect connects provider to the logged-in account from Settings (with the
// current password; "" for an account without one), signing in at the
// provider as the account registered under code.
func (c *client) connect(provider, code, password string) response {
	c.t.Helper()
	res := c.post("/settings/identities/connect", url.Values{"provider": {provider}, "current_password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("POST /settings/identities/connect %s: %d\n%.1500s", provider, res.StatusCode, res.body)
	}
	return c.get(c.authorize(res.Header.Get("Location"), code))
}
