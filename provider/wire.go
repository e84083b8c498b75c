package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"ocgo/llm"
)

// typedText is a wire block of a type and a text: Anthropic's text block,
// the Responses API's input_text part and reasoning summary_text.
type typedText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// postStream is the one HTTP exchange of ocgo's own wire adapters: it POSTs
// body (JSON) to url, asking for an event stream, with the headers header
// sets, and returns the response to read the stream from. A non-2xx answer
// becomes apiErr(status, body, response) (the body read up to 1 MB); a
// transport failure goes through wireError.
func postStream(ctx context.Context, client httpDoer, url string, body []byte, header func(http.Header),
	apiErr func(status int, body []byte, resp *http.Response) error) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	header(req.Header)
	resp, err := client.Do(req)
	if err != nil {
		return nil, wireError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil && ctx.Err() != nil {
			return nil, wireError(ctx, err)
		}
		return nil, apiErr(resp.StatusCode, raw, resp)
	}
	return resp, nil
}

// wireError wraps a transport or decoding error of a wire adapter:
// cancellation stays errors.Is(err, context.Canceled), and transient
// transport failures (a stream cut off, HTTP/2 resets) become retryable
// provider errors.
func wireError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return errors.Join(ctxErr, err)
	}
	return llm.WrapTransportError(err)
}
