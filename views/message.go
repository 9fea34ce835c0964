package views

// Message is the data of a simple page that tells the user something.
type Message struct {
	Title, Text        string
	LinkURL, LinkLabel string // an optional next step
}

// MailSent is the page after a mail with a link was asked for.
type MailSent struct {
	Title, Text string
	Email       string // the address it went to, sent again by "Send it again"
	Action      string // the form that asks for it: POST sends again, GET asks anew
}

// Confirm is a page with one button that POSTs a token (a GET must not use it).
type Confirm struct {
	Title, Text, Action, Token, Button string
}
