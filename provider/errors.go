package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
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
