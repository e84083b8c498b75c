package routes

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
)

// tuiRequest is what GET /tui/control/next hands to the TUI.
type tuiRequest struct {
	Path string          `json:"path"`
	Body json.RawMessage `json:"body"`
}

type tuiAppendBody struct {
	Text string `json:"text"`
}

type tuiExecuteBody struct {
	Command string `json:"command"`
}

type tuiToastBody struct {
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
	Variant string `json:"variant"`
}

func (b *tuiAppendBody) validate() error {
	if b.Text == "" {
		return badRequest("text", "text is required")
	}
	return nil
}

func (b *tuiExecuteBody) validate() error {
	if b.Command == "" {
		return badRequest("command", "command is required")
	}
	return nil
}

func (b *tuiToastBody) validate() error {
	if b.Message == "" {
		return badRequest("message", "message is required")
	}
	switch b.Variant {
	case "info", "success", "warning", "error":
		return nil
	}
	// The stock TUI never answers an unknown variant, which would leave the
	// caller waiting: refuse it here instead.
	return badRequest("variant", "variant must be one of info, success, warning, error")
}

// tuiQueue hands /tui/* requests to the attached TUI one at a time. The
// stock TUI answers with a bare `true` and no id, so correlation comes from
// order: at most one request is in flight, and the next response belongs to
// it. A caller that gives up leaves the queue aligned: an unsent request is
// withdrawn, a sent one keeps its slot until answered or expired.
type tuiQueue struct {
	mu       sync.Mutex
	pending  []*tuiItem
	inflight *tuiItem
	wake     chan struct{} // closed and replaced whenever pending or inflight changes
	closed   bool
}

type tuiItem struct {
	req    tuiRequest
	answer chan json.RawMessage // buffered 1
	sentAt time.Time
}

func newTUIQueue() *tuiQueue { return &tuiQueue{wake: make(chan struct{})} }

func (q *tuiQueue) notify() {
	close(q.wake)
	q.wake = make(chan struct{})
}

func (q *tuiQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.notify()
}

// call queues req and waits up to timeout for the TUI's answer.
func (q *tuiQueue) call(ctx context.Context, req tuiRequest, timeout time.Duration) (json.RawMessage, error) {
	it := &tuiItem{req: req, answer: make(chan json.RawMessage, 1)}
	q.mu.Lock()
	if len(q.pending) >= maxTUIPending {
		q.mu.Unlock()
		return nil, newError(http.StatusServiceUnavailable, "TuiBusyError", "too many requests are waiting for the TUI")
	}
	q.pending = append(q.pending, it)
	q.notify()
	q.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-it.answer:
		return a, nil
	case <-ctx.Done():
	case <-t.C:
	}
	q.mu.Lock()
	for i, p := range q.pending {
		if p == it {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			break
		}
	}
	q.mu.Unlock()
	return nil, newError(http.StatusGatewayTimeout, "TuiTimeoutError", "no TUI answered the request within "+timeout.String())
}

// next waits until a request can be sent: one is pending and none is in
// flight (or the in-flight one expired after expiry).
func (q *tuiQueue) next(ctx context.Context, expiry time.Duration) (tuiRequest, bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return tuiRequest{}, false
		}
		if q.inflight != nil && time.Since(q.inflight.sentAt) > expiry {
			q.inflight = nil
		}
		if q.inflight == nil && len(q.pending) > 0 {
			it := q.pending[0]
			q.pending = q.pending[1:]
			it.sentAt = time.Now()
			q.inflight = it
			q.mu.Unlock()
			return it.req, true
		}
		wake := q.wake
		var expire <-chan time.Time
		if q.inflight != nil {
			expire = time.After(expiry - time.Since(q.inflight.sentAt))
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return tuiRequest{}, false
		case <-wake:
		case <-expire:
		}
	}
}

// respond gives body to the in-flight request; false when none is waiting.
func (q *tuiQueue) respond(body json.RawMessage) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.inflight
	if it == nil {
		return false
	}
	q.inflight = nil
	it.answer <- body
	q.notify()
	return true
}

// tuiForward hands a /tui/* request's body, as it came ({} when empty), to
// the attached TUI and answers with the TUI's reply.
func (s *Server) tuiForward(r *http.Request, _ httprouter.Params, data json.RawMessage) (any, error) {
	if data == nil {
		data = json.RawMessage("{}")
	}
	return s.tui.call(r.Context(), tuiRequest{Path: r.URL.Path, Body: data}, s.opts.TUITimeout)
}

func (s *Server) tuiNext(r *http.Request, _ httprouter.Params) (any, error) {
	req, ok := s.tui.next(r.Context(), s.opts.TUITimeout)
	if !ok {
		return nil, newError(http.StatusServiceUnavailable, "UnavailableError", "no TUI request (server shutting down or client gone)")
	}
	return req, nil
}

func (s *Server) tuiResponse(_ *http.Request, _ httprouter.Params, data json.RawMessage) (any, error) {
	if data == nil {
		data = json.RawMessage("true")
	}
	s.tui.respond(data)
	return true, nil
}
