package llm

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ProviderError is a failed model call: an HTTP error answer, an error
// event inside a stream, or a transport failure. The retries decide with
// IsRetryable, compaction with IsContextTooLarge, and the error mapping
// reads StatusCode, AuthError and the provider's message (Message).
type ProviderError struct {
	Title   string
	Message string
	Cause   error

	StatusCode int
	// ResponseHeaders are keyed by lower-case name.
	ResponseHeaders map[string]string
	ResponseBody    []byte

	// The prompt exceeded the context window (with the counts when the
	// provider gave them).
	ContextTooLargeErr bool
	ContextUsedTokens  int
	ContextMaxTokens   int

	// AuthError marks an authentication failure that carries no 401.
	AuthError bool
	// TransientError marks a temporary failure worth retrying although
	// the status says nothing (an error event inside a 200 stream).
	TransientError bool
}

// Error is "title: message", or the message alone without a title.
func (e *ProviderError) Error() string {
	if e.Title == "" {
		return e.Message
	}
	return e.Title + ": " + e.Message
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ProviderError) Unwrap() error { return e.Cause }

// IsRetryable reports whether another attempt may succeed: a transient
// error, a stream cut short (io.ErrUnexpectedEOF) or reset (an HTTP/2
// transport error), an x-should-retry: true header, or status 408, 409,
// 429 or 5xx.
func (e *ProviderError) IsRetryable() bool {
	if e.TransientError || errors.Is(e.Cause, io.ErrUnexpectedEOF) || IsTransportError(e.Cause) {
		return true
	}
	for k, v := range e.ResponseHeaders {
		if strings.EqualFold(k, "x-should-retry") {
			ok, _ := strconv.ParseBool(v)
			if ok {
				return true
			}
			break
		}
	}
	return RetryableStatus(e.StatusCode)
}

// RetryableStatus reports whether an HTTP status says another attempt may
// succeed: 408, 409, 429 or 5xx.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= http.StatusInternalServerError
}

// IsContextTooLarge reports whether the prompt exceeded the model's context
// window.
func (e *ProviderError) IsContextTooLarge() bool {
	return e.ContextTooLargeErr || e.ContextMaxTokens > 0 || e.ContextUsedTokens > 0
}

// TransientStreamErrorTypes are the error "type" (or "code") values of an
// error event inside a stream that name a temporary condition worth
// retrying; an adapter sets ProviderError.TransientError from them.
var TransientStreamErrorTypes = map[string]bool{
	"server_error":     true,
	"internal_error":   true,
	"overloaded_error": true,
	"api_error":        true,
	"rate_limit_error": true,
	// OpenAI's Responses stream names a rate limit by this code.
	"rate_limit_exceeded": true,
}

// The message fragments of HTTP/2 stream resets and connection errors.
// net/http's own HTTP/2 client keeps its error types unexported, so the
// text is all there is to match.
var transportFragments = [...]string{"stream error:", "connection error:"}

// IsTransportError reports whether err is an HTTP/2 stream or connection
// failure of the transport, worth retrying on a fresh stream.
func IsTransportError(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, f := range transportFragments {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
}

const transportTitle = "stream transport error"

// WrapTransportError makes a stream cut short (io.ErrUnexpectedEOF) or an
// HTTP/2 transport failure a retryable ProviderError with a short message;
// any other error is returned as it is.
func WrapTransportError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &ProviderError{Title: transportTitle, Message: err.Error(), Cause: err}
	case IsTransportError(err):
		return &ProviderError{Title: transportTitle, Message: transportMessage(err.Error()), Cause: err}
	}
	return err
}

// transportMessage shortens an HTTP/2 error's text to its code (and the
// cause after it): "…stream error: stream ID 5; INTERNAL_ERROR; received
// from peer" → "INTERNAL_ERROR (received from peer)", "…connection error:
// PROTOCOL_ERROR" → "PROTOCOL_ERROR".
func transportMessage(msg string) string {
	for _, f := range transportFragments {
		i := strings.Index(msg, f)
		if i < 0 {
			continue
		}
		rest := msg[i:]
		if _, after, ok := strings.Cut(rest, "; "); ok {
			if code, cause, ok := strings.Cut(after, "; "); ok {
				return code + " (" + cause + ")"
			}
			return after
		}
		if _, code, ok := strings.Cut(rest, ": "); ok {
			return code
		}
		return rest
	}
	return msg
}

// NewIncompleteStreamError is the retryable error of a stream that ended
// without its final event (a finish reason, message_stop,
// response.completed).
func NewIncompleteStreamError() *ProviderError {
	return &ProviderError{Title: transportTitle, Message: io.ErrUnexpectedEOF.Error(), Cause: io.ErrUnexpectedEOF}
}

// ErrorTitleForStatusCode is an HTTP status's text in lower case ("too
// many requests"), "" for an unknown status.
func ErrorTitleForStatusCode(status int) string {
	return strings.ToLower(http.StatusText(status))
}
