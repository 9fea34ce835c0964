package views

import "time"

// Team is a team as the pages show it, with the user's role in it.
type Team struct {
	ID        int64
	Name      string
	Personal  bool   // the user's own team, made at signup
	Role      string // "owner", "admin" or "member"
	CreatedAt time.Time
	CanAudit  bool // the user may read its audit log
}

// TeamURL is where a team's pages live: /t/{id}/… The id, not a name, so a
// renamed team's links keep working; a member of several teams always acts
// in the one the address names.
func TeamURL(team int64) string { return "/t/" + itoa(team) }

// Teams is the teams page: the user's teams and the form to create one.
type Teams struct {
	Items   []Team
	Pager   Pager
	CanMore bool // the user may create another team
	Max     int  // how many teams a user may own
}

// TeamMember is a member as the members page shows them.
type TeamMember struct {
	UserID      int64
	Name        string // display name, else address
	Email       string
	Role        string
	JoinedAt    time.Time
	You         bool
	CanRemove   bool // the viewer may remove them
	CanRole     bool // the viewer may change their role
	CanHandOver bool // the viewer (the owner) may hand the team over to them
}

// TeamInvitation is a pending invitation on the members page.
type TeamInvitation struct {
	ID        int64
	Email     string
	Role      string
	InvitedBy string
	ExpiresAt time.Time
	Expired   bool
}

// Members is a team's members page.
type Members struct {
	Team        Team
	Items       []TeamMember
	Pager       Pager
	Invitations []TeamInvitation
	CanInvite   bool   // the viewer may invite (an admin or the owner)
	CanAdmins   bool   // the viewer may invite admins (the owner)
	Seats       string // "2 of 3 people on the Free plan, invitations included"; empty without a limit
	Full        bool   // no seat left for another invitation
	CanLeave    bool   // the viewer may leave (not the owner, not a personal team)
	CanRename   bool   // the viewer may rename the team
	IsOwner     bool   // the viewer owns this (shared) team: hand it over, delete it
}

// MemberURL is where a team's member is removed or changes role.
func MemberURL(team, user int64) string { return TeamURL(team) + "/members/" + itoa(user) }

// InvitationURL is where a team's invitation is sent again or revoked.
func InvitationURL(team, id int64) string { return TeamURL(team) + "/invitations/" + itoa(id) }

// Invitation is the page an invitation's link opens.
type Invitation struct {
	TeamName  string
	InvitedBy string
	Role      string
	Email     string // the invited address
	Token     string
	State     string // "anonymous", "other-account", "unverified" or "ready"
	LoginURL  string // log in as the invited address, then back here
	SignupURL string
}

// AuditLog is a page of a team's audit log.
type AuditLog struct {
	Team  Team
	Lines []AuditLine
	Pager Pager
}

// AuditLine is one line of a team's audit log, in words.
type AuditLine struct {
	At     time.Time
	Actor  string
	Text   string // what they did, without the actor: "invited bob@example.com"
	Detail string // what changed: "member → admin"
}
