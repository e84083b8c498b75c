package routes

// The local share page: POST /session/:id/share gives a session a URL
// served here, /share/<token>. The page is read-only, loads nothing from
// another host (its script and style are inline, allowed by their hashes
// in a strict Content-Security-Policy), and stays live through
// /share/<token>/event. It goes through the same guards as the API.

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/julienschmidt/httprouter"

	"ocgo/bus"
	"ocgo/session"
	"ocgo/storage"
)

var (
	//go:embed share/page.html
	sharePageHTML string
	//go:embed share/page.css
	sharePageCSS string
	//go:embed share/page.js
	sharePageJS string
)

// sharePage is the page with its CSP, built on the first request for it.
var sharePage = sync.OnceValues(func() ([]byte, string) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	page := strings.Replace(sharePageHTML, "{{STYLE}}", sharePageCSS, 1)
	page = strings.Replace(page, "{{SCRIPT}}", sharePageJS, 1)
	csp := "default-src 'none'; script-src " + hash(sharePageJS) + "; style-src " + hash(sharePageCSS) +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(page), csp
})

// shareHeaders are set on every answer under /share/.
func shareHeaders(h http.Header) {
	_, csp := sharePage()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// shareBase is the URL prefix of this server as the client reached it.
func shareBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) sessionShare(r *http.Request, p httprouter.Params) (any, error) {
	sess, err := s.opts.Sessions.Share(p.ByName("id"), shareBase(r))
	if errors.Is(err, session.ErrShareDisabled) {
		return nil, newError(http.StatusBadRequest, "UnknownError", err.Error())
	}
	return sess, err
}

func (s *Server) sessionUnshare(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Unshare(p.ByName("id"))
}

// shared finds the session of the token in the path.
func (s *Server) shared(p httprouter.Params) (storage.Session, error) {
	sess, err := s.opts.Sessions.SharedSession(p.ByName("token"))
	if err != nil {
		return sess, newError(http.StatusNotFound, "NotFoundError", "no such share")
	}
	return sess, nil
}

func (s *Server) sharePageGet(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	shareHeaders(w.Header())
	if _, err := s.shared(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page, _ := sharePage()
	_, _ = w.Write(page)
}

// shareData is what the share page shows: the session, its messages (with
// the system prompt left out) and each patch's files and diff.
type shareData struct {
	Session  storage.Session                `json:"session"`
	Messages []storage.WithParts            `json:"messages"`
	Patches  map[string]session.SharedPatch `json:"patches"`
	Busy     bool                           `json:"busy"`
}

func (s *Server) shareDataGet(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	shareHeaders(w.Header())
	sess, err := s.shared(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msgs, err := s.opts.Sessions.Messages(sess.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess.Share = nil
	d := shareData{Session: sess, Messages: msgs, Patches: map[string]session.SharedPatch{}, Busy: s.opts.Sessions.Busy(sess.ID)}
	for i := range d.Messages {
		d.Messages[i].Info.System = nil
		for _, part := range d.Messages[i].Parts {
			if part.Type != storage.PartPatch {
				continue
			}
			key := part.ID + " " + part.Hash + " " + part.After
			sp, ok := s.sharePatch.get(key)
			if !ok {
				if sp, err = s.opts.Sessions.PatchDiff(r.Context(), part); err != nil {
					s.log.Warn("Share page: patch diff", "part", part.ID, "err", err)
				} else {
					s.sharePatch.put(key, sp)
				}
			}
			d.Patches[part.ID] = sp
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// patchCache keeps patch diffs for the share page, which re-reads its data
// on every change while the agent works: a patch part never changes once
// written (the key holds its trees), so its diff is computed once.
type patchCache struct {
	mu sync.Mutex
	m  map[string]session.SharedPatch
}

func (c *patchCache) get(key string) (session.SharedPatch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *patchCache) put(key string, v session.SharedPatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 2000 {
		c.m = map[string]session.SharedPatch{}
	}
	c.m[key] = v
}

// shareEventGet streams a bare {"type"} frame for each event about the
// shared session (the page then re-reads /data), and ends when the share
// is revoked or the session deleted.
func (s *Server) shareEventGet(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	shareHeaders(w.Header())
	sess, err := s.shared(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub := s.opts.Bus.Subscribe(sseBuffer)
	defer sub.Close()
	write := startSSE(w)
	if !write([]byte("data: {\"type\":\"server.connected\"}\n\n")) {
		return
	}
	s.pump(r, sub, write, []byte(": heartbeat\n\n"), func(ev bus.Event) ([]byte, bool) {
		if eventSession(ev.JSON, ev) != sess.ID {
			return nil, true
		}
		if _, err := s.opts.Sessions.SharedSession(p.ByName("token")); err != nil {
			return nil, false // revoked or deleted: the page's next read gets 404
		}
		typ, _ := json.Marshal(ev.Type)
		return []byte("data: {\"type\":" + string(typ) + "}\n\n"), true
	})
}

// eventSession returns the session an event is about ("" if none): its
// properties' sessionID, info (a session or a message) or part.
func eventSession(data []byte, ev any) string {
	if data == nil {
		data, _ = json.Marshal(ev)
	}
	var probe struct {
		Properties struct {
			SessionID string `json:"sessionID"`
			Info      struct {
				ID        string `json:"id"`
				SessionID string `json:"sessionID"`
			} `json:"info"`
			Part struct {
				SessionID string `json:"sessionID"`
			} `json:"part"`
		} `json:"properties"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	pr := probe.Properties
	switch {
	case pr.SessionID != "":
		return pr.SessionID
	case pr.Part.SessionID != "":
		return pr.Part.SessionID
	case pr.Info.SessionID != "":
		return pr.Info.SessionID
	case strings.HasPrefix(pr.Info.ID, storage.PrefixSession+"_"):
		return pr.Info.ID
	}
	return ""
}
