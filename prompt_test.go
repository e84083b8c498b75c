package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

func anthropicConfig(url string) string {
	return `{"provider":{"anthropic":{"options":{"baseURL":"` + url + `"}}}}`
}

const sonnet = "claude-sonnet-4-20250514"

func textPrompt(text string) map[string]any {
	return map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{map[string]any{"type": "text", "text": text}}}
}

func TestPromptStreamsTextAndStoresIt(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{
		Reasoning: []string{"let me ", "think"},
		Text:      []string{"Hello", " from", " ocgo"},
		Usage:     fakellm.Usage{Input: 11, Output: 7, CacheRead: 3},
	})
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test-secret"}})
	sid := h.newSession()
	var res storage.WithParts
	if code := h.call("POST", "/session/"+sid+"/message", textPrompt("hi there"), &res); code != 200 {
		t.Fatalf("status %d", code)
	}
	if res.Info.Role != "assistant" || res.Info.Error != nil || res.Info.Time.Completed == nil {
		t.Fatalf("info: %+v", res.Info)
	}
	var types []string
	var text, reasoning string
	for _, p := range res.Parts {
		types = append(types, p.Type)
		switch p.Type {
		case "text":
			text = p.Text
		case "reasoning":
			reasoning = p.Text
		}
	}
	if strings.Join(types, ",") != "step-start,reasoning,text,step-finish" {
		t.Errorf("part types %v", types)
	}
	if text != "Hello from ocgo" || reasoning != "let me think" {
		t.Errorf("text %q reasoning %q", text, reasoning)
	}
	if res.Info.Tokens.Input != 11 || res.Info.Tokens.Output != 7 || res.Info.Tokens.Cache.Read != 3 || res.Info.Cost <= 0 {
		t.Errorf("tokens %+v cost %v", res.Info.Tokens, res.Info.Cost)
	}
	if len(res.Info.System) != 2 || !strings.Contains(res.Info.System[1], h.dir) {
		t.Errorf("system %q", res.Info.System)
	}
	// What the provider was sent: the user's text, the system prompt, tools.
	req := fake.Requests()[0]
	raw := string(req.Raw)
	if !strings.Contains(raw, "hi there") || !strings.Contains(raw, `"name":"bash"`) || strings.Contains(raw, `"name":"patch"`) {
		t.Errorf("provider request: %.400s", raw)
	}
	if got := req.Header.Get("X-Api-Key"); got != "sk-ant-test-secret" {
		t.Errorf("api key header %q", got)
	}
	// Stored on disk in opencode's layout, readable back over HTTP.
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 2 || msgs[0].Info.Role != "user" || msgs[0].Parts[0].Text != "hi there" || len(msgs[1].Parts) != 4 {
		t.Fatalf("messages: %+v", msgs)
	}
	file := filepath.Join(h.app.ProjectData(), "storage", "session", "part", sid, res.Info.ID, res.Parts[2].ID+".json")
	if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), "Hello from ocgo") {
		t.Errorf("part file: %v %s", err, data)
	}
	// The event stream told the story, ending with session.idle.
	h.waitEvent(ofType("session.idle"))
	seq := strings.Join(h.types(), " ")
	for _, want := range []string{"message.updated", "message.part.updated", "session.idle"} {
		if !strings.Contains(seq, want) {
			t.Errorf("events %s lack %s", seq, want)
		}
	}
	if strings.Contains(seq, "session.error") {
		t.Errorf("unexpected error event: %s", seq)
	}
	// No secret anywhere in what a client can read.
	for _, path := range []string{"/config", "/config/providers", "/session/" + sid + "/message"} {
		var v any
		h.call("GET", path, nil, &v)
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), "sk-ant-test-secret") {
			t.Errorf("%s leaks the API key", path)
		}
	}
}

func TestPromptRunsToolsAndFeedsResultsBack(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Text: []string{"Writing."}, ToolCalls: []fakellm.ToolCall{
			{ID: "toolu_1", Name: "write", Args: `{"filePath":"notes/hello.txt","content":"hi from the agent\n"}`},
			{ID: "toolu_2", Name: "bash", Args: `{"command":"echo tool-ran","description":"echo"}`},
		}},
		fakellm.Turn{Text: []string{"Done."}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("make notes"), &res)
	if res.Info.Error != nil {
		t.Fatalf("error: %+v", res.Info.Error)
	}
	data, err := os.ReadFile(filepath.Join(h.dir, "notes", "hello.txt"))
	if err != nil || string(data) != "hi from the agent\n" {
		t.Fatalf("written file: %q %v", data, err)
	}
	var tools []storage.Part
	steps := 0
	for _, p := range res.Parts {
		if p.Type == "tool" {
			tools = append(tools, p)
		}
		if p.Type == "step-start" {
			steps++
		}
	}
	if len(tools) != 2 || steps != 2 {
		t.Fatalf("tools %d steps %d: %+v", len(tools), steps, res.Parts)
	}
	if tools[0].State.Status != "completed" || tools[1].State.Status != "completed" || tools[1].State.Output != "tool-ran\n" || tools[1].CallID != "toolu_2" {
		t.Errorf("tool parts: %+v %+v", tools[0].State, tools[1].State)
	}
	// The second request carried both tool results.
	second := string(fake.Requests()[1].Raw)
	if !strings.Contains(second, `"tool_use_id":"toolu_1"`) || !strings.Contains(second, "tool-ran") {
		t.Errorf("second request lacks tool results: %.600s", second)
	}
	h.waitEvent(func(e map[string]any) bool {
		return e["type"] == "file.edited" && strings.HasSuffix(e["properties"].(map[string]any)["file"].(string), "hello.txt")
	})
}

func TestPermissionAskOnceAlwaysReject(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "t1", Name: "bash", Args: `{"command":"touch allowed-once","description":"x"}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "t2", Name: "bash", Args: `{"command":"touch rejected","description":"x"}`}}},
	)
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}},"permission":{"bash":"ask"}}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	done := make(chan storage.WithParts)
	go func() {
		var res storage.WithParts
		h.call("POST", "/session/"+sid+"/message", textPrompt("touch things"), &res)
		done <- res
	}()
	ev := h.waitEvent(ofType("permission.updated"))
	perm := ev["properties"].(map[string]any)
	if perm["type"] != "bash" || perm["pattern"] != "touch allowed-once" || perm["callID"] != "t1" {
		t.Fatalf("permission: %v", perm)
	}
	// A late client can list what is pending.
	var pending []map[string]any
	h.call("GET", "/session/"+sid+"/permissions", nil, &pending)
	if len(pending) != 1 || pending[0]["id"] != perm["id"] {
		t.Fatalf("pending: %v", pending)
	}
	if code := h.call("POST", "/session/"+sid+"/permissions/"+perm["id"].(string), map[string]any{"response": "once"}, nil); code != 200 {
		t.Fatalf("respond: %d", code)
	}
	ev2 := h.waitEvent(func(e map[string]any) bool {
		return e["type"] == "permission.updated" && e["properties"].(map[string]any)["id"] != perm["id"]
	})
	perm2 := ev2["properties"].(map[string]any)
	h.call("POST", "/session/"+sid+"/permissions/"+perm2["id"].(string), map[string]any{"response": "reject"}, nil)
	var res storage.WithParts
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("prompt did not finish after reject")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "allowed-once")); err != nil {
		t.Errorf("approved command did not run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "rejected")); err == nil {
		t.Errorf("rejected command ran")
	}
	last := res.Parts[len(res.Parts)-1]
	for _, p := range res.Parts {
		if p.Type == "tool" {
			last = p
		}
	}
	// Exactly opencode's text: the TUI shows it under the tool, the model reads it.
	if want := "The user rejected permission to use this specific tool call. You may try again with different parameters."; last.State.Status != "error" || last.State.Error != want {
		t.Errorf("rejected tool part: %+v", last.State)
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("loop went on after a rejection: %d requests", n)
	}
	replied := 0
	for _, typ := range h.types() {
		if typ == "permission.replied" {
			replied++
		}
	}
	if replied != 2 {
		t.Errorf("permission.replied events: %d, want 2 (once and reject)", replied)
	}
}

func TestProviderErrorsAreStoredOnTheMessage(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Status: 401, ErrorMessage: "invalid x-api-key"})
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "bad"}})
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), &res)
	if res.Info.Error == nil || res.Info.Error.Name != "ProviderAuthError" || res.Info.Time.Completed == nil {
		t.Fatalf("info: %+v", res.Info)
	}
	ev := h.waitEvent(ofType("session.error"))
	if ev["properties"].(map[string]any)["sessionID"] != sid {
		t.Errorf("session.error: %v", ev)
	}
}

func TestAbortMidStream(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"partial"}, Hang: true})
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	done := make(chan storage.WithParts)
	go func() {
		var res storage.WithParts
		h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &res)
		done <- res
	}()
	h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)["part"].(map[string]any)
		return e["type"] == "message.part.updated" && p["text"] == "partial"
	})
	var aborted bool
	h.call("POST", "/session/"+sid+"/abort", nil, &aborted)
	select {
	case res := <-done:
		if !aborted || res.Info.Error == nil || res.Info.Error.Name != "MessageAbortedError" {
			t.Fatalf("aborted=%v info=%+v", aborted, res.Info)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("prompt did not return after abort")
	}
}

func TestNoProviderGivesAClearError(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	sid := h.newSession()
	var e struct {
		Name string
		Data map[string]any
	}
	code := h.call("POST", "/session/"+sid+"/message", map[string]any{"parts": []any{map[string]any{"type": "text", "text": "hi"}}}, &e)
	if code != 400 || e.Name != "ProviderInitError" || !strings.Contains(e.Data["message"].(string), "ANTHROPIC_API_KEY") {
		t.Fatalf("%d %+v", code, e)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 0 {
		t.Errorf("a refused prompt left messages: %+v", msgs)
	}
}

func TestOllamaConfigAsUsersWriteIt(t *testing.T) {
	fake := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"local", " answer"}, Usage: fakellm.Usage{Input: 5, Output: 2}})
	cfg := `{
  "$schema": "https://opencode.ai/config.json",
  "provider": {
    "ollama": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Ollama (local)",
      "options": { "baseURL": "` + fake.URL + `" },
      "models": { "llama2": { "name": "Llama 2" } }
    }
  }
}`
	h := newHarness(t, harnessOpts{config: cfg})
	var providers struct {
		Providers []struct{ ID string }
		Default   map[string]string
	}
	h.call("GET", "/config/providers", nil, &providers)
	if len(providers.Providers) != 1 || providers.Providers[0].ID != "ollama" || providers.Default["ollama"] != "llama2" {
		t.Fatalf("providers: %+v", providers)
	}
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", map[string]any{"providerID": "ollama", "modelID": "llama2",
		"parts": []any{map[string]any{"type": "text", "text": "hello llama"}}}, &res)
	if res.Info.Error != nil || res.Parts[1].Text != "local answer" {
		t.Fatalf("res: %+v", res)
	}
	if body := fake.Requests()[0].Body; body["model"] != "llama2" {
		t.Errorf("model sent: %v", body["model"])
	}
}

func TestQueuedPromptsGetTheirOwnAnswers(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "t1", Name: "bash", Args: `{"command":"sleep 0.5","description":"wait"}`}}},
		fakellm.Turn{Text: []string{"first answer"}},
		fakellm.Turn{Text: []string{"second answer"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	first := make(chan storage.WithParts)
	go func() {
		var res storage.WithParts
		h.call("POST", "/session/"+sid+"/message", textPrompt("one"), &res)
		first <- res
	}()
	h.waitEvent(ofType("message.part.updated"))
	var second storage.WithParts
	body := textPrompt("two")
	body["messageID"] = "msg_zzzzzzzzzzzzqueued00000000"
	h.call("POST", "/session/"+sid+"/message", body, &second)
	r1 := <-first
	text := func(w storage.WithParts) string {
		for _, p := range w.Parts {
			if p.Type == "text" {
				return p.Text
			}
		}
		return ""
	}
	if text(r1) != "first answer" || text(second) != "second answer" {
		t.Fatalf("answers: %q %q", text(r1), text(second))
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	users := 0
	for _, m := range msgs {
		if m.Info.Role == "user" {
			users++
		}
	}
	if users != 2 {
		t.Errorf("user messages: %d, want 2 (no duplicates)", users)
	}
	// The queued prompt's history held the first exchange, and nothing of
	// the queued prompt leaked into the first run.
	reqs := fake.Requests()
	if !strings.Contains(string(reqs[2].Raw), "first answer") || !strings.Contains(string(reqs[2].Raw), `"two"`) {
		t.Errorf("the queued prompt's request lacks the first exchange: %.2000s", reqs[2].Raw)
	}
	if strings.Contains(string(reqs[1].Raw), `"two"`) {
		t.Errorf("the queued prompt leaked into the running one: %.2000s", reqs[1].Raw)
	}
}
