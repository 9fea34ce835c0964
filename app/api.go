package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"skiff/db"
)

// The JSON API under /api/v1 is for separate clients (a mobile app, a
// script, a front end on another origin). It accepts only
// "Authorization: Bearer skiff_..." personal tokens, never the session
// cookie, so cross-site request forgery cannot apply; and the cookie routes
// never look at tokens. A revoked token fails on its next request.

// apiTokenPrefix makes tokens recognisable to secret scanners.
const apiTokenPrefix = "skiff_"

// newAPIToken returns a fresh token and its SHA-256.
func newAPIToken() (string, []byte) {
	var raw [32]byte
	rand.Read(raw[:])
	token := apiTokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

// apiCaller is who is calling the API.
type apiCaller struct {
	token db.APIToken
	user  db.User
	plan  string
	team  db.Scope // the token's user in the token's team, where the API acts
	// teamInfo is the token's team, with the user's role in it.
	teamInfo db.Team
}

// apiError writes {"error": {"code": ..., "message": ...}} with status.
func apiError(w http.ResponseWriter, status int, code, msg string, fields map[string]string) {
	body := map[string]any{"code": code, "message": msg}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	apiJSON(w, status, map[string]any{"error": body})
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// apiCORS answers preflights and allows the origins in CORS_ORIGINS (none by
// default). No credentials: the API uses tokens, not cookies.
func (s *Server) apiCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && s.cfg.CORSOrigins[origin]
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			if allowed {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiHandlerFunc is the shape of every API handler: it acts for caller c
// and returns an error rather than writing one.
type apiHandlerFunc func(w http.ResponseWriter, r *http.Request, c apiCaller) error

// handleAPI adapts an API handler: it authenticates the caller, runs h, and
// answers an error from either as the JSON envelope (apiErrorFor).
func (s *Server) handleAPI(h apiHandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := &wroteWriter{ResponseWriter: w}
		c, err := s.apiCaller(r)
		if err == nil {
			err = h(ww, r, c)
		}
		if err != nil {
			s.apiErrorFor(ww, r, err)
		}
	})
}

// apiErrorFor answers err as the API's error envelope: the same error types
// as pages (errors.go), each mapped to its status and code here, once.
func (s *Server) apiErrorFor(w *wroteWriter, r *http.Request, err error) {
	if w.wrote {
		s.log.Error("api error after the response began", "err", err, "request_id", state(r).id, "path", r.URL.Path)
		return
	}
	if ce, ok := errors.AsType[*clientError](err); ok {
		switch ce.Status {
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="skiff"`)
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(ce.RetryAfter)))
		}
		apiError(w, ce.Status, ce.Code, ce.Message, ce.Fields)
		return
	}
	if pl, ok := errors.AsType[*planLimit](err); ok {
		apiError(w, http.StatusForbidden, "plan_limit", pl.Message, nil)
		return
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", "The body is too large.", nil)
		return
	}
	if errors.Is(err, db.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", "No such resource, or not yours.", nil)
		return
	}
	s.log.Error("api error", "err", err, "request_id", state(r).id, "method", r.Method, "path", r.URL.Path, "route", r.Pattern)
	apiError(w, http.StatusInternalServerError, "internal", "Something went wrong; it was logged.", nil)
}

// apiCaller authenticates the request: a valid bearer token of an account
// that is not disabled, within the per-user rate limit.
func (s *Server) apiCaller(r *http.Request) (apiCaller, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, apiTokenPrefix) || len(token) > 100 {
		return apiCaller{}, &clientError{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "Send a personal API token: Authorization: Bearer skiff_..."}
	}
	sum := sha256.Sum256([]byte(token))
	t, err := s.db.APITokenByHash(r.Context(), sum[:])
	if errors.Is(err, db.ErrNotFound) {
		return apiCaller{}, &clientError{Status: http.StatusUnauthorized, Code: "invalid_token",
			Message: "This token is unknown, revoked or expired."}
	}
	if err != nil {
		return apiCaller{}, err
	}
	// One budget per user, whatever token they use: more tokens must not
	// mean more requests.
	if ok, wait := s.apiLimiter.allow(strconv.FormatInt(t.UserID, 10)); !ok {
		return apiCaller{}, &clientError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many requests for this account; slow down.", RetryAfter: wait}
	}
	su, err := s.db.UserForSession(r.Context(), t.UserID, "")
	if err != nil {
		return apiCaller{}, err
	}
	if su.User.Disabled {
		return apiCaller{}, &clientError{Status: http.StatusForbidden, Code: "account_disabled",
			Message: "This account has been disabled."}
	}
	c := apiCaller{token: t, user: su.User, plan: PlanFree, team: su.Team, teamInfo: db.Team{ID: su.Team.TeamID(),
		Name: "Personal", Personal: true, OwnerID: su.User.ID, Role: db.RoleOwner}}
	if su.Sub != nil {
		c.plan = entitledPlan(su.Sub.Status, su.Sub.Plan)
	}
	if t.TeamID != su.Team.TeamID() {
		// A token of a shared team: the membership it was made with (it
		// goes with it), and that team's plan.
		if c.team, c.teamInfo, err = s.db.Membership(r.Context(), t.UserID, t.TeamID); err != nil {
			return apiCaller{}, err
		}
		if c.plan, err = s.planOf(r.Context(), t.TeamID); err != nil {
			return apiCaller{}, err
		}
	}
	if (!t.LastUsedAt.Valid || time.Since(t.LastUsedAt.Time) > time.Minute) && !readOnly(r) {
		if err := s.db.TouchAPIToken(r.Context(), t.ID); err != nil {
			s.log.Warn("touch api token", "err", err, "request_id", state(r).id)
		}
	}
	return c, nil
}

// readJSON decodes a JSON body of at most the form limit into v.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any, example string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxFormBytes))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("bad_json", "Send a JSON object such as "+example+".")
	}
	return nil
}

// handleAPIMe handles "GET /api/v1/me".
func (s *Server) handleAPIMe(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	apiJSON(w, http.StatusOK, map[string]any{"id": c.user.ID, "email": c.user.Email, "display_name": c.user.DisplayName,
		"email_verified": c.user.EmailVerifiedAt.Valid, "plan": c.plan,
		"team": map[string]any{"id": c.teamInfo.ID, "name": c.teamInfo.Name, "personal": c.teamInfo.Personal, "role": c.teamInfo.Role}})
	return nil
}

// apiRoutes returns the /api/v1 handler: JSON errors for unknown paths and
// wrong methods too.
// apiHandle registers an API endpoint, noting its pattern (the isolation
// matrix walks every one that takes an id).
func (s *Server) apiHandle(mux *http.ServeMux, pattern string, h apiHandlerFunc) {
	mux.Handle(pattern, s.handleAPI(h))
	s.apiPatterns = append(s.apiPatterns, pattern)
}

func (s *Server) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	s.apiHandle(mux, "GET /api/v1/me", s.handleAPIMe)
	s.apiProjectRoutes(mux)
	return s.apiCORS(muxWithErrors(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		if status == http.StatusMethodNotAllowed {
			apiError(w, status, "method_not_allowed", "This endpoint does not accept "+r.Method+".", nil)
			return
		}
		apiError(w, http.StatusNotFound, "not_found", "No such endpoint.", nil)
	}))
}
