// Package llm is the provider-neutral conversation: what a model is sent (a
// Call: the prompt's messages and their parts, tools, sampling settings,
// provider options) and what it streams back (StreamParts: text, reasoning,
// tool calls, usage, the finish reason, errors), and the LanguageModel and
// Provider interfaces every wire adapter implements.
//
// ocgo owns these types so that the session core and the adapters in
// package provider depend on nothing larger than the conversation itself:
// an SDK's agent loop, object generation and schema library would be linked
// into the binary, and their package init run at every start, for types
// alone. For now the names forward to charm.land/fantasy (type aliases), so
// fantasy's Chat Completions providers still implement LanguageModel; they
// become ocgo's own definitions once no adapter of fantasy's is linked.
package llm

import "charm.land/fantasy"

// The conversation sent to a model.
type (
	Call                         = fantasy.Call
	Prompt                       = fantasy.Prompt
	Message                      = fantasy.Message
	MessageRole                  = fantasy.MessageRole
	MessagePart                  = fantasy.MessagePart
	TextPart                     = fantasy.TextPart
	ReasoningPart                = fantasy.ReasoningPart
	FilePart                     = fantasy.FilePart
	ToolCallPart                 = fantasy.ToolCallPart
	ToolResultPart               = fantasy.ToolResultPart
	ToolResultOutputContent      = fantasy.ToolResultOutputContent
	ToolResultOutputContentText  = fantasy.ToolResultOutputContentText
	ToolResultOutputContentError = fantasy.ToolResultOutputContentError
	ToolResultOutputContentMedia = fantasy.ToolResultOutputContentMedia
	Tool                         = fantasy.Tool
	FunctionTool                 = fantasy.FunctionTool
	ToolChoice                   = fantasy.ToolChoice
	ProviderOptions              = fantasy.ProviderOptions
	ProviderOptionsData          = fantasy.ProviderOptionsData
	ContentType                  = fantasy.ContentType
	Content                      = fantasy.Content
)

// What a model answers.
type (
	StreamResponse   = fantasy.StreamResponse
	StreamPart       = fantasy.StreamPart
	StreamPartType   = fantasy.StreamPartType
	Response         = fantasy.Response
	TextContent      = fantasy.TextContent
	ReasoningContent = fantasy.ReasoningContent
	ToolCallContent  = fantasy.ToolCallContent
	Usage            = fantasy.Usage
	FinishReason     = fantasy.FinishReason
	CallWarning      = fantasy.CallWarning
	CallWarningType  = fantasy.CallWarningType
	ProviderMetadata = fantasy.ProviderMetadata
	ProviderError    = fantasy.ProviderError
)

// The models and their providers.
type (
	LanguageModel        = fantasy.LanguageModel
	Provider             = fantasy.Provider
	ObjectCall           = fantasy.ObjectCall
	ObjectResponse       = fantasy.ObjectResponse
	ObjectStreamResponse = fantasy.ObjectStreamResponse
)

// Message roles.
const (
	MessageRoleSystem    = fantasy.MessageRoleSystem
	MessageRoleUser      = fantasy.MessageRoleUser
	MessageRoleAssistant = fantasy.MessageRoleAssistant
	MessageRoleTool      = fantasy.MessageRoleTool
)

// Kinds of message parts and answer content.
const (
	ContentTypeText      = fantasy.ContentTypeText
	ContentTypeReasoning = fantasy.ContentTypeReasoning
	ContentTypeFile      = fantasy.ContentTypeFile
	ContentTypeToolCall  = fantasy.ContentTypeToolCall
)

// Tool choices.
const (
	ToolChoiceNone     = fantasy.ToolChoiceNone
	ToolChoiceAuto     = fantasy.ToolChoiceAuto
	ToolChoiceRequired = fantasy.ToolChoiceRequired
)

// Kinds of stream parts.
const (
	StreamPartTypeWarnings       = fantasy.StreamPartTypeWarnings
	StreamPartTypeTextStart      = fantasy.StreamPartTypeTextStart
	StreamPartTypeTextDelta      = fantasy.StreamPartTypeTextDelta
	StreamPartTypeTextEnd        = fantasy.StreamPartTypeTextEnd
	StreamPartTypeReasoningStart = fantasy.StreamPartTypeReasoningStart
	StreamPartTypeReasoningDelta = fantasy.StreamPartTypeReasoningDelta
	StreamPartTypeReasoningEnd   = fantasy.StreamPartTypeReasoningEnd
	StreamPartTypeToolInputStart = fantasy.StreamPartTypeToolInputStart
	StreamPartTypeToolInputDelta = fantasy.StreamPartTypeToolInputDelta
	StreamPartTypeToolInputEnd   = fantasy.StreamPartTypeToolInputEnd
	StreamPartTypeToolCall       = fantasy.StreamPartTypeToolCall
	StreamPartTypeFinish         = fantasy.StreamPartTypeFinish
	StreamPartTypeError          = fantasy.StreamPartTypeError
)

// Why a model stopped.
const (
	FinishReasonStop          = fantasy.FinishReasonStop
	FinishReasonLength        = fantasy.FinishReasonLength
	FinishReasonContentFilter = fantasy.FinishReasonContentFilter
	FinishReasonToolCalls     = fantasy.FinishReasonToolCalls
	FinishReasonOther         = fantasy.FinishReasonOther
	FinishReasonUnknown       = fantasy.FinishReasonUnknown
)

// Kinds of call warnings.
const (
	CallWarningTypeUnsupportedSetting = fantasy.CallWarningTypeUnsupportedSetting
	CallWarningTypeUnsupportedTool    = fantasy.CallWarningTypeUnsupportedTool
	CallWarningTypeOther              = fantasy.CallWarningTypeOther
)

// TransientStreamErrorTypes are the error "type" (or "code") values of a
// mid-stream error event that name a temporary condition worth retrying.
var TransientStreamErrorTypes = fantasy.TransientStreamErrorTypes

// NewUserMessage is a user message of the prompt text and files.
func NewUserMessage(prompt string, files ...FilePart) Message {
	return fantasy.NewUserMessage(prompt, files...)
}

// NewSystemMessage is a system message of one text part per prompt.
func NewSystemMessage(prompt ...string) Message { return fantasy.NewSystemMessage(prompt...) }

// AsContentType returns c as a T (or *T dereferenced).
func AsContentType[T Content](c Content) (T, bool) { return fantasy.AsContentType[T](c) }

// AsMessagePart returns p as a T (or *T dereferenced).
func AsMessagePart[T MessagePart](p MessagePart) (T, bool) { return fantasy.AsMessagePart[T](p) }

// WrapTransportError wraps an unexpected EOF or an HTTP/2 stream or
// connection reset in a retryable ProviderError; other errors pass as they are.
func WrapTransportError(err error) error { return fantasy.WrapTransportError(err) }

// IsTransportError reports whether err is an HTTP/2 stream, connection or
// GOAWAY failure, worth retrying on a fresh connection.
func IsTransportError(err error) bool { return fantasy.IsTransportError(err) }

// NewIncompleteStreamError is the retryable error of a stream that ended
// without its terminal event.
func NewIncompleteStreamError() *ProviderError { return fantasy.NewIncompleteStreamError() }

// ErrorTitleForStatusCode is the lower-case status text of an HTTP status.
func ErrorTitleForStatusCode(status int) string { return fantasy.ErrorTitleForStatusCode(status) }

// MarshalProviderType encodes provider data wrapped with its type name, as
// stored with reasoning parts.
func MarshalProviderType[T any](typeID string, data T) ([]byte, error) {
	return fantasy.MarshalProviderType(typeID, data)
}

// UnmarshalProviderType decodes provider data (without its type wrapper).
func UnmarshalProviderType[T any](data []byte, target *T) error {
	return fantasy.UnmarshalProviderType(data, target)
}
