package views

import (
	"fmt"
	"strconv"
	"time"
)

// Admin is the data of the admin page.
type Admin struct {
	Self int64 // the admin viewing the page, who cannot disable themselves
	// Search is what was searched for ("" lists every user, newest first);
	// it matches addresses that start with it, and the user whose id it is.
	Search string
	Users  []AdminUser
	Pager  Pager
	// Cursor is the page being shown (?cursor=), so that enabling or
	// disabling a user comes back to it.
	Cursor     string
	Signups    []DayCount
	TotalUsers int
	Plans      []AdminPlan
	MRRCents   int
	// UnknownPrices are live subscriptions on a price no plan sells, the
	// most recently changed first; MoreUnknownPrices when the list is cut.
	UnknownPrices     []AdminSubscription
	MoreUnknownPrices bool
}

// AdminUser is one row of the admin's user list.
type AdminUser struct {
	ID        int64
	Email     string
	CreatedAt time.Time
	Verified  bool
	LastSeen  time.Time // zero: never
	Disabled  bool
	Plan      string // the name of the plan the user is entitled to
}

// DayCount is a number of events on a day (YYYY-MM-DD, UTC).
type DayCount struct {
	Day   string
	Count int
}

// AdminPlan is the count of live subscriptions of one plan, and the seats
// they bill.
type AdminPlan struct {
	Name   string
	Active int
	Seats  int
}

// AdminSubscription is one row of a subscription list on the admin page.
type AdminSubscription struct {
	ID        string
	Email     string
	PriceID   string
	Status    string
	UpdatedAt time.Time
}

func money(cents int) string {
	return "$" + strconv.Itoa(cents/100) + "." + fmt.Sprintf("%02d", cents%100)
}

func adminUserURL(u AdminUser, action string) string {
	return "/admin/users/" + itoa(u.ID) + "/" + action
}

// AdminTeams is a page of the admin's list of shared teams.
type AdminTeams struct {
	Teams []AdminTeam
	Pager Pager
}

// AdminTeam is a shared team on the admin's list.
type AdminTeam struct {
	ID            int64
	Name          string
	OwnerEmail    string
	Members       int
	MembersCapped bool // Members is where the count stopped
	Plan          string
	Status        string // of its subscription; "" for none
	Seats         int64  // billed; 0 on Free
	MRRCents      int    // seats × the plan's monthly price
	CreatedAt     time.Time
}
