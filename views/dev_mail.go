package views

import "time"

// DevMail is one mail in the development mailbox, with the links of its
// text part.
type DevMail struct {
	ID      int64
	To      string
	Subject string
	Text    string
	SentAt  time.Time
	Links   []string
}

func devMailURL(m DevMail) string { return "/dev/mail/" + itoa(m.ID) }
