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

// openaiBaseURL is OpenAI's API, where the Chat Completions and Responses
// adapters go without a base URL.
const openaiBaseURL = "https://api.openai.com/v1"

// postStream is the one HTTP exchange of ocgo's own wire adapters: it POSTs
// body (JSON) to url, asking for an event stream, with the headers auth
// sets (the wire's version and credentials), then the provider's
// configured headers, and returns the response to read the stream from. A
// non-2xx answer becomes httpError(status, body, response) (the body read
// up to 1 MB); a transport failure goes through wireError.
func postStream(ctx context.Context, client httpDoer, url string, body []byte, auth func(http.Header),
	headers map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	auth(req.Header)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
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
		return nil, httpError(resp.StatusCode, raw, resp)
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

// step is what a wireDecoder says after one event.
type step int

const (
	stepNext step = iota // read the next event
	stepDone             // the wire said the stream is complete ([DONE]): read no further, end
	stepStop             // an error part went out, or the consumer stopped: nothing more
)

// wireDecoder turns one wire's server-sent events into stream parts,
// yielding them through the function it was made with.
type wireDecoder interface {
	// event handles one event.
	event(ctx context.Context, ev sseEvent) step
	// end runs once the events are read: it yields what is still open, then
	// the finish part, or an error when the wire never said it finished.
	end(ctx context.Context)
}

// sseStream is the one stream read of ocgo's wire adapters, around the
// decoder of each wire: postStream's error as the stream's only part, the
// call's warnings first, the body read as server-sent events and closed at
// the end, a read error as the last part.
func sseStream(ctx context.Context, resp *http.Response, err error, warnings []llm.CallWarning,
	decoder func(yield func(llm.StreamPart) bool) wireDecoder) llm.StreamResponse {
	return func(yield func(llm.StreamPart) bool) {
		if err != nil {
			yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: err})
			return
		}
		defer resp.Body.Close()
		if len(warnings) > 0 && !yield(llm.StreamPart{Type: llm.StreamPartTypeWarnings, Warnings: warnings}) {
			return
		}
		d := decoder(yield)
		sse := newSSEReader(resp.Body)
	read:
		for sse.next() {
			switch d.event(ctx, sse.ev) {
			case stepStop:
				return
			case stepDone:
				break read
			}
		}
		if err := sse.err; err != nil {
			yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: wireError(ctx, err)})
			return
		}
		d.end(ctx)
	}
}

// cutOff is the error of a stream that ended before the wire said it
// finished: the context's error when the call was cancelled, else an
// incomplete-stream error, which retryModel retries.
func cutOff(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return llm.NewIncompleteStreamError()
}

// stepOf is the step after a yield or a handler that reports whether the
// stream goes on.
func stepOf(more bool) step {
	if more {
		return stepNext
	}
	return stepStop
}
