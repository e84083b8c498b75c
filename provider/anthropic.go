package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"ocgo/llm"
)

// This file is ocgo's own Anthropic Messages adapter. It replaces
// charm.land/fantasy/providers/anthropic, which links Bedrock and Vertex
// support (AWS SDK, gRPC, Google auth, OpenTelemetry: ~290 packages) that
// ocgo never uses, and then the official SDK, which added 7 MB to the
// binary for this one streaming call: it writes the request as the
// Messages API documents it and reads the SSE stream with sseReader.

// anthropicMetaKey is the provider key under which reasoning metadata
// travels in llm.ProviderMetadata / ProviderOptions.
const anthropicMetaKey = "anthropic"

// defaultMaxTokens is sent when the call sets no MaxOutputTokens; the
// Messages API requires max_tokens.
const defaultMaxTokens = 4096

// anthropicReasoning is the metadata of a thinking block: its signature, or
// the opaque data of a redacted block. It serialises exactly like fantasy's
// anthropic.ReasoningOptionMetadata (type "anthropic.reasoning_metadata"),
// so reasoning parts stored before the switch read back the same.
type anthropicReasoning struct {
	Signature    string `json:"signature"`
	RedactedData string `json:"redacted_data"`
}

const anthropicReasoningType = "anthropic.reasoning_metadata"

// Options implements llm.ProviderOptionsData.
func (*anthropicReasoning) Options() {}

// MarshalJSON implements json.Marshaler with fantasy's type wrapper,
// {"type": anthropicReasoningType, "data": {...}}; ReasoningPart reads it
// back (and the unwrapped form).
func (m anthropicReasoning) MarshalJSON() ([]byte, error) {
	type plain anthropicReasoning // no methods: the inner encoding does not recurse
	return json.Marshal(struct {
		Type string `json:"type"`
		Data plain  `json:"data"`
	}{anthropicReasoningType, plain(m)})
}

func reasoningMeta(signature, redacted string) llm.ProviderMetadata {
	return llm.ProviderMetadata{anthropicMetaKey: &anthropicReasoning{Signature: signature, RedactedData: redacted}}
}

// anthropicModel is the wireModel of the Messages API.
type anthropicModel struct {
	modelNames
	c anthropicConfig
}

// modelNames is what the wire adapters (anthropic.go, responses.go,
// chat.go) share: the provider's and the model's name. Each implements
// Stream (a wireModel).
type modelNames struct {
	provider, model string
}

// Provider implements wireModel.
func (m modelNames) Provider() string { return m.provider }

// Model implements wireModel.
func (m modelNames) Model() string { return m.model }

// anthropicConfig is what the registry resolved for one model.
type anthropicConfig struct {
	providerID string
	modelID    string
	baseURL    string // without the trailing /v1; "" means api.anthropic.com
	apiKey     string // "" sends no key
	authToken  string // an OAuth access token, sent as a Bearer token
	headers    map[string]string
	client     httpDoer
	// vertex: the request goes to Vertex's
	// <baseURL>/publishers/anthropic/models/<model>:streamRawPredict, the
	// model leaves the body and anthropic_version "vertex-2023-10-16" joins
	// it, as Vertex expects.
	vertex bool
}

// httpDoer sends one HTTP request (the registry's *http.Client).
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// anthropicVersion is the Messages API version ocgo speaks, as the AI SDK
// and the official SDKs send it.
const anthropicVersion = "2023-06-01"

// newAnthropicModel builds the adapter. It speaks the Messages API's wire
// format itself (see docs/architecture.md, Dependencies: the official SDK
// added 7 MB to the binary for this one streaming call), and it reads
// nothing from the process environment: a provider only ever receives its
// own key.
func newAnthropicModel(c anthropicConfig) *anthropicModel {
	return &anthropicModel{modelNames: modelNames{provider: c.providerID, model: c.modelID}, c: c}
}

// streamBlock is what the adapter keeps of one content block while it
// streams (text and thinking are forwarded, not kept).
type streamBlock struct {
	typ       string
	id, name  string
	input     strings.Builder
	signature strings.Builder
	data      string
}

// Stream implements wireModel. Text/reasoning blocks carry their
// block index as ID (the IDs parts stored before used),
// tool calls their tool_use id; the tool_call part with the whole input
// JSON comes at content_block_stop; a stream that ends without
// message_stop or stop_reason is an (retryable) incomplete-stream error.
func (m *anthropicModel) Stream(ctx context.Context, call llm.Call) llm.StreamResponse {
	params, warnings := m.params(call)
	resp, err := m.send(ctx, params)
	return sseStream(ctx, resp, err, warnings, func(yield func(llm.StreamPart) bool) wireDecoder {
		return &anthropicStream{yield: yield, resp: resp}
	})
}

// anthropicStream turns Messages events into stream parts.
type anthropicStream struct {
	yield   func(llm.StreamPart) bool
	resp    *http.Response   // for an error event's request id
	msg     anthropicMessage // message-level state: id, stop reason, usage
	blocks  []*streamBlock   // by content block index
	sawStop bool
}

func (s *anthropicStream) block(i int64) *streamBlock {
	if i < 0 || int(i) >= len(s.blocks) {
		return nil
	}
	return s.blocks[i]
}

func (s *anthropicStream) event(ctx context.Context, raw sseEvent) step {
	if raw.name == "error" {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: streamError(errorBody(raw.data), raw.data, s.resp)})
		return stepStop
	}
	var ev anthropicEvent
	switch raw.name {
	case "message_start", "message_delta", "message_stop", "content_block_start", "content_block_delta", "content_block_stop":
		if err := json.Unmarshal(raw.data, &ev); err != nil {
			s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: wireError(ctx, err)})
			return stepStop
		}
	default: // ping and future event types
		return stepNext
	}
	id := strconv.FormatInt(ev.Index, 10)
	var part llm.StreamPart
	switch ev.Type {
	case "message_start":
		s.msg = ev.Message
		return stepNext
	case "message_delta":
		s.msg.accumulate(ev)
		return stepNext
	case "message_stop":
		s.sawStop = true
		return stepNext
	case "content_block_start":
		cb := ev.ContentBlock
		for int64(len(s.blocks)) < ev.Index {
			s.blocks = append(s.blocks, nil)
		}
		b := &streamBlock{typ: cb.Type, id: cb.ID, name: cb.Name, data: cb.Data}
		b.signature.WriteString(cb.Signature)
		if int64(len(s.blocks)) == ev.Index {
			s.blocks = append(s.blocks, b)
		} else {
			s.blocks[ev.Index] = b
		}
		switch cb.Type {
		case "text":
			part = llm.StreamPart{Type: llm.StreamPartTypeTextStart, ID: id}
		case "thinking":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningStart, ID: id}
		case "redacted_thinking":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningStart, ID: id,
				ProviderMetadata: reasoningMeta("", cb.Data)}
		case "tool_use":
			part = llm.StreamPart{Type: llm.StreamPartTypeToolInputStart, ID: cb.ID, ToolCallName: cb.Name}
		default:
			return stepNext
		}
		// The block's start may already carry text or thinking: it is
		// the first delta, not to be dropped.
		first := cb.Text
		deltaType := llm.StreamPartTypeTextDelta
		if cb.Type == "thinking" {
			first, deltaType = cb.Thinking, llm.StreamPartTypeReasoningDelta
		}
		if first != "" && (cb.Type == "text" || cb.Type == "thinking") {
			if !s.yield(part) {
				return stepStop
			}
			part = llm.StreamPart{Type: deltaType, ID: id, Delta: first}
		}
	case "content_block_delta":
		b := s.block(ev.Index)
		if b == nil {
			return stepNext
		}
		d := ev.Delta
		switch d.Type {
		case "text_delta":
			part = llm.StreamPart{Type: llm.StreamPartTypeTextDelta, ID: id, Delta: d.Text}
		case "thinking_delta":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: id, Delta: d.Thinking}
		case "signature_delta":
			b.signature.WriteString(d.Signature)
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: id,
				ProviderMetadata: reasoningMeta(d.Signature, "")}
		case "input_json_delta":
			b.input.WriteString(d.PartialJSON)
			return stepNext
		default:
			return stepNext
		}
	case "content_block_stop":
		b := s.block(ev.Index)
		if b == nil {
			return stepNext
		}
		switch b.typ {
		case "text":
			part = llm.StreamPart{Type: llm.StreamPartTypeTextEnd, ID: id}
		case "thinking":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningEnd, ID: id,
				ProviderMetadata: reasoningMeta(b.signature.String(), "")}
		case "redacted_thinking":
			part = llm.StreamPart{Type: llm.StreamPartTypeReasoningEnd, ID: id,
				ProviderMetadata: reasoningMeta("", b.data)}
		case "tool_use":
			input := b.input.String()
			if strings.TrimSpace(input) == "" {
				input = "{}"
			}
			part = llm.StreamPart{Type: llm.StreamPartTypeToolCall, ID: b.id, ToolCallName: b.name, ToolCallInput: input}
		default:
			return stepNext
		}
	default:
		return stepNext
	}
	return stepOf(s.yield(part))
}

func (s *anthropicStream) end(ctx context.Context) {
	if !s.sawStop || s.msg.StopReason == "" {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: cutOff(ctx)})
		return
	}
	u := s.msg.Usage
	s.yield(llm.StreamPart{
		Type:         llm.StreamPartTypeFinish,
		ID:           s.msg.ID,
		FinishReason: anthropicFinish(s.msg.StopReason),
		Usage: llm.Usage{
			InputTokens:         u.InputTokens,
			OutputTokens:        u.OutputTokens,
			CacheCreationTokens: u.CacheCreationInputTokens,
			CacheReadTokens:     u.CacheReadInputTokens,
		},
		ProviderMetadata: llm.ProviderMetadata{},
	})
}

// anthropicEvent is one Messages stream event; each type fills its fields.
type anthropicEvent struct {
	Type         string           `json:"type"`
	Index        int64            `json:"index"`
	Message      anthropicMessage `json:"message"` // message_start
	ContentBlock struct {         // content_block_start
		Type      string `json:"type"`
		ID        string `json:"id"`
		Name      string `json:"name"`
		Text      string `json:"text"`
		Thinking  string `json:"thinking"`
		Signature string `json:"signature"`
		Data      string `json:"data"`
	} `json:"content_block"`
	Delta struct { // content_block_delta and message_delta
		Type        string `json:"type"`
		Text        string `json:"text"`
		Thinking    string `json:"thinking"`
		Signature   string `json:"signature"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage anthropicDeltaUsage `json:"usage"` // message_delta
}

// anthropicMessage is what the stream says about the message as a whole.
type anthropicMessage struct {
	ID         string `json:"id"`
	StopReason string `json:"stop_reason"`
	Usage      struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	} `json:"usage"`
}

// anthropicDeltaUsage: message_delta's counts are whole-message totals;
// the ones it leaves out keep message_start's value.
type anthropicDeltaUsage struct {
	OutputTokens             int64  `json:"output_tokens"`
	InputTokens              *int64 `json:"input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// accumulate applies a message_delta: the stop reason and the usage totals.
func (m *anthropicMessage) accumulate(ev anthropicEvent) {
	m.StopReason = ev.Delta.StopReason
	u := ev.Usage
	m.Usage.OutputTokens = u.OutputTokens
	for _, f := range []struct {
		v   *int64
		dst *int64
	}{{u.InputTokens, &m.Usage.InputTokens}, {u.CacheCreationInputTokens, &m.Usage.CacheCreationInputTokens},
		{u.CacheReadInputTokens, &m.Usage.CacheReadInputTokens}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
}

// send POSTs the request and returns the streaming response, or the
// error a non-2xx answer (or the transport) gave.
func (m *anthropicModel) send(ctx context.Context, p anthropicRequest) (*http.Response, error) {
	url := cmp.Or(m.c.baseURL, "https://api.anthropic.com") + "/v1/messages"
	if m.c.vertex {
		url = m.c.baseURL + "/publishers/anthropic/models/" + m.c.modelID + ":streamRawPredict"
		p.Model, p.AnthropicVersion = "", "vertex-2023-10-16"
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return postStream(ctx, m.c.client, url, body, func(h http.Header) {
		h.Set("Anthropic-Version", anthropicVersion)
		if m.c.apiKey != "" {
			h.Set("X-Api-Key", m.c.apiKey)
		}
		if m.c.authToken != "" {
			h.Set("Authorization", "Bearer "+m.c.authToken)
		}
	}, m.c.headers)
}

func anthropicFinish(reason string) llm.FinishReason {
	switch reason {
	case "end_turn", "pause_turn", "stop_sequence":
		return llm.FinishReasonStop
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishReasonLength
	case "tool_use":
		return llm.FinishReasonToolCalls
	case "refusal":
		return llm.FinishReasonContentFilter
	}
	return llm.FinishReasonUnknown
}

// anthropicRequest is the body of POST /v1/messages.
type anthropicRequest struct {
	Model            string               `json:"model,omitempty"`
	AnthropicVersion string               `json:"anthropic_version,omitempty"` // Vertex only
	MaxTokens        int64                `json:"max_tokens"`
	System           []anthropicText      `json:"system,omitempty"`
	Messages         []anthropicTurn      `json:"messages"`
	Temperature      *float64             `json:"temperature,omitempty"`
	TopP             *float64             `json:"top_p,omitempty"`
	Thinking         *anthropicThinkingOn `json:"thinking,omitempty"`
	Tools            []anthropicToolDef   `json:"tools,omitempty"`
	ToolChoice       *anthropicChoice     `json:"tool_choice,omitempty"`
	Stream           bool                 `json:"stream"`
}

// anthropicTurn is one message; its content blocks are the anthropic*
// block types below, each with its own required fields.
type anthropicTurn struct {
	Role    string `json:"role"`
	Content []any  `json:"content"`
}

type anthropicText = typedText // "type": "text"

func textBlock(s string) anthropicText { return anthropicText{Type: "text", Text: s} }

type anthropicSource struct {
	Type      string `json:"type"` // "base64" or "text"
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type anthropicImage struct {
	Type   string          `json:"type"` // "image"
	Source anthropicSource `json:"source"`
}

func imageBlock(mediaType, b64 string) anthropicImage {
	return anthropicImage{Type: "image", Source: anthropicSource{Type: "base64", MediaType: mediaType, Data: b64}}
}

type anthropicDocument struct {
	Type   string          `json:"type"` // "document"
	Source anthropicSource `json:"source"`
	Title  string          `json:"title,omitempty"`
}

type anthropicThinkingBlock struct {
	Type      string `json:"type"` // "thinking"
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
}

type anthropicRedacted struct {
	Type string `json:"type"` // "redacted_thinking"
	Data string `json:"data"`
}

type anthropicToolUse struct {
	Type  string          `json:"type"` // "tool_use"
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type anthropicToolResult struct {
	Type      string `json:"type"` // "tool_result"
	ToolUseID string `json:"tool_use_id"`
	Content   []any  `json:"content,omitempty"` // text and image blocks
	IsError   bool   `json:"is_error,omitempty"`
}

type anthropicThinkingOn struct {
	Type         string `json:"type"` // "enabled"
	BudgetTokens int64  `json:"budget_tokens"`
}

type anthropicToolDef struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	InputSchema map[string]any `json:"input_schema"`
}

type anthropicChoice struct {
	Type string `json:"type"` // auto, any, none, tool
	Name string `json:"name,omitempty"`
}

// params maps an llm.Call onto a Messages request.
func (m *anthropicModel) params(call llm.Call) (anthropicRequest, []llm.CallWarning) {
	system, messages, warnings := anthropicPrompt(call.Prompt)
	p := anthropicRequest{
		Model:       m.model,
		MaxTokens:   defaultMaxTokens,
		System:      system,
		Messages:    messages,
		Temperature: call.Temperature,
		TopP:        call.TopP,
		Stream:      true,
	}
	if call.MaxOutputTokens != nil && *call.MaxOutputTokens > 0 {
		p.MaxTokens = *call.MaxOutputTokens
	}
	if o, ok := call.ProviderOptions[anthropicMetaKey].(*anthropicCallOptions); ok && o.ThinkingBudget > 0 {
		// Extended thinking: the budget counts within max_tokens, and the
		// API refuses a temperature or a top_p below 0.95 with it.
		p.Thinking = &anthropicThinkingOn{Type: "enabled", BudgetTokens: o.ThinkingBudget}
		if p.MaxTokens <= o.ThinkingBudget {
			p.MaxTokens = o.ThinkingBudget + defaultMaxTokens
		}
		for _, d := range []struct {
			name string
			drop bool
			opt  func()
		}{
			{"Temperature", p.Temperature != nil, func() { p.Temperature = nil }},
			{"TopP", p.TopP != nil && *p.TopP < 0.95, func() { p.TopP = nil }},
		} {
			if d.drop {
				d.opt()
				warnings = append(warnings, llm.CallWarning{Type: llm.CallWarningTypeUnsupportedSetting, Setting: d.name,
					Message: d.name + " is not accepted with extended thinking"})
			}
		}
	}
	for _, ft := range call.Tools {
		p.Tools = append(p.Tools, anthropicTool(ft))
	}
	if call.ToolChoice != nil && len(p.Tools) > 0 {
		switch c := *call.ToolChoice; c {
		case llm.ToolChoiceAuto:
			p.ToolChoice = &anthropicChoice{Type: "auto"}
		case llm.ToolChoiceRequired:
			p.ToolChoice = &anthropicChoice{Type: "any"}
		case llm.ToolChoiceNone:
			p.ToolChoice = &anthropicChoice{Type: "none"}
		default:
			p.ToolChoice = &anthropicChoice{Type: "tool", Name: string(c)}
		}
	}
	return p, warnings
}

// anthropicTool declares a function tool; its input schema is the tool's
// JSON schema with "type": "object", as the API requires.
func anthropicTool(ft llm.FunctionTool) anthropicToolDef {
	schema := maps.Clone(ft.InputSchema)
	if schema == nil {
		schema = map[string]any{}
	}
	schema["type"] = "object"
	return anthropicToolDef{Name: ft.Name, Description: ft.Description, InputSchema: schema}
}

// anthropicPrompt converts the prompt. System messages become system text
// blocks; tool results go back as tool_result blocks in a user message;
// consecutive messages of the same side are merged, as the API requires
// user and assistant turns to alternate.
func anthropicPrompt(prompt llm.Prompt) ([]anthropicText, []anthropicTurn, []llm.CallWarning) {
	var system []anthropicText
	msgs := []anthropicTurn{}
	var warnings []llm.CallWarning
	add := func(role string, blocks []any) {
		if len(blocks) == 0 {
			return
		}
		if n := len(msgs); n > 0 && msgs[n-1].Role == role {
			msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
			return
		}
		msgs = append(msgs, anthropicTurn{Role: role, Content: blocks})
	}
	for _, msg := range prompt {
		var blocks []any
		switch msg.Role {
		case llm.MessageRoleSystem:
			for _, part := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](part); ok && t.Text != "" {
					system = append(system, textBlock(t.Text))
				}
			}
		case llm.MessageRoleUser:
			for _, part := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](part); ok {
					if t.Text != "" {
						blocks = append(blocks, textBlock(t.Text))
					}
					continue
				}
				f, ok := llm.AsMessagePart[llm.FilePart](part)
				if !ok {
					continue
				}
				if b, ok := anthropicFile(f); ok {
					blocks = append(blocks, b)
				} else {
					warnings = append(warnings, unsupportedFile(f))
				}
			}
			add("user", blocks)
		case llm.MessageRoleAssistant:
			for _, part := range msg.Content {
				switch p := part.(type) {
				case llm.TextPart:
					if p.Text != "" {
						blocks = append(blocks, textBlock(p.Text))
					}
				case llm.ReasoningPart:
					if b, ok := anthropicThinking(p); ok {
						blocks = append(blocks, b)
					}
				case llm.ToolCallPart:
					// The input goes back as the object the model sent;
					// anything that is not a JSON object becomes {}.
					input := json.RawMessage(p.Input)
					var obj map[string]json.RawMessage
					if json.Unmarshal(input, &obj) != nil || obj == nil {
						input = json.RawMessage(`{}`)
					}
					blocks = append(blocks, anthropicToolUse{Type: "tool_use", ID: p.ToolCallID, Name: p.ToolName, Input: input})
				}
			}
			add("assistant", blocks)
		case llm.MessageRoleTool:
			for _, part := range msg.Content {
				if r, ok := llm.AsMessagePart[llm.ToolResultPart](part); ok {
					blocks = append(blocks, anthropicResult(r))
				}
			}
			add("user", blocks)
		}
	}
	return system, msgs, warnings
}

func anthropicFile(f llm.FilePart) (any, bool) {
	switch {
	case strings.HasPrefix(f.MediaType, "image/"):
		return imageBlock(f.MediaType, base64.StdEncoding.EncodeToString(f.Data)), true
	case f.MediaType == "application/pdf":
		return anthropicDocument{Type: "document", Title: documentTitle(f.Filename),
			Source: anthropicSource{Type: "base64", MediaType: "application/pdf", Data: base64.StdEncoding.EncodeToString(f.Data)}}, true
	case strings.HasPrefix(f.MediaType, "text/"):
		return anthropicDocument{Type: "document", Title: documentTitle(f.Filename),
			Source: anthropicSource{Type: "text", MediaType: "text/plain", Data: string(f.Data)}}, true
	}
	return nil, false
}

// documentTitle keeps only what the API accepts in a document title
// (letters, digits, whitespace, - ( ) [ ]).
func documentTitle(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-()[]", r)) {
			return r
		}
		return ' '
	}, name)
	return cmp.Or(strings.Join(strings.Fields(clean), " "), "Document")
}

// anthropicThinking replays a reasoning part as a thinking block when it
// carries an Anthropic signature (or redacted data); the API rejects
// unsigned thinking, so anything else is dropped.
func anthropicThinking(p llm.ReasoningPart) (any, bool) {
	meta, ok := p.ProviderOptions[anthropicMetaKey].(*anthropicReasoning)
	switch {
	case !ok || meta == nil:
		return nil, false
	case meta.RedactedData != "":
		return anthropicRedacted{Type: "redacted_thinking", Data: meta.RedactedData}, true
	case meta.Signature != "":
		return anthropicThinkingBlock{Type: "thinking", Thinking: p.Text, Signature: meta.Signature}, true
	}
	return nil, false
}

func anthropicResult(r llm.ToolResultPart) anthropicToolResult {
	block := anthropicToolResult{Type: "tool_result", ToolUseID: r.ToolCallID}
	text := func(s string) {
		if s != "" {
			block.Content = append(block.Content, textBlock(s))
		}
	}
	switch out := r.Output.(type) {
	case llm.ToolResultOutputContentText:
		text(out.Text)
	case llm.ToolResultOutputContentError:
		block.IsError = true
		if out.Error != nil {
			text(out.Error.Error())
		}
	}
	return block
}

var _ wireModel = (*anthropicModel)(nil)

// unsupportedFile is the warning for a file part a wire cannot carry (its
// media type has no block or input type there); the call goes on without it.
func unsupportedFile(f llm.FilePart) llm.CallWarning {
	return llm.CallWarning{Type: llm.CallWarningTypeOther, Message: "file part media type " + f.MediaType + " not supported"}
}
