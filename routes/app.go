package routes

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"ocgo/mcp"
)

func (s *Server) appGet(*http.Request, httprouter.Params) (any, error) {
	return s.opts.App(), nil
}

func (s *Server) appInit(*http.Request, httprouter.Params) (any, error) {
	if s.opts.InitApp == nil {
		return nil, errNotBuilt
	}
	if err := s.opts.InitApp(); err != nil {
		return nil, err
	}
	return true, nil
}

type logBody struct {
	Service string         `json:"service"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Extra   map[string]any `json:"extra,omitempty"`
}

func (b *logBody) validate() error {
	switch {
	case b.Service == "":
		return badRequest("service", "service is required")
	case b.Message == "":
		return badRequest("message", "message is required")
	}
	switch b.Level {
	case "debug", "info", "warn", "error":
	default:
		return badRequest("level", "level must be one of debug, info, warn, error")
	}
	return nil
}

// logPost writes a client's log entry into ocgo's own logger.
func (s *Server) logPost(r *http.Request, _ httprouter.Params, b *logBody) (any, error) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(b.Level)))
	attrs := []any{"component", "client", "service", b.Service}
	if len(b.Extra) > 0 {
		attrs = append(attrs, "extra", b.Extra)
	}
	s.opts.Logger.Log(context.Background(), level, b.Message, attrs...)
	return true, nil
}

func (s *Server) configs() (Configs, error) {
	if s.opts.Configs == nil {
		return nil, errNotBuilt
	}
	return s.opts.Configs, nil
}

func (s *Server) configGet(*http.Request, httprouter.Params) (any, error) {
	c, err := s.configs()
	if err != nil {
		return nil, err
	}
	return c.Config(), nil
}

func (s *Server) configProviders(*http.Request, httprouter.Params) (any, error) {
	c, err := s.configs()
	if err != nil {
		return nil, err
	}
	return c.Providers()
}

func (s *Server) agentList(*http.Request, httprouter.Params) (any, error) {
	c, err := s.configs()
	if err != nil {
		return nil, err
	}
	return c.Agents(), nil
}

func (s *Server) commandList(*http.Request, httprouter.Params) (any, error) {
	c, err := s.configs()
	if err != nil {
		return nil, err
	}
	return c.Commands(), nil
}

// authSet stores credentials; the body is never echoed or logged.
func (s *Server) authSet(_ *http.Request, p httprouter.Params, data json.RawMessage) (any, error) {
	c, err := s.configs()
	if err != nil {
		return nil, err
	}
	if err := c.SetAuth(p.ByName("id"), data); err != nil {
		return nil, err
	}
	return true, nil
}

// mcpStatus is GET /mcp: each configured MCP server's state.
func (s *Server) mcpStatus(*http.Request, httprouter.Params) (any, error) {
	if s.opts.MCP == nil {
		return map[string]mcp.ServerStatus{}, nil
	}
	return s.opts.MCP.Status(), nil
}
