package fakellm

import (
	"encoding/json"
	"net/http"
	"strings"
)

// NewOpenAI starts a fake OpenAI Chat Completions server (POST
// …/v1/chat/completions, streaming SSE ending in "data: [DONE]"). It also
// serves as an OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM,
// OpenRouter…): Reasoning chunks are sent as delta.reasoning_content, the
// field those servers use.
func NewOpenAI(t T, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, openaiProto{}, turns)
}

// openaiProto speaks Chat Completions; mistral and deepseek make it
// those services' dialects.
type openaiProto struct{ mistral, deepseek bool }

// NewDeepSeek starts a fake of DeepSeek's Chat Completions API in thinking
// mode (its default): reasoning streams as reasoning_content, and an
// assistant message that called tools must carry its reasoning_content in
// every later request, else the request is refused (400) as DeepSeek
// refuses it.
func NewDeepSeek(t T, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, openaiProto{deepseek: true}, turns)
}

// NewMistral starts a fake of Mistral's Chat Completions API
// (https://api.mistral.ai/v1/chat/completions). It differs from OpenAI's
// where a client can trip: it refuses fields it does not know, such as
// stream_options, with a 422 (a pydantic "extra_forbidden" detail), and it
// reports usage in the stream's last chunk without being asked.
func NewMistral(t T, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, openaiProto{mistral: true}, turns)
}

func (openaiProto) path() string { return "/chat/completions" }

func (openaiProto) writeError(w http.ResponseWriter, r *http.Request, turn Turn) {
	var typ string
	var code any
	msg := "The server had an error while processing your request. Sorry about that!"
	typ = "server_error"
	switch turn.Status {
	case http.StatusUnauthorized:
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		typ, code = "invalid_request_error", "invalid_api_key"
		msg = "Incorrect API key provided: " + maskKey(key) + ". You can find your API key at https://platform.openai.com/account/api-keys."
	case http.StatusForbidden:
		typ, code = "invalid_request_error", "unsupported_country_region_territory"
		msg = "Country, region, or territory not supported"
	case http.StatusNotFound:
		typ, code = "invalid_request_error", "model_not_found"
		msg = "The model does not exist or you do not have access to it."
	case http.StatusBadRequest:
		typ, code = "invalid_request_error", "context_length_exceeded"
		msg = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages."
	case http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
		msg = "Rate limit reached for requests. Please try again in 1s."
	}
	if turn.ErrorMessage != "" {
		msg = turn.ErrorMessage
	}
	body, _ := json.Marshal(map[string]any{
		"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req_fake0001")
	w.WriteHeader(turn.Status)
	_, _ = w.Write(body)
}

func (p openaiProto) writeStream(w *sseWriter, req map[string]any, turn Turn, done <-chan struct{}, r *http.Request) {
	model, _ := req["model"].(string)
	if model == "" {
		model = "gpt-fake"
	}
	chunk := func(delta map[string]any, finish any) {
		w.event("", map[string]any{
			"id": "chatcmpl-fake01", "object": "chat.completion.chunk", "created": 1735689600,
			"model": model, "system_fingerprint": "fp_fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		})
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil)
	fl, tools := &faults{turn: turn, w: w, r: r, done: done}, 0
	for _, b := range turn.blocks() {
		switch {
		case b.Thinking != nil:
			field := turn.ReasoningField
			if field == "" {
				field = "reasoning_content"
			}
			for _, c := range b.Thinking {
				chunk(map[string]any{field: c}, nil)
			}
		case b.Tool != nil:
			tc := b.Tool
			index := tools
			if turn.SameToolIndex {
				index = 0
			}
			chunk(map[string]any{"tool_calls": []any{map[string]any{
				"index": index, "id": tc.ID, "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": ""},
			}}}, nil)
			for _, piece := range splitArgs(tc.Args) {
				chunk(map[string]any{"tool_calls": []any{map[string]any{
					"index": index, "function": map[string]any{"arguments": piece},
				}}}, nil)
			}
			tools++
		default:
			text := b.Text
			if b.Start != "" {
				text = append([]string{b.Start}, text...)
			}
			for i, c := range text {
				chunk(map[string]any{"content": c}, nil)
				if !fl.afterChunk(i, "data: {\"id\":\"chatcmpl-fake01\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\n\n") {
					return
				}
			}
			if !fl.afterBlock(len(text)) {
				return
			}
		}
	}
	if !fl.atEnd("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"st\n\n") {
		return
	}
	if turn.StreamError != "" {
		// What OpenAI sends when a stream fails after it began: a data
		// frame with an error object instead of a chunk, then the end.
		w.event("", map[string]any{"error": map[string]any{
			"message": turn.StreamError, "type": "server_error", "param": nil, "code": nil,
		}})
		return
	}
	reason := turn.StopReason
	if reason == "" {
		reason = "stop"
		if turn.hasTools() {
			reason = "tool_calls"
		}
	}
	usage := map[string]any{
		"prompt_tokens":             turn.Usage.Input + turn.Usage.CacheRead,
		"completion_tokens":         turn.Usage.Output,
		"total_tokens":              turn.Usage.Input + turn.Usage.CacheRead + turn.Usage.Output,
		"prompt_tokens_details":     map[string]any{"cached_tokens": turn.Usage.CacheRead},
		"completion_tokens_details": map[string]any{"reasoning_tokens": turn.Usage.Reasoning},
	}
	if p.mistral {
		delete(usage, "completion_tokens_details")
		w.event("", map[string]any{
			"id": "cmpl-fake01", "object": "chat.completion.chunk", "created": 1735689600, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": ""}, "finish_reason": reason}},
			"usage":   usage,
		})
	} else {
		chunk(map[string]any{}, reason)
	}
	if opts, _ := req["stream_options"].(map[string]any); opts["include_usage"] == true {
		w.event("", map[string]any{
			"id": "chatcmpl-fake01", "object": "chat.completion.chunk", "created": 1735689600,
			"model": model, "system_fingerprint": "fp_fake", "choices": []any{},
			"usage": usage,
		})
	}
	w.raw("data: [DONE]\n\n")
}
