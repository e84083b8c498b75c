package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"ocgo/config"
	"ocgo/llm"
	"ocgo/provider/fakellm"
)

// plainKey looks like no known key format, so only the registry's own
// secret (not keyPatterns) can take it out of an error.
const plainKey = "ocgoPlainSecret0123456789"

// noSecret fails when secret shows in err's text, or in the text, title,
// message or body of any error down its unwrap chain.
func noSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	n := 0
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), secret) {
			t.Errorf("secret in %T %q", e, e.Error())
		}
		if pe, ok := e.(*llm.ProviderError); ok {
			n++
			for what, s := range map[string]string{"Title": pe.Title, "Message": pe.Message, "ResponseBody": string(pe.ResponseBody)} {
				if strings.Contains(s, secret) {
					t.Errorf("secret in ProviderError.%s %q", what, s)
				}
			}
		}
	}
	if n != 1 {
		t.Errorf("%d provider errors in the chain of %v", n, err)
	}
	if _, data := Classify(err); strings.Contains(mustJSON(data), secret) {
		t.Errorf("secret in Classify: %v", data)
	}
}

// TestErrorsNeverCarryTheKey: a provider that echoes the key in an error
// body (an HTTP error, or an error event inside the stream) never gets it
// into the error the caller sees, on any wire; the Vertex access token
// likewise.
func TestErrorsNeverCarryTheKey(t *testing.T) {
	for _, wc := range wireCases {
		base := wc.config
		wc.config = func(url string) config.ProviderConfig {
			c := base(url)
			c.Options["apiKey"] = plainKey
			return c
		}
		t.Run(wc.name+"/http", func(t *testing.T) {
			_, res, _ := setup(t, wc, fakellm.Turn{Status: 400, ErrorMessage: "bad key " + plainKey + " given"})
			noSecret(t, lastErr(t, collect(t, context.Background(), res.LM, userCall("x"))), plainKey)
		})
		t.Run(wc.name+"/stream", func(t *testing.T) {
			_, res, _ := setup(t, wc, fakellm.Turn{Text: []string{"a"}, StreamError: "stream error: key " + plainKey})
			noSecret(t, lastErr(t, collect(t, context.Background(), res.LM, userCall("x"))), plainKey)
		})
	}
	t.Run("vertex", func(t *testing.T) {
		const token = "ya29.plain-access-token-0123"
		s := fakellm.NewVertexAnthropic(t, token, fakellm.Turn{Status: 400, ErrorMessage: "token " + token + " refused"})
		pol := RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}
		reg, err := NewRegistry(Source{Config: map[string]config.ProviderConfig{
			"google-vertex-anthropic": {Options: map[string]any{"baseURL": s.URL}}},
			Env: envMap(map[string]string{"GOOGLE_VERTEX_PROJECT": "p1"}), Retry: &pol}, nil)
		if err != nil {
			t.Fatal(err)
		}
		reg.vertex.once.Do(func() {})
		reg.vertex.ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})
		res, err := reg.Model(context.Background(), "google-vertex-anthropic", "claude-sonnet-4@20250514")
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, lastErr(t, collect(t, context.Background(), res.LM, userCall("x"))), token)
		if r := s.Requests(); len(r) != 1 || r[0].Rejected != "" {
			t.Errorf("requests %+v", r)
		}
	})
}

// TestStreamErrorTransient: an error object inside a stream is transient
// by its type or code, or by a numeric code that is a retryable HTTP
// status (409 among them, as over HTTP).
func TestStreamErrorTransient(t *testing.T) {
	for body, want := range map[string]bool{
		`{"error":{"code":409,"message":"conflict"}}`:                                 true,
		`{"error":{"code":502,"message":"Provider disconnected"}}`:                    true,
		`{"error":{"code":400,"message":"bad"}}`:                                      false,
		`{"error":{"message":"slow","type":"requests","code":"rate_limit_exceeded"}}`: true,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`: true,
		`{"type":"error","error":{"type":"invalid_request_error","message":"nope"}}`:  false,
	} {
		var pe *llm.ProviderError
		if err := streamError(errorBody([]byte(body)), []byte(body), nil); !errors.As(err, &pe) || pe.IsRetryable() != want {
			t.Errorf("%s: retryable %v, want %v", body, pe.IsRetryable(), want)
		}
	}
}
