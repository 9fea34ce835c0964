package app

import (
	"net/http"

	"skiff/assets"
)

// routes lists every route of the app, then wraps them in the middleware that
// every request passes through.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Public pages.
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /api", s.handleAPIDocs)
	mux.HandleFunc("GET /privacy", s.handlePrivacy)
	mux.HandleFunc("GET /terms", s.handleTerms)

	// Accounts.
	mux.HandleFunc("GET /signup", s.handleSignupGet)
	mux.HandleFunc("POST /signup", s.handleSignupPost)
	mux.HandleFunc("GET /login", s.handleLoginGet)
	mux.HandleFunc("POST /login", s.handleLoginPost)
	mux.HandleFunc("POST /logout", s.handleLogoutPost)

	// Social login (GitHub, Google, OpenID Connect) and linked accounts.
	mux.HandleFunc("GET /auth/{provider}", s.handleOAuthBegin)
	mux.HandleFunc("GET /auth/{provider}/callback", s.handleOAuthCallback)
	mux.Handle("POST /settings/identities/connect", s.requireUser(s.handleIdentityConnect))
	mux.Handle("POST /settings/identities/{id}/delete", s.requireUser(s.handleIdentityDelete))

	// Account settings: a page per section (views.SettingsSections), each
	// form posting to a route of its own. Connecting and disconnecting a
	// provider are with social login above; confirming an email change is
	// with the mail flows below.
	mux.Handle("GET /settings", s.requireUser(s.handleSettings))
	mux.Handle("POST /settings/profile", s.requireUser(s.handleSettingsProfile))
	mux.Handle("POST /settings/email", s.requireUser(s.handleSettingsEmail))
	mux.Handle("GET /settings/security", s.requireUser(s.handleSettingsSecurity))
	mux.Handle("POST /settings/password", s.requireUser(s.handleSettingsPassword))
	mux.Handle("GET /settings/2fa", s.requireUser(s.handleTwoFactorSettings))
	mux.Handle("POST /settings/2fa/enable", s.requireUser(s.handleTwoFactorEnable))
	mux.Handle("POST /settings/2fa/disable", s.requireUser(s.handleTwoFactorDisable))
	mux.Handle("GET /settings/2fa/recovery-codes", s.requireUser(s.handleRecoveryCodes))
	mux.Handle("GET /settings/2fa/recovery-codes.txt", s.requireUser(s.handleRecoveryCodesDownload))
	mux.Handle("POST /settings/2fa/recovery-codes", s.requireUser(s.handleRecoveryCodesRegenerate))
	mux.Handle("GET /settings/sessions", s.requireUser(s.handleSessions))
	mux.Handle("POST /settings/sessions/{id}/revoke", s.requireUser(s.handleSessionRevoke))
	mux.Handle("POST /settings/sessions/revoke-others", s.requireUser(s.handleSessionRevokeOthers))
	mux.Handle("GET /settings/tokens", s.requireUser(s.handleTokens))
	mux.Handle("POST /settings/tokens", s.requireUser(s.handleTokenCreate))
	mux.Handle("POST /settings/tokens/{id}/revoke", s.requireUser(s.handleTokenRevoke))
	mux.Handle("GET /settings/data", s.requireUser(s.handleSettingsData))
	mux.Handle("GET /settings/export", s.requireUser(s.handleExport))
	mux.Handle("POST /settings/delete", s.requireUser(s.handleDeleteAccount))

	// Mail flows (verification, password reset, magic links, email change) and the second factor.
	mux.HandleFunc("GET /verify-email", s.handleVerifyEmailGet)
	mux.HandleFunc("POST /verify-email", s.handleVerifyEmailPost)
	mux.Handle("POST /verify-email/resend", s.requireUser(s.handleVerifyResend))
	mux.HandleFunc("GET /forgot-password", s.handleForgotGet)
	mux.HandleFunc("POST /forgot-password", s.handleForgotPost)
	mux.HandleFunc("GET /reset-password", s.handleResetGet)
	mux.HandleFunc("POST /reset-password", s.handleResetPost)
	mux.HandleFunc("GET /login/magic", s.handleMagicGet)
	mux.HandleFunc("POST /login/magic", s.handleMagicPost)
	mux.HandleFunc("GET /login/magic/confirm", s.handleMagicConfirmGet)
	mux.HandleFunc("POST /login/magic/confirm", s.handleMagicConfirmPost)
	mux.HandleFunc("GET /settings/email/confirm", s.handleEmailConfirmGet)
	mux.HandleFunc("POST /settings/email/confirm", s.handleEmailConfirmPost)
	mux.HandleFunc("GET /login/2fa", s.handleTwoFactorLoginGet)
	mux.HandleFunc("POST /login/2fa", s.handleTwoFactorLoginPost)
	mux.HandleFunc("GET /dev/mail", s.handleDevMail)
	mux.HandleFunc("GET /dev/mail/{id}", s.handleDevMailHTML)

	// Billing. The webhook is on the root mux below: no session, no
	// cross-origin check (Stripe is another origin; its signature is the check).
	mux.HandleFunc("GET /pricing", s.handlePricing)
	mux.Handle("GET /billing", s.requireUser(s.handleBilling))
	mux.Handle("POST /billing/checkout", s.requireUser(s.handleCheckout))
	mux.Handle("POST /billing/portal", s.requireUser(s.handlePortal))
	mux.Handle("GET /reports", s.requireUser(s.requirePlan(PlanPro, s.handleReports)))

	// The founder's admin (ADMIN_EMAILS); 404 for everyone else.
	mux.Handle("GET /admin", s.requireUser(s.requireAdmin(s.handleAdmin)))
	mux.Handle("POST /admin/users/{id}/disable", s.requireUser(s.requireAdmin(s.handleAdminDisable(true))))
	mux.Handle("POST /admin/users/{id}/enable", s.requireUser(s.requireAdmin(s.handleAdminDisable(false))))

	// The logged-in app.
	mux.Handle("GET /dashboard", s.requireUser(s.handleDashboard))
	mux.Handle("GET /projects", s.requireUser(s.handleProjectsList))
	mux.Handle("POST /projects", s.requireUser(s.handleProjectsCreate))
	mux.Handle("GET /projects/{id}", s.requireUser(s.handleProjectShow))
	mux.Handle("POST /projects/{id}/delete", s.requireUser(s.handleProjectDelete))

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
