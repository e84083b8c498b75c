package routes

import (
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"strings"
)

// Body limits: prompts may carry attachments as data: URLs, so the message
// routes get more room; everything else is small JSON.
const (
	defaultBodyLimit = 1 << 20
	promptBodyLimit  = 32 << 20
)

// guard wraps the router with the checks every route gets, outermost first:
// panic recovery, Host allow-list (DNS rebinding), HTTP Basic auth when a
// password is set, cross-origin protection for state changes (CSRF), the
// JSON content type for bodies, and a body size limit. A route is guarded by
// being in the table; nothing has to remember to call these.
func (s *Server) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.CORS {
		_ = cop.AddTrustedOrigin(o)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, newError(http.StatusForbidden, "ForbiddenError", "cross-origin request refused"))
	}))
	inner := cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBody(r) && r.Method != http.MethodGet && r.Method != http.MethodHead {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				s.writeError(w, r, newError(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeError",
					"request body must be application/json"))
				return
			}
		}
		limit := int64(defaultBodyLimit)
		if strings.HasSuffix(r.URL.Path, "/message") || strings.HasSuffix(r.URL.Path, "/command") ||
			strings.HasSuffix(r.URL.Path, "/prompt_async") || r.URL.Path == "/session/import" {
			limit = promptBodyLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("Handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.writeError(w, r, newError(http.StatusInternalServerError, "UnknownError", "internal error"))
			}
		}()
		if !s.hostAllowed(r.Host) {
			s.writeError(w, r, newError(http.StatusForbidden, "ForbiddenError", "host not allowed"))
			return
		}
		if s.opts.Password != "" && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="ocgo", charset="UTF-8"`)
			s.writeError(w, r, newError(http.StatusUnauthorized, "UnauthorizedError", "authentication required"))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && s.corsAllowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
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
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
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
