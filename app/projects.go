package app

import (
	"errors"
	"net/http"
	"strconv"

	"skiff/db"
	"skiff/views"
)

// handleProjectsList handles "GET /projects".
func (s *Server) handleProjectsList(w http.ResponseWriter, r *http.Request) {
	s.renderProjects(w, r, http.StatusOK, views.Form{})
}

func (s *Server) renderProjects(w http.ResponseWriter, r *http.Request, status int, f views.Form) {
	projects, err := s.db.Projects(r.Context(), s.currentUser(r).ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, status, views.ProjectsPage(s.page(r, "Projects"), projects, s.projectQuota(r, len(projects)), f))
}

// projectQuota is the user's project count against their plan's limit.
func (s *Server) projectQuota(r *http.Request, used int) views.ProjectQuota {
	plan := s.plan(state(r).plan)
	return views.ProjectQuota{Used: used, Limit: plan.MaxProjects, PlanName: plan.Name, CanUpgrade: s.stripe != nil}
}

// projectLimitText is what the page and the API say when the plan's project
// limit refuses one more.
func projectLimitText(plan Plan) string {
	return "The " + plan.Name + " plan includes up to " + strconv.Itoa(plan.MaxProjects) + " projects."
}

// handleProjectsCreate handles "POST /projects".
func (s *Server) handleProjectsCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := readProjectForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.renderProjects(w, r, http.StatusUnprocessableEntity, f.view(errs))
		return
	}
	plan := s.plan(state(r).plan)
	p, err := s.db.CreateProjectWithin(r.Context(), s.currentUser(r).ID, f.Name, plan.MaxProjects)
	if errors.Is(err, db.ErrLimitReached) {
		// Another tab filled the plan since this form was shown: the page
		// again, with the name kept, rather than a dead end.
		v := f.view(nil)
		v.Error = "Project limit reached, nothing was created. " + projectLimitText(plan)
		s.renderProjects(w, r, http.StatusForbidden, v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10), "Project created.")
}

// handleProjectShow handles "GET /projects/{id}". Someone else's project is
// a 404, exactly like one that does not exist.
func (s *Server) handleProjectShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p, err := s.db.Project(r.Context(), s.currentUser(r).ID, id)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.ProjectPage(s.page(r, p.Name), p))
}

// handleProjectDelete handles "POST /projects/{id}/delete".
func (s *Server) handleProjectDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	err := s.db.DeleteProject(r.Context(), s.currentUser(r).ID, id)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/projects", "Project deleted.")
}

// pathID reads a positive integer {id} from the path.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}
