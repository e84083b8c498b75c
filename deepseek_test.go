package main

import (
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestDeepSeekThinkingToolLoop: DeepSeek's thinking mode refuses a history
// whose tool-calling assistant turn lacks its reasoning_content, so the
// reasoning of a step that called a tool goes back in the next request
// (the Chat Completions wire, with the reasoning part the session stored).
func TestDeepSeekThinkingToolLoop(t *testing.T) {
	fake := fakellm.NewDeepSeek(t,
		fakellm.Turn{Reasoning: []string{"I should ", "list the docs."},
			ToolCalls: []fakellm.ToolCall{{ID: "call_00_a", Name: "glob", Args: `{"pattern":"*.md"}`}}},
		fakellm.Turn{Reasoning: []string{"Seen them."}, Text: []string{"one readme"}},
	)
	cfg := `{"provider":{"deepseek":{"options":{"baseURL":"` + fake.URL + `","apiKey":"k"}}}}`
	h := newHarness(t, harnessOpts{config: cfg})
	var res storage.WithParts
	h.call("POST", "/session/"+h.newSession()+"/message", map[string]any{"providerID": "deepseek", "modelID": "deepseek-v4-pro",
		"parts": []any{map[string]any{"type": "text", "text": "which docs?"}}}, &res)
	if res.Info.Error != nil || textOf(res) != "one readme" {
		t.Fatalf("answer %q, error %+v", textOf(res), res.Info.Error)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[1].Rejected != "" {
		t.Fatalf("%d requests; second refused: %q", len(reqs), reqs[len(reqs)-1].Rejected)
	}
	if raw := string(reqs[1].Raw); !strings.Contains(raw, `"reasoning_content":"I should list the docs."`) {
		t.Errorf("second request: %.1500s", raw)
	}
}
