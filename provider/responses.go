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
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"ocgo/llm"
)

// This file is ocgo's adapter for OpenAI's Responses API (POST /responses),
// which opencode uses for the openai and azure providers. fantasy has a
// Responses model, but it leaves reasoning items out of the history it
// sends and reads a reasoning item's encrypted content only from the event
// that opens the item (the API sends it when the item is done), so every
// step of a tool loop would start its reasoning from scratch. This adapter
// keeps each step's reasoning item (its id and encrypted content, asked for
// with include=reasoning.encrypted_content since nothing is stored at
// OpenAI: store=false) and sends it back before the step's function calls.
// It builds on openai-go's responses package, already linked through
// fantasy: the SDK does the HTTP and the SSE parsing.

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

// MarshalJSON implements json.Marshaler (the plain AI SDK shape).
func (m responsesReasoning) MarshalJSON() ([]byte, error) {
	type plain responsesReasoning
	return json.Marshal(plain(m))
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *responsesReasoning) UnmarshalJSON(data []byte) error {
	type plain responsesReasoning
	return json.Unmarshal(data, (*plain)(m))
}

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

// MarshalJSON implements json.Marshaler.
func (o responsesCallOptions) MarshalJSON() ([]byte, error) {
	type plain responsesCallOptions
	return json.Marshal(plain(o))
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *responsesCallOptions) UnmarshalJSON(data []byte) error {
	type plain responsesCallOptions
	return json.Unmarshal(data, (*plain)(o))
}

// responsesConfig is what the registry resolved for one model.
type responsesConfig struct {
	providerID, modelID string
	// reasoning: the catalog says the model reasons (o-series, GPT-5):
	// no temperature/top_p, system prompt as a developer message,
	// reasoning settings and items.
	reasoning bool
	baseURL   string // ends before "/responses"
	apiKey    string // "" sends no key
	// azure sends the key in an api-key header (not as a Bearer token)
	// and adds ?api-version= to every request.
	azure      bool
	apiVersion string
	headers    map[string]string
	client     option.HTTPClient
}

// responsesModel implements llm.LanguageModel over the Responses API.
type responsesModel struct {
	streamOnly
	reasoning bool
	svc       responses.ResponseService
}

// newResponsesModel builds the adapter. Like the Anthropic adapter it
// uses the service constructor, not openai.NewClient, which would read
// OPENAI_API_KEY and OPENAI_BASE_URL from the process environment.
func newResponsesModel(c responsesConfig) *responsesModel {
	opts := []option.RequestOption{
		option.WithBaseURL(cmp.Or(c.baseURL, "https://api.openai.com/v1")),
		option.WithMaxRetries(0), // retryModel owns the retry policy
	}
	if c.client != nil {
		opts = append(opts, option.WithHTTPClient(c.client))
	}
	switch {
	case c.azure:
		if c.apiKey != "" {
			opts = append(opts, option.WithHeader("api-key", c.apiKey))
		}
		opts = append(opts, option.WithQuery("api-version", cmp.Or(c.apiVersion, "v1")))
	case c.apiKey != "":
		opts = append(opts, option.WithAPIKey(c.apiKey))
	}
	for k, v := range c.headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	return &responsesModel{streamOnly: streamOnly{provider: c.providerID, model: c.modelID}, reasoning: c.reasoning,
		svc: responses.NewResponseService(opts...)}
}

// Provider implements llm.LanguageModel.
// Generate implements llm.LanguageModel by draining Stream.
func (m *responsesModel) Generate(ctx context.Context, call llm.Call) (*llm.Response, error) {
	stream, err := m.Stream(ctx, call)
	if err != nil {
		return nil, err
	}
	return collectStream(stream)
}

// params builds the request body.
func (m *responsesModel) params(call llm.Call) (responses.ResponseNewParams, []llm.CallWarning) {
	o, _ := call.ProviderOptions[responsesOptionsKey].(*responsesCallOptions)
	if o == nil {
		o = &responsesCallOptions{}
	}
	store := o.Store != nil && *o.Store
	p := responses.ResponseNewParams{Model: m.model, Store: param.NewOpt(store)}
	input, warnings := m.input(call.Prompt, store)
	p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: input}
	if call.MaxOutputTokens != nil {
		p.MaxOutputTokens = param.NewOpt(*call.MaxOutputTokens)
	}
	if !m.reasoning { // reasoning models refuse sampling settings
		if call.Temperature != nil {
			p.Temperature = param.NewOpt(*call.Temperature)
		}
		if call.TopP != nil {
			p.TopP = param.NewOpt(*call.TopP)
		}
	}
	if o.PromptCacheKey != "" {
		p.PromptCacheKey = param.NewOpt(o.PromptCacheKey)
	}
	if o.TextVerbosity != "" {
		p.Text.Verbosity = responses.ResponseTextConfigVerbosity(o.TextVerbosity)
	}
	if m.reasoning {
		if o.ReasoningEffort != "" {
			p.Reasoning.Effort = shared.ReasoningEffort(o.ReasoningEffort)
		}
		if o.ReasoningSummary != "" {
			p.Reasoning.Summary = shared.ReasoningSummary(o.ReasoningSummary)
		}
		if !store {
			// Without storage the next step can only send the reasoning
			// back if the API hands out its encrypted form.
			p.Include = []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent}
		}
	}
	for _, t := range call.Tools {
		ft, ok := t.(llm.FunctionTool)
		if !ok {
			warnings = append(warnings, llm.CallWarning{Type: llm.CallWarningTypeUnsupportedTool, Tool: t})
			continue
		}
		p.Tools = append(p.Tools, responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
			Name: ft.Name, Description: param.NewOpt(ft.Description), Parameters: ft.InputSchema,
			Strict: param.NewOpt(false),
		}})
	}
	if len(p.Tools) > 0 && call.ToolChoice != nil {
		switch *call.ToolChoice {
		case llm.ToolChoiceAuto:
			p.ToolChoice.OfToolChoiceMode = param.NewOpt(responses.ToolChoiceOptionsAuto)
		case llm.ToolChoiceNone:
			p.ToolChoice.OfToolChoiceMode = param.NewOpt(responses.ToolChoiceOptionsNone)
		case llm.ToolChoiceRequired:
			p.ToolChoice.OfToolChoiceMode = param.NewOpt(responses.ToolChoiceOptionsRequired)
		default:
			p.ToolChoice.OfFunctionTool = &responses.ToolChoiceFunctionParam{Name: string(*call.ToolChoice)}
		}
	}
	return p, warnings
}

// input turns the prompt into input items. A reasoning part with an item
// id becomes a reasoning item right where it was produced, before the
// step's function calls; without storage it must carry its encrypted
// content (the API cannot look the id up), so one without is left out.
func (m *responsesModel) input(prompt llm.Prompt, store bool) (responses.ResponseInputParam, []llm.CallWarning) {
	var in responses.ResponseInputParam
	var warnings []llm.CallWarning
	sent := map[string]bool{} // reasoning item ids already in the input
	for _, msg := range prompt {
		switch msg.Role {
		case llm.MessageRoleSystem:
			var text strings.Builder
			for _, c := range msg.Content {
				if t, ok := llm.AsContentType[llm.TextPart](c); ok {
					text.WriteString(t.Text)
				}
			}
			if text.Len() == 0 {
				continue
			}
			role := responses.EasyInputMessageRoleSystem
			if m.reasoning {
				role = responses.EasyInputMessageRoleDeveloper
			}
			in = append(in, responses.ResponseInputItemParamOfMessage(text.String(), role))
		case llm.MessageRoleUser:
			var parts responses.ResponseInputMessageContentListParam
			for _, c := range msg.Content {
				switch c.GetType() {
				case llm.ContentTypeText:
					if t, ok := llm.AsContentType[llm.TextPart](c); ok {
						parts = append(parts, responses.ResponseInputContentUnionParam{OfInputText: &responses.ResponseInputTextParam{Text: t.Text}})
					}
				case llm.ContentTypeFile:
					f, ok := llm.AsContentType[llm.FilePart](c)
					if !ok {
						continue
					}
					if part, ok := responsesFile(f); ok {
						parts = append(parts, part)
					} else {
						warnings = append(warnings, unsupportedFile(f))
					}
				}
			}
			if len(parts) > 0 {
				in = append(in, responses.ResponseInputItemParamOfMessage(parts, responses.EasyInputMessageRoleUser))
			}
		case llm.MessageRoleAssistant:
			for _, c := range msg.Content {
				switch c.GetType() {
				case llm.ContentTypeText:
					if t, ok := llm.AsContentType[llm.TextPart](c); ok && t.Text != "" {
						in = append(in, responses.ResponseInputItemParamOfMessage(t.Text, responses.EasyInputMessageRoleAssistant))
					}
				case llm.ContentTypeReasoning:
					r, ok := llm.AsContentType[llm.ReasoningPart](c)
					if !ok {
						continue
					}
					meta, _ := r.ProviderOptions[responsesMetaKey].(*responsesReasoning)
					if meta == nil || meta.ItemID == "" || sent[meta.ItemID] || (!store && meta.EncryptedContent == "") {
						continue
					}
					sent[meta.ItemID] = true
					item := responses.ResponseReasoningItemParam{ID: meta.ItemID, Summary: []responses.ResponseReasoningItemSummaryParam{}}
					if r.Text != "" {
						item.Summary = append(item.Summary, responses.ResponseReasoningItemSummaryParam{Text: r.Text})
					}
					if meta.EncryptedContent != "" {
						item.EncryptedContent = param.NewOpt(meta.EncryptedContent)
					}
					in = append(in, responses.ResponseInputItemUnionParam{OfReasoning: &item})
				case llm.ContentTypeToolCall:
					if tc, ok := llm.AsContentType[llm.ToolCallPart](c); ok && !tc.ProviderExecuted {
						in = append(in, responses.ResponseInputItemParamOfFunctionCall(tc.Input, tc.ToolCallID, tc.ToolName))
					}
				}
			}
		case llm.MessageRoleTool:
			for _, c := range msg.Content {
				r, ok := llm.AsContentType[llm.ToolResultPart](c)
				if !ok || r.ProviderExecuted {
					continue
				}
				in = append(in, responses.ResponseInputItemParamOfFunctionCallOutput(r.ToolCallID, toolResultText(r.Output)))
			}
		}
	}
	return in, warnings
}

// toolResultText is a tool result as the text a function_call_output takes.
func toolResultText(out llm.ToolResultOutputContent) string {
	switch o := out.(type) {
	case llm.ToolResultOutputContentText:
		return o.Text
	case llm.ToolResultOutputContentError:
		if o.Error != nil {
			return o.Error.Error()
		}
	case llm.ToolResultOutputContentMedia:
		return cmp.Or(o.Text, "["+o.MediaType+" content]")
	}
	return ""
}

// responsesFile is a user attachment as an input content part.
func responsesFile(f llm.FilePart) (responses.ResponseInputContentUnionParam, bool) {
	dataURL := "data:" + f.MediaType + ";base64," + base64.StdEncoding.EncodeToString(f.Data)
	switch {
	case strings.HasPrefix(f.MediaType, "image/"):
		return responses.ResponseInputContentUnionParam{OfInputImage: &responses.ResponseInputImageParam{
			ImageURL: param.NewOpt(dataURL), Detail: responses.ResponseInputImageDetailAuto}}, true
	case f.MediaType == "application/pdf":
		return responses.ResponseInputContentUnionParam{OfInputFile: &responses.ResponseInputFileParam{
			Filename: param.NewOpt(cmp.Or(f.Filename, "file.pdf")), FileData: param.NewOpt(dataURL)}}, true
	case strings.HasPrefix(f.MediaType, "text/"):
		return responses.ResponseInputContentUnionParam{OfInputText: &responses.ResponseInputTextParam{Text: string(f.Data)}}, true
	}
	return responses.ResponseInputContentUnionParam{}, false
}

// Stream implements llm.LanguageModel. Text and reasoning parts carry
// their output item's id, tool calls their call_id; a reasoning item's
// end carries its metadata (id and encrypted content, read from the
// item's done event); a stream that ends without response.completed (or
// .incomplete) is an incomplete-stream error, which retryModel retries.
func (m *responsesModel) Stream(ctx context.Context, call llm.Call) (llm.StreamResponse, error) {
	params, warnings := m.params(call)
	stream := m.svc.NewStreaming(ctx, params)
	return func(yield func(llm.StreamPart) bool) {
		defer func() { _ = stream.Close() }()
		if len(warnings) > 0 && !yield(llm.StreamPart{Type: llm.StreamPartTypeWarnings, Warnings: warnings}) {
			return
		}
		calls := map[int64]string{} // output index → call_id
		summaries := map[string]bool{}
		var usage llm.Usage
		finish, done, hasCalls := llm.FinishReasonUnknown, false, false
		for stream.Next() {
			ev := stream.Current()
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
					calls[ev.OutputIndex] = ev.Item.CallID
					part = llm.StreamPart{Type: llm.StreamPartTypeToolInputStart, ID: ev.Item.CallID, ToolCallName: ev.Item.Name}
				}
			case "response.reasoning_summary_part.added":
				if summaries[ev.ItemID] { // a new paragraph of the summary
					part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: ev.ItemID, Delta: "\n\n"}
				}
				summaries[ev.ItemID] = true
			case "response.reasoning_summary_text.delta":
				part = llm.StreamPart{Type: llm.StreamPartTypeReasoningDelta, ID: ev.ItemID, Delta: ev.Delta}
			case "response.output_text.delta":
				part = llm.StreamPart{Type: llm.StreamPartTypeTextDelta, ID: ev.ItemID, Delta: ev.Delta}
			case "response.function_call_arguments.delta":
				if id, ok := calls[ev.OutputIndex]; ok {
					part = llm.StreamPart{Type: llm.StreamPartTypeToolInputDelta, ID: id, Delta: ev.Delta}
				}
			case "response.output_item.done":
				switch ev.Item.Type {
				case "reasoning":
					part = llm.StreamPart{Type: llm.StreamPartTypeReasoningEnd, ID: ev.Item.ID,
						ProviderMetadata: responsesReasoningMeta(ev.Item.ID, ev.Item.EncryptedContent)}
				case "message":
					part = llm.StreamPart{Type: llm.StreamPartTypeTextEnd, ID: ev.Item.ID}
				case "function_call":
					delete(calls, ev.OutputIndex)
					hasCalls = true
					if !yield(llm.StreamPart{Type: llm.StreamPartTypeToolInputEnd, ID: ev.Item.CallID}) {
						return
					}
					part = llm.StreamPart{Type: llm.StreamPartTypeToolCall, ID: ev.Item.CallID,
						ToolCallName: ev.Item.Name, ToolCallInput: cmp.Or(ev.Item.Arguments.OfString, "{}")}
				}
			case "response.completed", "response.incomplete":
				done = true
				usage = responsesUsage(ev.Response.Usage)
				finish = responsesFinish(ev.Response.IncompleteDetails.Reason, hasCalls)
			case "response.failed":
				yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: responsesStreamError(
					ev.Response.Error.Message, string(ev.Response.Error.Code))})
				return
			case "error":
				yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: responsesStreamError(ev.Message, ev.Code)})
				return
			}
			if part.Type != "" && !yield(part) {
				return
			}
		}
		if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
			yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: responsesError(ctx, err)})
			return
		}
		if !done {
			err := ctx.Err()
			if err == nil {
				err = llm.NewIncompleteStreamError()
			}
			yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: err})
			return
		}
		yield(llm.StreamPart{Type: llm.StreamPartTypeFinish, Usage: usage, FinishReason: finish})
	}, nil
}

func responsesReasoningMeta(id, encrypted string) llm.ProviderMetadata {
	return llm.ProviderMetadata{responsesMetaKey: &responsesReasoning{ItemID: id, EncryptedContent: encrypted}}
}

// responsesUsage maps the API's usage; input_tokens include cached ones,
// which fantasy counts apart (Cost prices them separately).
func responsesUsage(u responses.ResponseUsage) llm.Usage {
	cached := u.InputTokensDetails.CachedTokens
	return llm.Usage{
		InputTokens: max(u.InputTokens-cached, 0), OutputTokens: u.OutputTokens,
		TotalTokens: u.InputTokens + u.OutputTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens,
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

// responsesStreamError is an error the API reported inside the stream
// (an "error" event or response.failed); server errors and rate limits
// there are transient, as over HTTP.
func responsesStreamError(message, code string) error {
	return &llm.ProviderError{
		Title:          cmp.Or(strings.ReplaceAll(code, "_", " "), "provider stream error"),
		Message:        cmp.Or(message, code, "the response failed"),
		ResponseBody:   fmt.Appendf(nil, `{"error":{"message":%q,"code":%q}}`, message, code),
		TransientError: code == "server_error" || code == "rate_limit_exceeded" || llm.TransientStreamErrorTypes[code],
	}
}

var responsesContextRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`maximum context length (?:is|of) (\d+) tokens.*?(?:resulted in|requested) ~?(\d+) tokens`)
})

// responsesError turns an SDK error into a *llm.ProviderError that
// retry.go and Classify understand. Cancellation stays errors.Is(err,
// context.Canceled).
func responsesError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return errors.Join(ctxErr, err)
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		body := apiErr.RawJSON()
		pe := &llm.ProviderError{
			Title:      cmp.Or(llm.ErrorTitleForStatusCode(apiErr.StatusCode), "provider request failed"),
			Message:    cmp.Or(apiErr.Message, strings.TrimSpace(body), http.StatusText(apiErr.StatusCode)),
			Cause:      apiErr,
			StatusCode: apiErr.StatusCode,
			// Wrapped in an error envelope so Classify reads the message
			// (the SDK's raw JSON is the inner error object).
			ResponseBody: fmt.Appendf(nil, `{"error":%s}`, cmp.Or(body, "{}")),
		}
		fillHTTP(pe, apiErr.Request, apiErr.Response)
		if mm := responsesContextRe().FindStringSubmatch(pe.Message); mm != nil {
			pe.ContextTooLargeErr = true
			pe.ContextMaxTokens, _ = strconv.Atoi(mm[1])
			pe.ContextUsedTokens, _ = strconv.Atoi(mm[2])
		}
		return pe
	}
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		var env struct {
			Error struct{ Message, Code, Type string } `json:"error"`
		}
		_ = json.Unmarshal(se.Event.Data, &env)
		return &llm.ProviderError{Title: "provider stream error", Message: cmp.Or(env.Error.Message, se.Message),
			Cause: se, ResponseBody: se.Event.Data,
			TransientError: llm.TransientStreamErrorTypes[cmp.Or(env.Error.Type, env.Error.Code)]}
	}
	return llm.WrapTransportError(err)
}

var _ llm.LanguageModel = (*responsesModel)(nil)
