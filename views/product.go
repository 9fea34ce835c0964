package views

// The product as visitors see it: the titles, the header and footer, the
// landing page, link previews, the web manifest and the mails' signature read
// these. `make rename MODULE=... NAME=...` sets ProductName here and in the
// sentences of the mails and messages in app/ that spell the name out.
const (
	// ProductName is the name in every title, the header, the footer, the
	// web manifest and the mails' signature.
	ProductName = "Skiff"
	// ProductTagline is the landing page's heading and the home page's title.
	ProductTagline = "Keep every project on course"
	// ProductDescription is the meta description and link preview of every
	// page that has none of its own, and the web manifest's description.
	ProductDescription = "Skiff keeps your projects in one calm place: create them in seconds, " +
		"see where each one stands, and take your data with you at any time."
	// ThemeColor tints the browser's toolbar on phones and the installed app.
	ThemeColor = "#007a50"
)
