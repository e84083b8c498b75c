package routes

import (
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/julienschmidt/httprouter"

	"ocgo/bus"
	"ocgo/config"
	"ocgo/event"
	"ocgo/openapi"
	"ocgo/provider"
	"ocgo/storage"
)

// docState caches the OpenAPI document: it is built once, from the route
// table and the very Go types the handlers encode.
type docState struct {
	once sync.Once
	json []byte
	err  error
}

func (s *Server) doc(*http.Request, httprouter.Params) (any, error) {
	data, err := s.Document()
	if err != nil {
		return nil, err
	}
	return rawJSON(data), nil
}

// rawJSON is already-encoded JSON passed through writeJSON unchanged.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// Document returns the OpenAPI 3.1 document of this server.
func (s *Server) Document() ([]byte, error) {
	s.docs.once.Do(func() { s.docs.json, s.docs.err = s.buildDoc() })
	return s.docs.json, s.docs.err
}

func (s *Server) buildDoc() ([]byte, error) {
	b := openapi.New(openapi.Info{Title: "opencode", Version: "0.5.29", Description: "opencode api, served by ocgo"})
	b.ErrorSchema(reflect.TypeFor[errorBody]())
	b.Name(reflect.TypeFor[errorBody](), "Error")
	b.Name(reflect.TypeFor[storage.WithParts](), "MessageWithParts")
	b.Name(reflect.TypeFor[config.Document](), "Config")
	b.Name(reflect.TypeFor[provider.Info](), "Provider")
	for _, u := range unions() {
		b.Union(u)
	}
	for _, rt := range s.routes {
		op := openapi.Operation{
			Method: rt.method, Path: rt.path, ID: rt.id, Summary: rt.summary,
			Body: rt.in.t, BodyOptional: rt.bodyOptional, Response: rt.resp, ResponseOneOf: rt.respOneOf,
			Errors: []int{401, 403, 500}, NoContent: rt.noContent, Produces: rt.produces,
		}
		if rt.stream != nil {
			op.Stream, op.Response = true, reflect.TypeFor[bus.Event]()
		}
		for _, q := range rt.query {
			op.Params = append(op.Params, openapi.Param{Name: q, In: "query", Required: true})
		}
		for _, q := range rt.optQuery {
			op.Params = append(op.Params, openapi.Param{Name: q, In: "query"})
		}
		if rt.method != "GET" {
			op.Errors = append(op.Errors, 400, 413, 415)
		} else if len(rt.query) > 0 {
			op.Errors = append(op.Errors, 400)
		}
		if strings.Contains(rt.path, ":") {
			op.Errors = append(op.Errors, 400, 404)
		}
		if s.optional(rt.path) {
			op.Errors = append(op.Errors, 501) // when built without that dependency
		}
		if strings.HasPrefix(rt.path, "/session/:id/") && rt.method == "POST" {
			op.Errors = append(op.Errors, 409)
		}
		if strings.HasPrefix(rt.path, "/tui/") {
			op.Errors = append(op.Errors, 400, 503, 504)
		}
		op.Errors = dedupe(op.Errors)
		b.Add(op)
	}
	return b.JSON() // validated with kin-openapi by the tests (openapi/check)
}

func dedupe(xs []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// unions documents the flat wire types that are discriminated unions.
func unions() []openapi.Union {
	t := reflect.TypeFor[storage.Part]()
	base := []string{"id", "sessionID", "messageID", "type"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	userTime := reflect.TypeFor[struct {
		Created int64 `json:"created"`
	}]()
	startTime := reflect.TypeFor[struct {
		Start int64 `json:"start"`
	}]()
	type props = map[string]reflect.Type

	return []openapi.Union{
		{Type: reflect.TypeFor[storage.Message](), Name: "Message", Discriminator: "role", Variants: []openapi.Variant{
			{Name: "UserMessage", Value: "user", Fields: []string{"id", "sessionID", "time"}, Required: []string{"id", "sessionID", "time"}, Override: props{"time": userTime}},
			{Name: "AssistantMessage", Value: "assistant",
				Fields:   []string{"id", "sessionID", "time", "error", "system", "modelID", "providerID", "mode", "path", "summary", "cost", "tokens"},
				Required: []string{"id", "sessionID", "time", "system", "modelID", "providerID", "mode", "path", "cost", "tokens"}},
		}},
		{Type: t, Name: "Part", Discriminator: "type", Variants: []openapi.Variant{
			{Name: "TextPart", Value: storage.PartText, Fields: with("text", "synthetic", "time"), Required: with("text")},
			{Name: "ReasoningPart", Value: storage.PartReasoning, Fields: with("text", "metadata", "time"), Required: with("text", "time")},
			{Name: "FilePart", Value: storage.PartFile, Fields: with("mime", "filename", "url", "source"), Required: with("mime", "url")},
			{Name: "ToolPart", Value: storage.PartTool, Fields: with("callID", "tool", "state"), Required: with("callID", "tool", "state")},
			{Name: "StepStartPart", Value: storage.PartStepStart, Fields: base, Required: base},
			{Name: "StepFinishPart", Value: storage.PartStepFinish, Fields: with("cost", "tokens"), Required: with("cost", "tokens")},
			{Name: "SnapshotPart", Value: storage.PartSnapshot, Fields: with("snapshot"), Required: with("snapshot")},
			{Name: "PatchPart", Value: storage.PartPatch, Fields: with("hash", "files", "after", "dirs"), Required: with("hash", "files")},
			{Name: "AgentPart", Value: storage.PartAgent, Fields: with("name", "source"), Required: with("name")},
		}},
		{Type: reflect.TypeFor[storage.ToolState](), Name: "ToolState", Discriminator: "status", Variants: []openapi.Variant{
			{Name: "ToolStatePending", Value: storage.ToolPending, Fields: []string{}, Required: []string{}},
			{Name: "ToolStateRunning", Value: storage.ToolRunning, Fields: []string{"input", "title", "metadata", "time"}, Required: []string{"input", "time"}, Override: props{"time": startTime}},
			{Name: "ToolStateCompleted", Value: storage.ToolCompleted, Fields: []string{"input", "output", "title", "metadata", "time"}, Required: []string{"input", "output", "title", "metadata", "time"}},
			{Name: "ToolStateError", Value: storage.ToolError, Fields: []string{"input", "error", "metadata", "time"}, Required: []string{"input", "error", "time"}},
		}},
		{Type: reflect.TypeFor[bus.Event](), Name: "Event", Discriminator: "type", Variants: events()},
		{Type: reflect.TypeFor[config.Auth](), Name: "Auth", Discriminator: "type", Variants: []openapi.Variant{
			{Name: "OAuth", Value: "oauth", Fields: []string{"refresh", "access", "expires"}, Required: []string{"refresh", "access", "expires"}},
			{Name: "ApiAuth", Value: "api", Fields: []string{"key"}, Required: []string{"key"}},
			{Name: "WellKnownAuth", Value: "wellknown", Fields: []string{"key", "token"}, Required: []string{"key", "token"}},
		}},
	}
}

// events documents every event from the struct the core publishes.
func events() []openapi.Variant {
	var out []openapi.Variant
	for _, e := range event.All() {
		t := reflect.TypeOf(e)
		if t == reflect.TypeFor[event.PermissionUpdated]() {
			t = reflect.TypeFor[storage.Permission]() // the same fields, under its own name
		}
		out = append(out, openapi.Variant{Name: "Event." + e.EventType(), Value: e.EventType(), Fields: []string{"properties"},
			Override: map[string]reflect.Type{"properties": t}})
	}
	return out
}
