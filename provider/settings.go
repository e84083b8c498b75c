package provider

import (
	"encoding/json"
	"maps"
	"strings"

	"ocgo/llm"
)

// Model families whose requests differ. The family is read from the model
// id, as the original does, so a Claude or GPT model reached through a
// gateway (OpenRouter, a proxy) gets its family's treatment.
const (
	FamilyAnthropic = "anthropic" // Claude
	FamilyGPT5      = "gpt-5"     // GPT-5 and its variants (not gpt-5-chat)
	FamilyOpenAI    = "openai"    // GPT-4.x, o-series
	FamilyGemini    = "gemini"
	FamilyQwen      = "qwen"
	FamilyDefault   = "default"
)

// Family returns the family of a model id.
func Family(modelID string) string {
	id := strings.ToLower(modelID)
	if i := strings.LastIndex(id, "/"); i >= 0 { // "openai/gpt-5" on gateways
		id = id[i+1:]
	}
	switch {
	case strings.Contains(id, "claude"):
		return FamilyAnthropic
	case strings.Contains(id, "gpt-5") && !strings.Contains(id, "gpt-5-chat"):
		return FamilyGPT5
	case strings.HasPrefix(id, "gpt-") || strings.HasPrefix(id, "o1") || strings.HasPrefix(id, "o3") || strings.HasPrefix(id, "o4"):
		return FamilyOpenAI
	case strings.Contains(id, "gemini"):
		return FamilyGemini
	case strings.Contains(id, "qwen"):
		return FamilyQwen
	}
	return FamilyDefault
}

// Settings are the sampling settings and provider options of one request.
// Option keys are the ones opencode.json uses under a model's or agent's
// "options" (the AI SDK's camelCase names): reasoningEffort,
// textVerbosity, reasoningSummary, promptCacheKey, store, thinking
// ({"type":"enabled","budgetTokens":N}).
type Settings struct {
	Temperature *float64
	TopP        *float64
	Options     map[string]any
}

func f64(v float64) *float64 { return &v }

// familyDefaults are the settings the original sends per family:
// temperature 0 for every family but Claude (the API default suits it)
// and Qwen (0.55 with top_p 1, what Qwen's authors recommend for coding);
// GPT-5 asks for medium reasoning effort and terse output (its default
// verbosity is wordy in an agent loop); the OpenAI API gets the session
// as its prompt cache key, so a session's turns share the cache.
func familyDefaults(providerID, modelID, sessionID string) Settings {
	s := Settings{Options: map[string]any{}}
	switch Family(modelID) {
	case FamilyAnthropic:
	case FamilyQwen:
		s.Temperature, s.TopP = f64(0.55), f64(1)
	default:
		s.Temperature = f64(0)
	}
	if providerID == "openai" && sessionID != "" {
		s.Options["promptCacheKey"] = sessionID
	}
	if Family(modelID) == FamilyGPT5 {
		s.Options["reasoningEffort"] = "medium"
		if providerID != "azure" {
			s.Options["textVerbosity"] = "low"
		}
	}
	return s
}

// Settings merges, later winning: the family defaults, the model's
// options (models.dev or opencode.json provider.<id>.models.<id>.options),
// then the agent's temperature, top_p and options.
func (r *Resolved) Settings(sessionID string, temperature, topP *float64, agentOptions map[string]any) Settings {
	s := familyDefaults(r.Info.ID, r.Model.ID, sessionID)
	maps.Copy(s.Options, r.Model.Options)
	maps.Copy(s.Options, agentOptions)
	if temperature != nil {
		s.Temperature = temperature
	}
	if topP != nil {
		s.TopP = topP
	}
	return s
}

// Prepare puts settings on a call in the form the model's wire takes:
// temperature only for models that accept one, tool_choice auto when tools
// are offered, and the options as the wire's provider options (unknown
// option keys are ignored).
func (r *Resolved) Prepare(call *llm.Call, s Settings) {
	call.Temperature, call.TopP = nil, s.TopP
	if r.Model.Temperature {
		call.Temperature = s.Temperature
	}
	if len(call.Tools) > 0 {
		auto := llm.ToolChoiceAuto
		call.ToolChoice = &auto
	}
	if call.ProviderOptions == nil {
		call.ProviderOptions = llm.ProviderOptions{}
	}
	str := func(k string) *string {
		if v, ok := s.Options[k].(string); ok && v != "" {
			return &v
		}
		return nil
	}
	switch r.wire {
	case wireResponses:
		o := &responsesCallOptions{}
		for k, dst := range map[string]*string{"reasoningEffort": &o.ReasoningEffort, "reasoningSummary": &o.ReasoningSummary,
			"textVerbosity": &o.TextVerbosity, "promptCacheKey": &o.PromptCacheKey} {
			if v := str(k); v != nil {
				*dst = *v
			}
		}
		if b, ok := s.Options["store"].(bool); ok {
			o.Store = &b
		}
		call.ProviderOptions[responsesOptionsKey] = o
	case wireOpenAI, wireCompat:
		o := &chatCallOptions{}
		if e := str("reasoningEffort"); e != nil {
			o.ReasoningEffort = *e
		}
		if r.wire == wireOpenAI { // OpenAI's own fields; compatible servers may refuse them
			if v := str("textVerbosity"); v != nil {
				o.TextVerbosity = *v
			}
			if k := str("promptCacheKey"); k != nil {
				o.PromptCacheKey = *k
			}
			if b, ok := s.Options["store"].(bool); ok {
				o.Store = &b
			}
		}
		call.ProviderOptions[chatOptionsKey] = o
	case wireAnthropic:
		if budget := thinkingBudget(s.Options["thinking"]); budget > 0 {
			call.ProviderOptions[anthropicMetaKey] = &anthropicCallOptions{ThinkingBudget: budget}
		}
	}
}

// thinkingBudget reads {"type":"enabled","budgetTokens":N} (budget_tokens
// accepted too); 0 means no extended thinking.
func thinkingBudget(v any) int64 {
	m, ok := v.(map[string]any)
	if !ok || m["type"] != "enabled" {
		return 0
	}
	for _, k := range []string{"budgetTokens", "budget_tokens"} {
		switch n := m[k].(type) {
		case float64:
			return int64(n)
		case int:
			return int64(n)
		case int64:
			return n
		case json.Number:
			i, _ := n.Int64()
			return i
		}
	}
	return 0
}

// anthropicCallOptions are the Anthropic adapter's per-call options.
type anthropicCallOptions struct {
	ThinkingBudget int64 `json:"thinking_budget"`
}

// Options implements llm.ProviderOptionsData.
func (*anthropicCallOptions) Options() {}

// ReasoningPart rebuilds a stored reasoning part for the next request.
// Only reasoning the API can check is worth sending back: an Anthropic
// thinking block with its signature (or a redacted block's data), which
// the API requires before the tool calls of the turn it continues when
// thinking is on; and an OpenAI Responses reasoning item (its id and
// encrypted content, {"openai":{"itemId","reasoningEncryptedContent"}}),
// which carries a reasoning model's thoughts into the next step. Both the
// metadata shape ocgo stores and the original's are read. And reasoning an
// OpenAI-compatible server streamed as reasoning_content
// ({"openai-compatible":{"field":"reasoning_content"}}): the Chat
// Completions wire returns it with the step's tool calls, as DeepSeek's and
// Kimi's thinking modes require. Each wire leaves out the others'. ok is
// false when there is nothing to send.
func ReasoningPart(text string, meta map[string]any) (llm.ReasoningPart, bool) {
	if c, _ := meta[chatMetaKey].(map[string]any); c != nil {
		field, _ := c["field"].(string)
		return llm.ReasoningPart{Text: text, ProviderOptions: llm.ProviderOptions{
			chatMetaKey: &chatReasoning{Field: field}}}, field == "reasoning_content"
	}
	if o, _ := meta[responsesMetaKey].(map[string]any); o != nil {
		id, _ := o["itemId"].(string)
		enc, _ := o["reasoningEncryptedContent"].(string)
		if id == "" {
			return llm.ReasoningPart{}, false
		}
		return llm.ReasoningPart{Text: text, ProviderOptions: llm.ProviderOptions{
			responsesMetaKey: &responsesReasoning{ItemID: id, EncryptedContent: enc},
		}}, true
	}
	a, _ := meta[anthropicMetaKey].(map[string]any)
	if d, ok := a["data"].(map[string]any); ok { // the typed wrapper (anthropicReasoning.MarshalJSON)
		a = d
	}
	sig, _ := a["signature"].(string)
	red, _ := a["redacted_data"].(string)
	if red == "" {
		red, _ = a["redactedData"].(string)
	}
	if sig == "" && red == "" {
		return llm.ReasoningPart{}, false
	}
	return llm.ReasoningPart{Text: text, ProviderOptions: llm.ProviderOptions{
		anthropicMetaKey: &anthropicReasoning{Signature: sig, RedactedData: red},
	}}, true
}
