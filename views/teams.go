package views

import "time"

// Team is a team as the pages show it, with the user's role in it.
type Team struct {
	ID        int64
	Name      string
	Personal  bool   // the user's own team, made at signup
	Role      string // "owner", "admin" or "member"
	CreatedAt time.Time
}

// TeamURL is where a team's pages live: /t/{id}/… The id, not a name, so a
// renamed team's links keep working; a member of several teams always acts
// in the one the address names.
func TeamURL(team int64) string { return "/t/" + itoa(team) }

// Teams is the teams page: the user's teams and the form to create one.
type Teams struct {
	Items   []Team
	CanMore bool // the user may create another team
	Max     int  // how many teams a user may own
}
