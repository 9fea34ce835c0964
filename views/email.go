package views

import "strings"

// EmailText is the plain-text part of a mail: the same words as EmailHTML,
// with the link written out.
func EmailText(e EmailContent) string {
	var b strings.Builder
	b.WriteString(e.Title + "\n\n")
	for _, p := range e.Paragraphs {
		b.WriteString(p + "\n\n")
	}
	if e.ButtonURL != "" {
		b.WriteString(e.ButtonLabel + ":\n" + e.ButtonURL + "\n\n")
	}
	for _, p := range e.After {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("-- \n" + ProductName + "\n")
	return b.String()
}
