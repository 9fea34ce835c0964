package views

// APIDocs is the data of the JSON API's documentation page.
type APIDocs struct {
	Origin         string // this site, for the examples
	RequestsPerMin int    // the API's rate limit per user
	MaxTokens      int    // API tokens one account may hold
	MaxBodyKiB     int64  // larger request bodies get 413
}
