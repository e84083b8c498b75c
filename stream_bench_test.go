package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ocgo/storage"
)

// pacedAnthropic is a loopback Anthropic Messages server that answers every
// request with one streamed text block made of chunks, sent gap apart (or
// as fast as possible when gap is 0), recording when each chunk was
// written. It speaks the real SSE protocol, so ocgo runs its real client.
type pacedAnthropic struct {
	URL    string
	chunks []string
	gap    time.Duration
	sent   []atomic.Int64 // unix ns each chunk was written, per request
}

func newPacedAnthropic(tb testing.TB, chunks []string, gap time.Duration) *pacedAnthropic {
	f := &pacedAnthropic{chunks: chunks, gap: gap, sent: make([]atomic.Int64, len(chunks))}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	f.URL = srv.URL + "/v1"
	return f
}

func (f *pacedAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/messages") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	bw := bufio.NewWriterSize(w, 4096)
	event := func(name string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", name, b)
		_ = bw.Flush() // the client left: the stream ends
		fl.Flush()
	}
	event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_paced", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
		"content": []any{}, "stop_reason": nil, "usage": map[string]any{"input_tokens": 10, "output_tokens": 1}}})
	event("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
		"content_block": map[string]any{"type": "text", "text": ""}})
	start := time.Now()
	for i, c := range f.chunks {
		if f.gap > 0 {
			if d := time.Until(start.Add(time.Duration(i) * f.gap)); d > 0 {
				time.Sleep(d)
			}
		}
		f.sent[i].Store(time.Now().UnixNano())
		event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": c}})
		if r.Context().Err() != nil {
			return
		}
	}
	event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn"},
		"usage": map[string]any{"output_tokens": len(f.chunks)}})
	event("message_stop", map[string]any{"type": "message_stop"})
}

// sseClient reads GET /event over loopback, timestamping each frame as it
// arrives, and keeps the text-part frames of one session.
type sseClient struct {
	mu        sync.Mutex
	bytes     int // every byte read
	textBytes int // bytes of message.part.updated frames for text parts
	frames    []textFrame
	ready     chan struct{}
	onFrame   func(recv time.Time, f textFrame)
}

type textFrame struct {
	partID, sessionID, text string
	size                    int
	raw                     []byte
}

func dialSSE(tb testing.TB, base string, onFrame func(time.Time, textFrame)) *sseClient {
	c := &sseClient{ready: make(chan struct{}), onFrame: onFrame}
	res, err := http.Get(base + "/event")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := res.Body.Close(); err != nil {
			tb.Error(err)
		}
	})
	go func() {
		rd := bufio.NewReaderSize(res.Body, 1<<20)
		first := true
		for {
			line, err := rd.ReadBytes('\n')
			if err != nil {
				return
			}
			recv := time.Now()
			c.mu.Lock()
			c.bytes += len(line)
			c.mu.Unlock()
			payload, ok := bytes.CutPrefix(line, []byte("data: "))
			if !ok {
				continue
			}
			if first {
				first = false
				close(c.ready)
				continue
			}
			if !bytes.Contains(payload, []byte(`"message.part.updated"`)) || !bytes.Contains(payload, []byte(`"type":"text"`)) {
				continue
			}
			var ev struct {
				Properties struct {
					Part storage.Part `json:"part"`
				} `json:"properties"`
			}
			if json.Unmarshal(payload, &ev) != nil || ev.Properties.Part.Type != "text" {
				continue
			}
			p := ev.Properties.Part
			f := textFrame{partID: p.ID, sessionID: p.SessionID, text: p.Text, size: len(line) + 1, raw: bytes.TrimSpace(payload)}
			c.mu.Lock()
			c.textBytes += f.size // the blank line that ends the frame counted here
			c.frames = append(c.frames, f)
			c.mu.Unlock()
			if c.onFrame != nil {
				c.onFrame(recv, f)
			}
		}
	}()
	select {
	case <-c.ready:
	case <-time.After(5 * time.Second):
		tb.Fatal("no server.connected")
	}
	return c
}

func (c *sseClient) lastFrame(partID string) (textFrame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.frames) - 1; i >= 0; i-- {
		if c.frames[i].partID == partID {
			return c.frames[i], true
		}
	}
	return textFrame{}, false
}

func (c *sseClient) partBytes(partID string) (n, frames int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if f.partID == partID {
			n += f.size
			frames++
		}
	}
	return n, frames
}

// streamApp serves an app whose anthropic provider is the paced fake.
func streamApp(tb testing.TB, fake *pacedAnthropic) *httptest.Server {
	tb.Helper()
	dir, data, home := tb.TempDir(), tb.TempDir(), tb.TempDir()
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}},"snapshot":false}`
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{"HOME": home, "ANTHROPIC_API_KEY": "k", "SHELL": "/bin/sh"}
	a, err := newApp(appConfig{Dir: dir, DataRoot: data, Env: func(k string) string { return env[k] }, NoTitles: true})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	tb.Cleanup(func() {
		a.Shutdown()
		srv.Close()
		if err := a.Close(); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// postPrompt sends a text prompt and returns the answer.
func postPrompt(tb testing.TB, base, sid string) storage.WithParts {
	body, _ := json.Marshal(map[string]any{"providerID": "anthropic", "modelID": sonnet,
		"parts": []any{map[string]any{"type": "text", "text": "stream please"}}})
	res, err := http.Post(base+"/session/"+sid+"/message", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var out storage.WithParts
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Info.Error != nil {
		tb.Fatalf("prompt: %v %+v", err, out.Info.Error)
	}
	return out
}

func createSession(tb testing.TB, base string) string {
	res, err := http.Post(base+"/session", "application/json", strings.NewReader("{}"))
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var s storage.Session
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		tb.Fatal(err)
	}
	return s.ID
}

func textPartID(w storage.WithParts) string {
	for _, p := range w.Parts {
		if p.Type == "text" {
			return p.ID
		}
	}
	return ""
}

// originalBytes is what opencode 0.5.29 sends for one streamed text part:
// one message.part.updated frame per provider delta, each carrying the
// whole text so far (reference §6.3, §14.4; its storage.write twin of every
// frame is not counted). frame is one of ocgo's frames for the part, used
// for the size of everything but the text.
func originalBytes(tb testing.TB, frame []byte, chunks []string) int64 {
	var ev map[string]any
	if err := json.Unmarshal(frame, &ev); err != nil {
		tb.Fatal(err)
	}
	part := ev["properties"].(map[string]any)["part"].(map[string]any)
	part["text"] = ""
	delete(part["time"].(map[string]any), "end")
	empty, _ := json.Marshal(ev)
	base := int64(len("data: ") + len(empty) + len("\n\n"))
	var total, text int64
	for _, c := range chunks {
		esc, _ := json.Marshal(c)
		text += int64(len(esc) - 2)
		total += base + text
	}
	return total
}

// wordChunks is n chunks of about 4 characters, like tokens of prose.
func wordChunks(n int) []string {
	words := []string{"the ", "code", " is ", "fast", " and", " ok.", "\nmor", "e th"}
	out := make([]string, n)
	for i := range out {
		out[i] = words[i%len(words)]
	}
	return out
}

// TestStreamedTextReachesEveryClientWhole streams a long answer (20,000
// chunks; 4,000 under -short) to three SSE clients and checks that each
// one's last frame for the text part holds the complete final text, and
// that coalescing sent at most a tenth of the original's bytes.
func TestStreamedTextReachesEveryClientWhole(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	chunks := wordChunks(n)
	fake := newPacedAnthropic(t, chunks, 0)
	srv := streamApp(t, fake)
	var clients []*sseClient
	for range 3 {
		clients = append(clients, dialSSE(t, srv.URL, nil))
	}
	sid := createSession(t, srv.URL)
	res := postPrompt(t, srv.URL, sid)
	want := strings.TrimRight(strings.Join(chunks, ""), " \t\n")
	partID := textPartID(res)
	if partID == "" || res.Parts[1].Text != want {
		t.Fatalf("answer text: %d bytes, want %d", len(res.Parts[1].Text), len(want))
	}
	for i, c := range clients {
		var last textFrame
		var ok bool
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if last, ok = c.lastFrame(partID); ok && len(last.text) == len(want) {
				break
			}
		}
		if !ok || last.text != want || last.sessionID != sid {
			t.Fatalf("client %d: last frame holds %d bytes of text, want %d", i, len(last.text), len(want))
		}
		ours, frames := c.partBytes(partID)
		orig := originalBytes(t, last.raw, chunks)
		if int64(ours)*10 > orig {
			t.Errorf("client %d: %d bytes in %d frames, original %d: more than a tenth", i, ours, frames, orig)
		}
	}
}

// BenchmarkChunkToFrame measures the time from the fake provider writing a
// text chunk to each of 10 SSE clients receiving the first frame holding
// it, over loopback (provider → ocgo → client). gap=60ms spaces chunks
// beyond the coalescing interval, so every chunk gets its own frame: the
// figure is the server's overhead (decode, durable write, publish, encode
// for 10 clients). gap=5ms is a fast model: chunks wait for the coalesced
// write, so the figure includes the coalescing delay clients see.
func BenchmarkChunkToFrame(b *testing.B) {
	if testing.Short() {
		b.Skip("heavy setup")
	}
	for _, c := range []struct {
		gap time.Duration
		n   int
	}{{60 * time.Millisecond, 20}, {5 * time.Millisecond, 200}} {
		b.Run(fmt.Sprintf("gap=%v", c.gap), func(b *testing.B) { benchChunkToFrame(b, c.gap, c.n) })
	}
}

func benchChunkToFrame(b *testing.B, gap time.Duration, n int) {
	const chunkLen, subscribers = 6, 10
	chunks := make([]string, n)
	for i := range chunks {
		chunks[i] = fmt.Sprintf(" t%04d", i%10000)
	}
	fake := newPacedAnthropic(b, chunks, gap)
	srv := streamApp(b, fake)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		frames   int
		complete sync.WaitGroup
	)
	type cursor struct {
		part string
		seen int
	}
	for range subscribers {
		var cur cursor
		dialSSE(b, srv.URL, func(recv time.Time, f textFrame) {
			if !strings.HasPrefix(f.text, " t") {
				return // the user's prompt
			}
			if f.partID != cur.part {
				cur = cursor{part: f.partID}
			}
			k := min(len(f.text)/chunkLen, n)
			mu.Lock()
			frames++
			for i := cur.seen; i < k; i++ {
				lat = append(lat, recv.Sub(time.Unix(0, fake.sent[i].Load())))
			}
			mu.Unlock()
			if cur.seen < n && k == n {
				complete.Done()
			}
			cur.seen = max(cur.seen, k)
		})
	}
	sid := createSession(b, srv.URL)
	// One untimed answer warms the connections and caches.
	complete.Add(subscribers)
	postPrompt(b, srv.URL, sid)
	complete.Wait()
	mu.Lock()
	lat, frames = nil, 0
	mu.Unlock()
	b.ResetTimer()
	for b.Loop() {
		complete.Add(subscribers)
		postPrompt(b, srv.URL, sid)
		complete.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(frames)/float64(subscribers*n*b.N), "frames/chunk")
}

// BenchmarkSSEBytes20k streams a 20,000-chunk answer (about 4 characters a
// chunk) and reports the SSE bytes one client received for the text part
// against what the original's full-text-per-delta frames would have been
// (goal: ratio ≤ 0.1). rate=max streams as fast as loopback allows;
// rate=2000/s paces the fake (10 s per answer), closer to a real model, so
// more coalesced writes happen.
func BenchmarkSSEBytes20k(b *testing.B) {
	if testing.Short() {
		b.Skip("heavy setup")
	}
	for _, gap := range []time.Duration{0, 500 * time.Microsecond} {
		name := "rate=max"
		if gap > 0 {
			name = fmt.Sprintf("rate=%d/s", time.Second/gap)
		}
		b.Run(name, func(b *testing.B) { benchSSEBytes(b, gap) })
	}
}

func benchSSEBytes(b *testing.B, gap time.Duration) {
	chunks := wordChunks(20000)
	want := strings.TrimRight(strings.Join(chunks, ""), " \t\n")
	fake := newPacedAnthropic(b, chunks, gap)
	srv := streamApp(b, fake)
	client := dialSSE(b, srv.URL, nil)
	sid := createSession(b, srv.URL)
	var ours, frames int
	var orig int64
	for b.Loop() {
		res := postPrompt(b, srv.URL, sid)
		partID := textPartID(res)
		var last textFrame
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(last.text) != len(want); time.Sleep(2 * time.Millisecond) {
			last, _ = client.lastFrame(partID)
		}
		if last.text != want {
			b.Fatalf("last frame: %d bytes of text, want %d", len(last.text), len(want))
		}
		ours, frames = client.partBytes(partID)
		orig = originalBytes(b, last.raw, chunks)
	}
	b.ReportMetric(float64(ours), "sse-bytes")
	b.ReportMetric(float64(orig), "original-bytes")
	b.ReportMetric(float64(ours)/float64(orig), "ratio")
	b.ReportMetric(float64(frames), "frames")
}
