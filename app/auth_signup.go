package app

import (
	"errors"
	"net/http"

	"skiff/db"
	"skiff/views"
)

// handleSignupGet handles "GET /signup".
func (s *Server) handleSignupGet(w http.ResponseWriter, r *http.Request) error {
	if s.currentUser(r) != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return nil
	}
	// An address to fill in, as an invitation's page links with its own.
	f := views.Form{}
	if email := normalizeEmail(r.URL.Query().Get("email")); emailProblem(email) == "" {
		f.Values = map[string]string{"email": email}
	}
	s.renderSignup(w, r, http.StatusOK, f)
	return nil
}

func (s *Server) renderSignup(w http.ResponseWriter, r *http.Request, status int, f views.Form) {
	s.render(w, r, status, views.SignupPage(s.page(r, "Create your account"), f, s.providerButtons(), s.webauthn != nil && s.cfg.PasskeySignup))
}

// handleSignupPost handles "POST /signup": create the account and log in.
func (s *Server) handleSignupPost(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	f := readSignupForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.renderSignup(w, r, http.StatusUnprocessableEntity, f.view(errs, ""))
		return nil
	}
	// Only well-formed attempts count: they are the ones that cost a hash and
	// could create accounts or probe which addresses are taken.
	if ok, wait := s.signupIPLimiter.allow(s.clientIP(r)); !ok {
		return tooMany(wait)
	}
	hash, err := s.hasher.hash(r.Context(), f.Password)
	if err != nil {
		return err
	}
	// The account and its verification mail are one transaction.
	var u db.User
	err = s.db.Tx(r.Context(), func(q db.Queries) error {
		var err error
		if u, err = q.CreateUser(r.Context(), f.Email, hash, false); err != nil {
			return err
		}
		return s.queueVerification(r.Context(), q, u)
	})
	if errors.Is(err, db.ErrEmailTaken) {
		s.renderSignup(w, r, http.StatusUnprocessableEntity, f.view(map[string]string{"email": views.EmailTaken}, ""))
		return nil
	}
	if err != nil {
		return err
	}
	s.outbox.notify()
	// No flash: the dashboard's banner asks for the confirmation, with the
	// address and a button to send the link again. Said twice, it was noise.
	return s.logIn(w, r, u, false, "/dashboard", "")
}

// signupForm is POST /signup.
type signupForm struct {
	Email    string
	Password string
}

func readSignupForm(r *http.Request) signupForm {
	return signupForm{Email: normalizeEmail(r.PostForm.Get("email")), Password: r.PostForm.Get("password")}
}

// Valid checks the address and the password rules (NIST SP 800-63B: length
// and a blocklist, no composition rules).
func (f signupForm) Valid() map[string]string {
	errs := map[string]string{}
	if msg := emailProblem(f.Email); msg != "" {
		errs["email"] = msg
	}
	if msg := passwordProblem(f.Password, f.Email); msg != "" {
		errs["password"] = msg
	}
	return errs
}

func (f signupForm) view(errs map[string]string, formErr string) views.Form {
	return views.Form{Values: map[string]string{"email": f.Email}, Errors: errs, Error: formErr}
}
