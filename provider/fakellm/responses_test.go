package fakellm

import (
	"strings"
	"testing"
)

// The fake Responses server refuses a follow-up that drops or alters the
// reasoning item of the turn whose function call it answers.
func TestResponsesRefusesLostReasoning(t *testing.T) {
	s := NewResponses(t, Turn{Reasoning: []string{"hm"}, ToolCalls: []ToolCall{{ID: "call_1", Name: "read", Args: `{}`}}})
	code, body := post(t, s.URL+"/responses", `{"model":"gpt-5","stream":true,"store":false,"include":["reasoning.encrypted_content"],
		"reasoning":{"summary":"auto"},"input":[{"role":"user","content":"hi"}]}`)
	for _, want := range []string{"event: response.created", `"type":"reasoning"`, `"encrypted_content":"gAAAAAfake-encrypted-001"`,
		"response.reasoning_summary_text.delta", "response.function_call_arguments.delta", "event: response.completed"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("stream lacks %s", want)
		}
	}
	call := `{"type":"function_call","call_id":"call_1","name":"read","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"x"}`
	for _, c := range []struct{ reasoning, want string }{
		{``, "without its required 'reasoning' item: 'rs_fake001'"},
		{`{"type":"reasoning","id":"rs_fake001","summary":[]},`, "Items are not persisted when `store` is set to false"},
		{`{"type":"reasoning","id":"rs_fake001","summary":[],"encrypted_content":"forged"},`, "could not be verified"},
		{`{"type":"reasoning","id":"rs_fake001","summary":[],"encrypted_content":"gAAAAAfake-encrypted-001"},`, ""},
	} {
		s.Push(Turn{Text: []string{"ok"}})
		code, body := post(t, s.URL+"/responses", `{"model":"gpt-5","stream":true,"store":false,"input":[{"role":"user","content":"hi"},`+c.reasoning+call+`]}`)
		if c.want == "" && code != 200 || c.want != "" && (code != 400 || !strings.Contains(body, c.want)) {
			t.Errorf("reasoning %q: %d %s", c.reasoning, code, body)
		}
		if c.want != "" {
			s.mu.Lock()
			s.turns = nil
			s.mu.Unlock()
		}
	}
}
