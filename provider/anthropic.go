package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"charm.land/fantasy"
	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/packages/param"
)

// This file is ocgo's own Anthropic Messages adapter. It replaces
// charm.land/fantasy/providers/anthropic, which links Bedrock and Vertex
// support (AWS SDK, gRPC, Google auth, OpenTelemetry: ~290 packages) that
// ocgo never uses. It builds on the root package of the official SDK only;
// the SDK does the HTTP and the SSE parsing.

// ErrObjectUnsupported is returned by the Anthropic adapter's
// GenerateObject and StreamObject: ocgo never asks for structured output.
var ErrObjectUnsupported = errors.New("structured object generation is not supported by the anthropic adapter")

// anthropicMetaKey is the provider key under which reasoning metadata
// travels in fantasy.ProviderMetadata / ProviderOptions.
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

// Options implements fantasy.ProviderOptionsData.
func (*anthropicReasoning) Options() {}

// MarshalJSON implements json.Marshaler with fantasy's type wrapper.
func (m anthropicReasoning) MarshalJSON() ([]byte, error) {
	type plain anthropicReasoning
	return fantasy.MarshalProviderType(anthropicReasoningType, plain(m))
}

// UnmarshalJSON implements json.Unmarshaler (payload without the wrapper).
func (m *anthropicReasoning) UnmarshalJSON(data []byte) error {
	type plain anthropicReasoning
	var p plain
	if err := fantasy.UnmarshalProviderType(data, &p); err != nil {
		return err
	}
	*m = anthropicReasoning(p)
	return nil
}

func reasoningMeta(signature, redacted string) fantasy.ProviderMetadata {
	return fantasy.ProviderMetadata{anthropicMetaKey: &anthropicReasoning{Signature: signature, RedactedData: redacted}}
}

// anthropicModel implements fantasy.LanguageModel over the Messages API.
type anthropicModel struct {
	streamOnly
	messages anthropic.MessageService
}

// streamOnly is what our own adapters (Anthropic, OpenAI Responses) share:
// their names, and no structured-object calls. Each implements Stream, and
// Generate by draining it.
type streamOnly struct {
	provider, model string
}

// Provider implements fantasy.LanguageModel.
func (m streamOnly) Provider() string { return m.provider }

// Model implements fantasy.LanguageModel.
func (m streamOnly) Model() string { return m.model }

// GenerateObject implements fantasy.LanguageModel; not supported.
func (streamOnly) GenerateObject(context.Context, fantasy.ObjectCall) (*fantasy.ObjectResponse, error) {
	return nil, ErrObjectUnsupported
}

// StreamObject implements fantasy.LanguageModel; not supported.
func (streamOnly) StreamObject(context.Context, fantasy.ObjectCall) (fantasy.ObjectStreamResponse, error) {
	return nil, ErrObjectUnsupported
}

// anthropicConfig is what the registry resolved for one model.
type anthropicConfig struct {
	providerID string
	modelID    string
	baseURL    string // without the trailing /v1; "" means api.anthropic.com
	apiKey     string // "" sends no key
	authToken  string // an OAuth access token, sent as a Bearer token
	headers    map[string]string
	client     option.HTTPClient
	middleware []option.Middleware // Vertex rewrites the request
}

// newAnthropicModel builds the adapter. It deliberately uses
// anthropic.NewMessageService rather than anthropic.NewClient: the client
// pulls credentials, base URL and headers from the process environment
// (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, profiles…), which would break
// the rule that a provider only ever receives its own key.
func newAnthropicModel(c anthropicConfig) *anthropicModel {
	opts := []option.RequestOption{
		option.WithBaseURL(cmp.Or(c.baseURL, "https://api.anthropic.com") + "/"),
		option.WithMaxRetries(0), // retryModel owns the retry policy
	}
	if c.client != nil {
		opts = append(opts, option.WithHTTPClient(c.client))
	}
	if c.apiKey != "" {
		opts = append(opts, option.WithAPIKey(c.apiKey))
	}
	if c.authToken != "" {
		opts = append(opts, option.WithAuthToken(c.authToken))
	}
	for k, v := range c.headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	if len(c.middleware) > 0 {
		opts = append(opts, option.WithMiddleware(c.middleware...))
	}
	return &anthropicModel{streamOnly: streamOnly{provider: c.providerID, model: c.modelID}, messages: anthropic.NewMessageService(opts...)}
}

// Provider implements fantasy.LanguageModel.
// Generate implements fantasy.LanguageModel. It drains Stream and
// assembles the response: streaming has no server-side duration limit
// for large max_tokens, and it keeps a single wire code path.
func (m *anthropicModel) Generate(ctx context.Context, call fantasy.Call) (*fantasy.Response, error) {
	stream, err := m.Stream(ctx, call)
	if err != nil {
		return nil, err
	}
	return collectStream(stream)
}

// collectStream drains a stream into the response Generate returns (the
// adapters have one wire code path: streaming).
func collectStream(stream fantasy.StreamResponse) (*fantasy.Response, error) {
	resp := &fantasy.Response{ProviderMetadata: fantasy.ProviderMetadata{}}
	type open struct {
		text      strings.Builder
		reasoning bool
		meta      fantasy.ProviderMetadata
	}
	blocks := map[string]*open{}
	for part := range stream {
		switch part.Type {
		case fantasy.StreamPartTypeWarnings:
			resp.Warnings = append(resp.Warnings, part.Warnings...)
		case fantasy.StreamPartTypeTextStart, fantasy.StreamPartTypeReasoningStart:
			blocks[part.ID] = &open{reasoning: part.Type == fantasy.StreamPartTypeReasoningStart, meta: part.ProviderMetadata}
		case fantasy.StreamPartTypeTextDelta, fantasy.StreamPartTypeReasoningDelta:
			if b := blocks[part.ID]; b != nil {
				b.text.WriteString(part.Delta)
			}
		case fantasy.StreamPartTypeTextEnd:
			if b := blocks[part.ID]; b != nil {
				resp.Content = append(resp.Content, fantasy.TextContent{Text: b.text.String()})
			}
		case fantasy.StreamPartTypeReasoningEnd:
			if b := blocks[part.ID]; b != nil {
				meta := part.ProviderMetadata
				if meta == nil {
					meta = b.meta
				}
				resp.Content = append(resp.Content, fantasy.ReasoningContent{Text: b.text.String(), ProviderMetadata: meta})
			}
		case fantasy.StreamPartTypeToolCall:
			resp.Content = append(resp.Content, fantasy.ToolCallContent{ToolCallID: part.ID,
				ToolName: part.ToolCallName, Input: part.ToolCallInput})
		case fantasy.StreamPartTypeFinish:
			resp.FinishReason, resp.Usage = part.FinishReason, part.Usage
		case fantasy.StreamPartTypeError:
			return nil, part.Error
		}
	}
	return resp, nil
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

// Stream implements fantasy.LanguageModel. Parts follow fantasy's
// Anthropic provider: text/reasoning blocks carry their block index as ID,
// tool calls their tool_use id; the tool_call part with the whole input
// JSON comes at content_block_stop; a stream that ends without
// message_stop or stop_reason is an (retryable) incomplete-stream error.
func (m *anthropicModel) Stream(ctx context.Context, call fantasy.Call) (fantasy.StreamResponse, error) {
	params, warnings := m.params(call)
	stream := m.messages.NewStreaming(ctx, params)
	return func(yield func(fantasy.StreamPart) bool) {
		defer stream.Close()
		if len(warnings) > 0 && !yield(fantasy.StreamPart{Type: fantasy.StreamPartTypeWarnings, Warnings: warnings}) {
			return
		}
		var msg anthropic.Message // message-level state: id, stop reason, usage
		var blocks []*streamBlock
		block := func(i int64) *streamBlock {
			if i < 0 || int(i) >= len(blocks) {
				return nil
			}
			return blocks[i]
		}
		sawStop := false
		for stream.Next() {
			ev := stream.Current()
			id := strconv.FormatInt(ev.Index, 10)
			var part fantasy.StreamPart
			switch ev.Type {
			case "message_start", "message_delta":
				_ = msg.Accumulate(ev)
				continue
			case "message_stop":
				sawStop = true
				continue
			case "content_block_start":
				cb := ev.ContentBlock
				for int64(len(blocks)) < ev.Index {
					blocks = append(blocks, nil)
				}
				b := &streamBlock{typ: cb.Type, id: cb.ID, name: cb.Name, data: cb.Data}
				b.signature.WriteString(cb.Signature)
				if int64(len(blocks)) == ev.Index {
					blocks = append(blocks, b)
				} else {
					blocks[ev.Index] = b
				}
				switch cb.Type {
				case "text":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeTextStart, ID: id}
				case "thinking":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningStart, ID: id}
				case "redacted_thinking":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningStart, ID: id,
						ProviderMetadata: reasoningMeta("", cb.Data)}
				case "tool_use":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeToolInputStart, ID: cb.ID, ToolCallName: cb.Name}
				default:
					continue
				}
				// The block's start may already carry text or thinking: it is
				// the first delta, not to be dropped.
				first := cb.Text
				deltaType := fantasy.StreamPartTypeTextDelta
				if cb.Type == "thinking" {
					first, deltaType = cb.Thinking, fantasy.StreamPartTypeReasoningDelta
				}
				if first != "" && (cb.Type == "text" || cb.Type == "thinking") {
					if !yield(part) {
						return
					}
					part = fantasy.StreamPart{Type: deltaType, ID: id, Delta: first}
				}
			case "content_block_delta":
				b := block(ev.Index)
				if b == nil {
					continue
				}
				d := ev.Delta
				switch d.Type {
				case "text_delta":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeTextDelta, ID: id, Delta: d.Text}
				case "thinking_delta":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningDelta, ID: id, Delta: d.Thinking}
				case "signature_delta":
					b.signature.WriteString(d.Signature)
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningDelta, ID: id,
						ProviderMetadata: reasoningMeta(d.Signature, "")}
				case "input_json_delta":
					b.input.WriteString(d.PartialJSON)
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeToolInputDelta, ID: b.id, ToolCallInput: d.PartialJSON}
				default:
					continue
				}
			case "content_block_stop":
				b := block(ev.Index)
				if b == nil {
					continue
				}
				switch b.typ {
				case "text":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeTextEnd, ID: id}
				case "thinking":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningEnd, ID: id,
						ProviderMetadata: reasoningMeta(b.signature.String(), "")}
				case "redacted_thinking":
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeReasoningEnd, ID: id,
						ProviderMetadata: reasoningMeta("", b.data)}
				case "tool_use":
					if !yield(fantasy.StreamPart{Type: fantasy.StreamPartTypeToolInputEnd, ID: b.id}) {
						return
					}
					input := b.input.String()
					if strings.TrimSpace(input) == "" {
						input = "{}"
					}
					part = fantasy.StreamPart{Type: fantasy.StreamPartTypeToolCall, ID: b.id, ToolCallName: b.name, ToolCallInput: input}
				default:
					continue
				}
			default: // ping and future event types
				continue
			}
			if !yield(part) {
				return
			}
		}
		if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
			yield(fantasy.StreamPart{Type: fantasy.StreamPartTypeError, Error: anthropicError(ctx, err)})
			return
		}
		if !sawStop || msg.StopReason == "" {
			var err error = fantasy.NewIncompleteStreamError()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			yield(fantasy.StreamPart{Type: fantasy.StreamPartTypeError, Error: err})
			return
		}
		u := msg.Usage
		yield(fantasy.StreamPart{
			Type:         fantasy.StreamPartTypeFinish,
			ID:           msg.ID,
			FinishReason: anthropicFinish(string(msg.StopReason)),
			Usage: fantasy.Usage{
				InputTokens:         u.InputTokens,
				OutputTokens:        u.OutputTokens,
				TotalTokens:         u.InputTokens + u.OutputTokens,
				CacheCreationTokens: u.CacheCreationInputTokens,
				CacheReadTokens:     u.CacheReadInputTokens,
			},
			ProviderMetadata: fantasy.ProviderMetadata{},
		})
	}, nil
}

func anthropicFinish(reason string) fantasy.FinishReason {
	switch reason {
	case "end_turn", "pause_turn", "stop_sequence":
		return fantasy.FinishReasonStop
	case "max_tokens", "model_context_window_exceeded":
		return fantasy.FinishReasonLength
	case "tool_use":
		return fantasy.FinishReasonToolCalls
	case "refusal":
		return fantasy.FinishReasonContentFilter
	}
	return fantasy.FinishReasonUnknown
}

// params maps a fantasy call onto a Messages request.
func (m *anthropicModel) params(call fantasy.Call) (anthropic.MessageNewParams, []fantasy.CallWarning) {
	system, messages, warnings := anthropicPrompt(call.Prompt)
	p := anthropic.MessageNewParams{
		Model:     anthropic.Model(m.model),
		MaxTokens: defaultMaxTokens,
		System:    system,
		Messages:  messages,
	}
	if call.MaxOutputTokens != nil && *call.MaxOutputTokens > 0 {
		p.MaxTokens = *call.MaxOutputTokens
	}
	if call.Temperature != nil {
		p.Temperature = param.NewOpt(*call.Temperature)
	}
	if call.TopP != nil {
		p.TopP = param.NewOpt(*call.TopP)
	}
	if call.TopK != nil {
		p.TopK = param.NewOpt(*call.TopK)
	}
	if o, ok := call.ProviderOptions[anthropicMetaKey].(*anthropicCallOptions); ok && o.ThinkingBudget > 0 {
		// Extended thinking: the budget counts within max_tokens, and the
		// API refuses a temperature, top_k, or a top_p below 0.95 with it.
		p.Thinking = anthropic.ThinkingConfigParamOfEnabled(o.ThinkingBudget)
		if p.MaxTokens <= o.ThinkingBudget {
			p.MaxTokens = o.ThinkingBudget + defaultMaxTokens
		}
		for _, d := range []struct {
			name string
			drop bool
			opt  func()
		}{
			{"Temperature", p.Temperature.Valid(), func() { p.Temperature = param.Opt[float64]{} }},
			{"TopK", p.TopK.Valid(), func() { p.TopK = param.Opt[int64]{} }},
			{"TopP", p.TopP.Valid() && p.TopP.Value < 0.95, func() { p.TopP = param.Opt[float64]{} }},
		} {
			if d.drop {
				d.opt()
				warnings = append(warnings, fantasy.CallWarning{Type: fantasy.CallWarningTypeUnsupportedSetting, Setting: d.name,
					Message: d.name + " is not accepted with extended thinking"})
			}
		}
	}
	for _, s := range []struct {
		name string
		set  bool
	}{{"PresencePenalty", call.PresencePenalty != nil}, {"FrequencyPenalty", call.FrequencyPenalty != nil}} {
		if s.set {
			warnings = append(warnings, fantasy.CallWarning{Type: fantasy.CallWarningTypeUnsupportedSetting, Setting: s.name})
		}
	}
	for _, t := range call.Tools {
		ft, ok := t.(fantasy.FunctionTool)
		if !ok {
			warnings = append(warnings, fantasy.CallWarning{Type: fantasy.CallWarningTypeUnsupportedTool, Tool: t})
			continue
		}
		p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: anthropicTool(ft)})
	}
	if call.ToolChoice != nil && len(p.Tools) > 0 {
		switch c := *call.ToolChoice; c {
		case fantasy.ToolChoiceAuto:
			p.ToolChoice.OfAuto = &anthropic.ToolChoiceAutoParam{}
		case fantasy.ToolChoiceRequired:
			p.ToolChoice.OfAny = &anthropic.ToolChoiceAnyParam{}
		case fantasy.ToolChoiceNone:
			p.ToolChoice.OfNone = &anthropic.ToolChoiceNoneParam{}
		default:
			p.ToolChoice.OfTool = &anthropic.ToolChoiceToolParam{Name: string(c)}
		}
	}
	return p, warnings
}

func anthropicTool(ft fantasy.FunctionTool) *anthropic.ToolParam {
	schema := anthropic.ToolInputSchemaParam{Properties: ft.InputSchema["properties"]}
	switch req := ft.InputSchema["required"].(type) {
	case []string:
		schema.Required = req
	case []any:
		for _, r := range req {
			if s, ok := r.(string); ok {
				schema.Required = append(schema.Required, s)
			}
		}
	}
	for k, v := range ft.InputSchema {
		if k == "type" || k == "properties" || k == "required" {
			continue
		}
		if schema.ExtraFields == nil {
			schema.ExtraFields = map[string]any{}
		}
		schema.ExtraFields[k] = v
	}
	tool := &anthropic.ToolParam{Name: ft.Name, InputSchema: schema}
	if ft.Description != "" {
		tool.Description = param.NewOpt(ft.Description)
	}
	return tool
}

// anthropicPrompt converts the prompt. System messages become system text
// blocks; tool results go back as tool_result blocks in a user message;
// consecutive messages of the same side are merged, as the API requires
// user and assistant turns to alternate.
func anthropicPrompt(prompt fantasy.Prompt) ([]anthropic.TextBlockParam, []anthropic.MessageParam, []fantasy.CallWarning) {
	var system []anthropic.TextBlockParam
	var msgs []anthropic.MessageParam
	var warnings []fantasy.CallWarning
	add := func(role anthropic.MessageParamRole, blocks []anthropic.ContentBlockParamUnion) {
		if len(blocks) == 0 {
			return
		}
		if n := len(msgs); n > 0 && msgs[n-1].Role == role {
			msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
			return
		}
		msgs = append(msgs, anthropic.MessageParam{Role: role, Content: blocks})
	}
	for _, msg := range prompt {
		var blocks []anthropic.ContentBlockParamUnion
		switch msg.Role {
		case fantasy.MessageRoleSystem:
			for _, part := range msg.Content {
				if t, ok := fantasy.AsMessagePart[fantasy.TextPart](part); ok && t.Text != "" {
					system = append(system, anthropic.TextBlockParam{Text: t.Text})
				}
			}
		case fantasy.MessageRoleUser:
			for _, part := range msg.Content {
				if t, ok := fantasy.AsMessagePart[fantasy.TextPart](part); ok {
					if t.Text != "" {
						blocks = append(blocks, anthropic.NewTextBlock(t.Text))
					}
					continue
				}
				f, ok := fantasy.AsMessagePart[fantasy.FilePart](part)
				if !ok {
					continue
				}
				if b, ok := anthropicFile(f); ok {
					blocks = append(blocks, b)
				} else {
					warnings = append(warnings, fantasy.CallWarning{Type: fantasy.CallWarningTypeOther,
						Message: "file part media type " + f.MediaType + " not supported"})
				}
			}
			add(anthropic.MessageParamRoleUser, blocks)
		case fantasy.MessageRoleAssistant:
			for _, part := range msg.Content {
				switch p := part.(type) {
				case fantasy.TextPart:
					if p.Text != "" {
						blocks = append(blocks, anthropic.NewTextBlock(p.Text))
					}
				case fantasy.ReasoningPart:
					if b, ok := anthropicThinking(p); ok {
						blocks = append(blocks, b)
					}
				case fantasy.ToolCallPart:
					if p.ProviderExecuted {
						continue
					}
					var input any
					if json.Unmarshal([]byte(p.Input), &input) != nil || input == nil {
						input = map[string]any{}
					}
					blocks = append(blocks, anthropic.NewToolUseBlock(p.ToolCallID, input, p.ToolName))
				}
			}
			add(anthropic.MessageParamRoleAssistant, blocks)
		case fantasy.MessageRoleTool:
			for _, part := range msg.Content {
				if r, ok := fantasy.AsMessagePart[fantasy.ToolResultPart](part); ok {
					blocks = append(blocks, anthropicToolResult(r))
				}
			}
			add(anthropic.MessageParamRoleUser, blocks)
		}
	}
	return system, msgs, warnings
}

func anthropicFile(f fantasy.FilePart) (anthropic.ContentBlockParamUnion, bool) {
	switch {
	case strings.HasPrefix(f.MediaType, "image/"):
		return anthropic.NewImageBlockBase64(f.MediaType, base64.StdEncoding.EncodeToString(f.Data)), true
	case f.MediaType == "application/pdf":
		b := anthropic.NewDocumentBlock(anthropic.Base64PDFSourceParam{Data: base64.StdEncoding.EncodeToString(f.Data)})
		b.OfDocument.Title = param.NewOpt(documentTitle(f.Filename))
		return b, true
	case strings.HasPrefix(f.MediaType, "text/"):
		b := anthropic.NewDocumentBlock(anthropic.PlainTextSourceParam{Data: string(f.Data)})
		b.OfDocument.Title = param.NewOpt(documentTitle(f.Filename))
		return b, true
	}
	return anthropic.ContentBlockParamUnion{}, false
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
func anthropicThinking(p fantasy.ReasoningPart) (anthropic.ContentBlockParamUnion, bool) {
	meta, ok := p.ProviderOptions[anthropicMetaKey].(*anthropicReasoning)
	switch {
	case !ok || meta == nil:
		return anthropic.ContentBlockParamUnion{}, false
	case meta.RedactedData != "":
		return anthropic.NewRedactedThinkingBlock(meta.RedactedData), true
	case meta.Signature != "":
		return anthropic.NewThinkingBlock(meta.Signature, p.Text), true
	}
	return anthropic.ContentBlockParamUnion{}, false
}

func anthropicToolResult(r fantasy.ToolResultPart) anthropic.ContentBlockParamUnion {
	block := anthropic.ToolResultBlockParam{ToolUseID: r.ToolCallID}
	text := func(s string) {
		if s != "" {
			block.Content = append(block.Content, anthropic.ToolResultBlockParamContentUnion{OfText: &anthropic.TextBlockParam{Text: s}})
		}
	}
	switch out := r.Output.(type) {
	case fantasy.ToolResultOutputContentText:
		text(out.Text)
	case fantasy.ToolResultOutputContentError:
		block.IsError = param.NewOpt(true)
		if out.Error != nil {
			text(out.Error.Error())
		}
	case fantasy.ToolResultOutputContentMedia:
		text(out.Text)
		if strings.HasPrefix(out.MediaType, "image/") {
			img := anthropic.NewImageBlockBase64(out.MediaType, out.Data)
			block.Content = append(block.Content, anthropic.ToolResultBlockParamContentUnion{OfImage: img.OfImage})
		}
	}
	return anthropic.ContentBlockParamUnion{OfToolResult: &block}
}

var anthropicContextRe = regexp.MustCompile(`prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)\s*maximum`)

// anthropicError turns an SDK error into a *fantasy.ProviderError that
// retry.go and Classify understand (status, lower-case response headers,
// JSON body, transient flag, context-overflow numbers). Cancellation
// stays errors.Is(err, context.Canceled).
func anthropicError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return errors.Join(ctxErr, err)
	}
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		body := apiErr.RawJSON()
		errType, msg := anthropicErrorBody(body)
		pe := &fantasy.ProviderError{
			Title:          cmp.Or(fantasy.ErrorTitleForStatusCode(apiErr.StatusCode), "provider request failed"),
			Message:        cmp.Or(msg, strings.TrimSpace(body), http.StatusText(apiErr.StatusCode)),
			Cause:          apiErr,
			StatusCode:     apiErr.StatusCode,
			ResponseBody:   []byte(body),
			TransientError: fantasy.TransientStreamErrorTypes[cmp.Or(errType, string(apiErr.Type()))],
		}
		if apiErr.StatusCode == http.StatusOK { // an SSE error event inside a 200 stream
			pe.Title = cmp.Or(strings.ReplaceAll(errType, "_", " "), "provider stream error")
		}
		fillHTTP(pe, apiErr.Request, apiErr.Response)
		if mm := anthropicContextRe.FindStringSubmatch(pe.Message); mm != nil {
			pe.ContextTooLargeErr = true
			pe.ContextUsedTokens, _ = strconv.Atoi(mm[1])
			pe.ContextMaxTokens, _ = strconv.Atoi(mm[2])
		}
		return pe
	}
	// An SSE error event the SDK could not decode into an API error.
	if _, payload, ok := strings.Cut(err.Error(), "received error while streaming:"); ok {
		payload = strings.TrimSpace(payload)
		if errType, msg := anthropicErrorBody(payload); errType != "" || msg != "" {
			return &fantasy.ProviderError{
				Title:          cmp.Or(strings.ReplaceAll(errType, "_", " "), "provider stream error"),
				Message:        cmp.Or(msg, payload),
				Cause:          err,
				ResponseBody:   []byte(payload),
				TransientError: fantasy.TransientStreamErrorTypes[errType],
			}
		}
	}
	return fantasy.WrapTransportError(err)
}

// anthropicErrorBody reads {"type":"error","error":{"type":…,"message":…}}.
func anthropicErrorBody(body string) (errType, message string) {
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &env) != nil {
		return "", ""
	}
	return env.Error.Type, env.Error.Message
}

var _ fantasy.LanguageModel = (*anthropicModel)(nil)

// fillHTTP copies an SDK error's request URL and response headers (the last
// value of each, lower-case names) into pe: the retry policy reads
// retry-after there. Either may be nil.
func fillHTTP(pe *fantasy.ProviderError, req *http.Request, resp *http.Response) {
	if req != nil {
		pe.URL = req.URL.String()
	}
	if resp != nil {
		pe.ResponseHeaders = make(map[string]string, len(resp.Header))
		for k, v := range resp.Header {
			if len(v) > 0 {
				pe.ResponseHeaders[strings.ToLower(k)] = v[len(v)-1]
			}
		}
	}
}
