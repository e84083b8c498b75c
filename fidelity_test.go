package main

// The agent loop against fakes that behave like the real APIs in the ways
// a client most easily gets wrong (provider/fakellm: usage only when asked,
// mid-stream errors, content blocks in any order, and 400s for requests the
// real API refuses).

import (
	"encoding/json"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

func ollamaConfig(url string) string {
	return `{"provider":{"ollama":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"` + url + `"},"models":{"llama3.1":{}}}}}`
}

func ollamaPrompt(text string) map[string]any {
	return map[string]any{"providerID": "ollama", "modelID": "llama3.1", "parts": []any{map[string]any{"type": "text", "text": text}}}
}

func TestOpenAICompatibleAsksForUsage(t *testing.T) {
	fake := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"counted"}, Usage: fakellm.Usage{Input: 17, Output: 4}})
	h := newHarness(t, harnessOpts{config: ollamaConfig(fake.URL)})
	var res storage.WithParts
	h.call("POST", "/session/"+h.newSession()+"/message", ollamaPrompt("count me"), &res)
	if res.Info.Error != nil {
		t.Fatalf("error: %+v", res.Info.Error)
	}
	opts, _ := fake.Requests()[0].Body["stream_options"].(map[string]any)
	if opts["include_usage"] != true {
		t.Errorf("ocgo did not ask for usage: stream_options = %v", fake.Requests()[0].Body["stream_options"])
	}
	if res.Info.Tokens.Input != 17 || res.Info.Tokens.Output != 4 {
		t.Errorf("tokens %+v, want input 17 output 4", res.Info.Tokens)
	}
}

func TestMidStreamErrorsAreStoredOnTheMessage(t *testing.T) {
	for _, c := range []struct {
		name   string
		fake   func(t *testing.T, turns ...fakellm.Turn) *fakellm.Server
		config func(string) string
		env    map[string]string
		prompt func(string) map[string]any
	}{
		{"anthropic", func(t *testing.T, turns ...fakellm.Turn) *fakellm.Server { return fakellm.NewAnthropic(t, turns...) }, anthropicConfig, map[string]string{"ANTHROPIC_API_KEY": "k"}, textPrompt},
		{"openai", func(t *testing.T, turns ...fakellm.Turn) *fakellm.Server { return fakellm.NewOpenAI(t, turns...) }, ollamaConfig, nil, ollamaPrompt},
		{"responses", func(t *testing.T, turns ...fakellm.Turn) *fakellm.Server { return fakellm.NewResponses(t, turns...) },
			func(url string) string {
				return `{"provider":{"openai":{"options":{"baseURL":"` + url + `","apiKey":"k"}}}}`
			}, nil,
			func(text string) map[string]any { return modelPrompt("openai", "gpt-4.1", text) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A mid-stream failure is final for this request; the retry
			// policy may try again, so every attempt fails the same way.
			turn := fakellm.Turn{Text: []string{"partial ", "answer"}, StreamError: "Overloaded right now"}
			fake := c.fake(t, turn, turn, turn, turn, turn)
			h := newHarness(t, harnessOpts{config: c.config(fake.URL), env: c.env})
			var res storage.WithParts
			h.call("POST", "/session/"+h.newSession()+"/message", c.prompt("hi"), &res)
			if res.Info.Error == nil {
				t.Fatalf("no error on the message; parts %+v", res.Parts)
			}
			raw := string(mustJSON(res.Info.Error))
			if !strings.Contains(raw, "Overloaded right now") {
				t.Errorf("error %s does not carry the provider's message", raw)
			}
			h.waitEvent(ofType("session.error"))
			h.waitEvent(ofType("session.idle"))
		})
	}
}

func TestContentBlocksInAnyOrder(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Content: []fakellm.Block{
			{Start: "Let me ", Text: []string{"look."}},
			{Text: []string{"Second block."}},
			{Tool: &fakellm.ToolCall{ID: "toolu_1", Name: "bash", Args: `{"command":"echo hi","description":"echo"}`}},
			{Text: []string{"Text after the tool call."}},
		}},
		fakellm.Turn{Content: []fakellm.Block{{Start: "All done."}}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	var res storage.WithParts
	h.call("POST", "/session/"+h.newSession()+"/message", textPrompt("go"), &res)
	if res.Info.Error != nil {
		t.Fatalf("error: %+v", res.Info.Error)
	}
	var got []string
	for _, p := range res.Parts {
		switch p.Type {
		case "text":
			got = append(got, p.Text)
		case "tool":
			got = append(got, "<"+p.Tool+">")
		}
	}
	want := "Let me look.|Second block.|<bash>|Text after the tool call.|All done."
	if strings.Join(got, "|") != want {
		t.Errorf("texts and tools %q, want %q", strings.Join(got, "|"), want)
	}
	// The second request replays the first answer as the API wants it:
	// every text block, the tool_use, then the tool_result in the next
	// message (the fake refuses anything else with a 400).
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[1].Rejected != "" {
		t.Fatalf("requests: %d, rejected %q", len(reqs), reqs[len(reqs)-1].Rejected)
	}
	second := string(reqs[1].Raw)
	for _, s := range []string{"Let me look.", "Second block.", "Text after the tool call.", `"tool_use_id":"toolu_1"`} {
		if !strings.Contains(second, s) {
			t.Errorf("second request lacks %s: %.800s", s, second)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fantasy's OpenAI-compatible provider numbers reasoning and text blocks
// both "0" and ends the reasoning only after the text began: each must
// still land in one part, whole (it once split the text per chunk and lost
// the reasoning's tail).
func TestOpenAICompatibleReasoningThenText(t *testing.T) {
	fake := fakellm.NewOpenAI(t, fakellm.Turn{Reasoning: []string{"thinking ", "it over"}, Text: []string{"Thought ", "about ", "it."}, Usage: fakellm.Usage{Input: 5, Output: 9}})
	h := newHarness(t, harnessOpts{config: ollamaConfig(fake.URL)})
	var res storage.WithParts
	h.call("POST", "/session/"+h.newSession()+"/message", ollamaPrompt("think"), &res)
	var got []string
	for _, p := range res.Parts {
		got = append(got, p.Type+":"+p.Text)
	}
	if want := "step-start:|reasoning:thinking it over|text:Thought about it.|step-finish:"; strings.Join(got, "|") != want {
		t.Errorf("parts %q, want %q", strings.Join(got, "|"), want)
	}
}
