package session

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"ocgo/llm"
	"ocgo/storage"
)

// coalescer streams a text or reasoning part. The original sends the
// whole accumulated part on every provider delta, O(n²) bytes for a long
// answer; ocgo writes and publishes at most once per interval, which grows
// with the text's length. A delta arriving after a quiet interval is
// written at once (no added latency for slow streams); deltas within the
// interval are written together when it ends, by a timer, so text never
// sits unseen while the provider pauses; end always writes the final
// version, so no client misses it.
type coalescer struct {
	st *runState

	mu      sync.Mutex // guards everything below; held while writing
	part    storage.Part
	text    strings.Builder
	last    time.Time
	dirty   bool
	started bool
	closed  bool
	timer   *time.Timer
	err     error // a failed timer write, reported by the next add or end
}

// blockKey names a text or reasoning block of the stream. An adapter may
// number the two kinds independently (both "0", the reasoning ended only
// after the text began, as fantasy's OpenAI-compatible provider did), so
// the kind is part of the key.
func blockKey(ev llm.StreamPart) string {
	switch ev.Type {
	case llm.StreamPartTypeReasoningStart, llm.StreamPartTypeReasoningDelta, llm.StreamPartTypeReasoningEnd:
		return "reasoning:" + ev.ID
	}
	return "text:" + ev.ID
}

func newCoalescer(st *runState, p storage.Part) *coalescer {
	return &coalescer{st: st, part: p}
}

// interval is how long to wait between writes of a text of n bytes.
func interval(n int) time.Duration {
	switch {
	case n < 4<<10:
		return 50 * time.Millisecond
	case n < 32<<10:
		return 150 * time.Millisecond
	case n < 128<<10:
		return 400 * time.Millisecond
	}
	return time.Second
}

func (c *coalescer) add(delta string, meta llm.ProviderMetadata) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if delta == "" && meta == nil {
		return nil // e.g. OpenAI's first chunk {"role":"assistant","content":""}
	}
	c.text.WriteString(delta)
	c.dirty = true
	if meta != nil {
		c.setMeta(meta)
	}
	wait := interval(c.text.Len()) - time.Since(c.last)
	if !c.started || wait <= 0 {
		return c.flush()
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(wait, c.tick)
	}
	return nil
}

// tick writes what accumulated during the interval.
func (c *coalescer) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = nil
	if c.closed || !c.dirty {
		return
	}
	if err := c.flush(); err != nil && c.err == nil {
		c.err = err
	}
}

func (c *coalescer) setMeta(meta llm.ProviderMetadata) {
	if c.part.Type != storage.PartReasoning || len(meta) == 0 {
		return
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil && len(m) > 0 {
		c.part.Metadata = m
	}
}

// flush writes the part. Callers hold c.mu.
func (c *coalescer) flush() error {
	c.part.Text = c.text.String()
	c.last, c.dirty, c.started = time.Now(), false, true
	return c.st.put(c.part)
}

// end writes the final version and stops the timer.
func (c *coalescer) end(meta llm.ProviderMetadata) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.stopLocked()
	if meta != nil {
		c.setMeta(meta)
	}
	end := c.st.s.ms()
	t := *c.part.Time
	t.End = &end
	c.part.Time = &t
	if c.part.Type == storage.PartText {
		c.part.Text = strings.TrimRight(c.text.String(), " \t\n")
		c.text.Reset()
		c.text.WriteString(c.part.Text)
		if c.part.Text == "" && !c.started {
			// A text block that never held text is no part (as in
			// opencode); stored, it would be replayed as an empty text
			// block, which Anthropic refuses.
			return c.err
		}
	}
	err := c.flush()
	return errors.Join(c.err, err)
}

// stop cancels a pending timed write without writing (the stream failed
// before end could run).
func (c *coalescer) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

func (c *coalescer) stopLocked() {
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}
