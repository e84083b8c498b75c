package provider

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/llm"

	"ocgo/config"
	"ocgo/provider/fakellm"
)

const testKey = "sk-test-0123456789abcdef"

// sleepRecorder is an injectable RetryPolicy.Sleep that records the delays
// instead of waiting.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// wireCase describes one wire protocol under test.
type wireCase struct {
	name     string
	newFake  func(fakellm.T, ...fakellm.Turn) *fakellm.Server
	provider string
	model    string
	config   func(url string) config.ProviderConfig
}

var wireCases = []wireCase{
	{
		name: "anthropic", newFake: fakellm.NewAnthropic, provider: "anthropic", model: "claude-sonnet-4-20250514",
		config: func(url string) config.ProviderConfig {
			return config.ProviderConfig{Options: map[string]any{"baseURL": url, "apiKey": testKey}}
		},
	},
	{
		name: "openai", newFake: fakellm.NewResponses, provider: "openai", model: "gpt-4.1",
		config: func(url string) config.ProviderConfig {
			return config.ProviderConfig{Options: map[string]any{"baseURL": url, "apiKey": testKey}}
		},
	},
	{
		name: "openai-compatible", newFake: fakellm.NewOpenAI, provider: "local", model: "qwen3",
		config: func(url string) config.ProviderConfig {
			return config.ProviderConfig{NPM: "@ai-sdk/openai-compatible", Name: "Local",
				Options: map[string]any{"baseURL": url, "apiKey": testKey},
				Models:  map[string]config.ModelConfig{"qwen3": {Name: "Qwen 3"}}}
		},
	},
}

func setup(t *testing.T, wc wireCase, turns ...fakellm.Turn) (*fakellm.Server, *Resolved, *sleepRecorder) {
	t.Helper()
	s := wc.newFake(t, turns...)
	rec := &sleepRecorder{}
	pol := RetryPolicy{MaxRetries: 2, InitialDelay: 100 * time.Millisecond, Factor: 2, MaxDelay: 5 * time.Second, Sleep: rec.sleep}
	reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{wc.provider: wc.config(s.URL)}, Retry: &pol}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Model(context.Background(), wc.provider, wc.model)
	if err != nil {
		t.Fatal(err)
	}
	return s, res, rec
}

func userCall(text string) llm.Call {
	return llm.Call{Prompt: llm.Prompt{
		llm.NewSystemMessage("you are a test"),
		llm.NewUserMessage(text),
	}}
}

func collect(t *testing.T, ctx context.Context, lm llm.LanguageModel, call llm.Call) []llm.StreamPart {
	t.Helper()
	stream, err := lm.Stream(ctx, call)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var parts []llm.StreamPart
	for p := range stream {
		parts = append(parts, p)
	}
	return parts
}

// answer is a drained stream: its text, reasoning, tool calls and finish
// part, or the error it ended with.
type answer struct {
	text, reasoning string
	calls           []llm.StreamPart
	finish          llm.StreamPart
	err             error
}

// drain reads lm's whole answer to call.
func drain(t *testing.T, lm llm.LanguageModel, call llm.Call) answer {
	t.Helper()
	parts := collect(t, context.Background(), lm, call)
	a := answer{text: joined(parts, llm.StreamPartTypeTextDelta), reasoning: joined(parts, llm.StreamPartTypeReasoningDelta),
		calls: ofType(parts, llm.StreamPartTypeToolCall)}
	if f := ofType(parts, llm.StreamPartTypeFinish); len(f) == 1 {
		a.finish = f[0]
	}
	if e := ofType(parts, llm.StreamPartTypeError); len(e) > 0 {
		a.err = e[len(e)-1].Error
	}
	return a
}

func joined(parts []llm.StreamPart, typ llm.StreamPartType) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Type == typ {
			b.WriteString(p.Delta)
		}
	}
	return b.String()
}

func ofType(parts []llm.StreamPart, typ llm.StreamPartType) []llm.StreamPart {
	var out []llm.StreamPart
	for _, p := range parts {
		if p.Type == typ {
			out = append(out, p)
		}
	}
	return out
}

func lastErr(t *testing.T, parts []llm.StreamPart) error {
	t.Helper()
	errs := ofType(parts, llm.StreamPartTypeError)
	if len(errs) != 1 || parts[len(parts)-1].Type != llm.StreamPartTypeError {
		t.Fatalf("want exactly one trailing error part, got %+v", parts)
	}
	return errs[0].Error
}

func finish(t *testing.T, parts []llm.StreamPart) llm.StreamPart {
	t.Helper()
	f := ofType(parts, llm.StreamPartTypeFinish)
	if len(f) != 1 {
		t.Fatalf("want one finish part, got %+v", parts)
	}
	return f[0]
}

func TestStreamText(t *testing.T) {
	for _, wc := range wireCases {
		t.Run(wc.name, func(t *testing.T) {
			s, res, _ := setup(t, wc, fakellm.Turn{Text: []string{"Hello", ", ", "world"},
				Usage: fakellm.Usage{Input: 120, Output: 7, CacheRead: 30}})
			parts := collect(t, context.Background(), res.LM, userCall("hi"))
			if got := joined(parts, llm.StreamPartTypeTextDelta); got != "Hello, world" {
				t.Fatalf("text = %q", got)
			}
			f := finish(t, parts)
			if f.FinishReason != llm.FinishReasonStop {
				t.Errorf("finish reason %q", f.FinishReason)
			}
			if f.Usage.InputTokens != 120 || f.Usage.OutputTokens != 7 || f.Usage.CacheReadTokens != 30 {
				t.Errorf("usage %+v", f.Usage)
			}
			reqs := s.Requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d", len(reqs))
			}
			if reqs[0].Body["model"] != wc.model || reqs[0].Body["stream"] != true {
				t.Errorf("body model/stream: %v %v", reqs[0].Body["model"], reqs[0].Body["stream"])
			}
			if !strings.Contains(string(reqs[0].Raw), "you are a test") {
				t.Errorf("system prompt not sent: %s", reqs[0].Raw)
			}
			auth := reqs[0].Header.Get("X-Api-Key") + reqs[0].Header.Get("Authorization")
			if !strings.Contains(auth, testKey) {
				t.Errorf("key not sent, headers %v", reqs[0].Header)
			}
		})
	}
}

func TestStreamReasoning(t *testing.T) {
	for _, wc := range wireCases {
		if wc.name == "openai" { // OpenAI's Chat Completions API does not stream reasoning text
			continue
		}
		t.Run(wc.name, func(t *testing.T) {
			_, res, _ := setup(t, wc, fakellm.Turn{Reasoning: []string{"Let me ", "think."}, Text: []string{"42"},
				Usage: fakellm.Usage{Input: 5, Output: 9}})
			parts := collect(t, context.Background(), res.LM, userCall("q"))
			if got := joined(parts, llm.StreamPartTypeReasoningDelta); got != "Let me think." {
				t.Fatalf("reasoning = %q (%+v)", got, parts)
			}
			if len(ofType(parts, llm.StreamPartTypeReasoningStart)) != 1 || len(ofType(parts, llm.StreamPartTypeReasoningEnd)) != 1 {
				t.Errorf("want one reasoning start/end: %+v", parts)
			}
			if got := joined(parts, llm.StreamPartTypeTextDelta); got != "42" {
				t.Errorf("text = %q", got)
			}
			finish(t, parts)
		})
	}
}

func TestStreamToolCalls(t *testing.T) {
	calls := []fakellm.ToolCall{
		{ID: "call_1", Name: "bash", Args: `{"command":"echo hi","description":"echo"}`},
		{ID: "call_2", Name: "read", Args: `{"filePath":"/tmp/x.go"}`},
	}
	for _, wc := range wireCases {
		for _, n := range []int{1, 2} {
			t.Run(wc.name+"/"+string(rune('0'+n)), func(t *testing.T) {
				s, res, _ := setup(t, wc,
					fakellm.Turn{Text: []string{"Running."}, ToolCalls: calls[:n], Usage: fakellm.Usage{Input: 50, Output: 20}},
					fakellm.Turn{Text: []string{"done"}, Usage: fakellm.Usage{Input: 80, Output: 1}},
				)
				call := userCall("run it")
				parts := collect(t, context.Background(), res.LM, call)
				tcs := ofType(parts, llm.StreamPartTypeToolCall)
				if len(tcs) != n {
					t.Fatalf("tool calls = %d: %+v", len(tcs), parts)
				}
				for i, tc := range tcs {
					if tc.ID != calls[i].ID || tc.ToolCallName != calls[i].Name {
						t.Errorf("call %d = %s %s", i, tc.ID, tc.ToolCallName)
					}
					var got, want any
					_ = json.Unmarshal([]byte(tc.ToolCallInput), &got)
					_ = json.Unmarshal([]byte(calls[i].Args), &want)
					if gb, _ := json.Marshal(got); string(gb) != mustJSON(want) {
						t.Errorf("args %d = %s", i, tc.ToolCallInput)
					}
				}
				if len(ofType(parts, llm.StreamPartTypeToolInputStart)) != n {
					t.Errorf("tool input starts: %+v", parts)
				}
				if f := finish(t, parts); f.FinishReason != llm.FinishReasonToolCalls {
					t.Errorf("finish = %q", f.FinishReason)
				}

				// Second step: send the assistant turn and the tool results back.
				assistant := llm.Message{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{llm.TextPart{Text: "Running."}}}
				results := llm.Message{Role: llm.MessageRoleTool}
				for _, tc := range tcs {
					assistant.Content = append(assistant.Content, llm.ToolCallPart{ToolCallID: tc.ID, ToolName: tc.ToolCallName, Input: tc.ToolCallInput})
					results.Content = append(results.Content, llm.ToolResultPart{ToolCallID: tc.ID,
						Output: llm.ToolResultOutputContentText{Text: "output of " + tc.ID}})
				}
				call.Prompt = append(call.Prompt, assistant, results)
				parts = collect(t, context.Background(), res.LM, call)
				if got := joined(parts, llm.StreamPartTypeTextDelta); got != "done" {
					t.Fatalf("second step text %q", got)
				}
				reqs := s.Requests()
				if len(reqs) != 2 {
					t.Fatalf("requests = %d", len(reqs))
				}
				raw := string(reqs[1].Raw)
				for _, tc := range tcs {
					if !strings.Contains(raw, "output of "+tc.ID) {
						t.Errorf("tool result %s not sent: %s", tc.ID, raw)
					}
				}
				wantMarker := `"role":"tool"`
				switch wc.name {
				case "anthropic":
					wantMarker = `"type":"tool_result"`
				case "openai":
					wantMarker = `"type":"function_call_output"`
				}
				if !strings.Contains(raw, wantMarker) {
					t.Errorf("request lacks %s: %s", wantMarker, raw)
				}
			})
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStreamErrors(t *testing.T) {
	for _, wc := range wireCases {
		t.Run(wc.name+"/401", func(t *testing.T) {
			s, res, rec := setup(t, wc, fakellm.Turn{Status: 401})
			err := lastErr(t, collect(t, context.Background(), res.LM, userCall("hi")))
			name, data := Classify(err)
			if name != "ProviderAuthError" || data["providerID"] != wc.provider {
				t.Fatalf("Classify = %s %v", name, data)
			}
			msg, _ := data["message"].(string)
			if msg == "" || strings.Contains(msg, testKey) || strings.Contains(msg, testKey[len(testKey)-4:]) {
				t.Errorf("bad message %q", msg)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("key in error text")
			}
			if n := len(s.Requests()); n != 1 || len(rec.got()) != 0 {
				t.Errorf("401 must not be retried: %d requests", n)
			}
		})
		t.Run(wc.name+"/429-then-success", func(t *testing.T) {
			s, res, rec := setup(t, wc, fakellm.Turn{Status: 429, RetryAfter: "2"}, fakellm.Turn{Text: []string{"ok"}})
			parts := collect(t, context.Background(), res.LM, userCall("hi"))
			if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ok" {
				t.Fatalf("text %q parts %+v", got, parts)
			}
			if len(ofType(parts, llm.StreamPartTypeError)) != 0 {
				t.Errorf("error part leaked")
			}
			if d := rec.got(); len(d) != 1 || d[0] != 2*time.Second {
				t.Errorf("delays = %v, want [2s] from Retry-After", d)
			}
			if n := len(s.Requests()); n != 2 {
				t.Errorf("requests = %d", n)
			}
		})
		t.Run(wc.name+"/500", func(t *testing.T) {
			s, res, rec := setup(t, wc, fakellm.Turn{Status: 500}, fakellm.Turn{Status: 500}, fakellm.Turn{Status: 500})
			err := lastErr(t, collect(t, context.Background(), res.LM, userCall("hi")))
			if name, data := Classify(err); name != "UnknownError" || data["message"] == "" {
				t.Errorf("Classify = %s %v", name, data)
			}
			if n := len(s.Requests()); n != 3 {
				t.Errorf("requests = %d, want 3 (1 + 2 retries)", n)
			}
			if d := rec.got(); len(d) != 2 || d[0] != 100*time.Millisecond || d[1] != 200*time.Millisecond {
				t.Errorf("backoff = %v", d)
			}
		})
		t.Run(wc.name+"/malformed", func(t *testing.T) {
			s, res, _ := setup(t, wc, fakellm.Turn{Text: []string{"par", "tial"}, Malformed: true})
			parts := collect(t, context.Background(), res.LM, userCall("hi"))
			err := lastErr(t, parts)
			if got := joined(parts, llm.StreamPartTypeTextDelta); got != "par" {
				t.Errorf("text before the broken frame = %q", got)
			}
			if name, _ := Classify(err); name != "UnknownError" {
				t.Errorf("Classify = %s", name)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("requests = %d (no retry after output started)", n)
			}
		})
		t.Run(wc.name+"/close-mid-stream", func(t *testing.T) {
			// Dropped before any content: retried. Dropped after content: error.
			s, res, _ := setup(t, wc, fakellm.Turn{CloseMidStream: true}, fakellm.Turn{Text: []string{"a", "b"}, CloseMidStream: true})
			parts := collect(t, context.Background(), res.LM, userCall("hi"))
			err := lastErr(t, parts)
			if got := joined(parts, llm.StreamPartTypeTextDelta); got != "ab" {
				t.Errorf("text = %q", got)
			}
			if n := len(s.Requests()); n != 2 {
				t.Errorf("requests = %d", n)
			}
			if name, _ := Classify(err); name != "UnknownError" {
				t.Errorf("Classify = %s", name)
			}
		})
		t.Run(wc.name+"/abort", func(t *testing.T) {
			_, res, _ := setup(t, wc, fakellm.Turn{Text: []string{"partial"}, Hang: true})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream, err := res.LM.Stream(ctx, userCall("hi"))
			if err != nil {
				t.Fatal(err)
			}
			var parts []llm.StreamPart
			for p := range stream {
				parts = append(parts, p)
				if p.Type == llm.StreamPartTypeTextDelta {
					cancel()
				}
			}
			err = lastErr(t, parts)
			if name, _ := Classify(err); name != "MessageAbortedError" {
				t.Errorf("Classify(%v) = %s", err, name)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		name string
	}{
		{context.Canceled, "MessageAbortedError"},
		{&providerError{id: "x", err: errors.Join(errors.New("read"), context.Canceled)}, "MessageAbortedError"},
		{ErrOutputLength, "MessageOutputLengthError"},
		{&providerError{id: "anthropic", err: &llm.ProviderError{StatusCode: 403, Message: "forbidden"}}, "ProviderAuthError"},
		{&llm.ProviderError{StatusCode: 400, Message: "Incorrect API key provided: sk-abc123456789. x"}, "UnknownError"},
		{errors.New("boom"), "UnknownError"},
	}
	for _, c := range cases {
		name, data := Classify(c.err)
		if name != c.name {
			t.Errorf("Classify(%v) = %s, want %s", c.err, name, c.name)
		}
		if strings.Contains(mustJSON(data), "sk-abc") {
			t.Errorf("key leaked: %v", data)
		}
	}
	if name, _ := Classify(nil); name != "" {
		t.Errorf("nil error classified as %s", name)
	}
}
