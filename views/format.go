package views

import (
	"net/url"
	"strconv"
	"time"
)

// How every page writes numbers, times and query values.

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func date(t time.Time) string { return t.Format("2 Jan 2006") }

func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func dateMinute(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// SeatsText is a number of seats in words: "1 seat", "4 seats" (the pages,
// and the audit log's lines).
func SeatsText(n int64) string {
	if n <= 1 {
		return "1 seat"
	}
	return strconv.FormatInt(n, 10) + " seats"
}
