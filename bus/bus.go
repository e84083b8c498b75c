// Package bus is the in-process event bus behind GET /event.
//
// Delivery: Publish never blocks. Each subscriber has a bounded buffer; a
// subscriber whose buffer is full is cut off (its channel closed and Dropped
// reported) rather than slowing the writer or silently losing events in the
// middle of a stream. A client that is cut off reconnects and refetches
// state, as opencode clients already do after server.connected.
//
// Ordering: events reach every subscriber in the order Publish was called.
// Callers publish only after the data an event describes is durable.
package bus

import (
	"bytes"
	"encoding/json"
	"sync"
)

// Event is one bus message, encoded on the wire as {"type","properties"}.
type Event struct {
	Type       string `json:"type"`
	Properties any    `json:"properties"`
	// JSON is the event encoded once by Publish, so that N event streams
	// do not encode it N times. Empty if encoding failed.
	JSON []byte `json:"-"`
}

// Bus fans events out to subscribers. It is safe for concurrent use.
type Bus struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// Subscription receives events on C until it is closed, cut off for being
// too slow, or the bus shuts down.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	dropped bool
}

// New returns an empty bus.
func New() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a subscriber with a buffer of size events.
func (b *Bus) Subscribe(size int) *Subscription {
	if size < 1 {
		size = 1
	}
	c := make(chan Event, size)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Typed is an event's properties (a struct of package event); EventType
// is its "type" on the wire.
type Typed interface{ EventType() string }

// Publish delivers e, as {"type": e.EventType(), "properties": e}, to every
// subscriber without blocking.
func (b *Bus) Publish(e Typed) {
	ev := Event{Type: e.EventType(), Properties: e}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(ev) == nil {
		ev.JSON = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.c <- ev:
		default:
			s.dropped = true
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Dropped reports whether the subscription was cut off for falling behind.
func (s *Subscription) Dropped() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.dropped
}

// Close unsubscribes. It is safe to call more than once.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// Shutdown closes every subscription; later subscriptions start closed.
func (b *Bus) Shutdown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}
