package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"skiff/db"
	"skiff/views"
)

// Projects are the example resource: owned by a user, limited by their plan,
// paged, and the same rules behind the pages (this file) and the JSON API
// (api_projects.go). To add a resource of your own, copy this feature; the
// README's "Add a resource" lists every file it touches.

// projectRoutes registers the project pages.
//
// Projects live in a team, at /t/{team}/projects; the pages link there.
// /projects is the short form for the user's personal team (and what links
// made before teams existed say), served by the same handlers.
func (s *Server) projectRoutes(user group, team teamGroup) {
	for _, rt := range []struct {
		method, path string
		h            handlerFunc
	}{
		{"GET", "/projects", s.handleProjectsList},
		{"POST", "/projects", s.handleProjectCreate},
		{"GET", "/projects/{id}", s.handleProjectShow},
		{"POST", "/projects/{id}/rename", s.handleProjectRename},
		{"POST", "/projects/{id}/delete", s.handleProjectDelete},
	} {
		team.handle(rt.method+" /t/{team}"+rt.path, "projects", rt.h)
		user.handle(rt.method+" "+rt.path, rt.h) // the personal team's short form
	}
}

// --- The rules, written once for pages and API ---

const maxProjectName = 100

// projectInput is what a person sets on a project, from a form or a JSON body.
type projectInput struct {
	Name string `json:"name"`
}

// Valid requires a printable name of 1 to 100 characters.
func (in projectInput) Valid() map[string]string {
	errs := map[string]string{}
	if msg := nameProblem(in.Name, maxProjectName, "Give your project a name."); msg != "" {
		errs["name"] = msg
	}
	return errs
}

// nameProblem is what is wrong with the name of a thing (a project, a team):
// empty (the message given), not printable, or over max characters; "" when
// it is fine.
func nameProblem(name string, max int, empty string) string {
	switch {
	case name == "":
		return empty
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "Use letters, digits, spaces and punctuation only."
	case utf8.RuneCountInString(name) > max:
		return "Use at most " + strconv.Itoa(max) + " characters."
	}
	return ""
}

// clean returns the input as it is checked and stored.
func (in projectInput) clean() projectInput {
	return projectInput{Name: strings.TrimSpace(in.Name)}
}

// projectLimit is the refusal of a project over the plan's limit.
func (s *Server) projectLimit(plan Plan) error {
	return &planLimit{Need: s.plan(PlanPro), Title: "Project limit reached",
		Message: "The " + plan.Name + " plan includes up to " + strconv.Itoa(plan.MaxProjects) + " projects."}
}

// listProjects returns a page of the owner's projects, newest first, and the
// cursor of the next page ("" on the last).
func (s *Server) listProjects(ctx context.Context, o owner, p pageRequest) ([]db.Project, string, error) {
	rows, err := s.db.Projects(ctx, o.Team, p.Before, p.fetch())
	if err != nil {
		return nil, "", err
	}
	list, next := cut(p, rows, func(p db.Project) int64 { return p.ID })
	return list, next, nil
}

// project returns one of the owner's projects; someone else's is
// db.ErrNotFound, exactly like one that does not exist.
func (s *Server) project(ctx context.Context, o owner, id int64) (db.Project, error) {
	return s.db.Project(ctx, o.Team, id)
}

// createProject adds a project within the owner's plan.
func (s *Server) createProject(ctx context.Context, o owner, in projectInput) (db.Project, error) {
	in = in.clean()
	if errs := in.Valid(); len(errs) > 0 {
		return db.Project{}, invalid(errs)
	}
	var p db.Project
	err := s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		var err error
		p, err = q.CreateProjectWithin(ctx, o.Team, in.Name, o.Plan.MaxProjects)
		*e = db.AuditEntry{Action: db.AuditProjectCreated, Subject: p.Name}
		return err
	})
	if errors.Is(err, db.ErrLimitReached) {
		return p, s.projectLimit(o.Plan)
	}
	return p, err
}

// renameProject changes the name of one of the owner's projects.
func (s *Server) renameProject(ctx context.Context, o owner, id int64, in projectInput) (db.Project, error) {
	in = in.clean()
	if errs := in.Valid(); len(errs) > 0 {
		return db.Project{}, invalid(errs)
	}
	var p db.Project
	err := s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		old, err := q.Project(ctx, o.Team, id)
		if err != nil {
			return err
		}
		if p, err = q.RenameProject(ctx, o.Team, id, in.Name); err != nil {
			return err
		}
		if old.Name != p.Name {
			*e = db.AuditEntry{Action: db.AuditProjectRenamed, Subject: old.Name, Detail: "now " + p.Name}
		}
		return nil
	})
	return p, err
}

// deleteProject deletes one of the owner's projects.
func (s *Server) deleteProject(ctx context.Context, o owner, id int64) error {
	return s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		p, err := q.Project(ctx, o.Team, id)
		if err != nil {
			return err
		}
		*e = db.AuditEntry{Action: db.AuditProjectDeleted, Subject: p.Name}
		return q.DeleteProject(ctx, o.Team, id)
	})
}

// projectQuota is the owner's project count (up to views.ProjectCountCap)
// against their plan's limit.
func (s *Server) projectQuota(ctx context.Context, o owner) (views.ProjectQuota, error) {
	used, err := s.db.CountProjects(ctx, o.Team, views.ProjectCountCap)
	return s.quotaView(o, used), err
}

func (s *Server) quotaView(o owner, used int) views.ProjectQuota {
	q := views.ProjectQuota{Used: used, Limit: o.Plan.MaxProjects, PlanName: o.Plan.Name, CanUpgrade: s.stripe != nil, NotOwner: !o.Owns,
		UpgradeURL: "/pricing"}
	if !o.Personal {
		q.UpgradeURL = views.BillingURL(o.Team.TeamID())
	}
	return q
}

func projectView(p db.Project) views.Project {
	return views.Project{ID: p.ID, TeamID: p.TeamID, Name: p.Name, CreatedAt: p.CreatedAt}
}

func projectViews(ps []db.Project) []views.Project {
	out := make([]views.Project, len(ps))
	for i, p := range ps {
		out[i] = projectView(p)
	}
	return out
}

// --- The pages ---

// handleProjectsList handles "GET /projects".
func (s *Server) handleProjectsList(w http.ResponseWriter, r *http.Request) error {
	return s.renderProjects(w, r, http.StatusOK, views.Form{})
}

// renderProjects shows the request's page of projects with the create form f.
func (s *Server) renderProjects(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	page, err := readPage(r, defaultPageSize)
	if err != nil {
		return err
	}
	o := s.pageOwner(r)
	list, next, err := s.listProjects(r.Context(), o, page)
	if err != nil {
		return err
	}
	quota, err := s.projectQuota(r.Context(), o)
	if err != nil {
		return err
	}
	s.render(w, r, status, views.ProjectsPage(s.page(r, "Projects"),
		views.Projects{Team: s.teamView(r), Items: projectViews(list), Pager: pager(r, page, next), Quota: quota}, f))
	return nil
}

// handleProjectCreate handles "POST /projects".
func (s *Server) handleProjectCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	in := projectInput{Name: r.PostForm.Get("name")}
	p, err := s.createProject(r.Context(), s.pageOwner(r), in)
	if err != nil {
		// The form again with what was typed: a bad name, or the plan
		// filled by another tab since the form was shown.
		f := views.Form{Values: map[string]string{"name": in.clean().Name}, Errors: fieldErrors(err)}
		if pl, ok := errors.AsType[*planLimit](err); ok {
			f.Error = "Project limit reached, nothing was created. " + pl.Message
			return s.renderProjects(w, r, http.StatusForbidden, f)
		}
		if f.Errors != nil {
			return s.renderProjects(w, r, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	s.redirect(w, r, projectView(p).URL(), "Project created.")
	return nil
}

// handleProjectShow handles "GET /projects/{id}".
func (s *Server) handleProjectShow(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	p, err := s.project(r.Context(), s.pageOwner(r), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, views.ProjectPage(s.page(r, p.Name), projectView(p),
		views.Form{Values: map[string]string{"name": p.Name}}))
	return nil
}

// handleProjectRename handles "POST /projects/{id}/rename".
func (s *Server) handleProjectRename(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	id, err := idParam(r)
	if err != nil {
		return err
	}
	o := s.pageOwner(r)
	in := projectInput{Name: r.PostForm.Get("name")}
	p, err := s.renameProject(r.Context(), o, id, in)
	if errs := fieldErrors(err); errs != nil {
		current, err := s.project(r.Context(), o, id)
		if err != nil {
			return err
		}
		s.render(w, r, http.StatusUnprocessableEntity, views.ProjectPage(s.page(r, current.Name), projectView(current),
			views.Form{Values: map[string]string{"name": in.clean().Name}, Errors: errs}))
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, projectView(p).URL(), "Project renamed.")
	return nil
}

// handleProjectDelete handles "POST /projects/{id}/delete".
func (s *Server) handleProjectDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	if err := s.deleteProject(r.Context(), s.pageOwner(r), id); err != nil {
		return err
	}
	s.redirect(w, r, views.ProjectsURL(s.pageOwner(r).Team.TeamID()), "Project deleted.")
	return nil
}
