package llm

// Call is one request to a model.
type Call struct {
	Prompt          Prompt
	MaxOutputTokens *int64
	Temperature     *float64
	TopP            *float64
	Tools           []FunctionTool
	// ToolChoice nil leaves the choice to the provider's default.
	ToolChoice *ToolChoice
	// ProviderOptions are keyed by the provider's name.
	ProviderOptions ProviderOptions
}

// Prompt is the conversation sent: system, user, assistant and tool
// messages in order.
type Prompt []Message

// MessageRole is who speaks a message.
type MessageRole string

// The roles of a prompt's messages.
const (
	MessageRoleSystem    MessageRole = "system"
	MessageRoleUser      MessageRole = "user"
	MessageRoleAssistant MessageRole = "assistant"
	// MessageRoleTool carries the results of the assistant's tool calls.
	MessageRoleTool MessageRole = "tool"
)

// Message is one message of a prompt.
type Message struct {
	Role    MessageRole
	Content []MessagePart
}

// NewUserMessage is a user message of the prompt text followed by files.
func NewUserMessage(prompt string, files ...FilePart) Message {
	content := make([]MessagePart, 0, 1+len(files))
	content = append(content, TextPart{Text: prompt})
	for _, f := range files {
		content = append(content, f)
	}
	return Message{Role: MessageRoleUser, Content: content}
}

// NewSystemMessage is a system message of one text part per prompt.
func NewSystemMessage(prompts ...string) Message {
	content := make([]MessagePart, 0, len(prompts))
	for _, p := range prompts {
		content = append(content, TextPart{Text: p})
	}
	return Message{Role: MessageRoleSystem, Content: content}
}

// MessagePart is one part of a message's content: TextPart, ReasoningPart,
// FilePart, ToolCallPart or ToolResultPart.
type MessagePart interface {
	messagePart()
}

// AsMessagePart returns p as a T, also when p holds a non-nil *T.
func AsMessagePart[T MessagePart](p MessagePart) (T, bool) { return as[T](p) }

func as[T any](v any) (T, bool) {
	switch x := v.(type) {
	case T:
		return x, true
	case *T:
		if x != nil {
			return *x, true
		}
	}
	var zero T
	return zero, false
}

// TextPart is text of any role.
type TextPart struct {
	Text string
}

// ReasoningPart is an assistant's reasoning sent back; its provider
// options carry what the provider needs to accept it (a signature, an item
// id, encrypted content).
type ReasoningPart struct {
	Text            string
	ProviderOptions ProviderOptions
}

// FilePart is a file attached to a message (an image, a PDF).
type FilePart struct {
	Filename  string
	Data      []byte
	MediaType string
}

// ToolCallPart is a tool call the assistant made, sent back in the history.
type ToolCallPart struct {
	ToolCallID string
	ToolName   string
	// Input is the call's arguments as the text of a JSON object.
	Input string
}

// ToolResultPart is the result of a tool call, in a MessageRoleTool message.
type ToolResultPart struct {
	ToolCallID string
	Output     ToolResultOutputContent
}

// The message parts, and the tool result outputs below, are marked by an
// unexported method: the adapters know every kind.
func (TextPart) messagePart()       {}
func (ReasoningPart) messagePart()  {}
func (FilePart) messagePart()       {}
func (ToolCallPart) messagePart()   {}
func (ToolResultPart) messagePart() {}

// ToolResultOutputContent is a tool result's output:
// ToolResultOutputContentText or ToolResultOutputContentError.
type ToolResultOutputContent interface {
	toolResultOutput()
}

// ToolResultOutputContentText is a tool's text output.
type ToolResultOutputContentText struct {
	Text string
}

func (ToolResultOutputContentText) toolResultOutput() {}

// ToolResultOutputContentError is a failed tool call's error.
type ToolResultOutputContentError struct {
	Error error
}

func (ToolResultOutputContentError) toolResultOutput() {}

// FunctionTool is a tool offered to the model, which the caller runs,
// described by a JSON Schema.
type FunctionTool struct {
	Name        string
	Description string
	// InputSchema is the JSON Schema of the tool's arguments.
	InputSchema map[string]any
}

// ToolChoice says whether and how the model must call tools.
type ToolChoice string

// The tool choices ocgo sends.
const (
	ToolChoiceNone     ToolChoice = "none"
	ToolChoiceAuto     ToolChoice = "auto"
	ToolChoiceRequired ToolChoice = "required"
)

// ProviderOptionsData is one provider's data in ProviderOptions or
// ProviderMetadata, defined by its adapter. It is stored with a session's
// parts as whatever JSON its type encodes to; the adapter that defines it
// is the one that reads it back.
type ProviderOptionsData interface {
	// Options marks the implementations.
	Options()
}

// ProviderOptions is provider-specific input, keyed by provider name.
type ProviderOptions map[string]ProviderOptionsData

// ProviderMetadata is provider-specific output (a reasoning block's
// signature, a Responses item id), keyed by provider name.
type ProviderMetadata map[string]ProviderOptionsData
