package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ocgo/provider/fakellm"
)

func modelPrompt(providerID, modelID, text string) map[string]any {
	return map[string]any{"providerID": providerID, "modelID": modelID, "parts": []any{map[string]any{"type": "text", "text": text}}}
}

// responsesInput decodes a Responses request's input items.
func responsesInput(t *testing.T, r fakellm.Request) []map[string]any {
	t.Helper()
	var body struct {
		Input []map[string]any `json:"input"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		t.Fatal(err)
	}
	return body.Input
}

// OpenAI models go over the Responses API. A reasoning model's tool loop
// continues only when the reasoning item of the step (its id and the
// encrypted content the API handed out, since nothing is stored at
// OpenAI) comes back before the step's function call; the fake refuses
// the request otherwise. Later turns carry every earlier reasoning item.
func TestResponsesToolLoopKeepsReasoningItems(t *testing.T) {
	fake := fakellm.NewResponses(t,
		fakellm.Turn{Reasoning: []string{"Look at ", "the readme"},
			ToolCalls: []fakellm.ToolCall{{ID: "call_r1", Name: "read", Args: `{"filePath":"README.md"}`}}},
		fakellm.Turn{Reasoning: []string{"Enough"}, Text: []string{"It is ", "a readme."},
			Usage: fakellm.Usage{Input: 60, Output: 30, Reasoning: 20, CacheRead: 40}},
		fakellm.Turn{Text: []string{"Yes."}},
	)
	cfg := `{"provider":{"openai":{"options":{"baseURL":"` + fake.URL + `","apiKey":"k"},"models":{"gpt-5":{"options":{"reasoningSummary":"auto"}}}}}}`
	h := newHarness(t, harnessOpts{config: cfg})
	sid := h.newSession()
	var res struct {
		Info struct {
			Error  any `json:"error"`
			Tokens struct {
				Input, Output, Reasoning float64
				Cache                    struct{ Read float64 }
			} `json:"tokens"`
		} `json:"info"`
		Parts []struct {
			Type     string         `json:"type"`
			Text     string         `json:"text"`
			Metadata map[string]any `json:"metadata"`
		} `json:"parts"`
	}
	h.call("POST", "/session/"+sid+"/message", modelPrompt("openai", "gpt-5", "what is the readme?"), &res)
	if res.Info.Error != nil {
		t.Fatalf("tool loop refused: %v", res.Info.Error)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[1].Rejected != "" {
		t.Fatalf("requests: %d %+v", len(reqs), reqs)
	}
	if reqs[0].Path != "/v1/responses" || reqs[0].Header.Get("Authorization") != "Bearer k" {
		t.Errorf("request to %s with %q", reqs[0].Path, reqs[0].Header.Get("Authorization"))
	}
	in := responsesInput(t, reqs[1])
	var kinds []string
	for _, it := range in {
		kinds = append(kinds, cmpOr(it["type"], it["role"]))
	}
	// developer prompt(s), the user's text, then the step: reasoning
	// before its function call, and the call's output.
	joined := strings.Join(kinds, ",")
	if !strings.HasPrefix(joined, "developer") || !strings.HasSuffix(joined, "user,reasoning,function_call,function_call_output") {
		t.Fatalf("input items: %s", joined)
	}
	rs := in[len(in)-3]
	if rs["id"] != "rs_fake001" || rs["encrypted_content"] != "gAAAAAfake-encrypted-001" {
		t.Errorf("reasoning item: %v", rs)
	}
	if sum, _ := rs["summary"].([]any); len(sum) != 1 || sum[0].(map[string]any)["text"] != "Look at the readme" {
		t.Errorf("summary: %v", rs["summary"])
	}
	if reqs[0].Body["store"] != false || !strings.Contains(string(reqs[0].Raw), `"include":["reasoning.encrypted_content"]`) {
		t.Errorf("first request does not ask for encrypted reasoning: %s", reqs[0].Raw)
	}
	// Each step's reasoning is a part holding the item in the AI SDK's
	// metadata shape, so opencode replays ocgo's sessions and back.
	var reasoning []string
	for _, p := range res.Parts {
		if p.Type == "reasoning" {
			o, _ := p.Metadata["openai"].(map[string]any)
			reasoning = append(reasoning, p.Text+"|"+cmpOr(o["itemId"], nil)+"|"+cmpOr(o["reasoningEncryptedContent"], nil))
		}
	}
	if strings.Join(reasoning, " ") != "Look at the readme|rs_fake001|gAAAAAfake-encrypted-001 Enough|rs_fake002|gAAAAAfake-encrypted-002" {
		t.Errorf("reasoning parts: %q", reasoning)
	}
	if res.Info.Tokens.Reasoning == 0 || res.Info.Tokens.Cache.Read != 40 || res.Info.Tokens.Input != 60 {
		t.Errorf("tokens: %+v", res.Info.Tokens)
	}

	// The next turn replays both steps' reasoning items.
	h.call("POST", "/session/"+sid+"/message", modelPrompt("openai", "gpt-5", "sure?"), &res)
	reqs = fake.Requests()
	if res.Info.Error != nil || len(reqs) != 3 || reqs[2].Rejected != "" {
		t.Fatalf("next turn: %v, %d requests", res.Info.Error, len(reqs))
	}
	raw := string(reqs[2].Raw)
	if !strings.Contains(raw, `"encrypted_content":"gAAAAAfake-encrypted-001"`) || !strings.Contains(raw, `"encrypted_content":"gAAAAAfake-encrypted-002"`) {
		t.Errorf("later turn lacks the reasoning items: %s", raw)
	}
}

func cmpOr(a, b any) string {
	if s, _ := a.(string); s != "" {
		return s
	}
	s, _ := b.(string)
	return s
}

// Azure OpenAI: the azure provider reaches a resource's Responses API at
// <baseURL>/v1/responses?api-version=v1 with the key in an api-key
// header (AZURE_API_KEY); the model id is the deployment name.
func TestAzureOpenAI(t *testing.T) {
	fake := fakellm.NewAzure(t, "az-secret-key-1234",
		fakellm.Turn{Text: []string{"hello ", "from azure"}, Usage: fakellm.Usage{Input: 10, Output: 3}})
	cfg := `{"provider":{"azure":{"options":{"baseURL":"` + fake.URL + `"},"models":{"my-gpt41":{"name":"My GPT-4.1 deployment"}}}}}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"AZURE_API_KEY": "az-secret-key-1234"}})
	sid := h.newSession()
	var res struct {
		Info struct {
			Error any `json:"error"`
		} `json:"info"`
		Parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"parts"`
	}
	h.call("POST", "/session/"+sid+"/message", modelPrompt("azure", "my-gpt41", "hi"), &res)
	if res.Info.Error != nil {
		t.Fatalf("azure prompt failed: %v", res.Info.Error)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests: %d", len(reqs))
	}
	r := reqs[0]
	if r.Rejected != "" || r.Path != "/openai/v1/responses" || r.Query.Get("api-version") != "v1" ||
		r.Header.Get("api-key") != "az-secret-key-1234" || r.Body["model"] != "my-gpt41" {
		t.Errorf("request %s ?%v model %v rejected %q", r.Path, r.Query, r.Body["model"], r.Rejected)
	}
	text := ""
	for _, p := range res.Parts {
		if p.Type == "text" {
			text += p.Text
		}
	}
	if text != "hello from azure" {
		t.Errorf("answer %q", text)
	}

	// A wrong key gets Azure's 401, reported as an auth error.
	h2 := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"AZURE_API_KEY": "wrong-key-000000"}})
	sid = h2.newSession()
	var bad struct {
		Info struct {
			Error struct {
				Name string `json:"name"`
			} `json:"error"`
		} `json:"info"`
	}
	h2.call("POST", "/session/"+sid+"/message", modelPrompt("azure", "my-gpt41", "hi"), &bad)
	if bad.Info.Error.Name != "ProviderAuthError" {
		t.Errorf("wrong key: %+v", bad.Info.Error)
	}
}

// A wellknown entry of auth.json, as `opencode auth login <url>` writes
// it: its token goes into the environment variable it names, and the
// server's .well-known/opencode config is merged in, so the provider that
// config declares works with that token.
func TestWellKnownAuthEntry(t *testing.T) {
	llm := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"org ", "answer"}})
	var fetched atomic.Int32
	org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/opencode" {
			http.NotFound(w, r)
			return
		}
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"auth":{"command":["org-login"],"env":"ORG_TOKEN"},"config":{
			"provider":{"orgai":{"npm":"@ai-sdk/openai-compatible","name":"Org AI","env":["ORG_TOKEN"],
				"options":{"baseURL":"`+llm.URL+`","headers":{"X-Org-Token":"{env:ORG_TOKEN}"}},"models":{"coder":{"name":"Org Coder"}}}},
			"model":"orgai/coder"}}`)
	}))
	defer org.Close()
	h := newHarness(t, harnessOpts{})
	auth := `{"` + org.URL + `":{"type":"wellknown","key":"ORG_TOKEN","token":"org-token-123456"}}`
	if err := os.WriteFile(filepath.Join(h.data, "auth.json"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if fetched.Load() == 0 {
		t.Fatal("the .well-known/opencode config was not fetched")
	}
	var cfg map[string]any
	h.call("GET", "/config", nil, &cfg)
	raw, _ := json.Marshal(cfg)
	if cfg["model"] != "orgai/coder" || strings.Contains(string(raw), "org-token-123456") {
		t.Errorf("config: model %v; token shown: %v", cfg["model"], strings.Contains(string(raw), "org-token-123456"))
	}
	sid := h.newSession()
	var res struct {
		Info struct {
			Error any `json:"error"`
		} `json:"info"`
	}
	h.call("POST", "/session/"+sid+"/message", modelPrompt("orgai", "coder", "hi"), &res)
	reqs := llm.Requests()
	if res.Info.Error != nil || len(reqs) != 1 {
		t.Fatalf("prompt: %v, %d requests", res.Info.Error, len(reqs))
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer org-token-123456" {
		t.Errorf("Authorization %q", got)
	}
	if got := reqs[0].Header.Get("X-Org-Token"); got != "org-token-123456" {
		t.Errorf("X-Org-Token %q", got)
	}
}
