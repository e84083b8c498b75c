package fakellm

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWireShapes(t *testing.T) {
	a := NewAnthropic(t, Turn{Reasoning: []string{"hm"}, Text: []string{"hi"}, ToolCalls: []ToolCall{{ID: "toolu_1", Name: "bash", Args: `{"command":"ls"}`}}}, Turn{Status: 401})
	code, body := post(t, a.URL+"/messages", `{"model":"claude-x","stream":true}`)
	for _, want := range []string{"event: message_start", `"thinking_delta"`, `"signature_delta"`, `"text_delta"`, `"input_json_delta"`,
		`"stop_reason":"tool_use"`, "event: message_stop"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("anthropic stream lacks %s (status %d)", want, code)
		}
	}
	code, body = post(t, a.URL+"/messages", `{}`)
	if code != 401 || !strings.Contains(body, `"authentication_error"`) {
		t.Errorf("anthropic 401: %d %s", code, body)
	}
	if r := a.Requests(); len(r) != 2 || r[0].Body["model"] != "claude-x" || a.Remaining() != 0 {
		t.Errorf("requests %+v remaining %d", r, a.Remaining())
	}

	o := NewOpenAI(t, Turn{Text: []string{"a", "b"}, ToolCalls: []ToolCall{{ID: "c1", Name: "x", Args: `{}`}, {ID: "c2", Name: "y", Args: `{"k":1}`}}, Usage: Usage{Input: 1, Output: 2}})
	code, body = post(t, o.URL+"/chat/completions", `{"model":"m","stream_options":{"include_usage":true}}`)
	for _, want := range []string{`"object":"chat.completion.chunk"`, `"tool_calls"`, `"index":1`, `"finish_reason":"tool_calls"`, `"completion_tokens":2`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("openai stream lacks %s", want)
		}
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("openai stream must end with [DONE]: %q", body[max(0, len(body)-40):])
	}
	o.Push(Turn{Status: 429, RetryAfter: "3"})
	resp, err := http.Post(o.URL+"/chat/completions", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("429: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestAnthropicThinkingToolLoopNeedsTheSignedBlock(t *testing.T) {
	use := map[string]any{"type": "tool_use", "id": "toolu_1", "name": "read", "input": map[string]any{}}
	result := map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}}}
	user := map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "hi"}}}
	req := func(thinking bool, assistant ...any) map[string]any {
		r := map[string]any{"messages": []any{user, map[string]any{"role": "assistant", "content": assistant}, result}}
		if thinking {
			r["thinking"] = map[string]any{"type": "enabled", "budget_tokens": 2048}
		}
		return r
	}
	ok := func(sig string) bool { return sig == Signature }
	signed := map[string]any{"type": "thinking", "thinking": "hmm", "signature": Signature}
	forged := map[string]any{"type": "thinking", "thinking": "hmm", "signature": "forged"}
	if msg := anthropicThinkingCheck(req(true, use), ok); !strings.Contains(msg, "Expected `thinking` or `redacted_thinking`, but found `tool_use`") {
		t.Errorf("unsigned tool loop accepted: %q", msg)
	}
	if msg := anthropicThinkingCheck(req(true, signed, use), ok); msg != "" {
		t.Errorf("signed tool loop refused: %q", msg)
	}
	if msg := anthropicThinkingCheck(req(true, forged, use), ok); !strings.Contains(msg, "Invalid `signature`") {
		t.Errorf("forged signature accepted: %q", msg)
	}
	if msg := anthropicThinkingCheck(req(false, use), ok); msg != "" {
		t.Errorf("without thinking the loop needs no block: %q", msg)
	}
}
