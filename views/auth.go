package views

// EmailTaken is the signup form's message for an address that already has
// an account; the page follows it with a link to log in with that address.
const EmailTaken = "An account with this email already exists."

// focusPassword reports whether a login or signup form should put the cursor
// in the password: the address is filled in and nothing is wrong with it
// (only the password was wrong, or the address came along from signup).
func focusPassword(f Form) bool { return f.Value("email") != "" && f.Err("email") == "" }

// loginURL is the login page with email filled in.
func loginURL(email string) string { return "/login?email=" + urlQueryEscape(email) }

// Proof is the page that confirms an address never proven before, in a
// browser not logged in to the account (see ProofPage).
type Proof struct {
	Title         string
	Email         string
	Action, Token string
	HasPassword   bool
	Form          Form // the password's error
}
