package routes

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// sseBuffer is how many events a client may fall behind before it is cut off.
const sseBuffer = 4096

// sseWriteTimeout bounds one write to a client whose TCP window is closed.
const sseWriteTimeout = 30 * time.Second

// events streams bus events as server-sent events: data-only frames of
// {"type","properties"}, server.connected first, a comment heartbeat every
// Heartbeat. The heartbeat is a lone comment line with no blank line after
// it: the Stainless Go SDK (and so the opencode TUI) dispatches an event on
// every blank line and fails on its empty data, ending the TUI's stream.
// The subscription is taken before the first frame, so nothing published
// after server.connected is missed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sub := s.opts.Bus.Subscribe(sseBuffer)
	defer sub.Close()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	write := func(frame []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if _, err := w.Write(frame); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	frame := func(v any) []byte {
		buf.Reset()
		buf.WriteString("data: ")
		if err := enc.Encode(v); err != nil {
			return nil
		}
		buf.WriteString("\n") // Encode ended the line; a blank line ends the frame.
		return buf.Bytes()
	}
	if !write(frame(map[string]any{"type": "server.connected", "properties": map[string]any{}})) {
		return
	}
	// A client that connects while a tool waits for approval would never
	// learn of it (opencode has no replay): announce what is pending.
	for _, p := range s.opts.Sessions.Pending("") {
		if !write(frame(map[string]any{"type": "permission.updated", "properties": p})) {
			return
		}
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !write([]byte(": heartbeat\n")) {
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return // bus shut down, or this client fell too far behind
			}
			var f []byte
			if ev.JSON != nil { // encoded once by the bus for every stream
				buf.Reset()
				buf.WriteString("data: ")
				buf.Write(ev.JSON)
				buf.WriteString("\n\n")
				f = buf.Bytes()
			} else {
				f = frame(ev)
			}
			if f == nil {
				s.log.Error("Could not encode event", "type", ev.Type)
				continue
			}
			if !write(f) {
				return
			}
		}
	}
}
