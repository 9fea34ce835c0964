package app

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"skiff/views"
)

// Forms are plain structs read from a request, with Valid returning the
// message for each bad field (empty when all is well).

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

// passwordProblem returns what is wrong with a new password, or "".
func passwordProblem(password, email string) string {
	switch {
	case password == "":
		return "Choose a password."
	case len(password) < minPasswordBytes:
		return "Use at least 8 characters."
	case len(password) > maxPasswordBytes:
		return "Use at most 1024 characters."
	case isCommonPassword(password):
		return "This password is too common and easy to guess. Try a longer phrase."
	case strings.EqualFold(password, email):
		return "Your password must not be your email address."
	}
	return ""
}

func (f signupForm) view(errs map[string]string, formErr string) views.Form {
	return views.Form{Values: map[string]string{"email": f.Email}, Errors: errs, Error: formErr}
}

// loginForm is POST /login.
type loginForm struct {
	Email    string
	Password string
	Remember bool
	Next     string // a local path to return to, already made safe
}

func readLoginForm(r *http.Request) loginForm {
	return loginForm{
		Email:    normalizeEmail(r.PostForm.Get("email")),
		Password: r.PostForm.Get("password"),
		Remember: r.PostForm.Get("remember") != "",
		Next:     safeNext(r.PostForm.Get("next")),
	}
}

// Valid checks only the shape: whether the account exists is never told.
func (f loginForm) Valid() map[string]string {
	errs := map[string]string{}
	if msg := emailProblem(f.Email); msg != "" {
		errs["email"] = msg
	}
	if f.Password == "" {
		errs["password"] = "Enter your password."
	} else if len(f.Password) > maxPasswordBytes {
		errs["password"] = "Passwords are at most 1024 characters."
	}
	return errs
}

func (f loginForm) view(errs map[string]string, formErr string) views.Form {
	v := map[string]string{"email": f.Email, "next": f.Next}
	if f.Remember {
		v["remember"] = "1"
	}
	return views.Form{Values: v, Errors: errs, Error: formErr}
}

// projectForm is POST /projects.
type projectForm struct {
	Name string
}

const maxProjectName = 100

func readProjectForm(r *http.Request) projectForm {
	return projectForm{Name: strings.TrimSpace(r.PostForm.Get("name"))}
}

// Valid requires a printable name of 1 to 100 characters.
func (f projectForm) Valid() map[string]string {
	errs := map[string]string{}
	switch {
	case f.Name == "":
		errs["name"] = "Give your project a name."
	case !utf8.ValidString(f.Name) || strings.ContainsFunc(f.Name, unicode.IsControl):
		errs["name"] = "Use letters, digits, spaces and punctuation only."
	case utf8.RuneCountInString(f.Name) > maxProjectName:
		errs["name"] = "Use at most 100 characters."
	}
	return errs
}

func (f projectForm) view(errs map[string]string) views.Form {
	return views.Form{Values: map[string]string{"name": f.Name}, Errors: errs}
}

// normalizeEmail trims and lower-cases an address, so one mailbox is one account.
func normalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// emailProblem returns what is wrong with a normalised address, or "".
func emailProblem(email string) string {
	if email == "" {
		return "Enter your email address."
	}
	if len(email) > 254 || !utf8.ValidString(email) {
		return "Enter a valid email address, like name@example.com."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return "Enter a valid email address, like name@example.com."
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// safeNext returns next when it is a path on this site, else "". It refuses
// "//evil.example" and "/\evil.example", which browsers treat as other hosts.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, `/\`) || strings.ContainsFunc(next, unicode.IsControl) || strings.Contains(next, `\`) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}
