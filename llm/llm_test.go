package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An HTTP/2 stream reset by the server mid-body, as net/http's client
// reports it, is a retryable transport error with a short message.
func TestWrapTransportErrorOfARealStreamReset(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // RST_STREAM INTERNAL_ERROR
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s", resp.Proto)
	}
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Fatal("the body read must fail")
	}
	if !IsTransportError(err) {
		t.Fatalf("IsTransportError(%q) = false", err)
	}
	wrapped := WrapTransportError(fmt.Errorf("read stream: %w", err))
	var pe *ProviderError
	if !errors.As(wrapped, &pe) || !pe.IsRetryable() || pe.Title != "stream transport error" ||
		pe.Message != "INTERNAL_ERROR (received from peer)" || !errors.Is(wrapped, err) {
		t.Fatalf("wrapped %#v (%v)", wrapped, wrapped)
	}
}

func TestWrapTransportError(t *testing.T) {
	other := errors.New("bad request")
	if WrapTransportError(other) != other {
		t.Error("an unrelated error must pass unchanged")
	}
	eof := fmt.Errorf("reading: %w", io.ErrUnexpectedEOF)
	var pe *ProviderError
	if !errors.As(WrapTransportError(eof), &pe) || !pe.IsRetryable() || pe.Message != eof.Error() {
		t.Errorf("unexpected EOF: %#v", pe)
	}
	for msg, want := range map[string]string{
		"http2: connection error: PROTOCOL_ERROR":   "PROTOCOL_ERROR",
		"stream error: stream ID 5; REFUSED_STREAM": "REFUSED_STREAM",
	} {
		pe = nil
		if !errors.As(WrapTransportError(errors.New(msg)), &pe) || pe.Message != want || !pe.IsRetryable() {
			t.Errorf("%q: %#v", msg, pe)
		}
	}
	if pe := NewIncompleteStreamError(); !pe.IsRetryable() || !errors.Is(pe, io.ErrUnexpectedEOF) {
		t.Errorf("incomplete stream %#v", pe)
	}
}

func TestProviderErrorRetryable(t *testing.T) {
	for _, c := range []struct {
		e    ProviderError
		want bool
	}{
		{ProviderError{StatusCode: 400}, false},
		{ProviderError{StatusCode: 401}, false},
		{ProviderError{StatusCode: 408}, true},
		{ProviderError{StatusCode: 409}, true},
		{ProviderError{StatusCode: 429}, true},
		{ProviderError{StatusCode: 500}, true},
		{ProviderError{StatusCode: 529}, true},
		{ProviderError{StatusCode: 400, ResponseHeaders: map[string]string{"X-Should-Retry": "true"}}, true},
		{ProviderError{StatusCode: 503, ResponseHeaders: map[string]string{"x-should-retry": "false"}}, true},
		{ProviderError{StatusCode: 200, TransientError: true}, true},
		{ProviderError{Cause: errors.New("stream error: stream ID 1; CANCEL")}, true},
		{ProviderError{Cause: errors.New("context canceled")}, false},
	} {
		if got := c.e.IsRetryable(); got != c.want {
			t.Errorf("%+v: IsRetryable %v, want %v", c.e, got, c.want)
		}
	}
	if (&ProviderError{}).IsContextTooLarge() || !(&ProviderError{ContextMaxTokens: 1}).IsContextTooLarge() {
		t.Error("IsContextTooLarge")
	}
	if got := (&ProviderError{Title: ErrorTitleForStatusCode(429), Message: "slow down"}).Error(); got != "too many requests: slow down" {
		t.Errorf("Error() %q", got)
	}
}

func TestAsMessagePart(t *testing.T) {
	var part MessagePart = &TextPart{Text: "p"}
	if tp, ok := AsMessagePart[TextPart](part); !ok || tp.Text != "p" {
		t.Error("a *TextPart is a TextPart")
	}
	if _, ok := AsMessagePart[FilePart](part); ok {
		t.Error("a TextPart is no FilePart")
	}
	if _, ok := AsMessagePart[TextPart](nil); ok {
		t.Error("nil is nothing")
	}
	m := NewUserMessage("hi", FilePart{MediaType: "image/png"})
	if m.Role != MessageRoleUser || len(m.Content) != 2 {
		t.Errorf("%+v", m)
	}
}
