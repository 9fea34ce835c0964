package views

import "time"

// Project is a project as the pages show it.
type Project struct {
	ID        int64
	TeamID    int64
	Name      string
	CreatedAt time.Time
}

// URL is the project's page, in its team.
func (p Project) URL() string { return ProjectsURL(p.TeamID) + "/" + itoa(p.ID) }

// ProjectsURL is the projects list of a team.
func ProjectsURL(team int64) string { return TeamURL(team) + "/projects" }

// Projects is one page of a team's projects list.
type Projects struct {
	Team  Team
	Items []Project
	Pager Pager
	Quota ProjectQuota
}

// ProjectQuota is how many projects the user has and how many their plan
// allows, shown before the limit is hit rather than after.
type ProjectQuota struct {
	Used       int // counted up to ProjectCountCap
	Limit      int // 0 means unlimited
	PlanName   string
	CanUpgrade bool   // billing is on, so /pricing sells a plan without the limit
	NotOwner   bool   // the team is someone else's: only its owner can change its plan
	UpgradeURL string // where its owner changes its plan: /pricing for the personal team, else the team's billing
}

// ProjectCountCap is as far as projects are counted: past it the pages say
// "100+", and counting costs no more for an owner of a million (every page
// that shows the count walks at most this many index entries).
const ProjectCountCap = 100

// Full reports whether the plan allows no more projects.
func (q ProjectQuota) Full() bool { return q.Limit > 0 && q.Used >= q.Limit }

// UsedText is the count as shown: "100+" once at ProjectCountCap.
func (q ProjectQuota) UsedText() string {
	if q.Used >= ProjectCountCap {
		return itoa(ProjectCountCap) + "+"
	}
	return itoa(int64(q.Used))
}
