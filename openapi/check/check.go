// Package check validates OpenAPI 3.1 documents and real HTTP responses
// against them with getkin/kin-openapi. Only tests import it, so the server
// binary does not carry kin-openapi and its JSON Schema engine.
package check

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Sentinel errors of Validate and ResponseValidator.
var (
	ErrInvalidDoc = errors.New("openapi: invalid document")
	ErrNoRoute    = errors.New("openapi: no documented route")
	ErrResponse   = errors.New("openapi: response does not match the document")
)

// load parses doc with kin-openapi (no external references) and validates
// it. kin-openapi v0.153.0 reads the "openapi" field and validates a 3.1
// document as 3.1 (JSON Schema 2020-12: const, type arrays, $ref siblings).
func load(doc []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDoc, err)
	}
	if !t.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("%w: version %q is not 3.1", ErrInvalidDoc, t.OpenAPI)
	}
	if err := t.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDoc, err)
	}
	return t, nil
}

// Validate reports whether doc is a valid OpenAPI 3.1 document according to
// kin-openapi.
func Validate(doc []byte) error {
	_, err := load(doc)
	return err
}

// ResponseValidator returns a function that checks one real HTTP response
// against doc: path is the request path (query allowed, e.g.
// "/session/ses_1/message"), the route is looked up in the document, the
// status must be documented (200 or one of Operation.Errors) and the body
// must match its schema. A text/event-stream body is split into SSE frames
// and each frame's data is checked against the frame schema. The function
// is safe for concurrent use.
func ResponseValidator(doc []byte) (func(method, path string, status int, header http.Header, body []byte) error, error) {
	t, err := load(doc)
	if err != nil {
		return nil, err
	}
	router, err := legacy.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDoc, err)
	}
	return func(method, path string, status int, header http.Header, body []byte) error {
		req, err := http.NewRequest(method, path, nil)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoRoute, err)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrNoRoute, method, path, err)
		}
		if media := eventStream(route.Operation, status, header); media != nil {
			return checkFrames(media, body)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
			},
			Status:  status,
			Header:  header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			return fmt.Errorf("%w: %s %s %d: %w", ErrResponse, method, path, status, err)
		}
		return nil
	}, nil
}

// eventStream returns the documented text/event-stream media type of the
// response when the real response is one.
func eventStream(op *openapi3.Operation, status int, header http.Header) *openapi3.MediaType {
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "text/event-stream" || op.Responses == nil {
		return nil
	}
	r := op.Responses.Status(status)
	if r == nil || r.Value == nil {
		return nil
	}
	return r.Value.Content.Get(mt)
}

// checkFrames validates the data of every SSE frame in body against the
// media type's schema (JSON Schema 2020-12 semantics, as for a 3.1 document).
func checkFrames(media *openapi3.MediaType, body []byte) error {
	if media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	var data []string
	check := func() error {
		if len(data) == 0 {
			return nil
		}
		raw := strings.Join(data, "\n")
		data = data[:0]
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return fmt.Errorf("%w: event data is not JSON: %w", ErrResponse, err)
		}
		if err := media.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
			return fmt.Errorf("%w: event %.200s: %w", ErrResponse, raw, err)
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if err := check(); err != nil {
				return err
			}
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrResponse, err)
	}
	return check()
}
