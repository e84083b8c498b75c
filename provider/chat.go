package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"ocgo/llm"
)

// This file is ocgo's own OpenAI Chat Completions adapter (POST
// …/chat/completions, streamed as SSE chunks ending in "data: [DONE]"). It
// serves the providers declared with @ai-sdk/openai (OpenAI and gateways
// that speak its API) and every OpenAI-compatible server (Ollama, llama.cpp,
// LM Studio, vLLM, OpenRouter, Groq, DeepSeek, Copilot, Vertex AI's
// non-Claude models). It replaces fantasy's openai and openaicompat
// providers, which pulled in the openai-go SDK (about 7.8 MB of the binary
// and 2.5 MB of idle RSS, docs/architecture.md) for this one streaming call.

// chatOptionsKey carries chatCallOptions in a call's ProviderOptions
// (Prepare sets it).
const chatOptionsKey = "ocgo.chat"

// chatCallOptions are the per-call settings of the Chat Completions wire.
// Verbosity, PromptCacheKey and Store are OpenAI's own; Prepare leaves them
// empty for OpenAI-compatible servers.
type chatCallOptions struct {
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	TextVerbosity   string `json:"verbosity,omitempty"`
	PromptCacheKey  string `json:"prompt_cache_key,omitempty"`
	Store           *bool  `json:"store,omitempty"`
}

// Options implements llm.ProviderOptionsData.
func (*chatCallOptions) Options() {}

// chatMetaKey is the provider key of the metadata the adapter puts on a
// reasoning block: the delta field the server streamed it in.
const chatMetaKey = "openai-compatible"

// chatReasoning is that metadata, {"field":"reasoning_content"} or
// {"field":"reasoning"}. Only reasoning a server streamed as
// reasoning_content goes back to it, in that field: DeepSeek's and Kimi's
// thinking modes refuse a history without it, while Groq (which streams
// "reasoning") refuses the field.
type chatReasoning struct {
	Field string `json:"field"`
}

// Options implements llm.ProviderOptionsData.
func (*chatReasoning) Options() {}

// chatConfig is what the registry resolved for one model.
type chatConfig struct {
	providerID, modelID string
	baseURL             string // ends before "/chat/completions"
	apiKey              string // sent as a Bearer token; "" sends none
	headers             map[string]string
	client              httpDoer
	// compat: an OpenAI-compatible server rather than OpenAI's API. The
	// reasoning of earlier tool-calling steps goes back as
	// reasoning_content (see chatReasoning); OpenAI would refuse the field.
	compat bool
	// strict: the server refuses fields it does not know (Groq, Mistral):
	// no reasoning_content is sent.
	strict bool
	// noStreamOptions: the server refuses stream_options and reports usage
	// in the last chunk unasked (Mistral).
	noStreamOptions bool
}

// chatModel is the wireModel of Chat Completions.
type chatModel struct {
	modelNames
	c chatConfig
}

// newChatModel builds the adapter. It reads nothing from the process
// environment: a provider only ever receives its own key.
func newChatModel(c chatConfig) *chatModel {
	return &chatModel{modelNames: modelNames{provider: c.providerID, model: c.modelID}, c: c}
}

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model               string             `json:"model"`
	Messages            []chatMessage      `json:"messages"`
	MaxTokens           *int64             `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64           `json:"temperature,omitempty"`
	TopP                *float64           `json:"top_p,omitempty"`
	Tools               []chatToolDef      `json:"tools,omitempty"`
	ToolChoice          any                `json:"tool_choice,omitempty"` // "auto", "none", "required" or chatNamedChoice
	ReasoningEffort     string             `json:"reasoning_effort,omitempty"`
	Verbosity           string             `json:"verbosity,omitempty"`
	PromptCacheKey      string             `json:"prompt_cache_key,omitempty"`
	Store               *bool              `json:"store,omitempty"`
	Stream              bool               `json:"stream"`
	StreamOptions       *chatStreamOptions `json:"stream_options,omitempty"`
}

type chatStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatMessage is one message. Content is a string, or a list of the
// chat*Part types below (typedText for text) for a user message with attachments; an assistant
// message that only calls tools has none.
type chatMessage struct {
	Role             string         `json:"role"`
	Content          any            `json:"content,omitempty"`
	ToolCalls        []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string         `json:"tool_call_id,omitempty"`
	ReasoningContent *string        `json:"reasoning_content,omitempty"`
}

type chatImagePart struct {
	Type     string `json:"type"` // "image_url"
	ImageURL struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

type chatAudioPart struct {
	Type       string `json:"type"` // "input_audio"
	InputAudio struct {
		Data   string `json:"data"`
		Format string `json:"format"` // wav or mp3
	} `json:"input_audio"`
}

type chatFilePart struct {
	Type string `json:"type"` // "file"
	File struct {
		Filename string `json:"filename"`
		FileData string `json:"file_data"` // a data URL
	} `json:"file"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatToolDef struct {
	Type     string `json:"type"` // "function"
	Function struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Parameters  map[string]any `json:"parameters"`
		Strict      bool           `json:"strict"`
	} `json:"function"`
}

type chatNamedChoice struct {
	Type     string `json:"type"` // "function"
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// chatReasoningModel reports whether OpenAI treats the model id as a
// reasoning model (o-series, gpt-oss, GPT-5, also behind a gateway's
// "openai/" prefix): such models refuse temperature and top_p, and take max_completion_tokens instead of max_tokens.
func chatReasoningModel(id string) bool {
	id = strings.ToLower(id)
	for _, p := range []string{"o1", "o3", "o4", "oss"} {
		if strings.HasPrefix(id, p) || strings.Contains(id, "-"+p) || strings.Contains(id, "/"+p) {
			return true
		}
	}
	return strings.Contains(id, "gpt-5")
}

// request maps a call onto a Chat Completions request.
func (m *chatModel) request(call llm.Call) (chatRequest, []llm.CallWarning) {
	messages, warnings := chatPrompt(call.Prompt, m.c.compat && !m.c.strict)
	r := chatRequest{
		Model:         m.model,
		Messages:      messages,
		MaxTokens:     call.MaxOutputTokens,
		Temperature:   call.Temperature,
		TopP:          call.TopP,
		Stream:        true,
		StreamOptions: &chatStreamOptions{IncludeUsage: true},
	}
	if m.c.noStreamOptions {
		r.StreamOptions = nil
	}
	unsupported := func(name, why string, set bool, drop func()) {
		if set {
			drop()
			warnings = append(warnings, llm.CallWarning{Type: llm.CallWarningTypeUnsupportedSetting, Setting: name, Details: why})
		}
	}
	if chatReasoningModel(m.model) {
		const why = "not supported by reasoning models"
		unsupported("Temperature", why, r.Temperature != nil, func() { r.Temperature = nil })
		unsupported("TopP", why, r.TopP != nil, func() { r.TopP = nil })
		r.MaxTokens, r.MaxCompletionTokens = nil, r.MaxTokens
	}
	if strings.Contains(m.model, "search-preview") {
		unsupported("Temperature", "not supported by search preview models", r.Temperature != nil, func() { r.Temperature = nil })
	}
	if o, ok := call.ProviderOptions[chatOptionsKey].(*chatCallOptions); ok {
		r.ReasoningEffort, r.Verbosity, r.PromptCacheKey, r.Store = o.ReasoningEffort, o.TextVerbosity, o.PromptCacheKey, o.Store
	}
	for _, ft := range call.Tools {
		var d chatToolDef
		d.Type, d.Function.Name, d.Function.Description = "function", ft.Name, ft.Description
		d.Function.Parameters = ft.InputSchema
		if d.Function.Parameters == nil {
			d.Function.Parameters = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		r.Tools = append(r.Tools, d)
	}
	if call.ToolChoice != nil && len(r.Tools) > 0 {
		switch c := *call.ToolChoice; c {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			r.ToolChoice = string(c)
		default:
			var named chatNamedChoice
			named.Type, named.Function.Name = "function", string(c)
			r.ToolChoice = named
		}
	}
	return r, warnings
}

// chatPrompt converts the prompt. Each system message becomes one system
// message (its texts joined by newlines); a user message of one text is
// sent as a string, else as content parts; an assistant message carries its
// text and tool calls (and, when reasoning is set, the reasoning of a
// tool-calling step); each tool result is a tool message. Messages left
// empty are dropped with a warning.
func chatPrompt(prompt llm.Prompt, reasoning bool) ([]chatMessage, []llm.CallWarning) {
	var msgs []chatMessage
	var warnings []llm.CallWarning
	warn := func(format string, args ...any) {
		warnings = append(warnings, llm.CallWarning{Type: llm.CallWarningTypeOther, Message: fmt.Sprintf(format, args...)})
	}
	for _, msg := range prompt {
		switch msg.Role {
		case llm.MessageRoleSystem:
			var texts []string
			for _, part := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](part); ok && strings.TrimSpace(t.Text) != "" {
					texts = append(texts, t.Text)
				}
			}
			if len(texts) == 0 {
				warn("dropping a system message without text")
				continue
			}
			msgs = append(msgs, chatMessage{Role: "system", Content: strings.Join(texts, "\n")})
		case llm.MessageRoleUser:
			var parts []any
			for _, part := range msg.Content {
				if t, ok := llm.AsMessagePart[llm.TextPart](part); ok {
					parts = append(parts, typedText{Type: "text", Text: t.Text})
					continue
				}
				f, ok := llm.AsMessagePart[llm.FilePart](part)
				if !ok {
					continue
				}
				if p, ok := chatFile(f, len(parts)); ok {
					parts = append(parts, p)
				} else {
					warnings = append(warnings, unsupportedFile(f))
				}
			}
			switch {
			case len(parts) == 0:
				warn("dropping an empty user message")
			case len(parts) == 1 && len(msg.Content) == 1:
				if t, ok := parts[0].(typedText); ok {
					msgs = append(msgs, chatMessage{Role: "user", Content: t.Text})
					continue
				}
				fallthrough
			default:
				msgs = append(msgs, chatMessage{Role: "user", Content: parts})
			}
		case llm.MessageRoleAssistant:
			out := chatMessage{Role: "assistant"}
			var text strings.Builder
			hasText := false
			for _, part := range msg.Content {
				switch p := part.(type) {
				case llm.TextPart:
					text.WriteString(p.Text)
					hasText = true
				case llm.ReasoningPart:
					// Only what a server streamed as reasoning_content
					// (not another wire's signed thinking or items).
					if meta, _ := p.ProviderOptions[chatMetaKey].(*chatReasoning); reasoning && meta != nil && meta.Field == "reasoning_content" {
						r := p.Text
						if out.ReasoningContent != nil {
							r = *out.ReasoningContent + r
						}
						out.ReasoningContent = &r
					}
				case llm.ToolCallPart:
					out.ToolCalls = append(out.ToolCalls, chatToolCall{ID: p.ToolCallID, Type: "function",
						Function: chatFunction{Name: p.ToolName, Arguments: cmp.Or(p.Input, "{}")}})
				}
			}
			if len(out.ToolCalls) == 0 {
				// Only a tool-calling step's reasoning is wanted back
				// (DeepSeek, Kimi); elsewhere servers ignore or drop it.
				out.ReasoningContent = nil
			}
			if hasText && (text.Len() > 0 || len(out.ToolCalls) == 0) {
				out.Content = text.String()
			}
			if out.Content == nil && len(out.ToolCalls) == 0 {
				warn("dropping an empty assistant message")
				continue
			}
			msgs = append(msgs, out)
		case llm.MessageRoleTool:
			for _, part := range msg.Content {
				if r, ok := llm.AsMessagePart[llm.ToolResultPart](part); ok {
					msgs = append(msgs, chatMessage{Role: "tool", ToolCallID: r.ToolCallID, Content: toolResultText(r.Output)})
				}
			}
		}
	}
	return msgs, warnings
}

// chatFile is a user attachment as a content part: images and audio as
// chatMedia, PDFs as a file part with a data URL, text files as text.
func chatFile(f llm.FilePart, n int) (any, bool) {
	b64 := base64.StdEncoding.EncodeToString(f.Data)
	switch {
	case f.MediaType == "application/pdf":
		var p chatFilePart
		p.Type = "file"
		p.File.Filename = cmp.Or(f.Filename, "part-"+strconv.Itoa(n)+".pdf")
		p.File.FileData = "data:application/pdf;base64," + b64
		return p, true
	case strings.HasPrefix(f.MediaType, "text/"):
		return typedText{Type: "text", Text: string(f.Data)}, true
	}
	return chatMedia(f.MediaType, b64)
}

// chatMedia is an image (as a data URL) or a WAV/MP3 recording given in
// base64.
func chatMedia(mediaType, b64 string) (any, bool) {
	switch mediaType {
	case "audio/wav", "audio/mpeg", "audio/mp3":
		var p chatAudioPart
		p.Type, p.InputAudio.Data, p.InputAudio.Format = "input_audio", b64, "mp3"
		if mediaType == "audio/wav" {
			p.InputAudio.Format = "wav"
		}
		return p, true
	}
	if strings.HasPrefix(mediaType, "image/") {
		var p chatImagePart
		p.Type, p.ImageURL.URL = "image_url", "data:"+mediaType+";base64,"+b64
		return p, true
	}
	return nil, false
}

// send POSTs the request and returns the streaming response, or the
// error a non-2xx answer (or the transport) gave.
func (m *chatModel) send(ctx context.Context, r chatRequest) (*http.Response, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(cmp.Or(m.c.baseURL, openaiBaseURL), "/") + "/chat/completions"
	return postStream(ctx, m.c.client, url, body, func(h http.Header) {
		if m.c.apiKey != "" {
			h.Set("Authorization", "Bearer "+m.c.apiKey)
		}
	}, m.c.headers)
}

// chatChunk is one streamed chunk, or the error object a server sends in
// place of one when the stream fails after it began.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
			// reasoning_content (DeepSeek, vLLM, llama.cpp, Ollama…) or
			// reasoning (OpenRouter, Groq); a string when set.
			ReasoningContent json.RawMessage `json:"reasoning_content"`
			Reasoning        json.RawMessage `json:"reasoning"`
			ToolCalls        []struct {
				Index    int64  `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// jsonString is raw's value when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// chatCall is a tool call being streamed.
type chatCall struct {
	id, name string
	args     strings.Builder
}

// chatStream turns chunks into stream parts. Text and reasoning are
// blocks with id "0" (the choice; the session keys blocks by kind too);
// a block ends when the other kind or a tool call begins. Tool calls are
// keyed by their index: id and name come with the first delta (a
// tool-input-start part goes out), the arguments in pieces; the tool-call
// parts with the whole input come at the end of the stream, in order.
type chatStream struct {
	yield           func(llm.StreamPart) bool
	text, reasoning bool   // a block of that kind is open
	field           string // the delta field the open reasoning came in
	calls           []*chatCall
	byIndex         map[int64]*chatCall
	finish          string
	usage           chatUsage
}

func (s *chatStream) endText() bool {
	if !s.text {
		return true
	}
	s.text = false
	return s.yield(llm.StreamPart{Type: llm.StreamPartTypeTextEnd, ID: "0"})
}

func (s *chatStream) endReasoning() bool {
	if !s.reasoning {
		return true
	}
	s.reasoning = false
	return s.yield(llm.StreamPart{Type: llm.StreamPartTypeReasoningEnd, ID: "0",
		ProviderMetadata: llm.ProviderMetadata{chatMetaKey: &chatReasoning{Field: s.field}}})
}

// chunk handles one chunk; false stops the stream (the consumer left, or
// the chunk was invalid and an error part went out).
func (s *chatStream) chunk(ch *chatChunk) bool {
	if ch.Usage != nil && (ch.Usage.TotalTokens > 0 || ch.Usage.PromptTokens > 0 || ch.Usage.CompletionTokens > 0) {
		s.usage = *ch.Usage
	}
	for _, choice := range ch.Choices {
		d := &choice.Delta
		r, field := jsonString(d.ReasoningContent), "reasoning_content"
		if r == "" {
			r, field = jsonString(d.Reasoning), "reasoning"
		}
		if r != "" {
			if !s.endText() {
				return false
			}
			if !s.reasoning {
				s.reasoning, s.field = true, field
				if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeReasoningStart, ID: "0"}) {
					return false
				}
			}
			if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: "0", Delta: r}) {
				return false
			}
		}
		if d.Content != "" {
			if !s.endReasoning() {
				return false
			}
			if !s.text {
				s.text = true
				if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeTextStart, ID: "0"}) {
					return false
				}
			}
			if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeTextDelta, ID: "0", Delta: d.Content}) {
				return false
			}
		}
		for _, tc := range d.ToolCalls {
			if !s.endReasoning() || !s.endText() {
				return false
			}
			c := s.byIndex[tc.Index]
			if c != nil && tc.ID != "" && tc.ID != c.id {
				c = nil // a server that numbers every call 0: the id tells them apart
			}
			if c != nil {
				c.args.WriteString(tc.Function.Arguments)
				continue
			}
			if tc.Function.Name == "" && tc.Function.Arguments == "" {
				continue // an empty first delta (Ollama): wait for the name
			}
			if tc.Type != "" && tc.Type != "function" {
				s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: &llm.ProviderError{
					Title: "invalid provider response", Message: "tool call of type " + strconv.Quote(tc.Type) + ", expected function"}})
				return false
			}
			c = &chatCall{id: cmp.Or(tc.ID, "tool-call-"+strconv.FormatInt(tc.Index, 10)), name: tc.Function.Name}
			c.args.WriteString(tc.Function.Arguments)
			s.calls = append(s.calls, c)
			if s.byIndex == nil {
				s.byIndex = map[int64]*chatCall{}
			}
			s.byIndex[tc.Index] = c
			if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeToolInputStart, ID: c.id, ToolCallName: c.name}) {
				return false
			}
		}
		if choice.FinishReason != "" {
			s.finish = choice.FinishReason
		}
	}
	return true
}

// end closes the open blocks, hands out the tool calls and the finish
// part. A stream that ended without a finish reason and without tool calls
// was cut off, and one that ended with finish reason "error" failed: both
// are retryable errors.
func (s *chatStream) end(ctx context.Context) {
	if !s.endReasoning() || !s.endText() {
		return
	}
	if s.finish == "error" { // OpenRouter's, when the model failed mid-answer
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: &llm.ProviderError{Title: "provider stream error",
			Message: "the provider ended the answer with an error", TransientError: true}})
		return
	}
	for _, c := range s.calls {
		input := c.args.String()
		if strings.TrimSpace(input) == "" {
			input = "{}"
		}
		if !s.yield(llm.StreamPart{Type: llm.StreamPartTypeToolCall, ID: c.id, ToolCallName: c.name, ToolCallInput: input}) {
			return
		}
	}
	if s.finish == "" && len(s.calls) == 0 {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: cutOff(ctx)})
		return
	}
	reason := chatFinish(s.finish)
	if len(s.calls) > 0 {
		reason = llm.FinishReasonToolCalls
	}
	u := s.usage
	cached := u.PromptTokensDetails.CachedTokens
	s.yield(llm.StreamPart{
		Type:         llm.StreamPartTypeFinish,
		FinishReason: reason,
		Usage: llm.Usage{
			// prompt_tokens include the cached ones, which are priced apart.
			InputTokens:     max(u.PromptTokens-cached, 0),
			OutputTokens:    u.CompletionTokens,
			ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens,
			CacheReadTokens: cached,
		},
		ProviderMetadata: llm.ProviderMetadata{},
	})
}

// Stream implements wireModel.
func (m *chatModel) Stream(ctx context.Context, call llm.Call) llm.StreamResponse {
	r, warnings := m.request(call)
	resp, err := m.send(ctx, r)
	return sseStream(ctx, resp, err, warnings, func(yield func(llm.StreamPart) bool) wireDecoder {
		return &chatStream{yield: yield}
	})
}

// event decodes one chunk; "[DONE]" ends the stream, and so does an error
// object in a chunk (OpenRouter's, mid-stream).
func (s *chatStream) event(ctx context.Context, ev sseEvent) step {
	data := bytes.TrimSpace(ev.data)
	if string(data) == "[DONE]" {
		return stepDone
	}
	var ch chatChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: wireError(ctx, err)})
		return stepStop
	}
	if len(ch.Error) > 0 && string(ch.Error) != "null" {
		s.yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: streamError(errorBody(data), data, nil)})
		return stepStop
	}
	return stepOf(s.chunk(&ch))
}

func chatFinish(reason string) llm.FinishReason {
	switch reason {
	case "stop":
		return llm.FinishReasonStop
	case "length":
		return llm.FinishReasonLength
	case "content_filter":
		return llm.FinishReasonContentFilter
	case "tool_calls", "function_call":
		return llm.FinishReasonToolCalls
	}
	return llm.FinishReasonUnknown
}

var (
	_ wireModel   = (*chatModel)(nil)
	_ wireDecoder = (*chatStream)(nil)
)
