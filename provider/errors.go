package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"ocgo/llm"
)

// providerError tags an error with the provider it came from.
type providerError struct {
	id  string
	err error
}

func (e *providerError) Error() string { return e.err.Error() }
func (e *providerError) Unwrap() error { return e.err }

// keyPatterns match API-key-looking tokens, full or masked the way
// providers echo them back in 401 messages. Group 1, when present, is a
// prefix kept in the output.
var keyPatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`(?i)(api key provided:\s*)[^\s.,]+`),
		regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._*\-]{6,}`),
		regexp.MustCompile(`()\b(?:sk|pk|rk)-[A-Za-z0-9_*\-]{6,}`),
		regexp.MustCompile(`()\b(?:gsk_|xai-)[A-Za-z0-9*]{8,}`),
		regexp.MustCompile(`()\bAIza[0-9A-Za-z_*\-]{12,}`),
	}
})

// scrub removes secret (when non-empty) and key-like tokens from s.
func scrub(s, secret string) string {
	if len(secret) >= 6 {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	for _, re := range keyPatterns() {
		s = re.ReplaceAllString(s, "${1}[redacted]")
	}
	return s
}

// IsContextOverflow reports whether err says the prompt exceeded the
// model's context window (useful to trigger compaction).
func IsContextOverflow(err error) bool {
	var pe *llm.ProviderError
	return errors.As(err, &pe) && pe.IsContextTooLarge()
}

// Classify maps an error from Registry.Model or from a model's stream onto
// opencode's assistant message error union: it returns the error name
// ("ProviderAuthError", "MessageAbortedError", "MessageOutputLengthError",
// "UnknownError") and its data object. Messages never contain API keys.
func Classify(err error) (name string, data map[string]any) {
	if err == nil {
		return "", nil
	}
	providerID := ""
	var tagged *providerError
	if errors.As(err, &tagged) {
		providerID = tagged.id
	}
	if errors.Is(err, context.Canceled) {
		return "MessageAbortedError", map[string]any{}
	}
	if errors.Is(err, ErrOutputLength) {
		return "MessageOutputLengthError", map[string]any{}
	}
	msg := scrub(message(err), "")
	var pe *llm.ProviderError
	if errors.Is(err, ErrAuth) ||
		(errors.As(err, &pe) && (pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden || pe.AuthError)) {
		return "ProviderAuthError", map[string]any{"providerID": providerID, "message": msg}
	}
	return "UnknownError", map[string]any{"message": msg}
}

// message extracts the most useful human text from err: the provider's
// own error.message from the JSON body when there is one.
func message(err error) string {
	var pe *llm.ProviderError
	if errors.As(err, &pe) {
		body := pe.ResponseBody
		if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
			body = body[i+4:]
		}
		var env struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(bytes.TrimSpace(body), &env) == nil {
			if env.Error.Message != "" {
				return env.Error.Message
			}
			if env.Message != "" {
				return env.Message
			}
		}
		if pe.Message != "" {
			return pe.Message
		}
	}
	return err.Error()
}

// Cost returns the USD price of usage for m (prices are per million
// tokens). The adapters report InputTokens without cache reads and writes
// (llm.Usage), so the four counters are priced separately.
func Cost(m Model, u llm.Usage) float64 {
	return (float64(u.InputTokens)*m.Cost.Input +
		float64(u.OutputTokens)*m.Cost.Output +
		float64(u.CacheReadTokens)*m.Cost.CacheRead +
		float64(u.CacheCreationTokens)*m.Cost.CacheWrite) / 1_000_000
}

// openaiErrorBody reads an OpenAI-style error body: {"error":{"message",
// "type","code"}}, and what compatible servers send instead: {"error":
// "text"} (Ollama), {"message":…}, a one-element list of the first
// (Google), or a numeric code that is an HTTP status (OpenRouter).
func openaiErrorBody(raw []byte) (message, errType string, status int) {
	raw = bytes.TrimSpace(raw)
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		raw = list[0]
	}
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return "", "", 0
	}
	if s := jsonString(env.Error); s != "" {
		return s, "", 0
	}
	var e struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	_ = json.Unmarshal(env.Error, &e)
	_ = json.Unmarshal(e.Code, &status)
	return cmp.Or(e.Message, env.Message), cmp.Or(e.Type, jsonString(e.Code)), status
}

// openaiContextRe reads the numbers of a context-window overflow as
// OpenAI words it ("maximum context length is N tokens … resulted in M
// tokens"), Alibaba's Qwen ("Range of input length should be [1, N]") and
// Vercel's gateway ("Input too long: M input tokens, limit is N").
var openaiContextRe = sync.OnceValue(func() [3]*regexp.Regexp {
	return [3]*regexp.Regexp{
		regexp.MustCompile(`maximum context length (?:is|of) (\d+) tokens.*?(?:resulted in|requested) ~?(\d+) tokens`),
		regexp.MustCompile(`Range of input length should be \[\d+,\s*(\d+)\]`),
		regexp.MustCompile(`Input too long:\s*(\d+)\s*input tokens,\s*limit is\s*(\d+)`),
	}
})

// markContextOverflow sets pe's context-overflow fields from its message.
func markContextOverflow(pe *llm.ProviderError) {
	re := openaiContextRe()
	switch {
	case re[0].MatchString(pe.Message):
		mm := re[0].FindStringSubmatch(pe.Message)
		pe.ContextMaxTokens, _ = strconv.Atoi(mm[1])
		pe.ContextUsedTokens, _ = strconv.Atoi(mm[2])
	case re[1].MatchString(pe.Message):
		pe.ContextMaxTokens, _ = strconv.Atoi(re[1].FindStringSubmatch(pe.Message)[1])
	case re[2].MatchString(pe.Message):
		mm := re[2].FindStringSubmatch(pe.Message)
		pe.ContextUsedTokens, _ = strconv.Atoi(mm[1])
		pe.ContextMaxTokens, _ = strconv.Atoi(mm[2])
	default:
		return
	}
	pe.ContextTooLargeErr = true
}

// openaiAPIError (the Chat Completions and the Responses adapters' error
// mapper) turns a non-2xx answer of an OpenAI-style API into a
// *llm.ProviderError that retry.go and Classify understand: status,
// lower-case response headers (retry-after), the body, context-overflow
// numbers.
func openaiAPIError(status int, raw []byte, resp *http.Response) error {
	msg, _, _ := openaiErrorBody(raw)
	pe := &llm.ProviderError{
		Title:        cmp.Or(llm.ErrorTitleForStatusCode(status), "provider request failed"),
		Message:      cmp.Or(msg, strings.TrimSpace(string(raw)), http.StatusText(status)),
		StatusCode:   status,
		ResponseBody: raw,
	}
	fillHTTP(pe, resp)
	markContextOverflow(pe)
	return pe
}
