package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"ocgo/llm"
	"ocgo/provider/fakellm"
)

// responsesWire is the openai provider over the Responses API, with a
// reasoning model (gpt-5: developer prompt, reasoning options and items).
var responsesWire = wireCase{name: "openai", newFake: fakellm.NewResponses, provider: "openai", model: "gpt-5",
	config: wireCases[1].config}

// bodyOf returns a request's JSON body re-encoded with sorted keys, for
// comparison with an expected body written by hand.
func bodyOf(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, raw)
	}
	return mustJSON(v)
}

func canonical(t *testing.T, s string) string {
	t.Helper()
	return bodyOf(t, []byte(s))
}

// TestResponsesRequest checks the Responses request built from a prompt
// with every part kind ocgo sends, as the fake server received it: the
// system prompt as a developer message, user text and attachments as
// input content parts, an earlier step's reasoning item (id, summary,
// encrypted content) before its function call, the call's output, the
// tools, the tool choice and the per-call options.
func TestResponsesRequest(t *testing.T) {
	s, res, _ := setup(t, responsesWire,
		fakellm.Turn{Reasoning: []string{"hm"}, ToolCalls: []fakellm.ToolCall{{ID: "call_1", Name: "bash", Args: `{"command":"ls"}`}}},
		fakellm.Turn{Text: []string{"ok"}})
	call := llm.Call{Prompt: llm.Prompt{llm.NewSystemMessage("be brief"), llm.NewUserMessage("list")},
		Tools: []llm.FunctionTool{{Name: "bash", Description: "run a command", InputSchema: map[string]any{
			"type": "object", "properties": map[string]any{"command": map[string]any{"type": "string"}}}}}}
	res.Prepare(&call, Settings{Options: map[string]any{"reasoningEffort": "high", "reasoningSummary": "auto",
		"textVerbosity": "low", "promptCacheKey": "ses_1"}})
	parts := collect(t, context.Background(), res.LM, call)
	var reasoning llm.StreamPart
	for _, p := range parts {
		if p.Type == llm.StreamPartTypeReasoningEnd {
			reasoning = p
		}
	}
	meta, _ := reasoning.ProviderMetadata[responsesMetaKey].(*responsesReasoning)
	if meta == nil || meta.ItemID != "rs_fake001" || meta.EncryptedContent != "gAAAAAfake-encrypted-001" {
		t.Fatalf("reasoning end metadata %+v (parts %+v)", meta, parts)
	}
	tcs := ofType(parts, llm.StreamPartTypeToolCall)
	if len(tcs) != 1 {
		t.Fatalf("tool calls %+v", parts)
	}
	maxTokens := int64(1000)
	call.MaxOutputTokens = &maxTokens
	call.Prompt = append(call.Prompt,
		llm.Message{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{
			llm.ReasoningPart{Text: "hm", ProviderOptions: llm.ProviderOptions{responsesMetaKey: meta}},
			llm.ReasoningPart{Text: "hm again", ProviderOptions: llm.ProviderOptions{responsesMetaKey: meta}}, // sent once
			llm.ReasoningPart{Text: "no item"}, // left out
			llm.TextPart{Text: "running"},
			llm.TextPart{Text: ""}, // left out
			llm.ToolCallPart{ToolCallID: tcs[0].ID, ToolName: tcs[0].ToolCallName, Input: tcs[0].ToolCallInput},
		}},
		llm.Message{Role: llm.MessageRoleTool, Content: []llm.MessagePart{
			llm.ToolResultPart{ToolCallID: "call_1", Output: llm.ToolResultOutputContentError{Error: errors.New("exit 1")}},
		}},
		llm.Message{Role: llm.MessageRoleUser, Content: []llm.MessagePart{
			llm.TextPart{Text: "and these"},
			llm.FilePart{Filename: "a.png", MediaType: "image/png", Data: []byte("PNG")},
			llm.FilePart{Filename: "b.pdf", MediaType: "application/pdf", Data: []byte("%PDF")},
			llm.FilePart{Filename: "c.txt", MediaType: "text/plain", Data: []byte("plain text")},
			llm.FilePart{Filename: "d.zip", MediaType: "application/zip", Data: []byte("PK")}, // a warning
		}})
	name := llm.ToolChoice("bash")
	call.ToolChoice = &name
	parts = collect(t, context.Background(), res.LM, call)
	if w := ofType(parts, llm.StreamPartTypeWarnings); len(w) != 1 || len(w[0].Warnings) != 1 ||
		!strings.Contains(w[0].Warnings[0].Message, "application/zip") {
		t.Errorf("warnings %+v", w)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[1].Rejected != "" {
		t.Fatalf("requests %+v", reqs)
	}
	want := `{"model":"gpt-5","stream":true,"store":false,"max_output_tokens":1000,
	"include":["reasoning.encrypted_content"],
	"reasoning":{"effort":"high","summary":"auto"},
	"text":{"verbosity":"low"},
	"prompt_cache_key":"ses_1",
	"tool_choice":{"type":"function","name":"bash"},
	"tools":[{"type":"function","name":"bash","description":"run a command","strict":false,
		"parameters":{"type":"object","properties":{"command":{"type":"string"}}}}],
	"input":[
		{"role":"developer","content":"be brief"},
		{"role":"user","content":[{"type":"input_text","text":"list"}]},
		{"type":"reasoning","id":"rs_fake001","summary":[{"type":"summary_text","text":"hm"}],"encrypted_content":"gAAAAAfake-encrypted-001"},
		{"role":"assistant","content":"running"},
		{"type":"function_call","call_id":"call_1","name":"bash","arguments":"{\"command\":\"ls\"}"},
		{"type":"function_call_output","call_id":"call_1","output":"exit 1"},
		{"role":"user","content":[
			{"type":"input_text","text":"and these"},
			{"type":"input_image","image_url":"data:image/png;base64,UE5H","detail":"auto"},
			{"type":"input_file","filename":"b.pdf","file_data":"data:application/pdf;base64,JVBERg=="},
			{"type":"input_text","text":"plain text"}]}]}`
	if got := bodyOf(t, reqs[1].Raw); got != canonical(t, want) {
		t.Errorf("request body\n got %s\nwant %s", got, canonical(t, want))
	}
}

// A model that does not reason gets the system prompt as a system
// message and its sampling settings, and no reasoning settings; store
// true is passed on (and then no encrypted reasoning is asked for).
func TestResponsesRequestPlainModel(t *testing.T) {
	s, res, _ := setup(t, wireCases[1], fakellm.Turn{Text: []string{"ok"}})
	temp, topP := 0.5, 0.9
	call := llm.Call{Temperature: &temp, TopP: &topP, Prompt: llm.Prompt{
		llm.NewSystemMessage("sys"),
		llm.NewUserMessage("hi"),
		{Role: llm.MessageRoleAssistant, Content: []llm.MessagePart{
			llm.ToolCallPart{ToolCallID: "call_9", ToolName: "read", Input: `{}`},
		}},
		{Role: llm.MessageRoleTool, Content: []llm.MessagePart{
			llm.ToolResultPart{ToolCallID: "call_9", Output: llm.ToolResultOutputContentText{Text: "a.go"}},
		}},
	}, Tools: []llm.FunctionTool{{Name: "read", InputSchema: map[string]any{"type": "object"}}}}
	res.Prepare(&call, Settings{Temperature: &temp, TopP: &topP, Options: map[string]any{"store": true, "reasoningEffort": "low"}})
	parts := collect(t, context.Background(), res.LM, call)
	finish(t, parts)
	want := `{"model":"gpt-4.1","stream":true,"store":true,"temperature":0.5,"top_p":0.9,"tool_choice":"auto",
	"tools":[{"type":"function","name":"read","description":"","strict":false,"parameters":{"type":"object"}}],
	"input":[
		{"role":"system","content":"sys"},
		{"role":"user","content":[{"type":"input_text","text":"hi"}]},
		{"type":"function_call","call_id":"call_9","name":"read","arguments":"{}"},
		{"type":"function_call_output","call_id":"call_9","output":"a.go"}]}`
	if reqs := s.Requests(); len(reqs) != 1 || bodyOf(t, reqs[0].Raw) != canonical(t, want) {
		t.Errorf("request body\n got %s\nwant %s", bodyOf(t, reqs[0].Raw), canonical(t, want))
	}
}

// TestResponsesStreamEnds: how a Responses stream ends maps onto the
// finish reason and usage (incomplete for the output limit), and a
// reasoning summary streams as reasoning text.
func TestResponsesStreamEnds(t *testing.T) {
	_, res, _ := setup(t, responsesWire, fakellm.Turn{Reasoning: []string{"a", "b"}, Text: []string{"cut"}, StopReason: "length",
		Usage: fakellm.Usage{Input: 10, Output: 50, Reasoning: 40, CacheRead: 5}})
	call := userCall("q")
	res.Prepare(&call, Settings{Options: map[string]any{"reasoningSummary": "detailed"}})
	parts := collect(t, context.Background(), res.LM, call)
	if got := joined(parts, llm.StreamPartTypeReasoningDelta); got != "ab" {
		t.Errorf("reasoning %q", got)
	}
	f := finish(t, parts)
	if f.FinishReason != llm.FinishReasonLength {
		t.Errorf("finish %q", f.FinishReason)
	}
	if u := f.Usage; u.InputTokens != 10 || u.CacheReadTokens != 5 || u.OutputTokens != 50 || u.ReasoningTokens != 40 {
		t.Errorf("usage %+v", u)
	}
	// The ids: text and reasoning parts carry their output item's id.
	if s := ofType(parts, llm.StreamPartTypeTextStart); len(s) != 1 || !strings.HasPrefix(s[0].ID, "msg_") {
		t.Errorf("text start %+v", s)
	}
	if s := ofType(parts, llm.StreamPartTypeReasoningStart); len(s) != 1 || s[0].ID != "rs_fake001" {
		t.Errorf("reasoning start %+v", s)
	}
}

// rawResponses serves the SSE bodies given, one per request (the last
// one again once they run out), as a Responses endpoint would.
func rawResponses(t *testing.T, bodies ...string) (*Resolved, *sleepRecorder, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, bodies[min(i, len(bodies)-1)])
	}))
	t.Cleanup(srv.Close)
	wc := responsesWire
	_, res, rec := setup(t, wireCase{name: wc.name, provider: wc.provider, model: wc.model, config: wc.config,
		newFake: func(t fakellm.T, _ ...fakellm.Turn) *fakellm.Server { return &fakellm.Server{URL: srv.URL + "/v1"} }})
	return res, rec, &n
}

func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		var head struct{ Type string }
		_ = json.Unmarshal([]byte(e), &head)
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", head.Type, e)
	}
	return b.String()
}

const completed = `{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":3,"output_tokens":2}}}`

// TestResponsesStreamEvents covers the events the fake server does not
// send: a summary in several parts, a content filter, response.failed, the
// error event (transient or not) and an error object in a data frame.
func TestResponsesStreamEvents(t *testing.T) {
	t.Run("summary-paragraphs", func(t *testing.T) {
		res, _, _ := rawResponses(t, sse(
			`{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1"}}`,
			`{"type":"response.reasoning_summary_part.added","item_id":"rs_1","summary_index":0}`,
			`{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","delta":"one"}`,
			`{"type":"response.reasoning_summary_part.added","item_id":"rs_1","summary_index":1}`,
			`{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","delta":"two"}`,
			`{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_1","encrypted_content":"enc"}}`,
			`{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"ls"}}`,
			`{"type":"response.function_call_arguments.delta","output_index":1,"item_id":"fc_1","delta":"{\"a\""}`,
			`{"type":"response.function_call_arguments.delta","output_index":1,"item_id":"fc_1","delta":":1}"}`,
			`{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"ls","arguments":"{\"a\":1}"}}`,
			`{"type":"response.output_item.added","output_index":2,"item":{"type":"function_call","id":"fc_2","call_id":"call_2","name":"pwd"}}`,
			`{"type":"response.output_item.done","output_index":2,"item":{"type":"function_call","id":"fc_2","call_id":"call_2","name":"pwd","arguments":""}}`,
			completed))
		parts := collect(t, context.Background(), res.LM, userCall("q"))
		if got := joined(parts, llm.StreamPartTypeReasoningDelta); got != "one\n\ntwo" {
			t.Errorf("reasoning %q", got)
		}
		end := ofType(parts, llm.StreamPartTypeReasoningEnd)
		if meta, _ := end[0].ProviderMetadata[responsesMetaKey].(*responsesReasoning); meta == nil || meta.ItemID != "rs_1" || meta.EncryptedContent != "enc" {
			t.Errorf("reasoning end %+v", end)
		}
		tcs := ofType(parts, llm.StreamPartTypeToolCall)
		if len(tcs) != 2 || tcs[0].ToolCallInput != `{"a":1}` || tcs[1].ID != "call_2" || tcs[1].ToolCallName != "pwd" || tcs[1].ToolCallInput != "{}" {
			t.Errorf("tool calls %+v", tcs)
		}
		if starts := ofType(parts, llm.StreamPartTypeToolInputStart); len(starts) != 2 || starts[0].ID != "call_1" || starts[1].ToolCallName != "pwd" {
			t.Errorf("tool input starts %+v", starts)
		}
		if f := finish(t, parts); f.FinishReason != llm.FinishReasonToolCalls || f.Usage.InputTokens != 3 || f.Usage.OutputTokens != 2 {
			t.Errorf("finish %+v", f)
		}
	})
	t.Run("content-filter", func(t *testing.T) {
		res, _, _ := rawResponses(t, sse(`{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"content_filter"}}}`))
		if f := finish(t, collect(t, context.Background(), res.LM, userCall("q"))); f.FinishReason != llm.FinishReasonContentFilter {
			t.Errorf("finish %q", f.FinishReason)
		}
	})
	for _, c := range []struct {
		name, body, msg string
		requests        int32
	}{
		{"failed", sse(`{"type":"response.failed","response":{"status":"failed","error":{"code":"invalid_prompt","message":"prompt flagged"}}}`), "prompt flagged", 1},
		{"failed-server-error", sse(`{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"try later"}}}`), "try later", 3},
		{"error-event", sse(`{"type":"error","code":"invalid_request_error","message":"bad thing","param":null}`), "bad thing", 1},
		{"error-event-rate-limit", sse(`{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null}`), "slow down", 3},
		{"error-object", "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", "overloaded", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, rec, n := rawResponses(t, c.body)
			err := lastErr(t, collect(t, context.Background(), res.LM, userCall("q")))
			if name, data := Classify(err); name != "UnknownError" || data["message"] != c.msg {
				t.Errorf("Classify %s %v", name, data)
			}
			if n.Load() != c.requests || len(rec.got()) != int(c.requests)-1 {
				t.Errorf("requests %d, retries %v; want %d requests", n.Load(), rec.got(), c.requests)
			}
		})
	}
	t.Run("failed-context-overflow", func(t *testing.T) {
		// The Responses stream says so in words no pattern reads: the
		// code alone must trigger compaction.
		res, _, n := rawResponses(t, sse(`{"type":"response.failed","response":{"status":"failed","error":{"code":"context_length_exceeded",`+
			`"message":"Your input exceeds the context window of this model. Please adjust your input and try again."}}}`))
		err := lastErr(t, collect(t, context.Background(), res.LM, userCall("q")))
		if !IsContextOverflow(err) || n.Load() != 1 {
			t.Errorf("err %v after %d requests", err, n.Load())
		}
	})
	t.Run("retried-then-ok", func(t *testing.T) {
		res, _, n := rawResponses(t, sse(`{"type":"error","code":"server_error","message":"oops"}`),
			sse(`{"type":"response.output_item.added","output_index":0,"item":{"type":"message","id":"msg_1"}}`,
				`{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"delta":"fine"}`,
				`{"type":"response.output_item.done","output_index":0,"item":{"type":"message","id":"msg_1"}}`, completed))
		parts := collect(t, context.Background(), res.LM, userCall("q"))
		if got := joined(parts, llm.StreamPartTypeTextDelta); got != "fine" || n.Load() != 2 {
			t.Errorf("text %q after %d requests", got, n.Load())
		}
		if s := ofType(parts, llm.StreamPartTypeTextEnd); len(s) != 1 || s[0].ID != "msg_1" {
			t.Errorf("text end %+v", s)
		}
	})
}

// TestResponsesHTTPErrors: an error answer keeps the status, the body's
// message, the response headers (Retry-After for the retry policy) and
// a context overflow's numbers.
func TestResponsesHTTPErrors(t *testing.T) {
	_, res, _ := setup(t, responsesWire, fakellm.Turn{Status: 400})
	err := lastErr(t, collect(t, context.Background(), res.LM, userCall("q")))
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.StatusCode != 400 || !pe.IsContextTooLarge() || pe.ContextMaxTokens != 128000 || pe.ContextUsedTokens != 130000 {
		t.Fatalf("err %#v", err)
	}
	if pe.ResponseHeaders["x-request-id"] != "req_fake0001" {
		t.Errorf("headers %v", pe.ResponseHeaders)
	}
	if !IsContextOverflow(err) {
		t.Errorf("not a context overflow")
	}
}
