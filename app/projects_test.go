package app

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestProjects(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")

	res := ada.get("/projects")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "No projects yet")

	res = ada.post("/projects", url.Values{"name": {"  Moon <landing>  "}})
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, ts.projectsOf("ada@example.com")+"/") {
		t.Fatalf("redirect to %q", loc)
	}
	res = ada.get(loc)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Project created.", "Moon &lt;landing&gt;")
	wantBody(t, ada.get("/projects"), "Moon &lt;landing&gt;")
	res = ada.get("/dashboard")
	wantBody(t, res, "Moon &lt;landing&gt;")
	if stat(t, res) != "1" {
		t.Fatalf("the dashboard counts %s projects", stat(t, res))
	}

	// Another user can neither see nor delete it, and learns nothing: 404.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantStatus(t, bob.get(loc), http.StatusNotFound)
	wantStatus(t, bob.post(loc+"/delete", nil), http.StatusNotFound)
	if strings.Contains(bob.get("/projects").body, "Moon") {
		t.Fatal("bob sees ada's project in his list")
	}
	wantStatus(t, ada.get(loc), http.StatusOK)

	// Anonymous visitors are sent to log in.
	anon := ts.newClient()
	wantRedirect(t, anon.get(loc), "/login?next="+url.QueryEscape(loc))
	wantRedirect(t, anon.post("/projects", url.Values{"name": {"x"}}), "/login")

	// The owner deletes it.
	wantRedirect(t, ada.post(loc+"/delete", nil), ts.projectsOf("ada@example.com"))
	wantBody(t, ada.get("/projects"), "Project deleted.", "No projects yet")
	wantStatus(t, ada.get(loc), http.StatusNotFound)
	wantStatus(t, ada.post(loc+"/delete", nil), http.StatusNotFound)
}

func TestProjectFormKeepsInput(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	long := strings.Repeat("x", 101)
	res := c.post("/projects", url.Values{"name": {long}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Use at most 100 characters.", `value="`+long+`"`, `aria-describedby="name-error"`)
	if n, _ := ts.db.CountProjects(context.Background(), ts.team(ts.userID("ada@example.com")), 1000); n != 0 {
		t.Fatalf("%d projects after a rejected form", n)
	}
}

func TestDashboardSummarisesManyProjects(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	u, _ := ts.db.UserByEmail(context.Background(), "ada@example.com")
	for i := range 12 {
		ts.db.CreateProject(context.Background(), ts.team(u.ID), "p"+strconv.Itoa(i))
	}
	res := c.get("/dashboard")
	if stat(t, res) != "12" {
		t.Fatalf("the dashboard counts %s projects", stat(t, res))
	}
	var recent []string
	for _, ul := range all(parsePage(t, res).root, "ul") {
		if attr(ul, "class") == "project-list" {
			for _, a := range all(ul, "a") {
				recent = append(recent, text(a))
			}
		}
	}
	if strings.Join(recent, " ") != "p11 p10 p9 p8 p7" {
		t.Fatalf("the dashboard lists %v, want the 5 newest", recent)
	}
}
