package fakellm

import (
	"net/http"
	"strings"
	"testing"
)

func TestUsageOnlyWhenAsked(t *testing.T) {
	o := NewOpenAI(t, Turn{Text: []string{"a"}, Usage: Usage{Input: 1, Output: 2}}, Turn{Text: []string{"b"}, Usage: Usage{Input: 1, Output: 2}})
	_, body := post(t, o.URL+"/chat/completions", `{"model":"m","stream":true}`)
	if strings.Contains(body, `"usage"`) {
		t.Errorf("usage sent without stream_options.include_usage")
	}
	_, body = post(t, o.URL+"/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	if !strings.Contains(body, `"completion_tokens":2`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("usage not sent when asked: %s", body)
	}
}

func TestMidStreamErrors(t *testing.T) {
	a := NewAnthropic(t, Turn{Text: []string{"par"}, StreamError: "Overloaded"})
	_, body := post(t, a.URL+"/messages", `{"model":"c","messages":[{"role":"user","content":"hi"}]}`)
	if !strings.Contains(body, "event: error\ndata: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"},\"type\":\"error\"}") || strings.Contains(body, "message_stop") {
		t.Errorf("anthropic mid-stream error: %s", body)
	}
	o := NewOpenAI(t, Turn{Text: []string{"par"}, StreamError: "boom"})
	_, body = post(t, o.URL+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if !strings.Contains(body, `data: {"error":{"code":null,"message":"boom","param":null,"type":"server_error"}}`) || strings.Contains(body, "[DONE]") {
		t.Errorf("openai mid-stream error: %s", body)
	}
}

func TestContentBlocksInAnyOrder(t *testing.T) {
	a := NewAnthropic(t, Turn{Content: []Block{
		{Start: "Hel", Text: []string{"lo"}},
		{Tool: &ToolCall{ID: "toolu_1", Name: "bash", Args: `{"command":"ls"}`}},
		{Text: []string{"after the tool"}},
	}})
	_, body := post(t, a.URL+"/messages", `{"model":"c","messages":[{"role":"user","content":"hi"}]}`)
	i1 := strings.Index(body, `"content_block":{"text":"Hel","type":"text"}`)
	i2 := strings.Index(body, `"type":"tool_use"`)
	i3 := strings.Index(body, `"text":"after the tool"`)
	if i1 < 0 || i2 < i1 || i3 < i2 || !strings.Contains(body, `"stop_reason":"tool_use"`) || !strings.Contains(body, `"index":2`) {
		t.Errorf("blocks out of order or missing (%d %d %d): %s", i1, i2, i3, body)
	}
}

func TestRejectsWhatTheRealAPIsReject(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"system role", `{"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}`, "messages.0.role: Input should be 'user' or 'assistant'"},
		{"assistant first", `{"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"hi"}]}`, "first message must use the"},
		{"empty text", `{"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, "messages.0.content.0.text: text content blocks must be non-empty"},
		{"blank text", `{"messages":[{"role":"user","content":[{"type":"text","text":"  "}]}]}`, "text content blocks must contain non-whitespace text"},
		{"empty system", `{"system":[{"type":"text","text":""}],"messages":[{"role":"user","content":"hi"}]}`, "system.0.text: text content blocks must be non-empty"},
		{"empty message", `{"messages":[{"role":"user","content":[]}]}`, "messages.0: all messages must have non-empty content"},
		{"result without use", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"x"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":"r"}]}]}`, "unexpected `tool_use_id` found in `tool_result` blocks: toolu_9"},
		{"use without result", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"x","input":{}}]},{"role":"user","content":[{"type":"text","text":"go on"}]}]}`, "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1"},
	}
	a := NewAnthropic(t, Turn{Text: []string{"ok"}})
	for _, c := range cases {
		code, body := post(t, a.URL+"/messages", c.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"type":"invalid_request_error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
	if a.Remaining() != 1 {
		t.Errorf("a rejected request consumed a turn")
	}
	code, _ := post(t, a.URL+"/messages", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"x","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}`)
	if code != 200 {
		t.Errorf("a valid conversation was refused: %d", code)
	}
	if r := a.Requests(); r[0].Rejected == "" || r[len(r)-1].Rejected != "" {
		t.Errorf("Rejected not recorded: %+v", r[0])
	}

	o := NewOpenAI(t, Turn{Text: []string{"ok"}})
	for _, c := range []struct{ name, body, want string }{
		{"tool without call", `{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c1","content":"r"}]}`, "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'"},
		{"wrong id", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"x","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c2","content":"r"}]}`, "'tool_call_id' of 'c2' not found"},
		{"missing answer", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"x","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"y","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"},{"role":"user","content":"?"}]}`, "did not have response messages: c2"},
	} {
		code, body := post(t, o.URL+"/chat/completions", c.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"type":"invalid_request_error"`) || !strings.Contains(body, c.want) || !strings.Contains(body, `"param":"messages.[`) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
}
