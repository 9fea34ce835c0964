package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// oauthProvider is one configured social login. The OAuth 2 flow (the
// authorization URL with PKCE, the code exchange) is golang.org/x/oauth2's;
// who signed in comes from GitHub's API, or from an OpenID Connect ID token
// checked by go-oidc (Google and OIDC_ISSUER_URL).
type oauthProvider struct {
	ID, Name string
	// authOrigin is the origin of the provider's authorization endpoint: the
	// CSP's form-action lists it, so the connect form may redirect there.
	authOrigin string
	config     *oauth2.Config
	// openID providers get a nonce, which identify finds in the ID token.
	openID bool
	// identify returns who signed in, from the token the code was exchanged
	// for; nonce is the one this browser's flow sent ("" unless openID).
	identify func(ctx context.Context, tok *oauth2.Token, nonce string) (oauthUser, error)
}

// oauthUser is who signed in at a provider.
type oauthUser struct {
	ID       string // the provider's id for the account, never reused
	Email    string
	Verified bool // the provider vouches that Email is theirs
}

// newOAuthProviders returns the configured providers, in button order. An
// OpenID Connect issuer is discovered here, once: a wrong OIDC_ISSUER_URL stops
// the start-up with one line rather than failing every login later.
func (s *Server) newOAuthProviders(ctx context.Context) ([]*oauthProvider, error) {
	o := s.cfg.OAuth
	var out []*oauthProvider
	if o.GitHubClientID != "" {
		out = append(out, s.githubProvider())
	}
	if o.GoogleClientID != "" {
		out = append(out, s.googleProvider())
	}
	if o.OIDCClientID != "" {
		op, err := s.openIDProvider(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, nil
}

// oauthConfig is the OAuth 2 client of provider id, which sends the browser
// back to its callback route.
func (s *Server) oauthConfig(id, clientID, secret string, endpoint oauth2.Endpoint, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: endpoint, Scopes: scopes,
		RedirectURL: s.cfg.Origin() + "/auth/" + id + "/callback"}
}

// githubProvider is GitHub's OAuth app (plain OAuth 2: who signed in comes
// from its API).
func (s *Server) githubProvider() *oauthProvider {
	o := s.cfg.OAuth
	endpoint := oauth2.Endpoint{AuthURL: o.GitHubURL + "/login/oauth/authorize",
		TokenURL: o.GitHubURL + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
	return &oauthProvider{
		ID: "github", Name: "GitHub", authOrigin: originOf(endpoint.AuthURL),
		config:   s.oauthConfig("github", o.GitHubClientID, o.GitHubClientSecret, endpoint, "user:email"),
		identify: s.githubUser,
	}
}

// googleProvider is Google, an OpenID provider whose endpoints are well
// known (its discovery document,
// accounts.google.com/.well-known/openid-configuration): written here, so
// that starting needs no call to Google.
func (s *Server) googleProvider() *oauthProvider {
	o := s.cfg.OAuth
	op := (&oidc.ProviderConfig{
		IssuerURL:   "https://accounts.google.com",
		AuthURL:     "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:    "https://oauth2.googleapis.com/token",
		UserInfoURL: "https://openidconnect.googleapis.com/v1/userinfo",
		JWKSURL:     "https://www.googleapis.com/oauth2/v3/certs",
		Algorithms:  []string{oidc.RS256},
	}).NewProvider(oidc.ClientContext(context.Background(), s.oauthHTTP))
	endpoint := op.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams
	return &oauthProvider{
		ID: "google", Name: "Google", authOrigin: originOf(endpoint.AuthURL), openID: true,
		config:   s.oauthConfig("google", o.GoogleClientID, o.GoogleClientSecret, endpoint, oidc.ScopeOpenID, "email", "profile"),
		identify: s.openIDUser(op, o.GoogleClientID),
	}
}

// openIDProvider is the OpenID Connect issuer of OIDC_ISSUER_URL, from its
// discovery document.
func (s *Server) openIDProvider(ctx context.Context) (*oauthProvider, error) {
	o := s.cfg.OAuth
	op, err := discoverOpenID(ctx, s.oauthHTTP, o.OIDCIssuerURL)
	if err != nil {
		return nil, err
	}
	return &oauthProvider{
		ID: "oidc", Name: o.OIDCName, authOrigin: originOf(op.Endpoint().AuthURL), openID: true,
		config:   s.oauthConfig("oidc", o.OIDCClientID, o.OIDCClientSecret, op.Endpoint(), oidc.ScopeOpenID, "email", "profile"),
		identify: s.openIDUser(op, o.OIDCClientID),
	}, nil
}

// discoverOpenID reads the issuer's discovery document. The issuer is then
// used exactly as the document states it, since go-oidc compares it byte for
// byte with each ID token's "iss": OIDC_ISSUER_URL may differ from it by a
// trailing "/" only (Auth0-style issuers end with one, others do not). Every
// failure is one line naming OIDC_ISSUER_URL, what was fetched, and what was
// wrong.
func discoverOpenID(ctx context.Context, client *http.Client, issuer string) (*oidc.Provider, error) {
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	bad := func(format string, args ...any) error {
		return fmt.Errorf("config: OIDC_ISSUER_URL=%s: %s %s", issuer, wellKnown, fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, bad("is not a URL: %v", withoutURL(err))
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, bad("could not be fetched: %v", withoutURL(err))
	}
	defer res.Body.Close()
	var doc oidc.ProviderConfig
	switch {
	case res.StatusCode != http.StatusOK:
		return nil, bad("answered %s, not the discovery document", res.Status)
	case json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc) != nil:
		return nil, bad("is not a JSON discovery document")
	case strings.TrimSuffix(doc.IssuerURL, "/") != strings.TrimSuffix(issuer, "/"):
		return nil, bad("names another issuer, %q", doc.IssuerURL)
	case doc.AuthURL == "" || doc.TokenURL == "" || doc.JWKSURL == "":
		return nil, bad("lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	// An ID token "signed" with the client secret (HS256), or not at all,
	// proves nothing about who sent it: only the issuer's published keys count.
	doc.Algorithms = slices.DeleteFunc(doc.Algorithms, func(alg string) bool {
		return alg == "none" || strings.HasPrefix(alg, "HS")
	})
	return doc.NewProvider(oidc.ClientContext(context.Background(), client)), nil
}

// withoutURL drops the URL from a *url.Error: the message names it already.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// openIDUser identifies the user from the ID token: go-oidc checks its
// signature against the issuer's keys, its issuer, audience and expiry; the
// nonce must be the one this browser sent, so that an ID token (or a code)
// taken from another login cannot be replayed here. Providers that keep the
// address for the userinfo endpoint (zitadel, Keycloak by configuration) are
// asked there (userInfoClaims).
func (s *Server) openIDUser(op *oidc.Provider, clientID string) func(context.Context, *oauth2.Token, string) (oauthUser, error) {
	verifier := op.Verifier(&oidc.Config{ClientID: clientID})
	return func(ctx context.Context, tok *oauth2.Token, nonce string) (oauthUser, error) {
		ctx = oidc.ClientContext(ctx, s.oauthHTTP)
		raw, _ := tok.Extra("id_token").(string) // absent or not a string: both are ""
		if raw == "" {
			return oauthUser{}, errors.New("the token response has no id_token")
		}
		idToken, err := verifier.Verify(ctx, raw)
		if err != nil {
			return oauthUser{}, fmt.Errorf("id token: %w", err)
		}
		switch {
		case idToken.Nonce == "":
			return oauthUser{}, errors.New("id token: no nonce (the provider ignored the one sent)")
		case subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1:
			return oauthUser{}, errors.New("id token: its nonce is not the one this browser's sign-in sent (a replayed token or code)")
		}
		// The address and whether it is verified always come from one place.
		var claims emailClaims
		if err := idToken.Claims(&claims); err != nil {
			return oauthUser{}, fmt.Errorf("id token: %w", err)
		}
		if claims.Email == "" {
			if claims, err = userInfoClaims(ctx, op, tok, idToken.Subject); err != nil {
				return oauthUser{}, err
			}
		}
		return oauthUser{ID: idToken.Subject, Email: claims.Email, Verified: claimTrue(claims.EmailVerified)}, nil
	}
}

// userInfoClaims asks op's userinfo endpoint about the address of subject,
// the ID token's: an answer about anyone else does not count.
func userInfoClaims(ctx context.Context, op *oidc.Provider, tok *oauth2.Token, subject string) (emailClaims, error) {
	var claims emailClaims
	info, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return claims, fmt.Errorf("userinfo: %w", err)
	}
	if info.Subject != subject {
		return claims, fmt.Errorf("userinfo: it describes subject %q, the id token %q", info.Subject, subject)
	}
	if err := info.Claims(&claims); err != nil {
		return claims, fmt.Errorf("userinfo: %w", err)
	}
	return claims, nil
}

// emailClaims are the standard claims about the user's address.
type emailClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"`
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

// githubUser asks GitHub's API who holds the token: the account's id, and its
// primary address and whether GitHub verified it (the profile's email field
// is neither).
func (s *Server) githubUser(ctx context.Context, tok *oauth2.Token, _ string) (oauthUser, error) {
	var profile struct {
		ID json.Number `json:"id"`
	}
	if err := s.githubGet(ctx, tok, "/user", &profile); err != nil {
		return oauthUser{}, err
	}
	if profile.ID == "" {
		return oauthUser{}, errors.New("github /user: no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := s.githubGet(ctx, tok, "/user/emails", &emails); err != nil {
		return oauthUser{}, err
	}
	u := oauthUser{ID: profile.ID.String()}
	for _, e := range emails {
		if e.Primary {
			u.Email, u.Verified = e.Email, e.Verified
		}
	}
	return u, nil
}

// githubGet reads one JSON answer of GitHub's API into v.
func (s *Server) githubGet(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.OAuth.GitHubAPIURL+path, nil)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := s.oauthHTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("github %s: status %d", path, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// originOf returns the scheme and host of rawURL.
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
