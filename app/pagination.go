package app

import (
	"net/http"
	"strconv"

	"skiff/views"
)

// Every list that can grow is read a page at a time, by a cursor rather than
// an offset: the cursor is the id of the last row shown, and the next page
// starts below it. Each page costs what the first one costs, whatever the
// size of the table, and rows added meanwhile never shift a page.

const (
	defaultPageSize = 50  // rows per page when the request names no limit
	maxPageSize     = 100 // the most a request may ask for (?limit=)

	// widePageSize is the page of a list whose rows are heavy (the admin's
	// users, the sessions: each row with its own confirmation form). Fifty of
	// them cost 2.5 times an empty page to render; twenty-five keep a full
	// page within twice an empty one (make bench, "At scale").
	widePageSize = 25
)

// pageRequest is which page of a list a request asks for.
type pageRequest struct {
	Before int64 // the cursor: rows with ids below it; 0 for the first page
	Limit  int
}

// readPage reads ?cursor= and ?limit= from the query, size rows when it
// names no limit. A cursor or limit that we did not hand out is a 400 that
// says which.
func readPage(r *http.Request, size int) (pageRequest, error) {
	q := r.URL.Query()
	p := pageRequest{Limit: size}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return p, badRequest("bad_cursor", "This list's page link is broken: its cursor is not one we gave out. Start again from the first page.")
		}
		p.Before = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			return p, badRequest("bad_limit", "The page size (limit) must be a number from 1 to "+strconv.Itoa(maxPageSize)+".")
		}
		p.Limit = n
	}
	return p, nil
}

// fetch is how a paged list asks the database for one more row than the
// page holds: that row, if it comes, says there is a next page.
func (p pageRequest) fetch() int { return p.Limit + 1 }

// cut trims rows read with fetch to the page and returns the cursor of the
// next page ("" on the last one); id gives a row's id.
func cut[T any](p pageRequest, rows []T, id func(T) int64) ([]T, string) {
	if len(rows) <= p.Limit {
		return rows, ""
	}
	rows = rows[:p.Limit]
	return rows, strconv.FormatInt(id(rows[len(rows)-1]), 10)
}

// pager returns the links between pages for a list at the request's path,
// keeping its other query parameters (a search, a page size).
func pager(r *http.Request, p pageRequest, next string) views.Pager {
	var v views.Pager
	q := r.URL.Query()
	if next != "" {
		q.Set("cursor", next)
		v.Next = r.URL.Path + "?" + q.Encode()
	}
	if p.Before != 0 {
		q.Del("cursor")
		v.First = r.URL.Path
		if len(q) > 0 {
			v.First += "?" + q.Encode()
		}
	}
	return v
}
