package app

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"skiff/db"
)

// The projects of the JSON API: the same rules as the pages (projects.go),
// answered as JSON.

// apiProjectRoutes registers the project endpoints.
func (s *Server) apiProjectRoutes(mux *http.ServeMux) {
	s.apiHandle(mux, "GET /api/v1/projects", s.handleAPIProjects)
	s.apiHandle(mux, "POST /api/v1/projects", s.handleAPIProjectCreate)
	s.apiHandle(mux, "GET /api/v1/projects/{id}", s.handleAPIProject)
	s.apiHandle(mux, "PATCH /api/v1/projects/{id}", s.handleAPIProjectRename)
	s.apiHandle(mux, "DELETE /api/v1/projects/{id}", s.handleAPIProjectDelete)
}

type apiProject struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

func toAPIProject(p db.Project) apiProject {
	return apiProject{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339)}
}

const projectExample = `{"name": "My project"}`

// handleAPIProjects handles "GET /api/v1/projects": a page of projects,
// newest first, with "next" the address of the next page (null on the last),
// also sent as a Link header.
func (s *Server) handleAPIProjects(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	page, err := readPage(r, defaultPageSize)
	if err != nil {
		return err
	}
	list, next, err := s.listProjects(r.Context(), s.apiOwner(c), page)
	if err != nil {
		return err
	}
	out := make([]apiProject, len(list))
	for i, p := range list {
		out[i] = toAPIProject(p)
	}
	var nextURL *string
	if next != "" {
		q := url.Values{"cursor": {next}}
		if page.Limit != defaultPageSize {
			q.Set("limit", strconv.Itoa(page.Limit))
		}
		u := "/api/v1/projects?" + q.Encode()
		nextURL = &u
		w.Header().Set("Link", "<"+u+`>; rel="next"`)
	}
	apiJSON(w, http.StatusOK, map[string]any{"projects": out, "next": nextURL})
	return nil
}

// handleAPIProjectCreate handles "POST /api/v1/projects" with {"name": "..."}.
func (s *Server) handleAPIProjectCreate(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	var in projectInput
	if err := s.readJSON(w, r, &in, projectExample); err != nil {
		return err
	}
	p, err := s.createProject(r.Context(), s.apiOwner(c), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/projects/"+strconv.FormatInt(p.ID, 10))
	apiJSON(w, http.StatusCreated, toAPIProject(p))
	return nil
}

// handleAPIProject handles "GET /api/v1/projects/{id}".
func (s *Server) handleAPIProject(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	p, err := s.project(r.Context(), s.apiOwner(c), id)
	if err != nil {
		return err
	}
	apiJSON(w, http.StatusOK, toAPIProject(p))
	return nil
}

// handleAPIProjectRename handles "PATCH /api/v1/projects/{id}" with
// {"name": "..."}.
func (s *Server) handleAPIProjectRename(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	var in projectInput
	if err := s.readJSON(w, r, &in, projectExample); err != nil {
		return err
	}
	p, err := s.renameProject(r.Context(), s.apiOwner(c), id, in)
	if err != nil {
		return err
	}
	apiJSON(w, http.StatusOK, toAPIProject(p))
	return nil
}

// handleAPIProjectDelete handles "DELETE /api/v1/projects/{id}".
func (s *Server) handleAPIProjectDelete(w http.ResponseWriter, r *http.Request, c apiCaller) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	if err := s.deleteProject(r.Context(), s.apiOwner(c), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
