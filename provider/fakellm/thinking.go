package fakellm

import "fmt"

// Signature is the signature the fake Anthropic server gives a thinking
// block when the Turn sets none; a client may replay it in a history it
// builds by hand.
const Signature = "ErUBCkYIBhgCIkBmYWtlLXNpZ25hdHVyZQ=="

// anthropicThinkingCheck makes the checks the Messages API makes when a
// request enables extended thinking: a thinking block sent back must carry
// a signature the server issued (the fake issues Signature or a Turn's
// Signature, so any non-empty one it did not make is refused as forged);
// and when the request continues a tool loop (its last message answers
// tool_use blocks), the assistant message holding those tool_use blocks
// must start with its thinking (or redacted_thinking) block. It returns
// the API's error message, or "".
func anthropicThinkingCheck(req map[string]any, issued func(string) bool) string {
	msgs, _ := req["messages"].([]any)
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		blocks, _ := m["content"].([]any)
		for j, b := range blocks {
			bm, _ := b.(map[string]any)
			if bm["type"] != "thinking" {
				continue
			}
			if sig, _ := bm["signature"].(string); sig == "" || !issued(sig) {
				return fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j)
			}
		}
	}
	th, _ := req["thinking"].(map[string]any)
	if th["type"] != "enabled" || len(msgs) < 2 {
		return ""
	}
	last, _ := msgs[len(msgs)-1].(map[string]any)
	if !hasBlock(last, "tool_result") {
		return ""
	}
	prev, _ := msgs[len(msgs)-2].(map[string]any)
	if prev["role"] != "assistant" || !hasBlock(prev, "tool_use") {
		return ""
	}
	blocks, _ := prev["content"].([]any)
	first, _ := blocks[0].(map[string]any)
	if t := first["type"]; t != "thinking" && t != "redacted_thinking" {
		return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%v`. "+
			"When `thinking` is enabled, a final `assistant` message must start with a thinking block "+
			"(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "+
			"thinking blocks from previous turns. To avoid this requirement, disable `thinking`.", len(msgs)-2, t)
	}
	return ""
}

func hasBlock(m map[string]any, typ string) bool {
	blocks, _ := m["content"].([]any)
	for _, b := range blocks {
		if bm, _ := b.(map[string]any); bm["type"] == typ {
			return true
		}
	}
	return false
}
