package routes

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"ocgo/bus"
	"ocgo/event"
)

// heartbeatKey is the storage.write key of the keep-alive frame.
const heartbeatKey = "heartbeat"

// heartbeat is the keep-alive frame: a whole data: frame of an event type
// every 0.5-era client already ignores. Every other shape breaks a client:
//   - a comment line followed by a blank line: the Stainless Go SDK (and so
//     the stock TUI) dispatches an event on every blank line and fails to
//     decode its empty data, which ends the TUI's event stream;
//   - a lone comment line: opencode.nvim's parser takes every non-empty line
//     as payload and glues it to the next event, which then fails to decode;
//   - an unknown type such as later opencode's server.heartbeat: the TUI's
//     SDK decodes an unknown type as installation.updated, and the TUI shows
//     "opencode updated to , restart to apply." at every beat;
//   - a repeated server.connected: later opencode.nvim takes it as "idle".
//
// storage.write is the one type the TUI drops unread (opencode 0.5.29 sent
// one per storage write, dozens per second), and the JS SDK types it.
var heartbeat = func() []byte {
	hb := event.StorageWrite{Key: heartbeatKey}
	b, _ := json.Marshal(bus.Event{Type: hb.EventType(), Properties: hb})
	return append(append([]byte("data: "), b...), "\n\n"...)
}()

// sseBuffer is how many events a client may fall behind before it is cut off.
const sseBuffer = 4096

// sseWriteTimeout bounds one write to a client whose TCP window is closed.
const sseWriteTimeout = 30 * time.Second

// events streams bus events as server-sent events: data-only frames of
// {"type","properties"}, server.connected first, a heartbeat frame every
// Heartbeat (see heartbeat for why it is a storage.write event).
// The subscription is taken before the first frame, so nothing published
// after server.connected is missed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.streams.Add(1) > maxEventStreams {
		s.streams.Add(-1)
		s.writeError(w, r, newError(http.StatusServiceUnavailable, "BusyError", "too many event streams are open"))
		return
	}
	defer s.streams.Add(-1)
	sub := s.opts.Bus.Subscribe(sseBuffer)
	defer sub.Close()
	write := startSSE(w)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	frame := func(v any) []byte {
		buf.Reset()
		buf.WriteString("data: ")
		if err := enc.Encode(v); err != nil {
			return nil
		}
		buf.WriteString("\n") // Encode ended the line; a blank line ends the frame.
		return buf.Bytes()
	}
	if !write(frame(typed(event.ServerConnected{}))) {
		return
	}
	// A client that connects while a tool waits for approval would never
	// learn of it (opencode has no replay): announce what is pending.
	for _, p := range s.opts.Sessions.Pending("") {
		if !write(frame(typed(event.PermissionUpdated(p)))) {
			return
		}
	}
	s.pump(r, sub, write, heartbeat, func(ev bus.Event) ([]byte, bool) {
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
		}
		return f, true
	})
}

// pump is the loop of every event stream: a heartbeat frame every
// Options.Heartbeat and, for each event of sub, the frame each makes of it
// (nil: nothing), until the client leaves or a write fails, the bus ends
// sub (shut down, or the client fell too far behind), or each says stop.
func (s *Server) pump(r *http.Request, sub *bus.Subscription, write func([]byte) bool, beat []byte, each func(bus.Event) (frame []byte, more bool)) {
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !write(beat) {
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			f, more := each(ev)
			if !more || f != nil && !write(f) {
				return
			}
		}
	}
}

// typed frames an event the stream sends itself (not through the bus).
func typed(e bus.Typed) bus.Event { return bus.Event{Type: e.EventType(), Properties: e} }

// startSSE sends the headers of an event stream and returns its frame
// writer: each frame is written under a deadline (a stuck client is cut
// off) and flushed; false means the client is gone.
func startSSE(w http.ResponseWriter) func(frame []byte) bool {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return func(frame []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if _, err := w.Write(frame); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
}
