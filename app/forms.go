package app

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

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

// passwordProblem returns what is wrong with a new password, or "". Its
// length is counted as people see it (NIST SP 800-63B 5.1.1.2): in Unicode
// code points of its NFKC form, the form it is hashed in. "パスワード日" is 6
// characters, not 18 bytes, and a decomposed "é" (e + U+0301) counts once.
func passwordProblem(password, email string) string {
	if password == "" {
		return "Choose a password."
	}
	// Bytes as received, checked before any work on them: NFKC and argon2id
	// then only ever see a bounded input.
	if len(password) > maxPasswordBytes {
		return "Use at most 1024 characters. Letters outside the Latin alphabet count as two to four."
	}
	p := normalizePassword(password)
	switch {
	case utf8.RuneCountInString(p) < minPasswordChars:
		return "Use at least 8 characters."
	case isCommonPassword(p):
		return "This password is too common and easy to guess. Try a longer phrase."
	case normalizeEmail(p) == email:
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

// normalizeEmail returns the one form in which an address is stored and
// compared, so that one mailbox is one account however it was typed:
//
//   - NFKC, Unicode's compatibility normalisation: the full-width "ＡＤＡ＠…",
//     a composed or decomposed "é", all become one plain form;
//   - lower case, as before;
//   - the domain in its ASCII form (IDNA2008 A-labels, mapped by UTS #46's
//     lookup rules): "bücher.de", "BÜCHER.de" and "xn--bcher-kva.de" are one
//     domain, stored as "xn--bcher-kva.de".
//
// The ASCII form rather than the Unicode one because it is what DNS and MX
// records hold, what every SMTP relay accepts without the SMTPUTF8 extension
// (RFC 6531, which some relays lack) when the local part is ASCII, and what
// Stripe and the OAuth providers accept; and a look-alike domain cannot pass
// for another in the admin list or in mail. The cost: those few users see
// their domain as xn--… in Skiff.
//
// An address with an invisible character, or whose domain IDNA refuses, is
// returned unmapped, so that emailProblem refuses it and the form shows what
// was typed (IDNA's mapping would silently drop a zero-width space).
func normalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	// An address has at most 254 bytes, and NFKC makes no character more
	// than 4 times shorter: longer input is left for emailProblem to refuse,
	// rather than normalised (NFKC can make it 11 times longer first).
	if len(s) > 4*254 {
		return s
	}
	s = norm.NFKC.String(s)
	// Lower-casing can leave a string NFKC changes again ("J" + U+030C
	// becomes "j" + U+030C, whose NFKC is "ǰ"): repeat until both agree, so
	// that the normal form of a normal form is itself.
	for range 3 {
		t := norm.NFKC.String(strings.ToLower(s))
		if t == s {
			break
		}
		s = t
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 || strings.ContainsFunc(s, invisible) {
		return s
	}
	domain, err := emailDomains.ToASCII(s[at+1:])
	if err != nil {
		return s
	}
	return s[:at+1] + domain
}

// emailDomains maps a domain as typed to its ASCII form (case, width and
// normalisation as UTS #46 lookup does), and refuses what cannot be a host
// name: disallowed code points, misplaced hyphens or joiners, broken
// right-to-left labels (RFC 5893), labels over 63 bytes.
var emailDomains = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

// emailProblem returns what is wrong with a normalised address, or "".
func emailProblem(email string) string {
	const invalid = "Enter a valid email address, like name@example.com."
	switch {
	case email == "":
		return "Enter your email address."
	case !utf8.ValidString(email):
		return invalid
	case strings.ContainsFunc(email, invisible):
		return "Your address contains an invisible or control character, often pasted along with it. Type it again."
	case len(email) > 254:
		return invalid
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return invalid
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return invalid
	}
	// normalizeEmail left the domain as typed if IDNA refused it.
	if ascii, err := emailDomains.ToASCII(domain); err != nil || ascii != domain {
		return invalid
	}
	unicodeDomain, err := emailDomains.ToUnicode(domain)
	if err != nil {
		return invalid
	}
	for _, label := range append([]string{local}, strings.Split(unicodeDomain, ".")...) {
		if mixesScripts(label) {
			return "This address mixes letters of different alphabets, such as a Cyrillic “а” among Latin letters. Type it again in one alphabet."
		}
	}
	return ""
}

// invisible reports whether r is a character people cannot see, or one that
// changes how the text around it is shown: controls (Cc), format characters
// (Cf: zero-width space and joiners, the soft hyphen, bidi overrides such as
// U+202E), the other default-ignorable code points (U+3164 HANGUL FILLER,
// U+034F) and variation selectors, line and paragraph separators, private-use
// and unassigned code points. Spaces count as visible.
func invisible(r rune) bool {
	return !unicode.IsGraphic(r) ||
		unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// confusableScripts are the scripts whose letters look alike: Latin "a" and
// Cyrillic "а", Latin "o", Greek "ο" and Cyrillic "о". Mixing them in one
// label is how "pаypal" passes for "paypal".
var confusableScripts = []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Cyrillic}

// mixesScripts reports whether label has letters of more than one of the
// confusable scripts. Digits, punctuation and combining marks belong to no
// script and do not count; other scripts (Han, Arabic, ...) may mix freely.
func mixesScripts(label string) bool {
	var seen *unicode.RangeTable
	for _, r := range label {
		for _, script := range confusableScripts {
			if unicode.Is(script, r) {
				if seen != nil && seen != script {
					return true
				}
				seen = script
			}
		}
	}
	return false
}

// maxDisplayName is the longest display name, in code points.
const maxDisplayName = 80

// displayNameProblem returns what is wrong with a display name, or "". The
// name is shown to the user and beside what they do, so characters that
// cannot be seen, or that reorder the text around them (U+202E turns
// "Ada\u202Egpj.exe" into what reads as "Adaexe.jpg"), are refused.
func displayNameProblem(name string) string {
	switch {
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) || utf8.RuneCountInString(name) > maxDisplayName:
		return "Use at most 80 printable characters."
	case hiddenInName(name):
		return "Remove the invisible or text-direction characters from your name."
	}
	return ""
}

// hiddenInName reports whether name has an invisible character, other than
// the emoji variation selector (U+FE0F) after an emoji, or a zero-width
// joiner between two emoji: there they make one picture (❤️, 👩‍💻) and hide
// nothing.
func hiddenInName(name string) bool {
	runes := []rune(name)
	emoji := func(i int) bool {
		if i < 0 || i >= len(runes) {
			return false
		}
		r := runes[i]
		return unicode.Is(unicode.So, r) || r >= 0x1F3FB && r <= 0x1F3FF // symbols, skin tones
	}
	for i, r := range runes {
		switch {
		case r == '\ufe0f' && emoji(i-1):
		case r == '\u200d' && (emoji(i-1) || i > 0 && runes[i-1] == '\ufe0f') && emoji(i+1):
		case invisible(r):
			return true
		}
	}
	return false
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
