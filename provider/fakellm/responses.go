package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// NewResponses starts a fake OpenAI Responses API server (POST
// …/v1/responses, streaming SSE of typed events: response.created,
// response.output_item.added/done, response.output_text.delta,
// response.function_call_arguments.delta, response.reasoning_summary_*,
// response.completed or response.incomplete, and "error").
//
// A Turn's Reasoning becomes a reasoning item (id rs_…) before the
// message and function calls. Like the real API it carries
// encrypted_content only when the request asks for it
// (include: ["reasoning.encrypted_content"]), and streams the reasoning
// text as a summary only when the request sets reasoning.summary.
// The server remembers the reasoning items it handed out and refuses (400)
// what the real API refuses when nothing is stored (store=false): a
// reasoning item sent back without its encrypted content or with another
// one, and a function call of a turn that reasoned sent back without that
// turn's reasoning item before it. (The real API accepts a function call
// without its item id and without the reasoning, but then reasons from
// scratch; the fake is stricter so a client that loses reasoning items
// fails.) function_call/function_call_output pairing is checked too.
func NewResponses(t T, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, &responsesProto{}, turns)
}

// NewAzure starts a fake Azure OpenAI resource serving the Responses API
// at …/openai/v1/responses and …/openai/deployments/<name>/responses. Its
// URL is the resource's base, https://<name>.openai.azure.com/openai in
// real life (what options.baseURL of the azure provider takes). Every
// request must carry the header api-key: key (else 401 with Azure's
// body) and no Authorization header; the api-version query parameter is
// recorded with the request's path (Request.Path holds the path, the
// query is in Request.Query).
func NewAzure(t T, key string, turns ...Turn) *Server {
	t.Helper()
	s := newServer(t, &responsesProto{azureKey: key}, turns)
	s.URL = s.RootURL + "/openai"
	return s
}

// responsesProto speaks the Responses API. It keeps the reasoning items it
// issued, as the API's encrypted content lets it recognise its own.
type responsesProto struct {
	azureKey string // "" = OpenAI; else Azure with this api-key

	mu        sync.Mutex
	n         int
	encrypted map[string]string // reasoning item id → its encrypted content
	reasonOf  map[string]string // function call_id → reasoning item id of its turn
	itemOf    map[string]string // function call_id → its fc_ item id
}

func (*responsesProto) path() string { return "/responses" }

func (p *responsesProto) authorize(r *http.Request) (int, []byte, string) {
	if p.azureKey == "" {
		return 0, nil, ""
	}
	if r.Header.Get("api-key") != p.azureKey || r.Header.Get("Authorization") != "" {
		msg := "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
		body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "401", "message": msg}})
		return http.StatusUnauthorized, body, msg
	}
	if !strings.HasPrefix(r.URL.Path, "/openai/v1/") && !strings.HasPrefix(r.URL.Path, "/openai/deployments/") {
		msg := "Resource not found"
		body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "404", "message": msg}})
		return http.StatusNotFound, body, msg
	}
	return 0, nil, ""
}

func (p *responsesProto) writeError(w http.ResponseWriter, r *http.Request, turn Turn) {
	openaiProto{}.writeError(w, r, turn)
}

func responsesErrorBody(msg, param string) []byte {
	body, _ := json.Marshal(map[string]any{
		"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": param, "code": nil},
	})
	return body
}

func (p *responsesProto) validate(req map[string]any) ([]byte, string) {
	if m, _ := req["model"].(string); m == "" {
		msg := "Missing required parameter: 'model'."
		return responsesErrorBody(msg, "model"), msg
	}
	items, ok := req["input"].([]any)
	if !ok {
		msg := "Invalid type for 'input': expected an array of input items."
		return responsesErrorBody(msg, "input"), msg
	}
	store, _ := req["store"].(bool)
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{} // reasoning item ids so far
	var calls []string        // function call ids so far
	var unanswered []string   // function calls without output yet
	for i, raw := range items {
		it, _ := raw.(map[string]any)
		typ, _ := it["type"].(string)
		if typ == "" && it["role"] != nil {
			typ = "message"
		}
		if typ != "function_call_output" && typ != "function_call" && len(unanswered) > 0 {
			msg := "No tool output found for function call " + unanswered[0] + "."
			return responsesErrorBody(msg, "input"), msg
		}
		switch typ {
		case "reasoning":
			id, _ := it["id"].(string)
			enc, _ := it["encrypted_content"].(string)
			want, issued := p.encrypted[id]
			switch {
			case !issued && (enc == "" || store):
				msg := fmt.Sprintf("Item with id '%s' not found.", id)
				return responsesErrorBody(msg, fmt.Sprintf("input[%d]", i)), msg
			case !store && enc == "":
				msg := fmt.Sprintf("Item with id '%s' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.", id)
				return responsesErrorBody(msg, fmt.Sprintf("input[%d]", i)), msg
			case enc != "" && enc != want:
				msg := fmt.Sprintf("The encrypted content for item %s could not be verified.", id)
				return responsesErrorBody(msg, fmt.Sprintf("input[%d].encrypted_content", i)), msg
			}
			seen[id] = true
		case "function_call":
			id, _ := it["call_id"].(string)
			if rs := p.reasonOf[id]; rs != "" && !seen[rs] && !store {
				msg := fmt.Sprintf("Item '%s' of type 'function_call' was provided without its required 'reasoning' item: '%s'.", p.itemOf[id], rs)
				return responsesErrorBody(msg, "input"), msg
			}
			calls = append(calls, id)
			unanswered = append(unanswered, id)
		case "function_call_output":
			id, _ := it["call_id"].(string)
			if !slices.Contains(calls, id) {
				msg := "No tool call found for function call output with call_id " + id + "."
				return responsesErrorBody(msg, fmt.Sprintf("input[%d]", i)), msg
			}
			unanswered = slices.DeleteFunc(unanswered, func(v string) bool { return v == id })
		}
	}
	if len(unanswered) > 0 {
		msg := "No tool output found for function call " + unanswered[0] + "."
		return responsesErrorBody(msg, "input"), msg
	}
	return nil, ""
}

// issue hands out ids for one turn: its reasoning item (with encrypted
// content when asked), message, and function call items.
func (p *responsesProto) issue(turn Turn, withContent bool) (rs, enc, msg string, fc []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.encrypted == nil {
		p.encrypted, p.reasonOf, p.itemOf = map[string]string{}, map[string]string{}, map[string]string{}
	}
	msg = fmt.Sprintf("msg_fake%03d", p.n)
	blocks := turn.blocks()
	hasReasoning := slices.ContainsFunc(blocks, func(b Block) bool { return b.Thinking != nil })
	if hasReasoning {
		rs = fmt.Sprintf("rs_fake%03d", p.n)
		enc = fmt.Sprintf("gAAAAAfake-encrypted-%03d", p.n)
		p.encrypted[rs] = enc
		if !withContent {
			enc = ""
		}
	}
	for i, b := range blocks {
		if b.Tool == nil {
			continue
		}
		id := fmt.Sprintf("fc_fake%03d_%d", p.n, i)
		fc = append(fc, id)
		p.itemOf[b.Tool.ID] = id
		if rs != "" {
			p.reasonOf[b.Tool.ID] = rs
		}
	}
	return rs, enc, msg, fc
}

func (p *responsesProto) writeStream(w *sseWriter, req map[string]any, turn Turn, done <-chan struct{}, r *http.Request) {
	model, _ := req["model"].(string)
	include, _ := req["include"].([]any)
	reasoningOpts, _ := req["reasoning"].(map[string]any)
	summary := reasoningOpts["summary"] != nil
	rs, enc, msgID, fcIDs := p.issue(turn, slices.Contains(include, any("reasoning.encrypted_content")))
	seq := 0
	send := func(typ string, fields map[string]any) {
		fields["type"] = typ
		fields["sequence_number"] = seq
		seq++
		w.event(typ, fields)
	}
	resp := func(status string, output []any, usage any, incomplete any) map[string]any {
		return map[string]any{"id": "resp_fake" + strings.TrimPrefix(msgID, "msg_fake"), "object": "response",
			"created_at": 1735689600, "status": status, "model": model, "output": output, "usage": usage,
			"incomplete_details": incomplete, "error": nil}
	}
	send("response.created", map[string]any{"response": resp("in_progress", []any{}, nil, nil)})
	send("response.in_progress", map[string]any{"response": resp("in_progress", []any{}, nil, nil)})
	var output []any
	idx, fc, fl := 0, 0, &faults{turn: turn, w: w, r: r, done: done}
	for _, b := range turn.blocks() {
		switch {
		case b.Thinking != nil:
			item := map[string]any{"id": rs, "type": "reasoning", "summary": []any{}}
			if enc != "" {
				item["encrypted_content"] = nil // the API sends it when the item is done
			}
			send("response.output_item.added", map[string]any{"output_index": idx, "item": item})
			text := strings.Join(b.Thinking, "")
			done := map[string]any{"id": rs, "type": "reasoning", "summary": []any{}}
			if summary {
				part := map[string]any{"type": "summary_text", "text": ""}
				send("response.reasoning_summary_part.added", map[string]any{"item_id": rs, "output_index": idx, "summary_index": 0, "part": part})
				for _, c := range b.Thinking {
					send("response.reasoning_summary_text.delta", map[string]any{"item_id": rs, "output_index": idx, "summary_index": 0, "delta": c})
				}
				send("response.reasoning_summary_text.done", map[string]any{"item_id": rs, "output_index": idx, "summary_index": 0, "text": text})
				part = map[string]any{"type": "summary_text", "text": text}
				send("response.reasoning_summary_part.done", map[string]any{"item_id": rs, "output_index": idx, "summary_index": 0, "part": part})
				done["summary"] = []any{part}
			}
			if enc != "" {
				done["encrypted_content"] = enc
			}
			send("response.output_item.done", map[string]any{"output_index": idx, "item": done})
			output = append(output, done)
		case b.Tool != nil:
			tc := b.Tool
			item := map[string]any{"id": fcIDs[fc], "type": "function_call", "status": "in_progress", "call_id": tc.ID, "name": tc.Name, "arguments": ""}
			send("response.output_item.added", map[string]any{"output_index": idx, "item": item})
			for _, piece := range splitArgs(tc.Args) {
				send("response.function_call_arguments.delta", map[string]any{"item_id": fcIDs[fc], "output_index": idx, "delta": piece})
			}
			send("response.function_call_arguments.done", map[string]any{"item_id": fcIDs[fc], "output_index": idx, "arguments": tc.Args})
			item = map[string]any{"id": fcIDs[fc], "type": "function_call", "status": "completed", "call_id": tc.ID, "name": tc.Name, "arguments": tc.Args}
			send("response.output_item.done", map[string]any{"output_index": idx, "item": item})
			output = append(output, item)
			fc++
		default:
			text := b.Text
			if b.Start != "" {
				text = append([]string{b.Start}, text...)
			}
			id := fmt.Sprintf("%s_%d", msgID, idx)
			send("response.output_item.added", map[string]any{"output_index": idx, "item": map[string]any{
				"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []any{}}})
			send("response.content_part.added", map[string]any{"item_id": id, "output_index": idx, "content_index": 0,
				"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
			for i, c := range text {
				send("response.output_text.delta", map[string]any{"item_id": id, "output_index": idx, "content_index": 0, "delta": c, "logprobs": []any{}})
				if !fl.afterChunk(i, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"\n\n") {
					return
				}
			}
			if !fl.afterBlock(len(text)) {
				return
			}
			all := strings.Join(text, "")
			send("response.output_text.done", map[string]any{"item_id": id, "output_index": idx, "content_index": 0, "text": all, "logprobs": []any{}})
			part := map[string]any{"type": "output_text", "text": all, "annotations": []any{}}
			send("response.content_part.done", map[string]any{"item_id": id, "output_index": idx, "content_index": 0, "part": part})
			item := map[string]any{"id": id, "type": "message", "status": "completed", "role": "assistant", "content": []any{part}}
			send("response.output_item.done", map[string]any{"output_index": idx, "item": item})
			output = append(output, item)
		}
		idx++
	}
	if !fl.atEnd("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\n\n") {
		return
	}
	if turn.StreamError != "" {
		send("error", map[string]any{"code": "server_error", "message": turn.StreamError, "param": nil})
		return
	}
	usage := map[string]any{
		"input_tokens":          turn.Usage.Input + turn.Usage.CacheRead,
		"input_tokens_details":  map[string]any{"cached_tokens": turn.Usage.CacheRead},
		"output_tokens":         turn.Usage.Output,
		"output_tokens_details": map[string]any{"reasoning_tokens": turn.Usage.Reasoning},
		"total_tokens":          turn.Usage.Input + turn.Usage.CacheRead + turn.Usage.Output,
	}
	switch turn.StopReason {
	case "", "stop", "tool_calls":
		send("response.completed", map[string]any{"response": resp("completed", output, usage, nil)})
	default: // "length", "max_output_tokens", "content_filter"
		reason := turn.StopReason
		if reason == "length" {
			reason = "max_output_tokens"
		}
		send("response.incomplete", map[string]any{"response": resp("incomplete", output, usage, map[string]any{"reason": reason})})
	}
}
