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

// message is the provider's own message of err (the adapters put the
// error body's message in ProviderError.Message), else err's text.
func message(err error) string {
	var pe *llm.ProviderError
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
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

// errorInfo is what a provider's error object says.
type errorInfo struct {
	message   string
	typ, code string // the error's type and its code when that is text
	status    int    // a numeric code that is an HTTP status (OpenRouter)
}

// kind is the error's type, else its code ("invalid_request_error",
// "server_error").
func (e errorInfo) kind() string { return cmp.Or(e.typ, e.code) }

// errorBody reads an error body or an error event's data: Anthropic's
// {"type":"error","error":{"type","message"}}, OpenAI's {"error":
// {"message","type","code"}}, and what compatible servers send instead:
// {"error":"text"} (Ollama), {"message":…}, a one-element list of the
// first (Google), or a numeric code that is an HTTP status (OpenRouter).
func errorBody(raw []byte) errorInfo {
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
		return errorInfo{}
	}
	if s := jsonString(env.Error); s != "" {
		return errorInfo{message: s}
	}
	var e struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	_ = json.Unmarshal(env.Error, &e)
	info := errorInfo{message: cmp.Or(e.Message, env.Message), typ: e.Type, code: jsonString(e.Code)}
	_ = json.Unmarshal(e.Code, &info.status)
	return info
}

// contextPatterns read the numbers of a context-window overflow as
// Anthropic words it ("prompt is too long: M tokens > N maximum"), OpenAI
// ("maximum context length is N tokens … resulted in M tokens"), Alibaba's
// Qwen ("Range of input length should be [1, N]") and Vercel's gateway
// ("Input too long: M input tokens, limit is N"); used and max are the
// submatch indexes of the counts (0: not given). Compiled on first use.
var contextPatterns = sync.OnceValue(func() []contextPattern {
	return []contextPattern{
		{regexp.MustCompile(`prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)\s*maximum`), 1, 2},
		{regexp.MustCompile(`maximum context length (?:is|of) (\d+) tokens.*?(?:resulted in|requested) ~?(\d+) tokens`), 2, 1},
		{regexp.MustCompile(`Range of input length should be \[\d+,\s*(\d+)\]`), 0, 1},
		{regexp.MustCompile(`Input too long:\s*(\d+)\s*input tokens,\s*limit is\s*(\d+)`), 1, 2},
	}
})

type contextPattern struct {
	re        *regexp.Regexp
	used, max int
}

// markContextOverflow sets pe's context-overflow fields from its message,
// or from the error code OpenAI gives an overflow (its Responses stream
// says so in words no pattern reads).
func markContextOverflow(pe *llm.ProviderError, code string) {
	for _, p := range contextPatterns() {
		mm := p.re.FindStringSubmatch(pe.Message)
		if mm == nil {
			continue
		}
		if p.used > 0 {
			pe.ContextUsedTokens, _ = strconv.Atoi(mm[p.used])
		}
		if p.max > 0 {
			pe.ContextMaxTokens, _ = strconv.Atoi(mm[p.max])
		}
		pe.ContextTooLargeErr = true
		return
	}
	if code == "context_length_exceeded" {
		pe.ContextTooLargeErr = true
	}
}

// httpError is the error of a non-2xx answer, on every wire: a
// *llm.ProviderError that retry.go and Classify understand, with the
// status, the provider's message, lower-case response headers
// (retry-after), the body and a context overflow's numbers.
func httpError(status int, raw []byte, resp *http.Response) error {
	info := errorBody(raw)
	pe := &llm.ProviderError{
		Title:        cmp.Or(llm.ErrorTitleForStatusCode(status), "provider request failed"),
		Message:      cmp.Or(info.message, strings.TrimSpace(string(raw)), http.StatusText(status)),
		StatusCode:   status,
		ResponseBody: raw,
	}
	fillHTTP(pe, resp)
	markContextOverflow(pe, info.code)
	return pe
}

// streamError is the error a provider reported inside a 200 stream (raw is
// the event's data, kept as the response body; resp, when given, lends its
// headers). Server errors, overloads and rate limits there are transient,
// as over HTTP: by the error's type or code, or a numeric code that is a
// retryable HTTP status.
func streamError(info errorInfo, raw []byte, resp *http.Response) error {
	kind := info.kind()
	pe := &llm.ProviderError{
		Title:        cmp.Or(strings.ReplaceAll(kind, "_", " "), "provider stream error"),
		Message:      cmp.Or(info.message, kind, "the stream failed"),
		ResponseBody: raw,
		TransientError: llm.TransientStreamErrorTypes[info.typ] || llm.TransientStreamErrorTypes[info.code] ||
			llm.RetryableStatus(info.status),
	}
	fillHTTP(pe, resp)
	markContextOverflow(pe, info.code)
	return pe
}

// fillHTTP copies the response headers (the last value of each, lower-case
// names) into pe: the retry policy reads retry-after there. resp may be nil.
func fillHTTP(pe *llm.ProviderError, resp *http.Response) {
	if resp == nil {
		return
	}
	pe.ResponseHeaders = make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		if len(v) > 0 {
			pe.ResponseHeaders[strings.ToLower(k)] = v[len(v)-1]
		}
	}
}
