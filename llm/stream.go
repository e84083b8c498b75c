package llm

import (
	"context"
	"iter"
)

// LanguageModel is one model of one provider, reached through its wire
// adapter.
type LanguageModel interface {
	// Stream sends the call and returns the answer as it arrives. An error
	// before the stream starts is returned; one after it is a part of type
	// StreamPartTypeError, the last part of the stream.
	Stream(context.Context, Call) (StreamResponse, error)
	Provider() string
	Model() string
}

// StreamResponse is an answer as it streams in.
type StreamResponse = iter.Seq[StreamPart]

// StreamPartType names the kind of a StreamPart.
type StreamPartType string

// The kinds of stream parts. Text and reasoning come as a start, deltas
// and an end sharing an ID; a tool call as an input start (its id and
// name, as soon as the model begins it) and the whole call
// (StreamPartTypeToolCall).
const (
	StreamPartTypeWarnings       StreamPartType = "warnings"
	StreamPartTypeTextStart      StreamPartType = "text_start"
	StreamPartTypeTextDelta      StreamPartType = "text_delta"
	StreamPartTypeTextEnd        StreamPartType = "text_end"
	StreamPartTypeReasoningStart StreamPartType = "reasoning_start"
	StreamPartTypeReasoningDelta StreamPartType = "reasoning_delta"
	StreamPartTypeReasoningEnd   StreamPartType = "reasoning_end"
	StreamPartTypeToolInputStart StreamPartType = "tool_input_start"
	StreamPartTypeToolCall       StreamPartType = "tool_call"
	StreamPartTypeFinish         StreamPartType = "finish"
	StreamPartTypeError          StreamPartType = "error"
)

// StreamPart is one event of a streamed answer; which fields are set
// depends on Type.
type StreamPart struct {
	Type StreamPartType
	// ID ties a text or reasoning block's start, deltas and end together,
	// and is a tool call's id.
	ID            string
	ToolCallName  string
	ToolCallInput string
	Delta         string
	// Usage and FinishReason come with StreamPartTypeFinish.
	Usage        Usage
	FinishReason FinishReason
	// Error comes with StreamPartTypeError.
	Error    error
	Warnings []CallWarning
	// ProviderMetadata comes with a block's end (a reasoning signature).
	ProviderMetadata ProviderMetadata
}

// Usage counts a call's tokens. InputTokens excludes cache reads and
// writes, which are counted apart (they are priced apart).
type Usage struct {
	InputTokens         int64
	OutputTokens        int64
	ReasoningTokens     int64
	CacheCreationTokens int64
	CacheReadTokens     int64
}

// FinishReason is why the model stopped.
type FinishReason string

// The finish reasons.
const (
	FinishReasonStop          FinishReason = "stop"
	FinishReasonLength        FinishReason = "length"
	FinishReasonContentFilter FinishReason = "content-filter"
	FinishReasonToolCalls     FinishReason = "tool-calls"
	FinishReasonOther         FinishReason = "other"
	// FinishReasonUnknown: the provider sent none.
	FinishReasonUnknown FinishReason = "unknown"
)

// CallWarningType names the kind of a CallWarning.
type CallWarningType string

// The kinds of call warnings.
const (
	CallWarningTypeUnsupportedSetting CallWarningType = "unsupported-setting"
	CallWarningTypeOther              CallWarningType = "other"
)

// CallWarning is something of the call the adapter left out or changed
// (a setting the model does not take, a file it cannot carry); the call
// goes on without it.
type CallWarning struct {
	Type    CallWarningType
	Setting string
	Details string
	Message string
}
