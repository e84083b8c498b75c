package routes

import (
	"crypto/subtle"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Body limits, set per route in the table: prompts may carry attachments
// as data: URLs and a session import the snapshot objects of its patches,
// so those routes get more room; everything else is small JSON.
const (
	defaultBodyLimit = 1 << 20
	promptBodyLimit  = 32 << 20
)

// Per-request limits.
const (
	bodyReadTimeout = 30 * time.Second // a client must finish sending its body within this
	maxEventStreams = 512              // concurrent GET /event streams
	maxTUIPending   = 64               // queued /tui/* calls waiting for the TUI
)

// guard wraps the router with the checks every route gets, outermost first:
// panic recovery, defensive headers, Host allow-list (DNS rebinding), in
// strict mode no Origin or Referer at all, CORS
// for allowed origins (a preflight is answered before auth, and a 401
// carries the CORS headers so the browser can read it), HTTP Basic auth
// when a password is set, cross-origin protection for state changes
// (CSRF), the JSON content type for bodies, and a deadline for reading the
// body. Body size limits are per route (adapt). A route is guarded by being
// in the table; nothing has to remember to call these.
func (s *Server) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.CORS {
		_ = cop.AddTrustedOrigin(o)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, newError(http.StatusForbidden, "ForbiddenError", "cross-origin request refused"))
	}))
	s.cop = cop
	inner := cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBody(r) && r.Method != http.MethodGet && r.Method != http.MethodHead {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				s.writeError(w, r, newError(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeError",
					"request body must be application/json"))
				return
			}
			// A slow sender cannot hold a handler forever; the deadline is
			// lifted once the body has been read, so long answers (prompts,
			// SSE) are not cut.
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Access log (A6): method, path without the query, status,
		// duration, remote address; never headers, credentials or bodies.
		// Reads are logged at debug level, changes at info. A request
		// whose line the logger would drop is not timed or wrapped.
		level := slog.LevelInfo
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			level = slog.LevelDebug
		}
		if s.log.Enabled(r.Context(), level) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			w = sw
			defer func() {
				s.log.Log(r.Context(), level, "Request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
					"ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
			}()
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("Handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.writeError(w, r, newError(http.StatusInternalServerError, "UnknownError", "internal error"))
			}
		}()
		// An API, never a page: no sniffing, no framing, nothing loaded,
		// nothing cached (answers may carry session contents).
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNoSniff
		h["X-Frame-Options"] = hdrDeny
		h["Content-Security-Policy"] = hdrCSP
		h["Cache-Control"] = hdrNoStore
		if !s.hostAllowed(r.Host) {
			s.writeError(w, r, newError(http.StatusForbidden, "ForbiddenError", "host not allowed"))
			return
		}
		if s.opts.StrictOrigin && (r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "") {
			s.writeError(w, r, newError(http.StatusForbidden, "ForbiddenError", "requests from web pages are refused (--strict-origin)"))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && s.corsAllowed(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				// A preflight carries no credentials (Fetch spec): answer
				// it before auth.
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if s.opts.Password != "" && !s.authorized(r) {
			h.Set("WWW-Authenticate", `Basic realm="ocgo", charset="UTF-8"`)
			s.writeError(w, r, newError(http.StatusUnauthorized, "UnauthorizedError", "authentication required"))
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// Header values every answer carries, built once and assigned under their
// canonical keys, so a request pays no key canonicalisation or slice
// allocation for them. Sharing the slices is safe: nothing changes a header
// value in place (Header.Set replaces the slice, Header.Add appends to a
// full one, which copies).
var (
	hdrNoSniff      = []string{"nosniff"}
	hdrDeny         = []string{"DENY"}
	hdrCSP          = []string{"default-src 'none'; frame-ancestors 'none'"}
	hdrNoStore      = []string{"no-store"}
	contentTypeJSON = []string{"application/json"}
)

// statusWriter records the status for the access log; Unwrap keeps
// http.ResponseController (flush, deadlines) working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// deadlineBody lifts the body read deadline at the end of the body.
type deadlineBody struct {
	io.ReadCloser
	clear func()
	once  sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.clear)
	}
	return n, err
}

// crossOriginGET applies the state-change cross-origin check to a GET that
// has a side effect (GET /tui/control/next takes a request off the queue).
func (s *Server) crossOriginGET(r *http.Request) error {
	if s.cop == nil {
		return nil
	}
	probe := r.Clone(r.Context())
	probe.Method = http.MethodPost
	if err := s.cop.Check(probe); err != nil {
		return newError(http.StatusForbidden, "ForbiddenError", "cross-origin request refused")
	}
	return nil
}

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && len(r.TransferEncoding) > 0)
}

// hostAllowed accepts loopback names and addresses, the bound address and
// the configured extra hosts. Anything else is a DNS-rebinding attempt or a
// misdirected request.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	// netip parses without allocating; a zone (fe80::1%eth0) is refused
	// as net.ParseIP refuses it.
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" && ip.IsLoopback() {
		return true
	}
	for _, h := range s.opts.AllowedHosts {
		if strings.EqualFold(strings.Trim(h, "[]"), host) {
			return true
		}
	}
	return false
}

func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.opts.CORS {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password))
	return u&p == 1
}
