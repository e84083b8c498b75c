package routes

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"ocgo/search"
)

// optional reports whether a route depends on an optional dependency
// (Configs or Search) and so answers 501 when the server is built without it.
func (s *Server) optional(path string) bool {
	for _, p := range []string{"/config", "/agent", "/command", "/auth/", "/file", "/find"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (s *Server) searcher() (*search.Service, error) {
	if s.opts.Search == nil {
		return nil, errNotBuilt
	}
	return s.opts.Search, nil
}

// fileGet serves both meanings of GET /file?path=: opencode 0.5.29 lists
// a directory, the public docs read a file. A directory gets FileNode[], a
// file gets {type, content}.
func (s *Server) fileGet(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	p := r.URL.Query().Get("path")
	isDir, err := svc.Stat(r.Context(), p)
	if err != nil {
		return nil, err
	}
	if isDir {
		return svc.List(r.Context(), p)
	}
	return svc.Read(r.Context(), p)
}

func (s *Server) fileContent(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	return svc.Read(r.Context(), r.URL.Query().Get("path"))
}

func (s *Server) fileStatus(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	return svc.Status(r.Context())
}

// limit reads an optional positive "limit" query parameter.
func limit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badRequest("limit", "limit must be a positive integer")
	}
	return min(n, max), nil
}

func (s *Server) findText(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	pattern := r.URL.Query().Get("pattern")
	if pattern == "" {
		return nil, badRequest("pattern", "pattern must not be empty")
	}
	n, err := limit(r, 1000, 10000)
	if err != nil {
		return nil, err
	}
	return svc.Grep(r.Context(), pattern, n)
}

func (s *Server) findFiles(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	n, err := limit(r, 10, 1000)
	if err != nil {
		return nil, err
	}
	// Directories (with a trailing "/") come when asked for, or when the
	// query itself ends with "/", as when completing a path.
	q := r.URL.Query().Get("query")
	dirs := r.URL.Query().Get("dirs") == "true" || strings.HasSuffix(q, "/")
	return svc.FindFiles(r.Context(), q, n, dirs)
}

func (s *Server) findSymbols(r *http.Request, _ httprouter.Params) (any, error) {
	svc, err := s.searcher()
	if err != nil {
		return nil, err
	}
	return svc.Symbols(r.Context(), r.URL.Query().Get("query"))
}
