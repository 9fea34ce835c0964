package app

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// The text people type that names an account, email addresses and display
// names, normalised and checked in one place.

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
