package views

// The product as visitors see it. Rename it here when you fork: the titles,
// link previews and the web manifest read these.
const (
	// ProductName is the name in every title and the web manifest.
	ProductName = "Skiff"
	// ProductDescription is the meta description and link preview of every
	// page that has none of its own, and the web manifest's description.
	ProductDescription = "Skiff keeps your projects in one calm place: create them in seconds, " +
		"see where each one stands, and take your data with you whenever you like."
	// ThemeColor tints the browser's toolbar on phones and the installed app.
	ThemeColor = "#007a50"
)
