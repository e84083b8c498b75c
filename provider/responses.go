package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"ocgo/llm"
)

// This file is ocgo's own adapter for OpenAI's Responses API (POST
// /responses), which opencode uses for the openai and azure providers. It
// writes the request as the API documents it and reads the typed SSE
// events with sseReader, like the Anthropic adapter (openai-go, whose
// types it used before, added about 7.8 MB to the binary).
//
// fantasy's Responses model leaves reasoning items out of the history it
// sends and reads a reasoning item's encrypted content only from the
// event that opens the item (the API sends it when the item is done), so
// every step of a tool loop would start its reasoning from scratch. This
// adapter keeps each step's reasoning item (its id and encrypted content,
// asked for with include=reasoning.encrypted_content since nothing is
// stored at OpenAI: store=false) and sends it back before the step's
// function calls.

// responsesMetaKey is the provider key of Responses reasoning metadata, the
// AI SDK's ("openai"), so a reasoning part opencode stored replays too.
const responsesMetaKey = "openai"

// responsesReasoning is the metadata of one reasoning item, in the AI
// SDK's shape: {"itemId":"rs_…","reasoningEncryptedContent":"…"}.
type responsesReasoning struct {
	ItemID           string `json:"itemId"`
	EncryptedContent string `json:"reasoningEncryptedContent,omitempty"`
}

// Options implements llm.ProviderOptionsData.
func (*responsesReasoning) Options() {}

// responsesOptionsKey carries responsesCallOptions in a call's
// ProviderOptions (Prepare sets it).
const responsesOptionsKey = "ocgo.responses"

// responsesCallOptions are the per-call settings of the Responses wire.
type responsesCallOptions struct {
	ReasoningEffort  string `json:"reasoning_effort,omitempty"`
	ReasoningSummary string `json:"reasoning_summary,omitempty"`
	TextVerbosity    string `json:"text_verbosity,omitempty"`
	PromptCacheKey   string `json:"prompt_cache_key,omitempty"`
	Store            *bool  `json:"store,omitempty"`
}

// Options implements llm.ProviderOptionsData.
func (*responsesCallOptions) Options() {}

// responsesConfig is what the registry resolved for one model.
type responsesConfig struct {
	providerID, modelID string
	// reasoning: the catalog says the model reasons (o-series, GPT-5):
	// no temperature/top_p, system prompt as a developer message,
	// reasoning settings and items.
	reasoning bool
	baseURL   string // ends before "/responses"; "" is api.openai.com/v1
	apiKey    string // "" sends no key
	// azure sends the key in an api-key header (not as a Bearer token)
	// and adds ?api-version= to every request.
	azure      bool
	apiVersion string
	headers    map[string]string
	client     httpDoer
}

// responsesModel implements llm.LanguageModel over the Responses API.
type responsesModel struct {
	modelNames
	c responsesConfig
}

// newResponsesModel builds the adapter. It reads nothing from the process
// environment (no OPENAI_API_KEY or OPENAI_BASE_URL): a provider only
// ever receives its own key.
func newResponsesModel(c responsesConfig) *responsesModel {
	return &responsesModel{modelNames: modelNames{provider: c.providerID, model: c.modelID}, c: c}
}

// responsesRequest is the body of POST /responses.
type responsesRequest struct {
	Model           string                `json:"model"`
	Input           []any                 `json:"input"` // the responses* item types below
	Stream          bool                  `json:"stream"`
	Store           bool                  `json:"store"`
	MaxOutputTokens *int64                `json:"max_output_tokens,omitempty"`
	Temperature     *float64              `json:"temperature,omitempty"`
	TopP            *float64              `json:"top_p,omitempty"`
	PromptCacheKey  string                `json:"prompt_cache_key,omitempty"`
	Text            *responsesTextOptions `json:"text,omitempty"`
	Reasoning       *responsesReasoningOn `json:"reasoning,omitempty"`
	Include         []string              `json:"include,omitempty"`
	Tools           []responsesTool       `json:"tools,omitempty"`
	ToolChoice      any                   `json:"tool_choice,omitempty"` // "auto", "none", "required" or a responsesToolChoice
}

type responsesTextOptions struct {
	Verbosity string `json:"verbosity"` // low, medium, high
}

type responsesReasoningOn struct {
	Effort  string `json:"effort,omitempty"`  // minimal, low, medium, high
	Summary string `json:"summary,omitempty"` // auto, concise, detailed
}

type responsesTool struct {
	Type        string         `json:"type"` // "function"
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
	Strict      bool           `json:"strict"`
}

type responsesToolChoice struct {
	Type string `json:"type"` // "function"
	Name string `json:"name"`
}

// responsesMessage is a message item (no "type": the API's easy input
// message); Content is a string or a list of input content parts.
type responsesMessage struct {
	Role    string `json:"role"` // system, developer, user, assistant
	Content any    `json:"content"`
}

type responsesInputImage struct {
	Type     string `json:"type"` // "input_image"
	ImageURL string `json:"image_url"`
	Detail   string `json:"detail"`
}

type responsesInputFile struct {
	Type     string `json:"type"` // "input_file"
	Filename string `json:"filename"`
	FileData string `json:"file_data"`
}

// responsesReasoningItem is an earlier step's reasoning, sent back.
// Summary is always present (the API requires the field).
type responsesReasoningItem struct {
	Type             string      `json:"type"` // "reasoning"
	ID               string      `json:"id"`
	Summary          []typedText `json:"summary"`
	EncryptedContent string      `json:"encrypted_content,omitempty"`
}

type responsesFunctionCall struct {
	Type      string `json:"type"` // "function_call"
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type responsesFunctionOutput struct {
	Type   string `json:"type"` // "function_call_output"
	CallID string `json:"call_id"`
	Output string `json:"output"`
}

// params maps a call onto a Responses request.
func (m *responsesModel) params(call llm.Call) (responsesRequest, []llm.CallWarning) {
	o, _ := call.ProviderOptions[responsesOptionsKey].(*responsesCallOptions)
	if o == nil {
		o = &responsesCallOptions{}
	}
	store := o.Store != nil && *o.Store
	input, warnings := m.input(call.Prompt, store)
	p := responsesRequest{Model: m.model, Input: input, Stream: true, Store: store,
		MaxOutputTokens: call.MaxOutputTokens, PromptCacheKey: o.PromptCacheKey}
	if !m.c.reasoning { // reasoning models refuse sampling settings
		p.Temperature, p.TopP = call.Temperature, call.TopP
	}
	if o.TextVerbosity != "" {
		p.Text = &responsesTextOptions{Verbosity: o.TextVerbosity}
	}
	if m.c.reasoning {
		if o.ReasoningEffort != "" || o.ReasoningSummary != "" {
			p.Reasoning = &responsesReasoningOn{Effort: o.ReasoningEffort, Summary: o.ReasoningSummary}
		}
		if !store {
			// Without storage the next step can only send the reasoning
			// back if the API hands out its encrypted form.
			p.Include = []string{"reasoning.encrypted_content"}
		}
	}
	for _, ft := range call.Tools {
		schema := ft.InputSchema
		if schema == nil {
			schema = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		p.Tools = append(p.Tools, responsesTool{Type: "function", Name: ft.Name, Description: ft.Description,
			Parameters: schema})
	}
	if len(p.Tools) > 0 && call.ToolChoice != nil {
		switch c := *call.ToolChoice; c {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			p.ToolChoice = string(c)
		default:
			p.ToolChoice = responsesToolChoice{Type: "function", Name: string(c)}
		}
	}
	return p, warnings
}

// input turns the prompt into input items. A reasoning part with an item
// id becomes a reasoning item right where it was produced, before the
// step's function calls; without storage it must carry its encrypted
// content (the API cannot look the id up), so one without is left out.
func (m *responsesModel) input(prompt llm.Prompt, store bool) ([]any, []llm.CallWarning) {
	in := []any{}
	var warnings []llm.CallWarning
	sent := map[string]bool{} // reasoning item ids already in the input
	for _, msg := range prompt {
		switch msg.Role {
		case llm.MessageRoleSystem:
			var text strings.Builder
			for _, c := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](c); ok {
					text.WriteString(t.Text)
				}
			}
			if text.Len() == 0 {
				continue
			}
			role := "system"
			if m.c.reasoning {
				role = "developer"
			}
			in = append(in, responsesMessage{Role: role, Content: text.String()})
		case llm.MessageRoleUser:
			var parts []any
			for _, c := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](c); ok {
					parts = append(parts, typedText{Type: "input_text", Text: t.Text})
					continue
				}
				f, ok := llm.AsMessagePart[llm.FilePart](c)
				if !ok {
					continue
				}
				if part, ok := responsesFile(f); ok {
					parts = append(parts, part)
				} else {
					warnings = append(warnings, unsupportedFile(f))
				}
			}
			if len(parts) > 0 {
				in = append(in, responsesMessage{Role: "user", Content: parts})
			}
		case llm.MessageRoleAssistant:
			for _, c := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](c); ok && t.Text != "" {
					in = append(in, responsesMessage{Role: "assistant", Content: t.Text})
				} else if r, ok := llm.AsMessagePart[llm.ReasoningPart](c); ok {
					if item, ok := responsesReasoningInput(r, store, sent); ok {
						in = append(in, item)
					}
				} else if tc, ok := llm.AsMessagePart[llm.ToolCallPart](c); ok {
					in = append(in, responsesFunctionCall{Type: "function_call", CallID: tc.ToolCallID, Name: tc.ToolName, Arguments: tc.Input})
				}
			}
		case llm.MessageRoleTool:
			for _, c := range msg.Content {
				r, ok := llm.AsMessagePart[llm.ToolResultPart](c)
				if !ok {
					continue
				}
				in = append(in, responsesFunctionOutput{Type: "function_call_output", CallID: r.ToolCallID, Output: toolResultText(r.Output)})
			}
		}
	}
	return in, warnings
}

// responsesReasoningInput is a reasoning part sent back as its reasoning
// item, once per item id (sent records them). Without storage the item
// must carry its encrypted content: the API cannot look the id up.
func responsesReasoningInput(r llm.ReasoningPart, store bool, sent map[string]bool) (responsesReasoningItem, bool) {
	meta, _ := r.ProviderOptions[responsesMetaKey].(*responsesReasoning)
	if meta == nil || meta.ItemID == "" || sent[meta.ItemID] || (!store && meta.EncryptedContent == "") {
		return responsesReasoningItem{}, false
	}
	sent[meta.ItemID] = true
	item := responsesReasoningItem{Type: "reasoning", ID: meta.ItemID, Summary: []typedText{},
		EncryptedContent: meta.EncryptedContent}
	if r.Text != "" {
		item.Summary = append(item.Summary, typedText{Type: "summary_text", Text: r.Text})
	}
	return item, true
}

// toolResultText is a tool result as the text a function_call_output (or
// a Chat Completions tool message) takes.
func toolResultText(out llm.ToolResultOutputContent) string {
	switch o := out.(type) {
	case llm.ToolResultOutputContentText:
		return o.Text
	case llm.ToolResultOutputContentError:
		if o.Error != nil {
			return o.Error.Error()
		}
	}
	return ""
}

// responsesFile is a user attachment as an input content part: images and
// PDFs as data URLs, text inline.
func responsesFile(f llm.FilePart) (any, bool) {
	dataURL := "data:" + f.MediaType + ";base64," + base64.StdEncoding.EncodeToString(f.Data)
	switch {
	case strings.HasPrefix(f.MediaType, "image/"):
		return responsesInputImage{Type: "input_image", ImageURL: dataURL, Detail: "auto"}, true
	case f.MediaType == "application/pdf":
		return responsesInputFile{Type: "input_file", Filename: cmp.Or(f.Filename, "file.pdf"), FileData: dataURL}, true
	case strings.HasPrefix(f.MediaType, "text/"):
		return typedText{Type: "input_text", Text: string(f.Data)}, true
	}
	return nil, false
}

// responsesEvent is one streamed event; each type fills its fields.
type responsesEvent struct {
	Type   string   `json:"type"`
	ItemID string   `json:"item_id"`
	Delta  string   `json:"delta"`
	Item   struct { // output_item.added and .done
		Type             string `json:"type"` // reasoning, message, function_call
		ID               string `json:"id"`
		CallID           string `json:"call_id"`
		Name             string `json:"name"`
		Arguments        string `json:"arguments"`
		EncryptedContent string `json:"encrypted_content"`
	} `json:"item"`
	Response struct { // response.completed, .incomplete, .failed
		Usage             responsesUsage `json:"usage"`
		IncompleteDetails struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
		Error responsesErrorObject `json:"error"`
	} `json:"response"`
	// The "error" event has code and message at the top; an error
	// object in a data frame (as some servers send it) sits in error.
	Code    jsonText              `json:"code"`
	Message string                `json:"message"`
	Error   *responsesErrorObject `json:"error"`
}

type responsesErrorObject struct {
	Message string   `json:"message"`
	Code    jsonText `json:"code"`
	Type    string   `json:"type"`
}

func (e responsesErrorObject) info() errorInfo {
	return errorInfo{message: e.Message, typ: e.Type, code: string(e.Code)}
}

// jsonText reads a JSON string, number or null as text (error codes come
// as "server_error", "401" or 401).
type jsonText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *jsonText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = jsonText(s)
	} else if string(b) != "null" {
		*t = jsonText(b)
	}
	return nil
}

type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// Stream implements wireModel. Text and reasoning parts carry
// their output item's id, tool calls their call_id; a reasoning item's
// end carries its metadata (id and encrypted content, read from the
// item's done event); a stream that ends without response.completed (or
// .incomplete) is an incomplete-stream error, which retryModel retries.
func (m *responsesModel) Stream(ctx context.Context, call llm.Call) llm.StreamResponse {
	params, warnings := m.params(call)
	resp, err := m.send(ctx, params)
	return sseStream(ctx, resp, err, warnings, func(yield func(llm.StreamPart) bool) wireDecoder {
		return &responsesStream{yield: yield, summaries: map[string]bool{},
			finish: llm.FinishReasonUnknown}
	})
}

// responsesStream turns Responses events into stream parts.
type responsesStream struct {
	yield     func(llm.StreamPart) bool
	summaries map[string]bool // reasoning items whose summary has begun
	usage     llm.Usage
	finish    llm.FinishReason
	done      bool // response.completed or .incomplete came
	hasCalls  bool
}

var _ wireDecoder = (*responsesStream)(nil)

func (s *responsesStream) event(ctx context.Context, raw sseEvent) step {
	if string(raw.data) == "[DONE]" {
		return stepNext
	}
	var ev responsesEvent
	if err := json.Unmarshal(raw.data, &ev); err != nil {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: wireError(ctx, err)})
		return stepStop
	}
	if ev.Type == "error" || ev.Error != nil || raw.name == "error" {
		// The error event (code and message at the top), or an
		// error object in a data frame, as some servers send it.
		e := responsesErrorObject{Message: ev.Message, Code: ev.Code}
		if ev.Error != nil {
			e = *ev.Error
		}
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: streamError(e.info(), raw.data, nil)})
		return stepStop
	}
	var part llm.StreamPart
	switch ev.Type {
	case "response.output_item.added":
		switch ev.Item.Type {
		case "reasoning":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningStart, ID: ev.Item.ID,
				ProviderMetadata: responsesReasoningMeta(ev.Item.ID, ev.Item.EncryptedContent)}
		case "message":
			part = llm.StreamPart{Type: llm.StreamPartTypeTextStart, ID: ev.Item.ID}
		case "function_call":
			part = llm.StreamPart{Type: llm.StreamPartTypeToolInputStart, ID: ev.Item.CallID, ToolCallName: ev.Item.Name}
		}
	case "response.reasoning_summary_part.added":
		if s.summaries[ev.ItemID] { // a new paragraph of the summary
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: ev.ItemID, Delta: "\n\n"}
		}
		s.summaries[ev.ItemID] = true
	case "response.reasoning_summary_text.delta":
		part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: ev.ItemID, Delta: ev.Delta}
	case "response.output_text.delta":
		part = llm.StreamPart{Type: llm.StreamPartTypeTextDelta, ID: ev.ItemID, Delta: ev.Delta}
	case "response.output_item.done":
		switch ev.Item.Type {
		case "reasoning":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningEnd, ID: ev.Item.ID,
				ProviderMetadata: responsesReasoningMeta(ev.Item.ID, ev.Item.EncryptedContent)}
		case "message":
			part = llm.StreamPart{Type: llm.StreamPartTypeTextEnd, ID: ev.Item.ID}
		case "function_call":
			s.hasCalls = true
			part = llm.StreamPart{Type: llm.StreamPartTypeToolCall, ID: ev.Item.CallID,
				ToolCallName: ev.Item.Name, ToolCallInput: cmp.Or(ev.Item.Arguments, "{}")}
		}
	case "response.completed", "response.incomplete":
		s.done = true
		s.usage = ev.Response.Usage.llm()
		s.finish = responsesFinish(ev.Response.IncompleteDetails.Reason, s.hasCalls)
	case "response.failed":
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: streamError(ev.Response.Error.info(), raw.data, nil)})
		return stepStop
	}
	if part.Type != "" && !s.yield(part) {
		return stepStop
	}
	return stepNext
}

func (s *responsesStream) end(ctx context.Context) {
	if !s.done {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: cutOff(ctx)})
		return
	}
	s.yield(llm.StreamPart{Type: llm.StreamPartTypeFinish, Usage: s.usage, FinishReason: s.finish})
}

// send POSTs the request to <baseURL>/responses (Azure: with its
// api-version and the key in an api-key header).
func (m *responsesModel) send(ctx context.Context, p responsesRequest) (*http.Response, error) {
	u := strings.TrimRight(cmp.Or(m.c.baseURL, openaiBaseURL), "/") + "/responses"
	if m.c.azure {
		u += "?api-version=" + url.QueryEscape(cmp.Or(m.c.apiVersion, "v1"))
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return postStream(ctx, m.c.client, u, body, func(h http.Header) {
		switch {
		case m.c.azure && m.c.apiKey != "":
			h.Set("Api-Key", m.c.apiKey)
		case !m.c.azure && m.c.apiKey != "":
			h.Set("Authorization", "Bearer "+m.c.apiKey)
		}
	}, m.c.headers)
}

func responsesReasoningMeta(id, encrypted string) llm.ProviderMetadata {
	return llm.ProviderMetadata{responsesMetaKey: &responsesReasoning{ItemID: id, EncryptedContent: encrypted}}
}

// llm maps the API's usage: input_tokens include cached ones, which
// llm.Usage counts apart (Cost prices them separately).
func (u responsesUsage) llm() llm.Usage {
	cached := u.InputTokensDetails.CachedTokens
	return llm.Usage{
		InputTokens: max(u.InputTokens-cached, 0), OutputTokens: u.OutputTokens,
		ReasoningTokens: u.OutputTokensDetails.ReasoningTokens,
		CacheReadTokens: cached,
	}
}

func responsesFinish(incomplete string, hasCalls bool) llm.FinishReason {
	switch incomplete {
	case "":
		if hasCalls {
			return llm.FinishReasonToolCalls
		}
		return llm.FinishReasonStop
	case "max_output_tokens":
		return llm.FinishReasonLength
	case "content_filter":
		return llm.FinishReasonContentFilter
	}
	return llm.FinishReasonOther
}

var _ wireModel = (*responsesModel)(nil)
