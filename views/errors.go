package views

// ErrorInfo is the data of an error page.
type ErrorInfo struct {
	Status  int
	Title   string
	Message string
	// Next is the way on, offered first ("Send a new link"); empty: none.
	// With NextPost it is a button that POSTs to Next.URL.
	Next     Link
	NextPost bool
}
