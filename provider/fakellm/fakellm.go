// Package fakellm provides scripted fake LLM servers for tests. Each server
// listens on an httptest loopback address and speaks a real provider wire
// protocol (Anthropic Messages streaming SSE, OpenAI Chat Completions
// streaming SSE, OpenAI Responses streaming SSE, Azure OpenAI's Responses
// API) so the code under test runs its real HTTP client, SSE
// decoder and error mapping; only the far end is fake.
//
// A server answers requests from a FIFO queue of Turns, one Turn per HTTP
// request. Before a Turn is taken, the request is checked the way the real
// API checks it (see validate.go): a request the real API would refuse gets
// the real 400 error body, keeps the queue as it was, and is recorded with
// its Rejected reason. A Turn either streams a response (reasoning, text, tool calls,
// usage), or fails in a scripted way (an HTTP error status with the
// provider's real error body, a malformed SSE frame, a connection closed
// mid-stream, or a stream that hangs until the client cancels). Every request
// body is recorded and can be inspected with Requests, so tests can assert
// what the client sent (system prompt, tool results, model, max tokens...).
//
// Typical use:
//
//	s := fakellm.NewAnthropic(t,
//		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "bash", Args: `{"command":"ls"}`}}},
//		fakellm.Turn{Text: []string{"Done", "."}, Usage: fakellm.Usage{Input: 10, Output: 2}},
//	)
//	// point the client at s.URL (a base URL ending in /v1), run it, then:
//	reqs := s.Requests()
//
// The server is closed by t.Cleanup. When the queue is empty a request gets
// a 500 error and the test is marked failed.
package fakellm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// ToolCall is one tool call the fake model makes. Args is the JSON text of
// the arguments; it is streamed in several pieces like real providers do.
type ToolCall struct {
	ID   string
	Name string
	Args string
}

// Usage is the token usage reported at the end of a streamed turn.
type Usage struct {
	Input      int // prompt tokens (excluding cache reads/writes for Anthropic)
	Output     int // completion tokens
	CacheRead  int // Anthropic cache_read_input_tokens / OpenAI cached_tokens
	CacheWrite int // Anthropic cache_creation_input_tokens (ignored by OpenAI)
	Reasoning  int // OpenAI completion_tokens_details.reasoning_tokens
}

// Block is one content block of a Turn's Content: exactly one of Thinking,
// Text/Start or Tool is set.
type Block struct {
	Thinking []string // a thinking block's deltas (OpenAI: reasoning_content)
	// Start is text carried by the block's content_block_start itself
	// (Anthropic may put text there); OpenAI sends it as the first delta.
	Start string
	Text  []string // a text block's deltas
	Tool  *ToolCall
}

// Turn scripts the answer to one HTTP request.
//
// Streamed content is emitted in this order: Reasoning chunks (one thinking
// block / reasoning_content deltas), Text chunks (one text block / content
// deltas), then ToolCalls (several = parallel tool calls), then the finish
// event with Usage. Content, when set, replaces those three with blocks in
// any order: several text blocks, text after a tool_use, and so on.
//
// OpenAI sends usage only when the request asks for it with
// stream_options.include_usage, as the real API does.
type Turn struct {
	Reasoning []string
	// Signature is the Anthropic thinking signature (signature_delta);
	// defaults to a fixed fake value when Reasoning is set.
	Signature string
	Text      []string
	ToolCalls []ToolCall
	Content   []Block
	Usage     Usage
	// StopReason overrides the finish reason (Anthropic stop_reason such as
	// "max_tokens", OpenAI finish_reason such as "length"). Default: tool
	// use when ToolCalls is set, else a normal stop.
	StopReason string

	// Status, when non-zero, makes the server answer with this HTTP status
	// and the provider's JSON error body instead of a stream.
	Status int
	// ErrorMessage overrides the error message in the error body.
	ErrorMessage string
	// RetryAfter sets the Retry-After header on an error answer (seconds).
	RetryAfter string

	// Malformed streams the content, then sends an SSE frame whose JSON is
	// broken.
	Malformed bool
	// CloseMidStream streams the content, then drops the connection without
	// the terminal events.
	CloseMidStream bool
	// Hang streams the content, then blocks until the client cancels the
	// request (or the server is closed).
	Hang bool
	// StreamError, when set, ends the stream after the content with the
	// provider's mid-stream error: Anthropic's "event: error" frame
	// ({"type":"error","error":{"type":"overloaded_error",...}}), OpenAI's
	// data frame holding an error object. The value is the message.
	StreamError string

	// ReasoningField is the Chat Completions delta field the reasoning
	// goes in: "reasoning_content" by default (DeepSeek, vLLM, llama.cpp),
	// "reasoning" as OpenRouter and Groq send it.
	ReasoningField string
	// SameToolIndex streams every Chat Completions tool call at index 0,
	// told apart by its id only, as some servers and gateways stream
	// parallel calls.
	SameToolIndex bool
}

// blocks returns the turn's content as blocks.
func (t Turn) blocks() []Block {
	if t.Content != nil {
		return t.Content
	}
	var out []Block
	if len(t.Reasoning) > 0 {
		out = append(out, Block{Thinking: t.Reasoning})
	}
	if len(t.Text) > 0 {
		out = append(out, Block{Text: t.Text})
	}
	for i := range t.ToolCalls {
		out = append(out, Block{Tool: &t.ToolCalls[i]})
	}
	return out
}

// hasTools reports whether the turn calls a tool.
func (t Turn) hasTools() bool {
	for _, b := range t.blocks() {
		if b.Tool != nil {
			return true
		}
	}
	return false
}

// Request is one request the fake server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// Body is the decoded JSON request body (nil if it was not JSON).
	Body map[string]any
	Raw  []byte
	// Rejected is the error message the fake answered with (status 400,
	// or Azure's 401/404) because the real API would have refused the
	// request; "" if served.
	Rejected string
}

// T is what a Server needs from its owner. *testing.T and *testing.B
// satisfy it; a standalone program (tests/fakellm) passes its own.
type T interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// Server is a scripted fake provider. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to configure the client with. It ends in "/v1"
	// (the convention of opencode's options.baseURL for both Anthropic and
	// OpenAI-compatible providers). The server accepts any path ending in
	// "/messages" (Anthropic) or "/chat/completions" (OpenAI).
	URL string
	// RootURL is the server root without "/v1".
	RootURL string

	t      T
	srv    *httptest.Server
	proto  protocol
	done   chan struct{}
	mu     sync.Mutex
	turns  []Turn
	reqs   []Request
	served int
	// respond answers when the queue is empty (SetResponder).
	respond func(Request) Turn
	sigs    []string // thinking signatures handed out besides Signature
}

// SetResponder makes the server answer from f whenever no scripted turn is
// queued, for clients whose requests cannot be scripted in order (a
// separate process, background title requests).
func (s *Server) SetResponder(f func(Request) Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// issued reports whether the server handed out a thinking signature.
// Callers hold s.mu.
func (s *Server) issued(sig string) bool {
	return sig == Signature || slices.Contains(s.sigs, sig)
}

// authorizer is a protocol that checks a request's credentials and path
// itself (Azure's api-key header); a non-zero status is the answer.
type authorizer interface {
	authorize(r *http.Request) (status int, body []byte, msg string)
}

type protocol interface {
	path() string
	writeError(w http.ResponseWriter, r *http.Request, turn Turn)
	writeStream(w *sseWriter, req map[string]any, turn Turn, done <-chan struct{}, r *http.Request)
	// validate returns the error body and message the real API would
	// answer this request with (400), or nil when it would accept it.
	validate(req map[string]any) (body []byte, msg string)
}

func newServer(t T, p protocol, turns []Turn) *Server {
	t.Helper()
	s := &Server{t: t, proto: p, done: make(chan struct{}), turns: append([]Turn(nil), turns...)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.RootURL = s.srv.URL
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, releasing any hanging stream. It is called
// automatically by t.Cleanup and may be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Push appends turns to the queue.
func (s *Server) Push(turns ...Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.turns = append(s.turns, turns...)
}

// Remaining reports how many scripted turns have not been served yet.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.turns)
}

// Requests returns a copy of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ForgetRequests drops the requests recorded so far, so that a long run
// (a load test measuring the server's memory) does not grow the record.
func (s *Server) ForgetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: raw}
	var body map[string]any
	if json.Unmarshal(raw, &body) == nil {
		req.Body = body
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, s.proto.path()) {
		http.Error(w, `{"error":{"message":"not found","type":"not_found_error"}}`, http.StatusNotFound)
		return
	}
	if a, ok := s.proto.(authorizer); ok {
		if status, errBody, msg := a.authorize(r); status != 0 {
			req.Rejected = msg
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(errBody)
			return
		}
	}
	errBody, msg := s.proto.validate(body)
	_, isAnthropic := s.proto.(anthropicProto)
	_, isVertex := s.proto.(vertexAnthropicProto)
	if (isAnthropic || isVertex) && errBody == nil {
		s.mu.Lock()
		msg = anthropicThinkingCheck(body, s.issued)
		s.mu.Unlock()
		if msg != "" {
			errBody = anthropicErrorBody(msg)
		}
	}
	if errBody != nil {
		req.Rejected = msg
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		s.t.Logf("fakellm: request %s rejected as the real API would: %s", r.URL.Path, msg)
		status := http.StatusBadRequest
		if rs, ok := s.proto.(refusalStatus); ok {
			status = rs.refusalStatus()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(errBody)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	if len(s.turns) == 0 && s.respond != nil {
		s.turns = append(s.turns, s.respond(req))
	}
	if len(s.turns) == 0 {
		s.mu.Unlock()
		s.t.Errorf("fakellm: request %d to %s but no scripted turn left", len(s.reqs), r.URL.Path)
		s.proto.writeError(w, r, Turn{Status: http.StatusInternalServerError, ErrorMessage: "fakellm: no scripted turn left"})
		return
	}
	turn := s.turns[0]
	s.turns = s.turns[1:]
	if turn.Signature != "" {
		s.sigs = append(s.sigs, turn.Signature)
	}
	s.served++
	s.mu.Unlock()

	if turn.Status != 0 {
		if turn.RetryAfter != "" {
			w.Header().Set("Retry-After", turn.RetryAfter)
		}
		s.proto.writeError(w, r, turn)
		return
	}
	sw := newSSEWriter(w)
	s.proto.writeStream(sw, body, turn, s.done, r)
}

// sseWriter writes server-sent events and flushes after each one.
type sseWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	sw := &sseWriter{w: w, f: f}
	sw.flush()
	return sw
}

func (s *sseWriter) flush() {
	if s.f != nil {
		s.f.Flush()
	}
}

// event writes one SSE frame; name may be empty (OpenAI style).
func (s *sseWriter) event(name string, data any) {
	var buf bytes.Buffer
	if name != "" {
		buf.WriteString("event: " + name + "\n")
	}
	buf.WriteString("data: ")
	switch d := data.(type) {
	case string:
		buf.WriteString(d)
	default:
		b, err := json.Marshal(d)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
	}
	buf.WriteString("\n\n")
	_, _ = s.w.Write(buf.Bytes())
	s.flush()
}

// raw writes bytes verbatim (used for malformed frames).
func (s *sseWriter) raw(b string) {
	_, _ = io.WriteString(s.w, b)
	s.flush()
}

// abort drops the connection without finishing the chunked response body,
// so the client sees an unexpected EOF.
func abort() {
	panic(http.ErrAbortHandler)
}

// faults plays a turn's scripted failures (Malformed, CloseMidStream,
// Hang) the same way for every protocol: in the first text block with
// text (Malformed after its first chunk, the others after the block), or
// after all blocks when there is none. Each protocol writes its own
// broken frames. A false answer means the stream is over.
type faults struct {
	turn   Turn
	w      *sseWriter
	r      *http.Request
	done   <-chan struct{}
	struck bool
}

// afterChunk follows text chunk i of a block; broken is the protocol's
// cut-off chunk frame.
func (f *faults) afterChunk(i int, broken string) bool {
	if f.turn.Malformed && i == 0 && !f.struck {
		f.w.raw(broken)
		return false
	}
	return true
}

// afterBlock follows a text block of n chunks.
func (f *faults) afterBlock(n int) bool {
	if f.struck || n == 0 {
		return true
	}
	f.struck = true
	return f.strike()
}

// atEnd follows the last block; broken is the protocol's cut-off final
// frame.
func (f *faults) atEnd(broken string) bool {
	if f.turn.Malformed {
		f.w.raw(broken)
		return false
	}
	return f.strike()
}

func (f *faults) strike() bool {
	if f.turn.CloseMidStream {
		abort()
	}
	if f.turn.Hang {
		hang(f.r, f.done)
		return false
	}
	return true
}

// hang blocks until the client goes away or the server closes.
func hang(r *http.Request, done <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-done:
	}
}

// splitArgs cuts a JSON argument string into up to three pieces so tool
// input arrives incrementally, as with real providers.
func splitArgs(s string) []string {
	if len(s) < 3 {
		return []string{s}
	}
	a, b := len(s)/3, 2*len(s)/3
	return []string{s[:a], s[a:b], s[b:]}
}

// maskKey renders an API key the way providers echo it in 401 messages
// (a prefix and the last four characters).
func maskKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:3] + strings.Repeat("*", 8) + k[len(k)-4:]
}
