package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"skiff/db"
)

// requestState travels in the request context: one allocation per request
// that later middleware fills in.
type requestState struct {
	id            string
	user          *db.User
	sessionLoaded bool             // the session middleware has run, so flash and user are usable
	plan          string           // the plan the user is entitled to (free when anonymous)
	sub           *db.Subscription // the subscription deciding the plan, if any
	sid           string           // the session's id in user_sessions
	team          db.Scope         // the user in the team the request acts in: their personal team, or /t/{team}'s
	teamInfo      db.Team          // that team's name and the user's role in it; zero for the personal team
	lastTeam      int64            // the team the user visited last, where /dashboard opens (0: none)
}

type stateKey struct{}

func state(r *http.Request) *requestState {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id (also sent as X-Request-Id) and logs
// one structured line when it ends.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		st := &requestState{id: hex.EncodeToString(b[:])}
		w.Header().Set("X-Request-Id", st.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		// LogAttrs: typed attributes, no boxing, on every request.
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", st.id),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("ip", s.clientIP(r)))
	})
}

// recoverPanic turns a panic into a logged, friendly 500 page.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the client went away; net/http handles this one quietly
			}
			s.log.Error("panic", "request_id", state(r).id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			w.Header().Set("Connection", "close")
			s.serverError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only this origin's own styles, images and
// forms; no inline script can run. form-action also governs where a form's
// redirect may lead: Stripe Checkout and the customer portal
// (STRIPE_REDIRECT_ORIGINS), and the login pages of the configured providers
// (connecting one is a form, for the password it asks).
func contentSecurityPolicy(formTargets []string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
		"form-action 'self'" + strings.Join(append([]string{""}, formTargets...), " ")
}

// secureHeaders sets the security headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	hsts := s.cfg.Secure()
	targets := slices.Clone(s.cfg.Stripe.RedirectOrigins)
	for _, p := range s.oauth {
		targets = append(targets, p.authOrigin)
	}
	csp := contentSecurityPolicy(targets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; readForm (and the page adapter) turn the overflow into a 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// crossOriginProtection refuses unsafe requests (POST...) that a browser marks
// as coming from another site, with a friendly 403 page. It relies on
// Sec-Fetch-Site and Origin; no token is needed in forms.
func (s *Server) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// friendlyMuxErrors replaces the mux's plain-text 404 and 405 answers with the
// site's error page (keeping the Allow header of a 405).
func (s *Server) friendlyMuxErrors(mux *http.ServeMux) http.Handler {
	return muxWithErrors(mux, s.errorPage)
}

// muxWithErrors serves mux, but lets miss answer what the mux would answer
// with its plain-text 404 or 405 (the Allow header of a 405 is kept).
func muxWithErrors(mux *http.ServeMux, miss func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusNotFound || rec.status == http.StatusMethodNotAllowed {
			if allow := rec.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			miss(w, r, rec.status)
			return
		}
		mux.ServeHTTP(w, r) // a redirect to the cleaned path
	})
}

// headerRecorder captures what the mux's own error handlers would send.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }
