package app

import (
	"net/http"

	"skiff/assets"
)

// routes lists every route of the app, then wraps them in the middleware that
// every request passes through.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	public := group{s: s, mx: mux}
	user := public.with(s.requireUser)

	// Each feature registers its routes from its own file, beside its
	// handlers: public pages for everyone, user pages behind the login.
	s.pageRoutes(public, user)                  // pages.go: home, API docs, privacy, terms, dashboard
	s.authRoutes(public, user)                  // auth_login.go: signup, login, mail links, second factor
	s.oauthRoutes(public, user)                 // auth_oauth.go: GitHub, Google, OpenID Connect
	s.passkeyRoutes(public, user)               // auth_passkeys.go: passkeys, added in settings, used to log in
	s.settingsRoutes(public, user)              // account_settings.go: the settings pages
	s.adminRoutes(user.with(s.requireAdmin))    // admin.go: the founder's admin
	team := teamGroup{user.with(s.requireTeam)} // a team's pages, /t/{team}/…, each with its action
	s.teamRoutes(public, user, team)            // teams.go, team_members.go: teams, members, invitations
	s.billingRoutes(public, user, team)         // billing.go: pricing, a team's checkout and portal, a Pro page
	s.projectRoutes(user, team)                 // projects.go: the example resource, in a team
	s.devMailRoutes(public)                     // mail_dev.go: the dev mailbox

	// Pages pass cross-origin protection and the body limit, then have their
	// session and user loaded.
	var pages http.Handler = s.friendlyMuxErrors(mux)
	pages = s.loadUser(pages)
	pages = s.loadAndSaveSession(pages)
	pages = s.limitBody(pages)
	pages = s.crossOriginProtection(pages)

	// Assets, the files browsers and crawlers ask for by name, and probes
	// skip the session: they never need it, and skipping it saves a database
	// read per request.
	root := http.NewServeMux()
	root.Handle("GET "+assets.Prefix, assets.Handler())
	root.Handle("GET /favicon.ico", assets.Unhashed("favicon.ico"))
	root.Handle("GET /robots.txt", assets.Unhashed("robots.txt"))
	root.HandleFunc("GET /manifest.webmanifest", s.handleManifest)
	root.HandleFunc("GET /healthz", s.handleHealthz)
	root.HandleFunc("GET /readyz", s.handleReadyz)
	root.HandleFunc("POST /webhooks/stripe", s.handleStripeWebhook)
	// The JSON API: bearer tokens only, never cookies (see api.go). "/api"
	// itself is its documentation, a page (without this line the mux would
	// redirect it to "/api/").
	root.Handle("/api/", s.apiRoutes())
	root.Handle("/api", pages)
	root.Handle("/", pages)

	// Every request is logged, recovered from panics and gets the security headers.
	var h http.Handler = s.secureHeaders(root)
	h = s.recoverPanic(h)
	h = s.logRequests(h)
	return h
}
