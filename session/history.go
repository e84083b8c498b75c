package session

import (
	"encoding/base64"
	"net/url"
	"strings"

	"ocgo/llm"

	"ocgo/provider"
	"ocgo/storage"
)

// history turns the session's stored messages into the model's prompt:
// everything from the last summary on, without queued user messages that
// have not had their turn, without assistant messages that failed or were
// aborted, and with the current assistant message's parts so far
// (current/parts). userID is the user message the run answers.
func (s *Service) history(sessionID, userID, current string, parts []storage.Part) ([]llm.Message, error) {
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return nil, err
	}
	start := 0
	for i, m := range msgs {
		if m.Info.Summary && m.Info.Error == nil && m.Info.Time.Completed != nil {
			start = i
		}
	}
	// The prompt's own user message may predate the summary (compaction
	// runs after it was written): it follows the summary.
	var late *storage.WithParts
	if userID != "" {
		for i := range msgs[:start] {
			if msgs[i].Info.ID == userID {
				late = &msgs[i]
			}
		}
	}
	var out []llm.Message
	for i, m := range msgs[start:] {
		if i == 1 && late != nil {
			if um, ok := userMessage(late.Parts); ok {
				out = append(out, um)
			}
		}
		switch {
		case m.Info.ID == current:
			out = append(out, assistantMessages(parts)...)
		case m.Info.Role == storage.RoleUser && s.isWaiting(sessionID, m.Info.ID):
			// queued behind the current prompt
		case m.Info.Role == storage.RoleUser:
			if um, ok := userMessage(m.Parts); ok {
				out = append(out, um)
			}
		case m.Info.Error != nil:
			// A failed or aborted answer teaches the model nothing, and an
			// aborted one may end in a tool call without its result.
		case m.Info.Time.Completed == nil:
			// Another run's message still in progress (a queued prompt's
			// turn never overlaps, so this is a crash leftover).
		default:
			out = append(out, assistantMessages(m.Parts)...)
		}
	}
	if late != nil && len(msgs[start:]) == 1 {
		if um, ok := userMessage(late.Parts); ok {
			out = append(out, um)
		}
	}
	// A history that starts at a summary starts with an assistant turn,
	// which some providers refuse: ask for it first.
	if len(out) > 0 && out[0].Role == llm.MessageRoleAssistant {
		out = append([]llm.Message{llm.NewUserMessage(summaryQuestion)}, out...)
	}
	return out, nil
}

func userMessage(parts []storage.Part) (llm.Message, bool) {
	var content []llm.MessagePart
	for _, p := range parts {
		switch p.Type {
		case storage.PartText:
			if p.Text != "" {
				content = append(content, llm.TextPart{Text: p.Text})
			}
		case storage.PartFile:
			if data, mime, ok := decodeDataURL(p.URL); ok && !isTextMime(mime) {
				content = append(content, llm.FilePart{Filename: p.Filename, Data: data, MediaType: mime})
			}
		}
	}
	return llm.Message{Role: llm.MessageRoleUser, Content: content}, len(content) > 0
}

// decodeDataURL decodes a data: URL (base64 or percent-encoded) into its
// bytes and media type.
func decodeDataURL(u string) ([]byte, string, bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, "", false
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, "", false
	}
	if mime, ok := strings.CutSuffix(meta, ";base64"); ok {
		data, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, "", false
		}
		return data, mime, true
	}
	text, err := url.PathUnescape(payload)
	if err != nil {
		return nil, "", false
	}
	mime, _, _ := strings.Cut(meta, ";")
	return []byte(text), mime, true
}

// assistantMessages splits an assistant message at its step boundaries:
// each step becomes an assistant message (text, reasoning, tool calls)
// followed by a tool message with the results of its calls.
func assistantMessages(parts []storage.Part) []llm.Message {
	var out []llm.Message
	var content, results []llm.MessagePart
	flush := func() {
		if len(content) > 0 {
			out = append(out, llm.Message{Role: llm.MessageRoleAssistant, Content: content})
		}
		if len(results) > 0 {
			out = append(out, llm.Message{Role: llm.MessageRoleTool, Content: results})
		}
		content, results = nil, nil
	}
	for _, p := range parts {
		switch p.Type {
		case storage.PartStepStart:
			flush()
		case storage.PartText:
			if p.Text != "" {
				content = append(content, llm.TextPart{Text: p.Text})
			}
		case storage.PartReasoning:
			// Reasoning goes back so a tool loop with thinking is
			// accepted; each wire sends only what its API takes
			// (provider.ReasoningPart).
			if r, ok := provider.ReasoningPart(p.Text, p.Metadata); ok {
				content = append(content, r)
			}
		case storage.PartTool:
			if p.State == nil || (p.State.Status != storage.ToolCompleted && p.State.Status != storage.ToolError) {
				continue
			}
			input := string(p.State.Input)
			if input == "" {
				input = "{}"
			}
			content = append(content, llm.ToolCallPart{ToolCallID: p.CallID, ToolName: p.Tool, Input: input})
			var output llm.ToolResultOutputContent = llm.ToolResultOutputContentText{Text: p.State.Output}
			if p.State.Status == storage.ToolError {
				output = llm.ToolResultOutputContentError{Error: errorText(p.State.Error)}
			}
			results = append(results, llm.ToolResultPart{ToolCallID: p.CallID, Output: output})
		}
	}
	flush()
	return out
}

type textError string

func (e textError) Error() string { return string(e) }

func errorText(s string) error { return textError(s) }

// systemMessages are the system prompt entries as model messages.
func systemMessages(system []string) []llm.Message {
	var out []llm.Message
	for _, s := range system {
		if s != "" {
			out = append(out, llm.NewSystemMessage(s))
		}
	}
	return out
}
