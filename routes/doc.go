package routes

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

func (s *Server) doc(*http.Request, httprouter.Params) (any, error) {
	return nil, errNotBuilt
}
