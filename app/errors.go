package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"skiff/db"
)

// Handlers return errors; they do not write them. Two adapters turn an
// error into a response, each in one place:
//
//   - handle, for pages: db.ErrNotFound is the 404 page, a *planLimit is the
//     upgrade page, a *clientError its 4xx page, anything else a logged 500
//     with the request id;
//   - handleAPI (api.go), for the JSON API: the same errors as the
//     {"error": {...}} envelope.
//
// A handler that has already written its response returns nil. The rules
// and messages of a feature live in plain functions (createProject, ...)
// that both surfaces call, and their errors are these types, so a message
// is written once.

// handlerFunc is the shape of every page handler.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// clientError is a refusal the visitor can do something about: its status,
// the words a page shows and the code and fields the API sends.
type clientError struct {
	Status     int
	Code       string // the API's machine-readable code, e.g. "bad_cursor"
	Title      string // the page's heading
	Message    string
	Fields     map[string]string // field name -> message (422 only)
	RetryAfter time.Duration     // sent as Retry-After when set (429)
}

func (e *clientError) Error() string {
	return "client error " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// invalid is the error of a form or body that failed its checks: 422 with a
// message per field. Page handlers show the form again with the messages;
// the API sends them as "fields".
func invalid(fields map[string]string) error {
	return &clientError{Status: http.StatusUnprocessableEntity, Code: "invalid", Title: "Check the form",
		Message: "Some fields are invalid.", Fields: fields}
}

// badRequest is a 400 with a message that says what was wrong.
func badRequest(code, msg string) error {
	return &clientError{Status: http.StatusBadRequest, Code: code, Title: "Bad request", Message: msg}
}

// tooMany is a 429 for a rate limit that lets the next attempt in after
// wait: pages show "Too many attempts" with the wait in words, and both
// surfaces send it as Retry-After.
func tooMany(wait time.Duration) error {
	return &clientError{Status: http.StatusTooManyRequests, Code: "rate_limited", Title: "Too many attempts",
		Message: "Too many attempts. Please wait and try again.", RetryAfter: max(wait, time.Second)}
}

// planLimit is what a plan refuses: a feature of a higher plan, or one more
// of something the plan counts. Pages show the upgrade page; the API a 403
// "plan_limit".
type planLimit struct {
	Need    Plan   // the plan to move to
	Title   string // the upgrade page's heading
	Message string
}

func (e *planLimit) Error() string { return "plan limit: " + e.Message }

// fieldErrors returns the per-field messages of an invalid form, or nil when
// err is not one.
func fieldErrors(err error) map[string]string {
	if ce, ok := errors.AsType[*clientError](err); ok && ce.Status == http.StatusUnprocessableEntity {
		return ce.Fields
	}
	return nil
}

// handle adapts a page handler: it runs h and answers the error it returns,
// if any, with the right page.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := &wroteWriter{ResponseWriter: w}
		if err := h(ww, r); err != nil {
			s.pageError(ww, r, err)
		}
	})
}

// pageError answers err with its page. If the handler had started its
// response already, there is nothing left to answer with: it is logged.
func (s *Server) pageError(w *wroteWriter, r *http.Request, err error) {
	if w.wrote {
		s.log.Error("error after the response began", "err", err, "request_id", state(r).id, "path", r.URL.Path)
		return
	}
	if ce, ok := errors.AsType[*clientError](err); ok {
		if ce.RetryAfter > 0 {
			s.tooManyRequests(w, r, ce.RetryAfter)
			return
		}
		s.clientError(w, r, ce.Status, ce.Title, ce.Message)
		return
	}
	if pl, ok := errors.AsType[*planLimit](err); ok {
		s.upgradeRequired(w, r, pl.Need, pl.Title, pl.Message)
		return
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		s.errorPage(w, r, http.StatusRequestEntityTooLarge)
		return
	}
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.notFound(w, r)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The visitor went away; nobody is left to read a page.
		s.log.Info("request canceled", "request_id", state(r).id, "path", r.URL.Path)
	default:
		s.serverError(w, r, err)
	}
}

// wroteWriter notes whether the response has begun.
type wroteWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *wroteWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *wroteWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *wroteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// chain applies middleware to a page handler, the first listed outermost:
// chain(h, s.requireUser, s.requireAdmin) checks the user, then the admin.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// group registers page routes on a mux behind the same middleware:
//
//	user := group{mux: mux, s: s, mw: []middleware{s.requireUser}}
//	user.handle("GET /projects", s.handleProjectsList)
type group struct {
	s  *Server
	mx *http.ServeMux
	mw []func(http.Handler) http.Handler
}

// handle registers h for pattern behind the group's middleware.
func (g group) handle(pattern string, h handlerFunc) {
	g.mx.Handle(pattern, chain(g.s.handle(h), g.mw...))
	g.s.pagePatterns = append(g.s.pagePatterns, pattern)
}

// with returns a group with more middleware, run after the group's own.
func (g group) with(mw ...func(http.Handler) http.Handler) group {
	return group{s: g.s, mx: g.mx, mw: append(append([]func(http.Handler) http.Handler{}, g.mw...), mw...)}
}

// readForm parses a submitted form. A body over the limit is a 413, a
// malformed one a 400.
func readForm(r *http.Request) error {
	err := r.ParseForm()
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return err
	}
	return badRequest("bad_form", "We could not understand that request. Please go back and try again.")
}
