package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"ocgo/config"
	"ocgo/llm"
	"ocgo/provider/fakellm"
)

var compatWire = wireCases[2]

// chatBody is a Chat Completions request as the fake server received it.
type chatBody struct {
	Model               string   `json:"model"`
	MaxTokens           *int64   `json:"max_tokens"`
	MaxCompletionTokens *int64   `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	Stream              bool     `json:"stream"`
	StreamOptions       struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role             string          `json:"role"`
		Content          json.RawMessage `json:"content"`
		ToolCallID       string          `json:"tool_call_id"`
		ReasoningContent *string         `json:"reasoning_content"`
		ToolCalls        []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools      []map[string]any `json:"tools"`
	ToolChoice json.RawMessage  `json:"tool_choice"`
}

func decodeChat(t *testing.T, r fakellm.Request) chatBody {
	t.Helper()
	if r.Rejected != "" {
		t.Fatalf("the fake refused the request: %s", r.Rejected)
	}
	var b chatBody
	if err := json.Unmarshal(r.Raw, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChatRequest checks the request built from a prompt with every part
// kind, as an OpenAI-compatible server received it.
func TestChatRequest(t *testing.T) {
	s, res, _ := setup(t, compatWire, fakellm.Turn{Text: []string{"ok"}})
	png, wav := []byte("\x89PNG fake"), []byte("RIFF fake")
	maxOut, temp := int64(1000), 0.2
	call := llm.Call{
		MaxOutputTokens: &maxOut,
		Temperature:     &temp,
		Prompt: llm.Prompt{
			llm.NewSystemMessage("system one", "  "), // the blank text is dropped
			llm.NewSystemMessage("system two"),
			{Role: llm.MessageRoleUser, Content: []llm.MessagePart{
				llm.TextPart{Text: "look"},
				llm.FilePart{Filename: "shot.png", MediaType: "image/png", Data: png},
				llm.FilePart{Filename: "spec.pdf", MediaType: "application/pdf", Data: []byte("%PDF")},
				llm.FilePart{MediaType: "audio/wav", Data: wav},
				llm.FilePart{MediaType: "text/plain", Data: []byte("notes")},
				llm.FilePart{MediaType: "application/zip", Data: []byte("PK")}, // not sent: a warning
			}},
			{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{
				llm.ReasoningPart{Text: "thinking it over", ProviderOptions: llm.ProviderOptions{
					chatMetaKey: &chatReasoning{Field: "reasoning_content"}}},
				// Not sent: Claude's signed thinking, reasoning that came in
				// another field, reasoning of unknown origin.
				llm.ReasoningPart{Text: "Claude's", ProviderOptions: llm.ProviderOptions{
					anthropicMetaKey: &anthropicReasoning{Signature: fakellm.Signature}}},
				llm.ReasoningPart{Text: "Groq's", ProviderOptions: llm.ProviderOptions{chatMetaKey: &chatReasoning{Field: "reasoning"}}},
				llm.ReasoningPart{Text: "unknown"},
				llm.TextPart{Text: "running "},
				llm.ToolCallPart{ToolCallID: "call_1", ToolName: "bash", Input: `{"command":"ls"}`},
				llm.TextPart{Text: "both"},
				llm.ToolCallPart{ToolCallID: "call_2", ToolName: "read", Input: `{"filePath":"a"}`},
				llm.ToolCallPart{ToolCallID: "call_3", ToolName: "screenshot", Input: ``},
			}},
			{Role: llm.MessageRoleTool, Content: []llm.MessagePart{
				llm.ToolResultPart{ToolCallID: "call_1", Output: llm.ToolResultOutputContentText{Text: "a.go"}},
				llm.ToolResultPart{ToolCallID: "call_3", Output: llm.ToolResultOutputContentText{Text: "shot taken"}},
				llm.ToolResultPart{ToolCallID: "call_2", Output: llm.ToolResultOutputContentError{Error: errors.New("no such file")}},
			}},
			llm.NewUserMessage("and now?"),
		},
		Tools: []llm.FunctionTool{{Name: "bash", Description: "run a command", InputSchema: map[string]any{
			"type": "object", "properties": map[string]any{"command": map[string]any{"type": "string"}},
		}}},
	}
	auto := llm.ToolChoiceAuto
	call.ToolChoice = &auto
	parts := collect(t, context.Background(), res.LM, call)
	if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ok" {
		t.Fatalf("text %q: %+v", got, parts)
	}
	warnings := ofType(parts, llm.StreamPartTypeWarnings)
	if len(warnings) != 1 || !strings.Contains(mustJSON(warnings[0].Warnings), "application/zip") {
		t.Errorf("warnings %+v", warnings)
	}
	req := s.Requests()[0]
	if req.Path != "/v1/chat/completions" {
		t.Errorf("path %s", req.Path)
	}
	b := decodeChat(t, req)
	if b.Model != compatWire.model || b.MaxTokens == nil || *b.MaxTokens != 1000 || b.MaxCompletionTokens != nil ||
		b.Temperature == nil || *b.Temperature != 0.2 || b.TopP != nil || !b.Stream || !b.StreamOptions.IncludeUsage {
		t.Errorf("settings: %s", req.Raw)
	}
	var roles []string
	for _, m := range b.Messages {
		roles = append(roles, m.Role)
	}
	if want := []string{"system", "system", "user", "assistant", "tool", "tool", "tool", "user"}; !slices.Equal(roles, want) {
		t.Fatalf("roles %v, want %v: %s", roles, want, req.Raw)
	}
	str := func(i int) string {
		var s string
		if err := json.Unmarshal(b.Messages[i].Content, &s); err != nil {
			t.Errorf("message %d content is not a string: %s", i, b.Messages[i].Content)
		}
		return s
	}
	if str(0) != "system one" || str(1) != "system two" || str(7) != "and now?" {
		t.Errorf("system/user texts: %s", req.Raw)
	}
	var user []map[string]any
	if err := json.Unmarshal(b.Messages[2].Content, &user); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"text":"look","type":"text"}`,
		`{"image_url":{"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"},"type":"image_url"}`,
		`{"file":{"file_data":"data:application/pdf;base64,JVBERg==","filename":"spec.pdf"},"type":"file"}`,
		`{"input_audio":{"data":"` + base64.StdEncoding.EncodeToString(wav) + `","format":"wav"},"type":"input_audio"}`,
		`{"text":"notes","type":"text"}`,
	}
	if len(user) != len(want) {
		t.Fatalf("user parts %v", user)
	}
	for i := range want {
		if got := mustJSON(user[i]); got != want[i] {
			t.Errorf("user part %d\n got %s\nwant %s", i, got, want[i])
		}
	}
	a := b.Messages[3]
	if str(3) != "running both" || a.ReasoningContent == nil || *a.ReasoningContent != "thinking it over" || len(a.ToolCalls) != 3 {
		t.Errorf("assistant %s", req.Raw)
	}
	for i, w := range [][3]string{{"call_1", "bash", `{"command":"ls"}`}, {"call_2", "read", `{"filePath":"a"}`}, {"call_3", "screenshot", `{}`}} {
		tc := a.ToolCalls[i]
		if tc.ID != w[0] || tc.Type != "function" || tc.Function.Name != w[1] || tc.Function.Arguments != w[2] {
			t.Errorf("tool call %d %+v", i, tc)
		}
	}
	// The tool messages keep the prompt's order.
	for i, w := range [][2]string{{"call_1", "a.go"}, {"call_3", "shot taken"}, {"call_2", "no such file"}} {
		if m := b.Messages[4+i]; m.ToolCallID != w[0] || str(4+i) != w[1] {
			t.Errorf("tool message %d: %s %s", i, m.ToolCallID, m.Content)
		}
	}
	if len(b.Tools) != 1 || mustJSON(b.Tools[0]) != `{"function":{"description":"run a command","name":"bash","parameters":{"properties":{"command":{"type":"string"}},"type":"object"},"strict":false},"type":"function"}` {
		t.Errorf("tools %s", mustJSON(b.Tools))
	}
	if string(b.ToolChoice) != `"auto"` {
		t.Errorf("tool_choice %s", b.ToolChoice)
	}

	// A named tool choice, and no tool_choice without tools.
	named := llm.ToolChoice("bash")
	s.Push(fakellm.Turn{Text: []string{"ok"}}, fakellm.Turn{Text: []string{"ok"}})
	collect(t, context.Background(), res.LM, llm.Call{Prompt: userCall("x").Prompt, Tools: call.Tools, ToolChoice: &named})
	collect(t, context.Background(), res.LM, llm.Call{Prompt: userCall("x").Prompt, ToolChoice: &auto})
	reqs := s.Requests()
	if got := string(decodeChat(t, reqs[1]).ToolChoice); got != `{"type":"function","function":{"name":"bash"}}` {
		t.Errorf("named tool_choice %s", got)
	}
	if b := decodeChat(t, reqs[2]); b.ToolChoice != nil || b.Tools != nil {
		t.Errorf("tool_choice without tools: %s", reqs[2].Raw)
	}
}

// TestChatReasoningModelsAndOptions: a provider declared with @ai-sdk/openai
// speaks Chat Completions with OpenAI's own fields; a reasoning model gets
// max_completion_tokens and no sampling settings; an OpenAI-compatible
// server gets only reasoning_effort, and the assistant's reasoning back.
func TestChatReasoningModelsAndOptions(t *testing.T) {
	s := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"a"}}, fakellm.Turn{Text: []string{"b"}},
		fakellm.Turn{Text: []string{"c"}})
	reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{
		"gw": {NPM: "@ai-sdk/openai", Options: map[string]any{"baseURL": s.URL, "apiKey": testKey},
			Models: map[string]config.ModelConfig{"gpt-5": {}, "gpt-4.1": {}}},
		"local": compatWire.config(s.URL),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := true
	opts := map[string]any{"reasoningEffort": "high", "textVerbosity": "low", "promptCacheKey": "ses_1", "store": store}
	prompt := llm.Prompt{llm.NewUserMessage("q"),
		{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{llm.ReasoningPart{Text: "earlier thoughts",
			ProviderOptions: llm.ProviderOptions{chatMetaKey: &chatReasoning{Field: "reasoning_content"}}},
			llm.ToolCallPart{ToolCallID: "call_1", ToolName: "ls", Input: "{}"}}},
		{Role: llm.MessageRoleTool, Content: []llm.MessagePart{llm.ToolResultPart{ToolCallID: "call_1",
			Output: llm.ToolResultOutputContentText{Text: "a.go"}}}},
		{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{llm.ReasoningPart{Text: "no tools, not wanted back",
			ProviderOptions: llm.ProviderOptions{chatMetaKey: &chatReasoning{Field: "reasoning_content"}}},
			llm.TextPart{Text: "earlier answer"}}},
		llm.NewUserMessage("more")}
	for _, c := range []struct{ provider, model string }{{"gw", "gpt-5"}, {"gw", "gpt-4.1"}, {"local", compatWire.model}} {
		res, err := reg.Model(context.Background(), c.provider, c.model)
		if err != nil {
			t.Fatal(err)
		}
		maxOut, temp, topP := int64(500), 0.1, 0.9
		call := llm.Call{Prompt: prompt, MaxOutputTokens: &maxOut}
		res.Prepare(&call, Settings{Options: opts})
		call.Temperature, call.TopP = &temp, &topP
		parts := collect(t, context.Background(), res.LM, call)
		if c.model == "gpt-5" {
			w := ofType(parts, llm.StreamPartTypeWarnings)
			if len(w) != 1 || len(w[0].Warnings) != 2 {
				t.Errorf("gpt-5 warnings %+v", w)
			}
		}
	}
	reqs := s.Requests()
	field := func(i int, k string) string {
		v, ok := reqs[i].Body[k]
		if !ok {
			return "–"
		}
		return mustJSON(v)
	}
	for i, want := range []map[string]string{
		{"max_completion_tokens": "500", "max_tokens": "–", "temperature": "–", "top_p": "–",
			"reasoning_effort": `"high"`, "verbosity": `"low"`, "prompt_cache_key": `"ses_1"`, "store": "true"},
		{"max_completion_tokens": "–", "max_tokens": "500", "temperature": "0.1", "top_p": "0.9",
			"reasoning_effort": `"high"`, "verbosity": `"low"`, "prompt_cache_key": `"ses_1"`, "store": "true"},
		{"max_completion_tokens": "–", "max_tokens": "500", "temperature": "0.1", "top_p": "0.9",
			"reasoning_effort": `"high"`, "verbosity": "–", "prompt_cache_key": "–", "store": "–"},
	} {
		for k, v := range want {
			if got := field(i, k); got != v {
				t.Errorf("request %d (%s): %s = %s, want %s", i, reqs[i].Body["model"], k, got, v)
			}
		}
		// A tool-calling step's reasoning goes back to compatible servers
		// only; a step without tool calls keeps its reasoning.
		if got := strings.Contains(string(reqs[i].Raw), `"reasoning_content":"earlier thoughts"`); got != (i == 2) {
			t.Errorf("request %d reasoning_content sent: %v: %s", i, got, reqs[i].Raw)
		}
		if strings.Contains(string(reqs[i].Raw), "not wanted back") {
			t.Errorf("request %d: reasoning of a step without tool calls sent: %s", i, reqs[i].Raw)
		}
	}
}

// TestChatStreamParts pins the part sequence the session relies on, for
// reasoning in either field servers use and for tool calls told apart by
// index or, when a server numbers them all 0, by id.
func TestChatStreamParts(t *testing.T) {
	for _, c := range []struct {
		name          string
		field         string
		sameToolIndex bool
	}{{"reasoning_content", "", false}, {"openrouter reasoning", "reasoning", false}, {"tool calls all at index 0", "", true}} {
		t.Run(c.name, func(t *testing.T) {
			_, res, _ := setup(t, compatWire, fakellm.Turn{
				Reasoning: []string{"think", "ing"}, Text: []string{"Hi"},
				ToolCalls: []fakellm.ToolCall{
					{ID: "call_a", Name: "read", Args: `{"filePath":"a.go","offset":1}`},
					{ID: "call_b", Name: "bash", Args: `{"command":"go test ./..."}`},
				},
				Usage:          fakellm.Usage{Input: 10, Output: 40, CacheRead: 6, Reasoning: 30},
				ReasoningField: c.field, SameToolIndex: c.sameToolIndex,
			})
			parts := collect(t, context.Background(), res.LM, userCall("go"))
			var got []string
			for _, p := range parts {
				got = append(got, string(p.Type)+":"+p.ID)
			}
			want := []string{
				"reasoning_start:0", "reasoning_delta:0", "reasoning_end:0",
				"text_start:0", "text_delta:0", "text_end:0",
				"tool_input_start:call_a", "tool_input_start:call_b",
				"tool_call:call_a", "tool_call:call_b", "finish:",
			}
			if got = slices.Compact(got); !slices.Equal(got, want) {
				t.Fatalf("parts\n got %v\nwant %v", got, want)
			}
			if r := joined(parts, llm.StreamPartTypeReasoningDelta); r != "thinking" {
				t.Errorf("reasoning %q", r)
			}
			// The field it came in is kept with it, as the session stores it.
			raw, _ := json.Marshal(ofType(parts, llm.StreamPartTypeReasoningEnd)[0].ProviderMetadata)
			if want := `{"openai-compatible":{"field":"` + cmp.Or(c.field, "reasoning_content") + `"}}`; string(raw) != want {
				t.Errorf("reasoning metadata %s, want %s", raw, want)
			}
			tcs := ofType(parts, llm.StreamPartTypeToolCall)
			if tcs[0].ToolCallName != "read" || tcs[0].ToolCallInput != `{"filePath":"a.go","offset":1}` ||
				tcs[1].ToolCallName != "bash" || tcs[1].ToolCallInput != `{"command":"go test ./..."}` {
				t.Errorf("tool calls %+v", tcs)
			}
			f := finish(t, parts)
			if f.FinishReason != llm.FinishReasonToolCalls || f.Usage != (llm.Usage{InputTokens: 10, OutputTokens: 40,
				ReasoningTokens: 30, CacheReadTokens: 6}) {
				t.Errorf("finish %+v", f)
			}
		})
	}
}

func TestChatFinishReasons(t *testing.T) {
	for reason, want := range map[string]llm.FinishReason{"length": llm.FinishReasonLength,
		"content_filter": llm.FinishReasonContentFilter, "stop": llm.FinishReasonStop, "eos": llm.FinishReasonUnknown} {
		_, res, _ := setup(t, compatWire, fakellm.Turn{Text: []string{"cut"}, StopReason: reason})
		if f := finish(t, collect(t, context.Background(), res.LM, userCall("x"))); f.FinishReason != want {
			t.Errorf("%s: finish %q", reason, f.FinishReason)
		}
	}
}

func TestChatWholeAnswer(t *testing.T) {
	_, res, _ := setup(t, compatWire, fakellm.Turn{Reasoning: []string{"r"}, Text: []string{"Fix ", "title"},
		ToolCalls: []fakellm.ToolCall{{ID: "call_1", Name: "ls", Args: `{}`}}, Usage: fakellm.Usage{Input: 7, Output: 3}})
	a := drain(t, res.LM, userCall("x"))
	if a.err != nil || a.text != "Fix title" || a.reasoning != "r" || len(a.calls) != 1 ||
		a.finish.FinishReason != llm.FinishReasonToolCalls || a.finish.Usage.InputTokens != 7 {
		t.Errorf("answer %+v", a)
	}
}

func TestChatErrors(t *testing.T) {
	t.Run("context overflow", func(t *testing.T) {
		_, res, _ := setup(t, compatWire, fakellm.Turn{Status: 400})
		err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
		var pe *llm.ProviderError
		if !IsContextOverflow(err) || !errors.As(err, &pe) || pe.ContextMaxTokens != 128000 || pe.ContextUsedTokens != 130000 {
			t.Fatalf("err %v", err)
		}
		if pe.StatusCode != 400 || pe.ResponseHeaders["x-request-id"] != "req_fake0001" {
			t.Errorf("provider error %+v", pe)
		}
	})
	t.Run("stream error before content is retried", func(t *testing.T) {
		s, res, rec := setup(t, compatWire, fakellm.Turn{StreamError: "The server had an error"}, fakellm.Turn{Text: []string{"ok"}})
		parts := collect(t, context.Background(), res.LM, userCall("x"))
		if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ok" || len(s.Requests()) != 2 || len(rec.got()) != 1 {
			t.Errorf("text %q, %d requests, delays %v", got, len(s.Requests()), rec.got())
		}
	})
	t.Run("stream error after content", func(t *testing.T) {
		_, res, _ := setup(t, compatWire, fakellm.Turn{Text: []string{"par"}, StreamError: "boom"})
		err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Title != "server error" || !pe.TransientError {
			t.Fatalf("err %#v", err)
		}
		if name, data := Classify(err); name != "UnknownError" || data["message"] != "boom" {
			t.Errorf("Classify %s %v", name, data)
		}
	})
	t.Run("clean end without a finish reason", func(t *testing.T) {
		// The connection closed in good order, but the answer was cut
		// short: an incomplete stream, not a finished step.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
		}))
		t.Cleanup(srv.Close)
		wc := compatWire
		wc.newFake = func(fakellm.T, ...fakellm.Turn) *fakellm.Server { return &fakellm.Server{URL: srv.URL + "/v1"} }
		_, res, _ := setup(t, wc)
		parts := collect(t, context.Background(), res.LM, userCall("x"))
		err := lastErr(t, parts)
		if !errors.Is(err, io.ErrUnexpectedEOF) || joined(parts, llm.StreamPartTypeTextDelta) != "par" {
			t.Errorf("err %v, parts %+v", err, parts)
		}
	})
	// Servers that are not OpenAI word their errors their own way.
	for _, c := range []struct{ name, body, message string }{
		{"ollama", `{"error":"model \"qwen3\" not found, try pulling it first"}`, `model "qwen3" not found, try pulling it first`},
		{"google", `[{"error":{"code":404,"message":"Publisher model not found.","status":"NOT_FOUND"}}]`, "Publisher model not found."},
		{"plain", `no such route`, "no such route"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, c.body)
			}))
			t.Cleanup(srv.Close)
			wc := compatWire
			wc.newFake = func(fakellm.T, ...fakellm.Turn) *fakellm.Server { return &fakellm.Server{URL: srv.URL + "/v1"} }
			_, res, _ := setup(t, wc)
			err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
			var pe *llm.ProviderError
			if !errors.As(err, &pe) || pe.StatusCode != 404 || pe.Message != c.message {
				t.Errorf("err %#v", err)
			}
			if name, data := Classify(err); name != "UnknownError" || data["message"] != c.message {
				t.Errorf("Classify %s %v", name, data)
			}
		})
	}
}

// TestChatCopilot: a Copilot login (an oauth entry) sends its access token
// as a Bearer token with the editor headers Copilot's API expects, and a
// configured header wins over them.
func TestChatCopilot(t *testing.T) {
	s := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"hi"}})
	reg, err := NewRegistry(Source{OAuth: fakeOAuth{"github-copilot": "tid=copilot-access"},
		Config: map[string]config.ProviderConfig{"github-copilot": {
			Options: map[string]any{"baseURL": s.URL, "headers": map[string]any{"Editor-Version": "vscode/9.9.9"}},
			Models:  map[string]config.ModelConfig{"gpt-4.1": {}}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Model(context.Background(), "github-copilot", "gpt-4.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := joined(collect(t, context.Background(), res.LM, userCall("x")), llm.StreamPartTypeTextDelta); got != "hi" {
		t.Fatalf("text %q", got)
	}
	h := s.Requests()[0].Header
	if h.Get("Authorization") != "Bearer tid=copilot-access" || h.Get("Editor-Version") != "vscode/9.9.9" ||
		h.Get("Copilot-Integration-Id") != "vscode-chat" || h.Get("User-Agent") != CopilotHeaders["User-Agent"] {
		t.Errorf("headers %v", h)
	}
}

// TestChatMistral: Mistral refuses stream_options and reports usage
// unasked; a step there still gets its usage.
func TestChatMistral(t *testing.T) {
	s := fakellm.NewMistral(t, fakellm.Turn{Text: []string{"Bonjour"}, Usage: fakellm.Usage{Input: 12, Output: 3}})
	reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{
		"mistral": {Options: map[string]any{"baseURL": s.URL, "apiKey": testKey}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Model(context.Background(), "mistral", "devstral-medium-2507")
	if err != nil {
		t.Fatal(err)
	}
	// A history with another server's reasoning (the session switched
	// models): Mistral would refuse reasoning_content.
	call := userCall("salut")
	call.Prompt = append(call.Prompt,
		llm.Message{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{llm.ReasoningPart{Text: "hmm",
			ProviderOptions: llm.ProviderOptions{chatMetaKey: &chatReasoning{Field: "reasoning_content"}}},
			llm.ToolCallPart{ToolCallID: "abcdefghi", ToolName: "ls", Input: "{}"}}},
		llm.Message{Role: llm.MessageRoleTool, Content: []llm.MessagePart{llm.ToolResultPart{ToolCallID: "abcdefghi",
			Output: llm.ToolResultOutputContentText{Text: "a.go"}}}},
		llm.NewUserMessage("et alors ?"))
	parts := collect(t, context.Background(), res.LM, call)
	if got := joined(parts, llm.StreamPartTypeTextDelta); got != "Bonjour" {
		t.Fatalf("text %q: %+v", got, parts)
	}
	if f := finish(t, parts); f.Usage.InputTokens != 12 || f.Usage.OutputTokens != 3 || f.FinishReason != llm.FinishReasonStop {
		t.Errorf("finish %+v", f)
	}
	if r := s.Requests()[0]; r.Rejected != "" || r.Body["stream_options"] != nil {
		t.Errorf("request %s: %s", r.Rejected, r.Raw)
	}
}

// TestChatOpenRouterStreamErrors: OpenRouter sends keep-alive comments, and
// reports a failure after the 200 as a chunk with an error whose code is an
// HTTP status, and finish reason "error". A 5xx there is transient, so
// before any content the step is tried again.
func TestChatOpenRouterStreamErrors(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": OPENROUTER PROCESSING\n\n")
		switch n.Add(1) {
		case 1:
			fmt.Fprint(w, `data: {"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected"},`+
				`"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`+"\n\n")
		case 2:
			fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}`+"\n\n"+
				`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		case 3:
			fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}`+"\n\n"+
				`data: {"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}`+"\n\ndata: [DONE]\n\n")
		}
	}))
	t.Cleanup(srv.Close)
	wc := compatWire
	wc.newFake = func(fakellm.T, ...fakellm.Turn) *fakellm.Server { return &fakellm.Server{URL: srv.URL + "/v1"} }
	_, res, rec := setup(t, wc)
	parts := collect(t, context.Background(), res.LM, userCall("x"))
	if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ok" || n.Load() != 2 || len(rec.got()) != 1 {
		t.Fatalf("text %q after %d requests (delays %v): %+v", got, n.Load(), rec.got(), parts)
	}
	err := lastErr(t, collect(t, context.Background(), res.LM, userCall("x")))
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || !pe.TransientError || !strings.Contains(pe.Message, "ended the answer with an error") {
		t.Errorf("finish_reason error: %v", err)
	}
}

// TestChatGroqGetsNoReasoningBack: Groq refuses reasoning_content on an
// assistant message (400), even reasoning that came from another server.
func TestChatGroqGetsNoReasoningBack(t *testing.T) {
	s := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"ok"}})
	reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{
		"groq": {Options: map[string]any{"baseURL": s.URL, "apiKey": testKey}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Model(context.Background(), "groq", "qwen/qwen3-32b")
	if err != nil {
		t.Fatal(err)
	}
	call := userCall("x")
	call.Prompt = append(call.Prompt,
		llm.Message{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{llm.ReasoningPart{Text: "hmm",
			ProviderOptions: llm.ProviderOptions{chatMetaKey: &chatReasoning{Field: "reasoning_content"}}},
			llm.ToolCallPart{ToolCallID: "call_1", ToolName: "ls", Input: "{}"}}},
		llm.Message{Role: llm.MessageRoleTool, Content: []llm.MessagePart{llm.ToolResultPart{ToolCallID: "call_1",
			Output: llm.ToolResultOutputContentText{Text: "a.go"}}}},
		llm.NewUserMessage("and?"))
	collect(t, context.Background(), res.LM, call)
	if r := s.Requests()[0]; r.Rejected != "" || strings.Contains(string(r.Raw), "reasoning_content") {
		t.Errorf("request %s: %s", r.Rejected, r.Raw)
	}
}
