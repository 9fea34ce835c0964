package views

// Dashboard is the data of the dashboard page.
type Dashboard struct {
	Verified bool // the user's email address is confirmed
	Quota    ProjectQuota
	Recent   []Project
}
