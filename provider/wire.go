package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"ocgo/llm"
)

// This file is what ocgo's own wire adapters (Anthropic Messages, OpenAI
// Responses) share around their one streaming POST: sending the JSON
// request, turning a non-2xx answer into the adapter's error, and
// wrapping transport and decoding failures. The SSE stream itself is read
// by sseReader (sse.go).

// typedText is a wire block of a type and a text: Anthropic's text block,
// the Responses API's input_text part and reasoning summary_text.
type typedText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// postStream POSTs body as JSON to url with the given headers and returns
// the streaming response, whose body the caller closes. A non-2xx answer
// is read (up to maxErrorBody) and handed to apiError, which builds the
// adapter's *llm.ProviderError; a transport failure goes through
// transportError.
func postStream(ctx context.Context, client httpDoer, url string, body any, header http.Header,
	apiError func(status int, raw []byte, resp *http.Response) error) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && ctx.Err() != nil {
			return nil, transportError(ctx, err)
		}
		return nil, apiError(resp.StatusCode, raw, resp)
	}
	return resp, nil
}

// transportError wraps a transport or decoding error (a dropped
// connection becomes fantasy's retryable transport error); cancellation
// stays errors.Is(err, context.Canceled).
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return errors.Join(ctxErr, err)
	}
	return llm.WrapTransportError(err)
}
