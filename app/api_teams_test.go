package app

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"skiff/db"
)

// TestTokensActInTheirTeam: a token is made for one of its maker's teams and
// acts there only, with their role and the team's plan; its work is in the
// team's audit log; it cannot be made for a team they are not in; and it
// stops working when they leave the team.
func TestTokensActInTheirTeam(t *testing.T) {
	ts := newTestServer(t)
	ada, bob, cyd := ts.newClient(), ts.newClient(), ts.newClient()
	ada.signupVerified("ada@example.com")
	bob.signupVerified("bob@example.com")
	cyd.signupVerified("cyd@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	acmeID := strings.TrimPrefix(acme, "/t/")
	team, _ := strconv.ParseInt(acmeID, 10, 64)
	ts.db.AddMember(t.Context(), ts.scopeIn(ts.userID("ada@example.com"), team), ts.userID("bob@example.com"), db.RoleMember)
	cydsTeam := strings.TrimPrefix(strings.TrimSuffix(cyd.post("/teams", url.Values{"name": {"Cyd's"}}).Header.Get("Location"), "/projects"), "/t/")
	bob.post("/projects", url.Values{"name": {"Bob's own"}})

	// The form offers Bob's teams; a team he is not in is refused.
	res := bob.get("/settings/tokens")
	wantBody(t, res, `<option value="`+acmeID+`"`, ">Personal</option>")
	if strings.Contains(res.body, `value="`+cydsTeam+`"`) {
		t.Fatal("the form offers a team bob is not in")
	}
	for _, bad := range []string{cydsTeam, "x", "-1", "999999999"} {
		res = bob.post("/settings/tokens", url.Values{"name": {"sneaky"}, "team": {bad}, "current_password": {testPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "a token acts in a team you are a member of")
	}
	if n := ts.count(`SELECT count(*) FROM api_tokens`); n != 0 {
		t.Fatalf("%d tokens made for teams bob is not in", n)
	}

	res = bob.post("/settings/tokens", url.Values{"name": {"acme-ci"}, "team": {acmeID}, "current_password": {testPassword}})
	wantStatus(t, res, http.StatusOK)
	token := regexp.MustCompile(`skiff_[A-Za-z0-9_-]{43}`).FindString(res.body)
	wantBody(t, bob.get("/settings/tokens"), "acme-ci", "in Acme")
	_, me := ts.api("GET", "/api/v1/me", token, "")
	if tm, _ := me["team"].(map[string]any); tm["name"] != "Acme" || tm["role"] != "member" || tm["personal"] != false || me["plan"] != "free" {
		t.Fatalf("/me with an Acme token: %v", me)
	}
	// Its projects are Acme's: made there, listed from there, and Bob's
	// own are out of its reach.
	for i := range 3 {
		res, _ := ts.api("POST", "/api/v1/projects", token, `{"name":"api-`+strconv.Itoa(i)+`"}`)
		wantStatus(t, res, http.StatusCreated)
	}
	wantBody(t, ada.get(acme+"/projects"), "api-0", "api-2")
	res, list := ts.api("GET", "/api/v1/projects", token, "")
	if body := res.body; strings.Contains(body, "Bob's own") || !strings.Contains(body, "api-1") {
		t.Fatalf("the Acme token lists: %v", list)
	}
	own := itoa64(int64(ts.count(`SELECT id FROM projects WHERE name = 'Bob''s own'`)))
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		wantStatus(t, first(ts.api(method, "/api/v1/projects/"+own, token, `{"name":"taken"}`)), http.StatusNotFound)
	}
	if n := ts.count(`SELECT count(*) FROM projects WHERE name = 'Bob''s own'`); n != 1 {
		t.Fatal("the Acme token changed bob's own project")
	}
	// Acme's plan, not Bob's: the Free limit of 3 projects.
	res, body := ts.api("POST", "/api/v1/projects", token, `{"name":"one too many"}`)
	wantStatus(t, res, http.StatusForbidden)
	if e, _ := body["error"].(map[string]any); e["code"] != "plan_limit" {
		t.Fatalf("over the team's limit: %v", body)
	}
	log := ada.get(acme + "/audit").body
	for _, line := range []string{"created the API token acme-ci", "bob@example.com via the API", "created the project api-2"} {
		if !strings.Contains(log, line) {
			t.Errorf("Acme's audit log lacks %q", line)
		}
	}

	// Bob is removed from Acme: his token for it dies with his membership.
	wantRedirect(t, ada.post(acme+"/members/"+itoa64(ts.userID("bob@example.com"))+"/remove", nil), acme+"/members")
	res, body = ts.api("GET", "/api/v1/projects", token, "")
	if res.StatusCode != http.StatusUnauthorized || apiCode(body) != "invalid_token" {
		t.Fatalf("bob's Acme token after his removal: %d %v, want 401 invalid_token", res.StatusCode, body)
	}
	if n := ts.count(`SELECT count(*) FROM api_tokens`); n != 0 {
		t.Fatalf("%d tokens left after bob left the only team he had one for", n)
	}
	// A token made without choosing acts in his personal team, as before.
	personal := bob.newToken("mine")
	_, me = ts.api("GET", "/api/v1/me", personal, "")
	if tm, _ := me["team"].(map[string]any); tm["personal"] != true || tm["role"] != "owner" {
		t.Fatalf("/me with a personal token: %v", me)
	}
}
