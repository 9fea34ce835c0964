package views

// Pager is where a paged list's links lead: the next page, and the first
// page when this is not it. Empty: no link.
type Pager struct {
	Next  string
	First string
}
