package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newToken creates an API token through the settings page and returns it.
func (c *client) newToken(name string) string {
	c.t.Helper()
	res := c.post("/settings/tokens", url.Values{"name": {name}, "current_password": {testPassword}})
	wantStatus(c.t, res, http.StatusOK)
	m := regexp.MustCompile(`skiff_[A-Za-z0-9_-]{43}`).FindString(res.body)
	if m == "" {
		c.t.Fatalf("no token shown:\n%.2000s", res.body)
	}
	return m
}

// api calls the JSON API with a bearer token (and no cookies).
func (ts *testServer) api(method, path, token, body string) (response, map[string]any) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res := ts.newClient().do(req)
	var v map[string]any
	json.Unmarshal([]byte(res.body), &v)
	return res, v
}

func apiCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestAPITokensAndProjects(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	token := ada.newToken("Laptop script")

	// Shown once: the API tokens page later shows only its prefix; only a hash is stored.
	res := ada.get("/settings/tokens")
	if strings.Contains(res.body, token) || !strings.Contains(res.body, token[:len(apiTokenPrefix)+4]) {
		t.Fatal("the token is shown again, or its prefix is missing")
	}
	var raw int
	ts.db.Read.QueryRow(`SELECT count(*) FROM api_tokens WHERE hash = ? OR prefix = ?`, token, token).Scan(&raw)
	if raw != 0 {
		t.Fatal("a raw token is stored")
	}

	res, v := ts.api("GET", "/api/v1/me", token, "")
	wantStatus(t, res, http.StatusOK)
	if v["email"] != "ada@example.com" || v["plan"] != "free" {
		t.Fatalf("me: %v", v)
	}

	// Projects: create, list, read, limits, validation, delete.
	res, v = ts.api("POST", "/api/v1/projects", token, `{"name":"From the API"}`)
	wantStatus(t, res, http.StatusCreated)
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/api/v1/projects/") || v["name"] != "From the API" {
		t.Fatalf("create: %s %v", loc, v)
	}
	wantBody(t, ada.get("/projects"), "From the API") // the same data as the site
	res, v = ts.api("GET", "/api/v1/projects", token, "")
	if list, _ := v["projects"].([]any); res.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("list: %d %v", res.StatusCode, v)
	}
	wantStatus(t, first(ts.api("GET", loc, token, "")), http.StatusOK)
	if res, v := ts.api("POST", "/api/v1/projects", token, `{"name":""}`); res.StatusCode != 422 || apiCode(v) != "invalid" {
		t.Fatalf("invalid: %d %v", res.StatusCode, v)
	}
	if res, v := ts.api("POST", "/api/v1/projects", token, `{"name":`); res.StatusCode != 400 || apiCode(v) != "bad_json" {
		t.Fatalf("bad json: %d %v", res.StatusCode, v)
	}
	ts.api("POST", "/api/v1/projects", token, `{"name":"2"}`)
	ts.api("POST", "/api/v1/projects", token, `{"name":"3"}`)
	if res, v := ts.api("POST", "/api/v1/projects", token, `{"name":"4"}`); res.StatusCode != 403 || apiCode(v) != "plan_limit" {
		t.Fatalf("plan limit: %d %v", res.StatusCode, v)
	}

	// Another user's token sees none of it.
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	bobToken := bob.newToken("Bob")
	if res, v := ts.api("GET", loc, bobToken, ""); res.StatusCode != 404 || apiCode(v) != "not_found" {
		t.Fatalf("other user's project: %d %v", res.StatusCode, v)
	}
	wantStatus(t, first(ts.api("DELETE", loc, bobToken, "")), http.StatusNotFound)
	wantStatus(t, first(ts.api("DELETE", loc, token, "")), http.StatusNoContent)
	wantStatus(t, first(ts.api("GET", loc, token, "")), http.StatusNotFound)

	// Revoked: fails on the next request. Last use is listed.
	wantBody(t, ada.get("/settings/tokens"), "last used")
	ids := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`).FindStringSubmatch(ada.get("/settings/tokens").body)
	wantStatus(t, bob.post("/settings/tokens/"+ids[1]+"/revoke", nil), http.StatusNotFound)
	wantRedirect(t, ada.post("/settings/tokens/"+ids[1]+"/revoke", nil), "/settings/tokens")
	if res, v := ts.api("GET", "/api/v1/me", token, ""); res.StatusCode != 401 || apiCode(v) != "invalid_token" {
		t.Fatalf("revoked token: %d %v", res.StatusCode, v)
	}
}

func first(r response, _ map[string]any) response { return r }

func TestAPIAuthentication(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	token := c.newToken("t")

	for name, header := range map[string]string{
		"none": "", "basic": "Basic YWRhOnB3", "not ours": "Bearer ghp_abc", "unknown": "Bearer skiff_" + strings.Repeat("A", 43),
	} {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		res := ts.newClient().do(req)
		if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %q", name, res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	// The session cookie is not accepted by the API...
	wantStatus(t, c.get("/api/v1/me"), http.StatusUnauthorized)
	// ...and a token is not accepted by the site.
	req, _ := http.NewRequest("GET", ts.URL+"/dashboard", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	wantRedirect(t, ts.newClient().do(req), "/login?next=%2Fdashboard")

	// Expired tokens fail.
	ts.db.Write.Exec(`UPDATE api_tokens SET expires_at = ?`, time.Now().Add(-time.Minute).UTC())
	wantStatus(t, first(ts.api("GET", "/api/v1/me", token, "")), http.StatusUnauthorized)

	// JSON errors for unknown endpoints and methods.
	if res, v := ts.api("GET", "/api/v1/nope", token, ""); res.StatusCode != 404 || apiCode(v) != "not_found" {
		t.Fatalf("unknown endpoint: %d %v", res.StatusCode, v)
	}
	if res, v := ts.api("PUT", "/api/v1/projects", token, ""); res.StatusCode != 405 || apiCode(v) != "method_not_allowed" || res.Header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d %v", res.StatusCode, v)
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 1 {
		t.Fatal("unexpected users")
	}
}

func TestAPIRateLimitAndCORS(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) {
		c.Limits.APIPerUser = Rate{N: 3, Per: time.Minute}
		c.CORSOrigins = map[string]bool{"https://app.example.com": true}
	})
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	token := c.newToken("t")
	for range 3 {
		wantStatus(t, first(ts.api("GET", "/api/v1/me", token, "")), http.StatusOK)
	}
	res, v := ts.api("GET", "/api/v1/me", token, "")
	if res.StatusCode != 429 || apiCode(v) != "rate_limited" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %v", res.StatusCode, v)
	}

	preflight := func(origin string) response {
		req, _ := http.NewRequest("OPTIONS", ts.URL+"/api/v1/projects", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		return ts.newClient().do(req)
	}
	res = preflight("https://app.example.com")
	if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed origin preflight: %v", res.Header)
	}
	if res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials allowed: the API must not use cookies")
	}
	if res := preflight("https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS open to an unlisted origin")
	}
}
