package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"ocgo/llm"

	"ocgo/config"
	"ocgo/provider/fakellm"
)

var anthropicWire = wireCases[0]

// TestAnthropicRequest checks the Messages request built from a prompt
// that has every part kind ocgo sends, as the fake server received it.
func TestAnthropicRequest(t *testing.T) {
	s, res, _ := setup(t, anthropicWire, fakellm.Turn{Text: []string{"ok"}})
	png := []byte("\x89PNG fake")
	temp, topP := 0.3, 0.9
	call := llm.Call{
		Temperature: &temp,
		TopP:        &topP,
		Prompt: llm.Prompt{
			llm.NewSystemMessage("system one"),
			llm.NewSystemMessage("system two"),
			{Role: llm.MessageRoleUser, Content: []llm.MessagePart{
				llm.TextPart{Text: "look"},
				llm.TextPart{Text: ""}, // dropped: the API rejects empty text blocks
				llm.FilePart{Filename: "shot.png", MediaType: "image/png", Data: png},
				llm.FilePart{Filename: "spec v1.pdf", MediaType: "application/pdf", Data: []byte("%PDF")},
			}},
			{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{
				llm.ReasoningPart{Text: "hmm", ProviderOptions: llm.ProviderOptions{
					"anthropic": &anthropicReasoning{Signature: fakellm.Signature}}},
				llm.ReasoningPart{Text: "unsigned"}, // dropped
				llm.TextPart{Text: "running"},
				llm.ToolCallPart{ToolCallID: "toolu_1", ToolName: "bash", Input: `{"command":"ls"}`},
				llm.ToolCallPart{ToolCallID: "toolu_2", ToolName: "read", Input: `not json`},
			}},
			{Role: llm.MessageRoleTool, Content: []llm.MessagePart{
				llm.ToolResultPart{ToolCallID: "toolu_1", Output: llm.ToolResultOutputContentText{Text: "a.go"}},
				llm.ToolResultPart{ToolCallID: "toolu_2", Output: llm.ToolResultOutputContentError{Error: errors.New("no such file")}},
			}},
			llm.NewUserMessage("and now?"),
		},
		Tools: []llm.FunctionTool{{Name: "bash", Description: "run a command", InputSchema: map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"command": map[string]any{"type": "string"}},
			"required":             []any{"command"},
			"additionalProperties": false,
		}}},
	}
	parts := collect(t, context.Background(), res.LM, call)
	if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ok" {
		t.Fatalf("text %q: %+v", got, parts)
	}
	req := s.Requests()[0]
	if req.Path != "/v1/messages" {
		t.Errorf("path %s", req.Path)
	}
	var body struct {
		Model       string  `json:"model"`
		MaxTokens   int     `json:"max_tokens"`
		Temperature float64 `json:"temperature"`
		TopP        float64 `json:"top_p"`
		Stream      bool    `json:"stream"`
		System      []struct {
			Type, Text string
		} `json:"system"`
		Messages []struct {
			Role    string           `json:"role"`
			Content []map[string]any `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Name        string         `json:"name"`
			Description string         `json:"description"`
			InputSchema map[string]any `json:"input_schema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(req.Raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != anthropicWire.model || body.MaxTokens != defaultMaxTokens || !body.Stream || body.Temperature != 0.3 || body.TopP != 0.9 {
		t.Errorf("settings: %s", req.Raw)
	}
	if len(body.System) != 2 || body.System[0].Text != "system one" || body.System[1].Text != "system two" || body.System[0].Type != "text" {
		t.Errorf("system: %+v", body.System)
	}
	// user, assistant, user (tool results merged with the next user text).
	roles := []string{}
	for _, m := range body.Messages {
		roles = append(roles, m.Role)
	}
	if !slices.Equal(roles, []string{"user", "assistant", "user"}) {
		t.Fatalf("roles %v: %s", roles, req.Raw)
	}
	types := func(i int) []string {
		var out []string
		for _, c := range body.Messages[i].Content {
			out = append(out, c["type"].(string))
		}
		return out
	}
	if got := types(0); !slices.Equal(got, []string{"text", "image", "document"}) {
		t.Errorf("user blocks %v", got)
	}
	img := body.Messages[0].Content[1]["source"].(map[string]any)
	if img["type"] != "base64" || img["media_type"] != "image/png" || img["data"] != base64.StdEncoding.EncodeToString(png) {
		t.Errorf("image %v", img)
	}
	if doc := body.Messages[0].Content[2]; doc["title"] != "spec v1 pdf" || doc["source"].(map[string]any)["media_type"] != "application/pdf" {
		t.Errorf("document %v", doc)
	}
	if got := types(1); !slices.Equal(got, []string{"thinking", "text", "tool_use", "tool_use"}) {
		t.Errorf("assistant blocks %v", got)
	}
	a := body.Messages[1].Content
	if a[0]["signature"] != fakellm.Signature || a[0]["thinking"] != "hmm" {
		t.Errorf("thinking %v", a[0])
	}
	if a[2]["id"] != "toolu_1" || a[2]["name"] != "bash" || mustJSON(a[2]["input"]) != `{"command":"ls"}` {
		t.Errorf("tool_use %v", a[2])
	}
	if mustJSON(a[3]["input"]) != `{}` {
		t.Errorf("invalid input JSON must become {}: %v", a[3])
	}
	if got := types(2); !slices.Equal(got, []string{"tool_result", "tool_result", "text"}) {
		t.Errorf("user blocks %v", got)
	}
	u := body.Messages[2].Content
	if u[0]["tool_use_id"] != "toolu_1" || u[0]["is_error"] != nil || !strings.Contains(mustJSON(u[0]["content"]), `"text":"a.go"`) {
		t.Errorf("tool_result %v", u[0])
	}
	if u[1]["is_error"] != true || !strings.Contains(mustJSON(u[1]["content"]), "no such file") {
		t.Errorf("error tool_result %v", u[1])
	}
	if len(body.Tools) != 1 || body.Tools[0].Name != "bash" || body.Tools[0].Description != "run a command" {
		t.Fatalf("tools %+v", body.Tools)
	}
	if got := mustJSON(body.Tools[0].InputSchema); got != `{"additionalProperties":false,"properties":{"command":{"type":"string"}},"required":["command"],"type":"object"}` {
		t.Errorf("input_schema %s", got)
	}
}

// TestAnthropicStreamParts pins the part sequence consumers rely on.
func TestAnthropicStreamParts(t *testing.T) {
	_, res, _ := setup(t, anthropicWire, fakellm.Turn{
		Reasoning: []string{"think"}, Signature: "sig-xyz", Text: []string{"Hi"},
		ToolCalls: []fakellm.ToolCall{{ID: "toolu_9", Name: "read", Args: `{"filePath":"a"}`}},
		Usage:     fakellm.Usage{Input: 10, Output: 4, CacheRead: 3, CacheWrite: 2},
	})
	parts := collect(t, context.Background(), res.LM, userCall("go"))
	var got []string
	for _, p := range parts {
		got = append(got, string(p.Type)+":"+p.ID)
	}
	want := []string{
		"reasoning_start:0", "reasoning_delta:0", "reasoning_delta:0", "reasoning_end:0",
		"text_start:1", "text_delta:1", "text_end:1",
		"tool_input_start:toolu_9", "tool_call:toolu_9", "finish:msg_fake01",
	}
	// Thinking is split in a data-dependent number of pieces: compare
	// without the repeated delta entries.
	if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
		t.Fatalf("parts\n got %v\nwant %v", got, want)
	}
	end := ofType(parts, llm.StreamPartTypeReasoningEnd)[0]
	meta, ok := end.ProviderMetadata["anthropic"].(*anthropicReasoning)
	if !ok || meta.Signature != "sig-xyz" {
		t.Errorf("reasoning end metadata %#v", end.ProviderMetadata)
	}
	raw, _ := json.Marshal(end.ProviderMetadata)
	if string(raw) != `{"anthropic":{"type":"anthropic.reasoning_metadata","data":{"signature":"sig-xyz","redacted_data":""}}}` {
		t.Errorf("stored metadata shape %s", raw)
	}
	tc := ofType(parts, llm.StreamPartTypeToolCall)[0]
	if tc.ToolCallName != "read" || tc.ToolCallInput != `{"filePath":"a"}` {
		t.Errorf("tool call %+v", tc)
	}
	f := finish(t, parts)
	if f.FinishReason != llm.FinishReasonToolCalls || f.Usage != (llm.Usage{InputTokens: 10, OutputTokens: 4,
		CacheReadTokens: 3, CacheCreationTokens: 2}) {
		t.Errorf("finish %+v", f)
	}
}

func TestAnthropicFinishLength(t *testing.T) {
	_, res, _ := setup(t, anthropicWire, fakellm.Turn{Text: []string{"cut"}, StopReason: "max_tokens"})
	if f := finish(t, collect(t, context.Background(), res.LM, userCall("x"))); f.FinishReason != llm.FinishReasonLength {
		t.Errorf("finish %q", f.FinishReason)
	}
}

func TestAnthropicWholeAnswer(t *testing.T) {
	s, res, _ := setup(t, anthropicWire, fakellm.Turn{Reasoning: []string{"r"}, Text: []string{"Fix ", "title"},
		ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "ls", Args: `{}`}}, Usage: fakellm.Usage{Input: 7, Output: 3}})
	maxOut := int64(100)
	a := drain(t, res.LM, llm.Call{Prompt: userCall("x").Prompt, MaxOutputTokens: &maxOut})
	if a.err != nil || a.text != "Fix title" || a.reasoning != "r" || len(a.calls) != 1 ||
		a.finish.FinishReason != llm.FinishReasonToolCalls || a.finish.Usage.InputTokens != 7 {
		t.Errorf("answer %+v", a)
	}
	if got := s.Requests()[0].Body["max_tokens"]; got != float64(100) {
		t.Errorf("max_tokens %v", got)
	}
	s.Push(fakellm.Turn{Status: 401})
	if a := drain(t, res.LM, userCall("x")); a.err == nil {
		t.Error("the stream must end with the 401")
	} else if name, _ := Classify(a.err); name != "ProviderAuthError" {
		t.Errorf("Classify(%v) = %s", a.err, name)
	}
}

func TestAnthropicHTTPErrors(t *testing.T) {
	t.Run("400 after retried 429s", func(t *testing.T) {
		_, res, _ := setup(t, anthropicWire, fakellm.Turn{Status: 429, RetryAfter: "7"}, fakellm.Turn{Status: 429},
			fakellm.Turn{Status: 400})
		err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.StatusCode != 400 {
			t.Fatalf("err %v", err)
		}
		if pe.ResponseHeaders["request-id"] != "req_fake0001" || pe.Message != "invalid request" {
			t.Errorf("provider error %+v", pe)
		}
	})
	t.Run("context overflow", func(t *testing.T) {
		_, res, _ := setup(t, anthropicWire, fakellm.Turn{Status: 400, ErrorMessage: "prompt is too long: 210000 tokens > 200000 maximum"})
		err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
		var pe *llm.ProviderError
		if !IsContextOverflow(err) || !errors.As(err, &pe) || pe.ContextUsedTokens != 210000 || pe.ContextMaxTokens != 200000 {
			t.Errorf("err %v", err)
		}
	})
	t.Run("retry-after lower-case", func(t *testing.T) {
		_, res, rec := setup(t, anthropicWire, fakellm.Turn{Status: 529, RetryAfter: "3"}, fakellm.Turn{Text: []string{"ok"}})
		if got := joined(collect(t, context.Background(), res.LM, userCall("x")), llm.StreamPartTypeTextDelta); got != "ok" {
			t.Fatalf("text %q", got)
		}
		if d := rec.got(); len(d) != 1 || d[0].Seconds() != 3 {
			t.Errorf("delays %v", d)
		}
	})
}

// TestAnthropicStreamErrorEvent: an `error` SSE event inside a 200 stream
// (overloaded) before any content is transient, so it is retried.
func TestAnthropicStreamErrorEvent(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		num := n.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		if num == 1 {
			fmt.Fprint(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
			return
		}
		fmt.Fprint(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad thing\"}}\n\n")
	}))
	t.Cleanup(srv.Close)
	wc := anthropicWire
	_, res, rec := setup(t, wireCase{name: wc.name, provider: wc.provider, model: wc.model, config: wc.config,
		newFake: func(t fakellm.T, _ ...fakellm.Turn) *fakellm.Server { return &fakellm.Server{URL: srv.URL + "/v1"} }})
	err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
	if n.Load() != 2 || len(rec.got()) != 1 {
		t.Errorf("requests %d, retries %v", n.Load(), rec.got())
	}
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.TransientError || pe.Title != "invalid request error" {
		t.Fatalf("err %#v", err)
	}
	if name, data := Classify(err); name != "UnknownError" || data["message"] != "bad thing" {
		t.Errorf("Classify %s %v", name, data)
	}
}

// TestAnthropicNoKeyLeak: the SDK's own environment lookups
// (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL) must not
// add credentials or redirect requests: only the registry's key goes out.
func TestAnthropicNoKeyLeak(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-env-key-must-not-leak")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "env-token-must-not-leak")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Leak: yes")
	s := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"a"}}, fakellm.Turn{Text: []string{"b"}})
	reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{
		"gateway": {NPM: "@ai-sdk/anthropic", Options: map[string]any{"baseURL": s.URL, "headers": map[string]any{"X-Team": "t1"}},
			Models: map[string]config.ModelConfig{"claude-x": {}}},
		"anthropic": {Options: map[string]any{"baseURL": s.URL, "apiKey": testKey}},
	}, Env: func(string) string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ provider, model, key string }{{"gateway", "claude-x", ""}, {"anthropic", "claude-sonnet-4-20250514", testKey}} {
		res, err := reg.Model(context.Background(), c.provider, c.model)
		if err != nil {
			t.Fatal(err)
		}
		collect(t, context.Background(), res.LM, userCall("x"))
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests %d", len(reqs))
	}
	for i, want := range []string{"", testKey} {
		h := reqs[i].Header
		if h.Get("X-Api-Key") != want || h.Get("Authorization") != "" || h.Get("X-Leak") != "" {
			t.Errorf("request %d headers %v", i, h)
		}
		if h.Get("Anthropic-Version") == "" {
			t.Errorf("request %d lacks anthropic-version", i)
		}
	}
	if reqs[0].Header.Get("X-Team") != "t1" {
		t.Errorf("configured header not sent: %v", reqs[0].Header)
	}
}
