package app

import (
	"context"
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

type apiCtxKey struct{}

// apiCaller is who is calling the API.
type apiCaller struct {
	token db.APIToken
	user  db.User
	plan  string
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
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiAuth requires a valid bearer token of an account that is not disabled,
// and applies the per-user rate limit.
func (s *Server) apiAuth(next func(http.ResponseWriter, *http.Request, apiCaller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="skiff"`)
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, apiTokenPrefix) || len(token) > 100 {
			apiError(w, http.StatusUnauthorized, "unauthorized", "Send a personal API token: Authorization: Bearer skiff_...", nil)
			return
		}
		sum := sha256.Sum256([]byte(token))
		t, err := s.db.APITokenByHash(r.Context(), sum[:])
		if errors.Is(err, db.ErrNotFound) {
			apiError(w, http.StatusUnauthorized, "invalid_token", "This token is unknown, revoked or expired.", nil)
			return
		}
		if err != nil {
			s.apiServerError(w, r, err)
			return
		}
		// One budget per user, whatever token they use: more tokens must not
		// mean more requests.
		if ok, wait := s.apiLimiter.allow(strconv.FormatInt(t.UserID, 10)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
			apiError(w, http.StatusTooManyRequests, "rate_limited", "Too many requests for this account; slow down.", nil)
			return
		}
		su, err := s.db.UserForSession(r.Context(), t.UserID, "")
		if err != nil {
			s.apiServerError(w, r, err)
			return
		}
		w.Header().Del("WWW-Authenticate")
		if su.User.Disabled {
			apiError(w, http.StatusForbidden, "account_disabled", "This account has been disabled.", nil)
			return
		}
		c := apiCaller{token: t, user: su.User, plan: PlanFree}
		if su.Sub != nil {
			c.plan = entitledPlan(su.Sub.Status, su.Sub.Plan)
		}
		if (!t.LastUsedAt.Valid || time.Since(t.LastUsedAt.Time) > time.Minute) && !readOnly(r) {
			if err := s.db.TouchAPIToken(r.Context(), t.ID); err != nil {
				s.log.Warn("touch api token", "err", err)
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), apiCtxKey{}, c)), c)
	}
}

func (s *Server) apiServerError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("api error", "err", err, "request_id", state(r).id, "path", r.URL.Path)
	apiError(w, http.StatusInternalServerError, "internal", "Something went wrong; it was logged.", nil)
}

type apiProject struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

func toAPIProject(p db.Project) apiProject {
	return apiProject{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339)}
}

// handleAPIMe handles "GET /api/v1/me".
func (s *Server) handleAPIMe(w http.ResponseWriter, r *http.Request, c apiCaller) {
	apiJSON(w, http.StatusOK, map[string]any{"id": c.user.ID, "email": c.user.Email, "display_name": c.user.DisplayName,
		"email_verified": c.user.EmailVerifiedAt.Valid, "plan": c.plan})
}

// handleAPIProjects handles "GET /api/v1/projects".
func (s *Server) handleAPIProjects(w http.ResponseWriter, r *http.Request, c apiCaller) {
	projects, err := s.db.Projects(r.Context(), c.user.ID)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	out := []apiProject{}
	for _, p := range projects {
		out = append(out, toAPIProject(p))
	}
	apiJSON(w, http.StatusOK, map[string]any{"projects": out})
}

// handleAPIProjectCreate handles "POST /api/v1/projects" with {"name": "..."}.
func (s *Server) handleAPIProjectCreate(w http.ResponseWriter, r *http.Request, c apiCaller) {
	var in struct {
		Name string `json:"name"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxFormBytes))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", "The body is too large.", nil)
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "bad_json", "Send a JSON object such as {\"name\": \"My project\"}.", nil)
		return
	}
	f := projectForm{Name: strings.TrimSpace(in.Name)}
	if errs := f.Valid(); len(errs) > 0 {
		apiError(w, http.StatusUnprocessableEntity, "invalid", "Some fields are invalid.", errs)
		return
	}
	plan := s.plan(c.plan)
	p, err := s.db.CreateProjectWithin(r.Context(), c.user.ID, f.Name, plan.MaxProjects)
	if errors.Is(err, db.ErrLimitReached) {
		apiError(w, http.StatusForbidden, "plan_limit", projectLimitText(plan), nil)
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+strconv.FormatInt(p.ID, 10))
	apiJSON(w, http.StatusCreated, toAPIProject(p))
}

// handleAPIProject handles "GET /api/v1/projects/{id}".
func (s *Server) handleAPIProject(w http.ResponseWriter, r *http.Request, c apiCaller) {
	id, ok := pathID(r)
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "No such project.", nil)
		return
	}
	p, err := s.db.Project(r.Context(), c.user.ID, id)
	if errors.Is(err, db.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", "No such project.", nil)
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	apiJSON(w, http.StatusOK, toAPIProject(p))
}

// handleAPIProjectDelete handles "DELETE /api/v1/projects/{id}".
func (s *Server) handleAPIProjectDelete(w http.ResponseWriter, r *http.Request, c apiCaller) {
	id, ok := pathID(r)
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "No such project.", nil)
		return
	}
	err := s.db.DeleteProject(r.Context(), c.user.ID, id)
	if errors.Is(err, db.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", "No such project.", nil)
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiRoutes returns the /api/v1 handler: JSON errors for unknown paths and
// wrong methods too.
func (s *Server) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/me", s.apiAuth(s.handleAPIMe))
	mux.HandleFunc("GET /api/v1/projects", s.apiAuth(s.handleAPIProjects))
	mux.HandleFunc("POST /api/v1/projects", s.apiAuth(s.handleAPIProjectCreate))
	mux.HandleFunc("GET /api/v1/projects/{id}", s.apiAuth(s.handleAPIProject))
	mux.HandleFunc("DELETE /api/v1/projects/{id}", s.apiAuth(s.handleAPIProjectDelete))
	return s.apiCORS(muxWithErrors(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		if status == http.StatusMethodNotAllowed {
			apiError(w, status, "method_not_allowed", "This endpoint does not accept "+r.Method+".", nil)
			return
		}
		apiError(w, http.StatusNotFound, "not_found", "No such endpoint.", nil)
	}))
}
