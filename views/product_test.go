package views

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// render returns what c writes.
func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestProductNameInPagesAndMails: the name in views/product.go reaches the
// title, the header and the footer of a page, and both parts of a mail.
// (tools/rename runs it on a renamed copy of the tree.)
func TestProductNameInPagesAndMails(t *testing.T) {
	name := html.EscapeString(ProductName)
	page := render(t, MessagePage(Page{Title: "Check your email", Path: "/x"}, Message{Title: "Check your email", Text: "A link is on its way."}))
	for _, want := range []string{
		"<title>Check your email · " + name + "</title>",
		`<meta property="og:site_name" content="` + name + `">`,
		`aria-label="` + name + ` home"`,
		"© " + name,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	mail := EmailContent{Title: "Confirm your email address", Paragraphs: []string{"Welcome."}}
	if text := EmailText(mail); !strings.HasSuffix(text, "-- \n"+ProductName+"\n") {
		t.Errorf("the text part does not end with the signature %q:\n%s", ProductName, text)
	}
	if body := render(t, EmailHTML(mail)); !strings.Contains(body, ">"+name+"</p>") {
		t.Errorf("the HTML part lacks the name %q:\n%s", ProductName, body)
	}
}
