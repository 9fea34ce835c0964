package app

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
)

// fakeAccount is a user at a fake provider, handed out by authorization code.
type fakeAccount struct {
	ID       string
	Email    string
	Verified bool
}

// fakeProvider plays GitHub (authorize, token, /user, /user/emails), an
// OpenID Connect issuer (discovery, JWKS, RS256-signed ID tokens, userinfo),
// and Google's token and v2 userinfo endpoints. Codes map to accounts.
type fakeProvider struct {
	*httptest.Server
	t   *testing.T
	key *rsa.PrivateKey

	mu       sync.Mutex
	codes    map[string]fakeAccount // authorization code -> account
	tokens   map[string]fakeAccount // access token -> account
	fail     bool                   // answer 500 to token requests
	consent  fakeAccount            // who "logs in" at the authorize page (browser tests)
	badSig   bool                   // sign ID tokens with the wrong key
	clientID string
}

func newFakeProvider(t *testing.T) *fakeProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProvider{t: t, key: key, codes: map[string]fakeAccount{}, tokens: map[string]fakeAccount{}, clientID: "test-client"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// code registers an authorization code that signs in acct.
func (f *fakeProvider) code(acct fakeAccount) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := "code-" + acct.ID + "-" + base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))
	f.codes[c] = acct
	return c
}

func (f *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(w, 200, map[string]any{
			"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"userinfo_endpoint": f.URL + "/userinfo", "jwks_uri": f.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"},
		})
	case "/jwks":
		pub := f.key.PublicKey
		writeJSON(w, 200, map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	case "/login/oauth/authorize", "/authorize":
		// The user consents at once: back to the app with a code and the state.
		c := "code-browser-" + f.consent.ID
		f.codes[c] = f.consent
		back := r.URL.Query().Get("redirect_uri") + "?code=" + url.QueryEscape(c) + "&state=" + url.QueryEscape(r.URL.Query().Get("state"))
		http.Redirect(w, r, back, http.StatusFound)
	case "/login/oauth/access_token", "/token":
		if f.fail {
			writeJSON(w, 500, map[string]any{"error": "server_error"})
			return
		}
		acct, ok := f.codes[r.PostForm.Get("code")]
		if !ok {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "bad code"})
			return
		}
		delete(f.codes, r.PostForm.Get("code"))
		token := "at-" + acct.ID + "-" + r.PostForm.Get("code")
		f.tokens[token] = acct
		writeJSON(w, 200, map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600,
			"scope": "openid email profile", "id_token": f.idToken(acct)})
	case "/user":
		acct, ok := f.tokens[bearer]
		if !ok {
			writeJSON(w, 401, map[string]any{"message": "Bad credentials"})
			return
		}
		writeJSON(w, 200, map[string]any{"id": json.Number(acct.ID), "login": "user" + acct.ID, "name": "User " + acct.ID, "email": nil})
	case "/user/emails":
		acct, ok := f.tokens[bearer]
		if !ok {
			writeJSON(w, 401, map[string]any{"message": "Bad credentials"})
			return
		}
		writeJSON(w, 200, []any{
			map[string]any{"email": "old-" + acct.Email, "primary": false, "verified": true},
			map[string]any{"email": acct.Email, "primary": true, "verified": acct.Verified},
		})
	case "/userinfo":
		acct := f.tokens[bearer]
		writeJSON(w, 200, map[string]any{"sub": acct.ID, "email": acct.Email, "email_verified": acct.Verified})
	case "/oauth2/v2/userinfo": // Google's
		acct, ok := f.tokens[r.URL.Query().Get("access_token")]
		if !ok {
			writeJSON(w, 401, map[string]any{"error": "invalid_token"})
			return
		}
		writeJSON(w, 200, map[string]any{"id": acct.ID, "email": acct.Email, "verified_email": acct.Verified, "name": "G " + acct.ID})
	default:
		f.t.Errorf("fake provider: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// idToken signs an OpenID Connect ID token for acct.
func (f *fakeProvider) idToken(acct fakeAccount) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	now := time.Now().Unix()
	signing := enc(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": f.URL, "aud": f.clientID, "sub": acct.ID, "email": acct.Email, "email_verified": acct.Verified,
		"iat": now, "exp": now + 600,
	})
	key := f.key
	if f.badSig {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	}
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// withProviders turns on GitHub, Google and OIDC against the fake. Google's
// fixed endpoints are redirected to it by the HTTP client.
func withProviders(f *fakeProvider) testOption {
	return func(c *Config) {
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

// oauth signs in through provider with code: it follows the redirect to the
// provider, checks it, and comes back to the callback with the state given.
func (c *client) oauth(provider, code string) response {
	c.t.Helper()
	res := c.get("/auth/" + provider)
	if res.StatusCode != http.StatusFound {
		c.t.Fatalf("GET /auth/%s: %d", provider, res.StatusCode)
	}
	authURL, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		c.t.Fatal(err)
	}
	q := authURL.Query()
	if want := c.ts.URL + "/auth/" + provider + "/callback"; q.Get("redirect_uri") != want {
		c.t.Fatalf("redirect_uri %q, want %q", q.Get("redirect_uri"), want)
	}
	return c.get("/auth/" + provider + "/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(q.Get("state")))
}

// connect connects provider to the logged-in account from Settings (with the
// current password; "" for an account without one), then comes back from the
// provider with code.
func (c *client) connect(provider, code, password string) response {
	c.t.Helper()
	res := c.post("/settings/identities/connect", url.Values{"provider": {provider}, "current_password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("POST /settings/identities/connect %s: %d\n%.1500s", provider, res.StatusCode, res.body)
	}
	authURL, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		c.t.Fatal(err)
	}
	return c.get("/auth/" + provider + "/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(authURL.Query().Get("state")))
}
