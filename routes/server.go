// Package routes is ocgo's HTTP face: one table of every route (table.go),
// the guards every route gets (guard.go), one error mapper (errors.go) and
// one file per resource. Handlers parse and encode only; the session core
// and the search service decide.
package routes

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"ocgo/bus"
	"ocgo/config"
	"ocgo/mcp"
	"ocgo/provider"
	"ocgo/search"
	"ocgo/session"
)

// App is the GET /app answer and the TUI's OPENCODE_APP_INFO.
type App struct {
	Hostname string  `json:"hostname"`
	Git      bool    `json:"git"`
	Path     AppPath `json:"path"`
	Time     AppTime `json:"time"`
}

// AppPath lists the directories a client may want to know.
type AppPath struct {
	Home   string `json:"home"`
	Config string `json:"config"`
	Data   string `json:"data"`
	Root   string `json:"root"`
	Cwd    string `json:"cwd"`
	State  string `json:"state"`
}

// AppTime holds time.initialized (epoch ms) once /app/init ran.
type AppTime struct {
	Initialized int64 `json:"initialized,omitempty"`
}

// Configs is what the config routes read and write; package app adapts
// the config and provider packages to it.
type Configs interface {
	Config() config.Document                       // GET /config, secrets redacted
	Agents() []config.Agent                        // GET /agent
	Commands() []config.Command                    // GET /command
	Providers() (provider.Listing, error)          // GET /config/providers, no secrets
	SetAuth(id string, body json.RawMessage) error // PUT /auth/:id (a config.Auth)
}

// Options are the server's dependencies and settings.
type Options struct {
	Sessions *session.Service
	Bus      *bus.Bus
	Configs  Configs         // nil: the config routes answer 501
	Search   *search.Service // nil: the file and find routes answer 501
	MCP      *mcp.Manager    // nil: GET /mcp answers {}
	Logger   *slog.Logger

	App     func() App   // current App info
	InitApp func() error // POST /app/init

	AllowedHosts []string // extra Host names besides loopback
	CORS         []string // origins allowed to make cross-origin calls
	// StrictOrigin refuses every request that carries Origin or Referer:
	// only a browser sends them, so no web page can use the API at all
	// (checklist B9, for CLI and TUI use; --strict-origin).
	StrictOrigin bool
	Username     string // Basic auth user (when Password is set)
	Password     string // enables Basic auth when non-empty

	Scrub map[string]string // absolute path → placeholder, applied to error messages

	TUITimeout time.Duration // how long a /tui/* call waits for the TUI (default 30s)
	Heartbeat  time.Duration // SSE heartbeat period (default 10s)
}

// Server serves the opencode API.
type Server struct {
	opts       Options
	log        *slog.Logger
	handler    http.Handler
	routes     []route
	scrubs     []replacement
	errMappers []func(error) *apiError
	tui        *tuiQueue
	docs       docState
	sharePatch patchCache // the share page's patch diffs (routes/share.go)
	cop        *http.CrossOriginProtection
	streams    atomic.Int64 // open GET /event streams
}

// New builds the server and its route table.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TUITimeout == 0 {
		opts.TUITimeout = 30 * time.Second
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 10 * time.Second
	}
	if opts.Username == "" {
		opts.Username = "opencode"
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "http"), tui: newTUIQueue()}
	for from, to := range opts.Scrub {
		s.scrubs = append(s.scrubs, replacement{from, to})
	}
	// Longest paths first, so a data dir under home is replaced before home.
	for i := range s.scrubs {
		for j := i + 1; j < len(s.scrubs); j++ {
			if len(s.scrubs[j].from) > len(s.scrubs[i].from) {
				s.scrubs[i], s.scrubs[j] = s.scrubs[j], s.scrubs[i]
			}
		}
	}
	s.routes = s.table()
	router := httprouter.New()
	router.RedirectTrailingSlash = false
	router.RedirectFixedPath = false
	router.HandleMethodNotAllowed = true
	router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, newError(http.StatusNotFound, "NotFoundError", "no such route"))
	})
	router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, newError(http.StatusMethodNotAllowed, "MethodNotAllowedError", "method not allowed on this route"))
	})
	// Exact routes are matched before the router: httprouter cannot hold
	// a fixed segment beside a parameter (/session/status, /session/:id).
	exact := map[string]httprouter.Handle{}
	for _, rt := range s.routes {
		if rt.exact {
			exact[rt.method+" "+rt.path] = s.adapt(rt)
			continue
		}
		router.Handle(rt.method, rt.path, s.adapt(rt))
	}
	s.handler = s.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := exact[r.Method+" "+r.URL.Path]; ok {
			h(w, r, nil)
			return
		}
		router.ServeHTTP(w, r)
	}))
	return s
}

// Handler returns the guarded HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close wakes long-polling TUI calls so shutdown is not held up.
func (s *Server) Close() { s.tui.close() }

// route is one row of the table: how to serve it and how to document it.
type route struct {
	method, path string
	id, summary  string
	handle       func(r *http.Request, p httprouter.Params) (any, error)
	stream       http.HandlerFunc // instead of handle, for SSE
	query        []string         // required query parameters
	bodyLimit    int64            // request body limit; 0: defaultBodyLimit
	sideEffect   bool             // a GET that changes state: cross-origin checked like a POST
	optQuery     []string         // optional query parameters (documented)
	noContent    bool             // answers 204 with no body (the handler's value is ignored)
	exact        bool             // a fixed path beside a parameter route, matched first
	// raw writes its own answer of media type produces (the share page).
	raw      func(http.ResponseWriter, *http.Request, httprouter.Params)
	produces string
	// in is instead of handle for a route that reads a request body: the
	// body's type, which /doc documents, and the handler it is handed to
	// (takes, reads).
	in           input
	bodyOptional bool // in: an empty body is allowed (a zero value, or nil raw JSON)
	resp         reflect.Type
	respOneOf    []reflect.Type // instead of resp: the answer is one of these
}

func (s *Server) adapt(rt route) httprouter.Handle {
	if rt.stream != nil {
		return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { rt.stream(w, r) }
	}
	if rt.raw != nil {
		return rt.raw
	}
	limit := rt.bodyLimit
	if limit == 0 {
		limit = defaultBodyLimit
	}
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if r.Body != http.NoBody { // a request without a body has nothing to limit
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if rt.sideEffect {
			if err := s.crossOriginGET(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		for _, q := range rt.query {
			if !r.URL.Query().Has(q) {
				s.writeError(w, r, badRequest(q, "query parameter %q is required", q))
				return
			}
		}
		var v any
		var err error
		if rt.in.t != nil {
			v, err = rt.in.serve(r, p, rt.bodyOptional)
		} else {
			v, err = rt.handle(r, p)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rt.noContent {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// input is a route's request body: its type and the handler that takes it.
// The type comes from the handler's own signature (takes) or is named once
// beside it (reads), so the body that is read and the one /doc documents
// cannot differ. call gets the body as read (empty when an optional body
// was not sent) and does the decoding its constructor chose.
type input struct {
	t    reflect.Type
	call func(r *http.Request, p httprouter.Params, body []byte) (any, error)
}

// takes makes the input of a handler that receives its request body
// decoded into a B and validated (B's validate method, when it has one).
// An empty optional body is a zero B, validated the same way.
func takes[B any](h func(*http.Request, httprouter.Params, *B) (any, error)) input {
	return input{t: reflect.TypeFor[B](), call: func(r *http.Request, p httprouter.Params, data []byte) (any, error) {
		b, err := decodeBody[B](data)
		if err != nil {
			return nil, err
		}
		return h(r, p, b)
	}}
}

// reads makes the input of a handler that receives its request body as
// raw JSON (nil when an optional body is empty) and parses it itself: a
// body forwarded as it came (the TUI's) or parsed by its owner with its
// own errors (auth.json's). B is what /doc documents; when it has a
// validate method the body is also decoded into a B and checked by it
// (a zero B for an empty optional body), otherwise it is only checked to
// be JSON.
func reads[B any](h func(*http.Request, httprouter.Params, json.RawMessage) (any, error)) input {
	_, checks := any(new(B)).(validator)
	return input{t: reflect.TypeFor[B](), call: func(r *http.Request, p httprouter.Params, data []byte) (any, error) {
		if checks {
			if _, err := decodeBody[B](data); err != nil {
				return nil, err
			}
		} else if len(data) > 0 && !json.Valid(data) {
			return nil, badRequest("", "malformed JSON in request body")
		}
		if len(data) == 0 {
			return h(r, p, nil)
		}
		return h(r, p, json.RawMessage(data))
	}}
}

// decodeBody decodes a request body into a new B (left zero when the body
// is empty) and runs B's validate method when it has one. Unknown fields
// are ignored, as opencode's validator does.
func decodeBody[B any](data []byte) (*B, error) {
	b := new(B)
	if len(data) > 0 {
		if err := json.Unmarshal(data, b); err != nil {
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(err, &syn) || errors.As(err, &typ) {
				return nil, err
			}
			return nil, badRequest("", "malformed JSON in request body")
		}
	}
	if v, ok := any(b).(validator); ok {
		if err := v.validate(); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// serve reads the request body and hands it to the input's handler. An
// empty body is allowed only when optional.
func (in input) serve(r *http.Request, p httprouter.Params, optional bool) (any, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 && !optional {
		return nil, badRequest("", "request body is required")
	}
	return in.call(r, p, data)
}

// validator is implemented by request bodies that check themselves.
type validator interface{ validate() error }

// RouteInfo describes one row of the route table, for tests that must
// cover every route (the attack suite) and for documentation.
type RouteInfo struct {
	Method, Path string
	Query        []string // required query parameters
	OptQuery     []string // optional query parameters the route reads
	Body         bool     // takes a request body
	Stream       bool     // an event stream (or another raw answer)
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Query: rt.query, OptQuery: rt.optQuery,
			Body: rt.in.t != nil || rt.bodyOptional, Stream: rt.stream != nil || rt.raw != nil})
	}
	return out
}
