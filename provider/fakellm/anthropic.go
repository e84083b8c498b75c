package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// NewAnthropic starts a fake Anthropic Messages API server (POST
// …/v1/messages, streaming SSE) answering with the given turns.
func NewAnthropic(t T, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, anthropicProto{}, turns)
}

type anthropicProto struct{}

func (anthropicProto) path() string { return "/messages" }

func (anthropicProto) writeError(w http.ResponseWriter, r *http.Request, turn Turn) {
	typ, msg := "api_error", "Internal server error"
	switch turn.Status {
	case http.StatusBadRequest:
		typ, msg = "invalid_request_error", "invalid request"
	case http.StatusUnauthorized:
		typ, msg = "authentication_error", "invalid x-api-key"
	case http.StatusForbidden:
		typ, msg = "permission_error", "Your API key does not have permission to use the specified resource."
	case http.StatusNotFound:
		typ, msg = "not_found_error", "model not found"
	case http.StatusRequestEntityTooLarge:
		typ, msg = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case http.StatusTooManyRequests:
		typ, msg = "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
	case 529:
		typ, msg = "overloaded_error", "Overloaded"
	}
	if turn.ErrorMessage != "" {
		msg = turn.ErrorMessage
	}
	body, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]any{"type": typ, "message": msg},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake0001")
	w.WriteHeader(turn.Status)
	_, _ = w.Write(body)
}

func (anthropicProto) writeStream(w *sseWriter, req map[string]any, turn Turn, done <-chan struct{}, r *http.Request) {
	model, _ := req["model"].(string)
	if model == "" {
		model = "claude-fake"
	}
	w.event("message_start", map[string]any{
		"type": "message_start",
		"message": map[string]any{
			"id": "msg_fake01", "type": "message", "role": "assistant", "model": model,
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{
				"input_tokens":                turn.Usage.Input,
				"output_tokens":               1,
				"cache_creation_input_tokens": turn.Usage.CacheWrite,
				"cache_read_input_tokens":     turn.Usage.CacheRead,
			},
		},
	})
	w.event("ping", map[string]any{"type": "ping"})

	idx := 0
	delta := func(d map[string]any) {
		w.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": d})
	}
	stop := func() {
		w.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	fl := &faults{turn: turn, w: w, r: r, done: done}
	for _, b := range turn.blocks() {
		switch {
		case b.Thinking != nil:
			w.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
				"content_block": map[string]any{"type": "thinking", "thinking": "", "signature": ""}})
			for _, c := range b.Thinking {
				delta(map[string]any{"type": "thinking_delta", "thinking": c})
			}
			sig := turn.Signature
			if sig == "" {
				sig = Signature
			}
			delta(map[string]any{"type": "signature_delta", "signature": sig})
			stop()
		case b.Tool != nil:
			tc := b.Tool
			w.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
				"content_block": map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": map[string]any{}}})
			delta(map[string]any{"type": "input_json_delta", "partial_json": ""})
			for _, piece := range splitArgs(tc.Args) {
				delta(map[string]any{"type": "input_json_delta", "partial_json": piece})
			}
			stop()
		default:
			w.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
				"content_block": map[string]any{"type": "text", "text": b.Start}})
			for i, c := range b.Text {
				delta(map[string]any{"type": "text_delta", "text": c})
				if !fl.afterChunk(i, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"+fmt.Sprint(idx)+",\"delta\":{\"type\":\"text_del\n\n") {
					return
				}
			}
			if !fl.afterBlock(len(b.Text)) {
				return
			}
			stop()
		}
	}
	if !fl.atEnd("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\n\n") {
		return
	}
	if turn.StreamError != "" {
		w.event("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": turn.StreamError}})
		return
	}
	reason := turn.StopReason
	if reason == "" {
		reason = "end_turn"
		if turn.hasTools() {
			reason = "tool_use"
		}
	}
	w.event("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": reason, "stop_sequence": nil},
		"usage": map[string]any{
			"input_tokens":                turn.Usage.Input,
			"output_tokens":               turn.Usage.Output,
			"cache_creation_input_tokens": turn.Usage.CacheWrite,
			"cache_read_input_tokens":     turn.Usage.CacheRead,
		},
	})
	w.event("message_stop", map[string]any{"type": "message_stop"})
}
