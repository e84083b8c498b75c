package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The checks below are the ones the real APIs make on a conversation and
// that a client's message mapping can get wrong. A request that fails one is
// answered with the provider's real 400 error body, so a bug in ocgo's
// request mapping fails the test as it would fail against the real service.
//
// Anthropic (Messages API): roles are "user" or "assistant" (the system
// prompt has its own field) and the first message is the user's; every
// tool_use block is answered by a tool_result with its id in the very next
// message, and a tool_result answers a tool_use of the message before it;
// text blocks are not empty or whitespace; no message is empty, except a
// final assistant message. With extended thinking, thinking.go adds the
// signature and tool-loop checks (they need the signatures the server
// issued).
//
// OpenAI (Chat Completions): a "tool" message answers a tool call of the
// assistant message before it (with only other tool messages between); an
// assistant message with tool_calls is followed by one tool message per
// call id.

func (anthropicProto) validate(req map[string]any) ([]byte, string) {
	msg := anthropicCheck(req)
	if msg == "" {
		return nil, ""
	}
	return anthropicErrorBody(msg), msg
}

// anthropicErrorBody is the Messages API's 400 body for msg.
func anthropicErrorBody(msg string) []byte {
	body, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]any{"type": "invalid_request_error", "message": msg},
	})
	return body
}

func anthropicCheck(req map[string]any) string {
	if sys, ok := req["system"].([]any); ok {
		for i, b := range sys {
			if m, _ := b.(map[string]any); m["type"] == "text" {
				if s := emptyText(m["text"]); s != "" {
					return fmt.Sprintf("system.%d.text: %s", i, s)
				}
			}
		}
	}
	msgs, _ := req["messages"].([]any)
	var pendingUse []string // tool_use ids of the previous assistant message
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		role, _ := m["role"].(string)
		if role != "user" && role != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if i == 0 && role != "user" {
			return `messages: first message must use the "user" role`
		}
		var blocks []map[string]any
		switch c := m["content"].(type) {
		case string:
			if c == "" && !(role == "assistant" && i == len(msgs)-1) {
				return fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
			}
		case []any:
			if len(c) == 0 && !(role == "assistant" && i == len(msgs)-1) {
				return fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
			}
			for _, b := range c {
				bm, _ := b.(map[string]any)
				blocks = append(blocks, bm)
			}
		}
		var uses, results []string
		for j, b := range blocks {
			switch b["type"] {
			case "text":
				if s := emptyText(b["text"]); s != "" {
					return fmt.Sprintf("messages.%d.content.%d.text: %s", i, j, s)
				}
			case "tool_use":
				id, _ := b["id"].(string)
				uses = append(uses, id)
			case "tool_result":
				id, _ := b["tool_use_id"].(string)
				results = append(results, id)
			}
		}
		if len(results) > 0 {
			var unexpected []string
			for _, id := range results {
				if !slices.Contains(pendingUse, id) {
					unexpected = append(unexpected, id)
				}
			}
			if len(unexpected) > 0 {
				return fmt.Sprintf("messages.%d.content.0: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, strings.Join(unexpected, ", "))
			}
		}
		if len(pendingUse) > 0 {
			var missing []string
			for _, id := range pendingUse {
				if !slices.Contains(results, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i-1, strings.Join(missing, ", "))
			}
		}
		pendingUse = nil
		if role == "assistant" {
			pendingUse = uses
		}
	}
	if len(pendingUse) > 0 && len(msgs) > 0 {
		// A final assistant message with tool_use and nothing after it.
		return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", len(msgs)-1, strings.Join(pendingUse, ", "))
	}
	return ""
}

// emptyText returns Anthropic's complaint about a text block's text, or "".
func emptyText(v any) string {
	s, _ := v.(string)
	if s == "" {
		return "text content blocks must be non-empty"
	}
	if strings.TrimSpace(s) == "" {
		return "text content blocks must contain non-whitespace text"
	}
	return ""
}

func (p openaiProto) validate(req map[string]any) ([]byte, string) {
	if p.mistral {
		if body, msg := mistralExtra(req); body != nil {
			return body, msg
		}
	}
	if p.deepseek {
		if msg := deepseekReasoningCheck(req); msg != "" {
			body, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg,
				"type": "invalid_request_error", "param": nil, "code": "invalid_request_error"}})
			return body, msg
		}
	}
	msg, param := openaiCheck(req)
	if msg == "" {
		return nil, ""
	}
	body, _ := json.Marshal(map[string]any{
		"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": param, "code": nil},
	})
	return body, msg
}

func openaiCheck(req map[string]any) (string, string) {
	msgs, _ := req["messages"].([]any)
	var open []string // call ids of the last assistant message not yet answered
	var calls []string
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		role, _ := m["role"].(string)
		if role == "tool" {
			id, _ := m["tool_call_id"].(string)
			if calls == nil {
				return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", fmt.Sprintf("messages.[%d].role", i)
			}
			if !slices.Contains(calls, id) {
				return fmt.Sprintf("Invalid parameter: 'tool_call_id' of '%s' not found in 'tool_calls' of previous message.", id), fmt.Sprintf("messages.[%d].tool_call_id", i)
			}
			open = slices.DeleteFunc(open, func(v string) bool { return v == id })
			continue
		}
		if len(open) > 0 {
			return "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + strings.Join(open, ", "), fmt.Sprintf("messages.[%d].role", i)
		}
		calls, open = nil, nil
		if role == "assistant" {
			tcs, _ := m["tool_calls"].([]any)
			for _, tc := range tcs {
				t, _ := tc.(map[string]any)
				id, _ := t["id"].(string)
				calls = append(calls, id)
				open = append(open, id)
			}
		}
	}
	if len(open) > 0 {
		return "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + strings.Join(open, ", "), fmt.Sprintf("messages.[%d].role", len(msgs))
	}
	return "", ""
}

// mistralFields are the request fields Mistral's chat completions accept
// (its API refuses any other with a 422).
var mistralFields = []string{"model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop",
	"random_seed", "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n",
	"prediction", "parallel_tool_calls", "prompt_mode", "safe_prompt"}

// mistralMessageFields are the fields of a message Mistral accepts.
var mistralMessageFields = []string{"role", "content", "tool_calls", "tool_call_id", "name", "prefix"}

// mistralExtra is Mistral's answer to a request with a field it does not
// know (in the body or in a message), or nil.
func mistralExtra(req map[string]any) ([]byte, string) {
	var extra []string
	for k := range req {
		if !slices.Contains(mistralFields, k) {
			extra = append(extra, k)
		}
	}
	msgs, _ := req["messages"].([]any)
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		for k := range m {
			if !slices.Contains(mistralMessageFields, k) {
				extra = append(extra, fmt.Sprintf("messages.%d.%s", i, k))
			}
		}
	}
	if len(extra) == 0 {
		return nil, ""
	}
	slices.Sort(extra)
	var detail []any
	for _, k := range extra {
		loc := []any{"body"}
		for _, p := range strings.Split(k, ".") {
			loc = append(loc, p)
		}
		detail = append(detail, map[string]any{"type": "extra_forbidden", "loc": loc,
			"msg": "Extra inputs are not permitted", "input": req[k]})
	}
	body, _ := json.Marshal(map[string]any{"object": "error", "message": map[string]any{"detail": detail},
		"type": "invalid_request_error", "param": nil, "code": nil})
	return body, "Extra inputs are not permitted: " + strings.Join(extra, ", ")
}

// refusalStatus is implemented by a protocol whose API refuses an invalid
// request with another status than 400.
type refusalStatus interface{ refusalStatus() int }

func (p openaiProto) refusalStatus() int {
	if p.mistral {
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}

// deepseekReasoningCheck is DeepSeek's answer to a history in which an
// assistant message with tool calls lacks its reasoning_content, or "".
func deepseekReasoningCheck(req map[string]any) string {
	msgs, _ := req["messages"].([]any)
	for _, raw := range msgs {
		m, _ := raw.(map[string]any)
		if calls, _ := m["tool_calls"].([]any); m["role"] == "assistant" && len(calls) > 0 {
			if _, ok := m["reasoning_content"].(string); !ok {
				return "The reasoning_content in the thinking mode must be passed back to the API."
			}
		}
	}
	return ""
}
