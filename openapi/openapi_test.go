package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/openapi/check"
)

// Test types mirroring opencode 0.5.29 shapes the way ocgo stores them:
// flat structs with omitempty fields that are unions on the wire.

type Session struct {
	ID       string       `json:"id" doc:"Session ID"`
	ParentID string       `json:"parentID,omitempty"`
	Share    *SessionURL  `json:"share,omitempty" doc:"Share link"`
	Title    string       `json:"title"`
	Version  string       `json:"version"`
	Time     SessionTimes `json:"time"`
	Revert   *Revert      `json:"revert,omitempty"`
}

type SessionURL struct {
	URL string `json:"url"`
}

type SessionTimes struct {
	Created int64 `json:"created"`
	Updated int64 `json:"updated"`
}

type Revert struct {
	MessageID string `json:"messageID"`
	PartID    string `json:"partID,omitempty"`
}

// Part is the flat part struct; "type" selects the variant.
type Part struct {
	partHeader
	Type      string     `json:"type"`
	Text      string     `json:"text,omitempty"`
	Synthetic bool       `json:"synthetic,omitempty"`
	CallID    string     `json:"callID,omitempty"`
	Tool      string     `json:"tool,omitempty"`
	State     *ToolState `json:"state,omitempty"`
	Time      *PartTime  `json:"time,omitempty"`
	internal  int        //nolint:unused // must not appear
	Cache     string     `json:"-"`
}

// partHeader is embedded to check flattening.
type partHeader struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionID"`
	MessageID string `json:"messageID"`
}

type PartTime struct {
	Start int64 `json:"start"`
	End   int64 `json:"end,omitempty"`
}

// ToolState is the nested flat union on "status".
type ToolState struct {
	Status   string         `json:"status"`
	Input    map[string]any `json:"input,omitempty"`
	Output   string         `json:"output,omitempty"`
	Title    string         `json:"title,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Error    string         `json:"error,omitempty"`
	Time     *PartTime      `json:"time,omitempty"`
}

// Event is the bus frame; Properties varies per type.
type Event struct {
	Type       string `json:"type"`
	Properties any    `json:"properties"`
}

type MessageWithParts struct {
	Info  json.RawMessage `json:"info"`
	Parts []Part          `json:"parts"`
}

type LogLevel string

func (LogLevel) OpenAPIEnum() []any { return []any{"debug", "info", "warn", "error"} }

type LogInput struct {
	Service string            `json:"service"`
	Level   LogLevel          `json:"level"`
	Message string            `json:"message"`
	Extra   map[string]any    `json:"extra,omitempty"`
	Count   int               `json:"count,string,omitempty"`
	At      time.Time         `json:"at,omitzero"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels,omitempty"`
}

type CreateInput struct {
	ParentID string `json:"parentID,omitempty"`
	Title    string `json:"title,omitempty"`
}

type APIError struct {
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
}

// Tree is recursive, to check cycle safety.
type Tree struct {
	Name     string  `json:"name"`
	Children []*Tree `json:"children,omitempty"`
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// testBuilder builds the document the tests share.
func testBuilder() *Builder {
	b := New(Info{Title: "opencode", Version: "0.0.3", Description: "opencode api"})
	b.ErrorSchema(typeOf[APIError]())
	b.Name(typeOf[APIError](), "Error")
	b.Name(typeOf[MessageWithParts](), "MessageWithParts")
	common := []string{"id", "sessionID", "messageID", "type"}
	b.Union(Union{Type: typeOf[Part](), Name: "Part", Discriminator: "type", Variants: []Variant{
		{Name: "TextPart", Value: "text", Fields: append(slices.Clone(common), "text", "synthetic", "time"),
			Required: append(slices.Clone(common), "text")},
		{Name: "ToolPart", Value: "tool", Fields: append(slices.Clone(common), "callID", "tool", "state"),
			Required: append(slices.Clone(common), "callID", "tool", "state")},
	}})
	b.Union(Union{Type: typeOf[ToolState](), Name: "ToolState", Discriminator: "status", Variants: []Variant{
		{Name: "ToolStatePending", Value: "pending", Fields: []string{}},
		{Name: "ToolStateCompleted", Value: "completed",
			Fields:   []string{"input", "output", "title", "metadata", "time"},
			Required: []string{"input", "output", "title", "metadata", "time"},
			Override: map[string]reflect.Type{"time": typeOf[struct {
				Start int64 `json:"start"`
				End   int64 `json:"end"`
			}]()}},
	}})
	b.Union(Union{Type: typeOf[Event](), Name: "Event", Discriminator: "type", Variants: []Variant{
		{Name: "Event.server.connected", Value: "server.connected",
			Override: map[string]reflect.Type{"properties": typeOf[struct{}]()}},
		{Name: "Event.session.updated", Value: "session.updated",
			Override: map[string]reflect.Type{"properties": typeOf[struct {
				Info Session `json:"info"`
			}]()}},
	}})
	b.Add(Operation{Method: "GET", Path: "/event", ID: "event.subscribe", Description: "Get events",
		Response: typeOf[Event](), Stream: true})
	b.Add(Operation{Method: "GET", Path: "/session", ID: "session.list", Response: typeOf[[]Session]()})
	b.Add(Operation{Method: "POST", Path: "/session", ID: "session.create", Body: typeOf[CreateInput](),
		BodyOptional: true, Response: typeOf[Session](), Errors: []int{400}})
	b.Add(Operation{Method: "GET", Path: "/session/:id", ID: "session.get", Response: typeOf[Session](),
		Params: []Param{{Name: "id", In: "path", Description: "Session ID"}}, Errors: []int{404}})
	b.Add(Operation{Method: "GET", Path: "/session/:id/message/:messageID", ID: "session.message",
		Response: typeOf[MessageWithParts](), Errors: []int{400, 404}})
	b.Add(Operation{Method: "POST", Path: "/log", ID: "app.log", Body: typeOf[LogInput](), Response: typeOf[bool]()})
	b.Add(Operation{Method: "GET", Path: "/find/file", ID: "find.files", Response: typeOf[[]string](),
		Params: []Param{{Name: "query", In: "query", Required: true}, {Name: "limit", In: "query", Type: typeOf[int]()}}})
	b.Add(Operation{Method: "GET", Path: "/tree", ID: "tree.get", Response: typeOf[Tree]()})
	return b
}

func buildDoc(t *testing.T) []byte {
	t.Helper()
	doc, err := testBuilder().JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	return doc
}

// at walks a decoded JSON value along keys (array indexes as numbers).
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok || m[k] == nil {
				t.Fatalf("no key %q at %v", k, path)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("no index %d at %v", k, path)
			}
			v = a[k]
		}
	}
	return v
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestDocumentValidAndShaped(t *testing.T) {
	doc := buildDoc(t)
	if err := check.Validate(doc); err != nil {
		t.Fatalf("Validate: %v\n%s", err, doc)
	}
	var d any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	s := at(t, d, "components", "schemas")
	tests := []struct {
		name string
		path []any
		want string
	}{
		{"version", []any{d, "openapi"}, `"3.1.0"`},
		{"session required omits optional fields", []any{s, "Session", "required"}, `["id","title","version","time"]`},
		{"optional pointer is a ref", []any{s, "Session", "properties", "share"}, `{"$ref":"#/components/schemas/SessionURL","description":"Share link"}`},
		{"doc tag", []any{s, "Session", "properties", "id", "description"}, `"Session ID"`},
		{"part oneOf", []any{s, "Part", "oneOf"}, `[{"$ref":"#/components/schemas/TextPart"},{"$ref":"#/components/schemas/ToolPart"}]`},
		{"part mapping", []any{s, "Part", "discriminator"}, `{"mapping":{"text":"#/components/schemas/TextPart","tool":"#/components/schemas/ToolPart"},"propertyName":"type"}`},
		{"text part required", []any{s, "TextPart", "required"}, `["id","sessionID","messageID","type","text"]`},
		{"text part const", []any{s, "TextPart", "properties", "type"}, `{"const":"text","type":"string"}`},
		{"text part fields only", []any{s, "TextPart", "properties"}, `{"id":{"type":"string"},"messageID":{"type":"string"},"sessionID":{"type":"string"},"synthetic":{"type":"boolean"},"text":{"type":"string"},"time":{"$ref":"#/components/schemas/PartTime"},"type":{"const":"text","type":"string"}}`},
		{"tool part state is the nested union", []any{s, "ToolPart", "properties", "state"}, `{"$ref":"#/components/schemas/ToolState"}`},
		{"nested union mapping", []any{s, "ToolState", "discriminator", "mapping", "completed"}, `"#/components/schemas/ToolStateCompleted"`},
		{"override inlines unnamed struct", []any{s, "ToolStateCompleted", "properties", "time", "required"}, `["start","end"]`},
		{"pending has only the discriminator", []any{s, "ToolStatePending"}, `{"properties":{"status":{"const":"pending","type":"string"}},"required":["status"],"type":"object"}`},
		{"event variant properties", []any{s, "Event.session.updated", "properties", "properties"}, `{"properties":{"info":{"$ref":"#/components/schemas/Session"}},"required":["info"],"type":"object"}`},
		{"event variant required", []any{s, "Event.session.updated", "required"}, `["type","properties"]`},
		{"raw message is any", []any{s, "MessageWithParts", "properties", "info"}, `{}`},
		{"enum component", []any{s, "LogLevel"}, `{"enum":["debug","info","warn","error"],"type":"string"}`},
		{"string option", []any{s, "LogInput", "properties", "count"}, `{"type":"string"}`},
		{"time", []any{s, "LogInput", "properties", "at"}, `{"format":"date-time","type":"string"}`},
		{"map", []any{s, "LogInput", "properties", "labels"}, `{"additionalProperties":{"type":"string"},"type":"object"}`},
		{"map of any", []any{s, "LogInput", "properties", "extra"}, `{"additionalProperties":{},"type":"object"}`},
		{"log required", []any{s, "LogInput", "required"}, `["service","level","message","tags"]`},
		{"recursive type", []any{s, "Tree", "properties", "children", "items"}, `{"$ref":"#/components/schemas/Tree"}`},
		{"sse", []any{d, "paths", "/event", "get", "responses", "200", "content"}, `{"text/event-stream":{"schema":{"$ref":"#/components/schemas/Event"}}}`},
		{"path params", []any{d, "paths", "/session/{id}/message/{messageID}", "get", "parameters"}, `[{"in":"path","name":"id","required":true,"schema":{"type":"string"}},{"in":"path","name":"messageID","required":true,"schema":{"type":"string"}}]`},
		{"path param description", []any{d, "paths", "/session/{id}", "get", "parameters", 0, "description"}, `"Session ID"`},
		{"query params", []any{d, "paths", "/find/file", "get", "parameters"}, `[{"in":"query","name":"query","required":true,"schema":{"type":"string"}},{"in":"query","name":"limit","schema":{"type":"integer"}}]`},
		{"optional body", []any{d, "paths", "/session", "post", "requestBody"}, `{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/CreateInput"}}}}`},
		{"required body", []any{d, "paths", "/log", "post", "requestBody", "required"}, `true`},
		{"error response", []any{d, "paths", "/session/{id}", "get", "responses", "404", "content", "application/json", "schema"}, `{"$ref":"#/components/schemas/Error"}`},
		{"operation id", []any{d, "paths", "/session/{id}/message/{messageID}", "get", "operationId"}, `"session.message"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := asJSON(at(t, tc.path[0], tc.path[1:]...)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, absent := range []string{"internal", "Cache", "partHeader"} {
		if bytes.Contains(doc, []byte(`"`+absent+`"`)) {
			t.Errorf("%s must not be documented", absent)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := buildDoc(t)
	b := testBuilder()
	slices.Reverse(b.ops)
	c, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, buildDoc(t)) || !bytes.Equal(a, c) {
		t.Fatal("document differs between runs or with operation order")
	}
}

type Other struct{ X int }

type custom struct{}

func (custom) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }

func TestBuilderErrors(t *testing.T) {
	otherSession := reflect.StructOf([]reflect.StructField{{Name: "A", Type: typeOf[int]()}})
	tests := []struct {
		name  string
		setup func(b *Builder)
		want  error
	}{
		{"unknown variant field", func(b *Builder) {
			b.Union(Union{Type: typeOf[Part](), Name: "Part", Discriminator: "type",
				Variants: []Variant{{Name: "TextPart", Value: "text", Fields: []string{"txet"}}}})
			b.Add(Operation{Method: "GET", Path: "/p", Response: typeOf[Part]()})
		}, ErrVariant},
		{"required not in fields", func(b *Builder) {
			b.Union(Union{Type: typeOf[Part](), Name: "Part", Discriminator: "type",
				Variants: []Variant{{Name: "TextPart", Value: "text", Fields: []string{"text"}, Required: []string{"tool"}}}})
			b.Add(Operation{Method: "GET", Path: "/p", Response: typeOf[Part]()})
		}, ErrVariant},
		{"duplicate discriminator value", func(b *Builder) {
			b.Union(Union{Type: typeOf[Part](), Name: "Part", Discriminator: "type",
				Variants: []Variant{{Name: "A", Value: "text"}, {Name: "B", Value: "text"}}})
			b.Add(Operation{Method: "GET", Path: "/p", Response: typeOf[Part]()})
		}, ErrVariant},
		{"non-string discriminator", func(b *Builder) {
			b.Union(Union{Type: typeOf[Part](), Name: "Part", Discriminator: "synthetic"})
			b.Add(Operation{Method: "GET", Path: "/p", Response: typeOf[Part]()})
		}, ErrVariant},
		{"name clash", func(b *Builder) {
			b.Name(otherSession, "Session")
			b.Add(Operation{Method: "GET", Path: "/a", Response: typeOf[Session]()})
			b.Add(Operation{Method: "GET", Path: "/b", Response: otherSession})
		}, ErrConflict},
		{"variant name clashes with a type", func(b *Builder) {
			b.Union(Union{Type: typeOf[Event](), Name: "Event", Discriminator: "type",
				Variants: []Variant{{Name: "Session", Value: "x"}}})
			b.Add(Operation{Method: "GET", Path: "/a", Response: typeOf[Session]()})
			b.Add(Operation{Method: "GET", Path: "/b", Response: typeOf[Event]()})
		}, ErrConflict},
		{"duplicate route", func(b *Builder) {
			b.Add(Operation{Method: "GET", Path: "/a/:id"})
			b.Add(Operation{Method: "GET", Path: "/a/:id"})
		}, ErrConflict},
		{"duplicate operation id", func(b *Builder) {
			b.Add(Operation{Method: "GET", Path: "/a", ID: "x"})
			b.Add(Operation{Method: "GET", Path: "/b", ID: "x"})
		}, ErrConflict},
		{"path param not in path", func(b *Builder) {
			b.Add(Operation{Method: "GET", Path: "/a", Params: []Param{{Name: "id", In: "path"}}})
		}, ErrConflict},
		{"custom marshaler", func(b *Builder) {
			b.Add(Operation{Method: "GET", Path: "/a", Response: typeOf[custom]()})
		}, ErrUnsupported},
		{"channel", func(b *Builder) {
			b.Add(Operation{Method: "GET", Path: "/a", Response: typeOf[chan int]()})
		}, ErrUnsupported},
		{"union of a non-struct", func(b *Builder) {
			b.Union(Union{Type: typeOf[string](), Name: "S"})
		}, ErrVariant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(Info{Title: "t", Version: "1"})
			tc.setup(b)
			if _, err := b.JSON(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	good := buildDoc(t)
	tests := map[string][]byte{
		"not json":     []byte("{"),
		"3.0 version":  bytes.Replace(good, []byte(`"3.1.0"`), []byte(`"3.0.3"`), 1),
		"dangling ref": bytes.Replace(good, []byte(`#/components/schemas/SessionURL"`), []byte(`#/components/schemas/Nope"`), 1),
		"external ref": bytes.Replace(good, []byte(`#/components/schemas/SessionURL"`), []byte(`other.json#/X"`), 1),
		"no info":      without(t, good, "info"),
		"no responses": bytes.Replace(good, []byte(`"responses"`), []byte(`"responsez"`), 1),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(doc, good) {
				t.Fatal("mutation did not apply")
			}
			if err := check.Validate(doc); !errors.Is(err, check.ErrInvalidDoc) {
				t.Fatalf("got %v, want check.ErrInvalidDoc", err)
			}
		})
	}
}

// without returns doc with the top-level key removed.
func without(t *testing.T, doc []byte, key string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, key)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// server encodes real Go values the way handlers do, so the validator sees
// real responses.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	sess := Session{ID: "ses_1", Title: "t", Version: "0.5.29", Time: SessionTimes{Created: 1, Updated: 2}}
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /session", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []Session{sess, {ID: "ses_2", ParentID: "ses_1", Share: &SessionURL{URL: "u"}, Time: sess.Time}})
	})
	mux.HandleFunc("GET /session/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "ses_1" {
			writeJSON(w, 404, APIError{Name: "NotFoundError", Data: map[string]any{"message": "session not found"}})
			return
		}
		writeJSON(w, 200, sess)
	})
	mux.HandleFunc("GET /session/{id}/message/{mid}", func(w http.ResponseWriter, r *http.Request) {
		parts := []Part{
			{partHeader: partHeader{"prt_1", "ses_1", "msg_1"}, Type: "text", Text: "hi"},
			{partHeader: partHeader{"prt_2", "ses_1", "msg_1"}, Type: "tool", CallID: "c", Tool: "bash",
				State: &ToolState{Status: "completed", Input: map[string]any{"command": "ls"}, Output: "ok", Title: "ls",
					Metadata: map[string]any{"exit": 0}, Time: &PartTime{Start: 1, End: 2}}},
		}
		switch r.PathValue("mid") {
		case "empty-text": // omitempty drops the required "text": a real bug the check must catch
			parts = []Part{{partHeader: partHeader{"prt_1", "ses_1", "msg_1"}, Type: "text"}}
		case "unfinished": // completed state without end time
			parts[1].State.Time.End = 0
		case "empty-input": // omitempty drops an empty map, and completed requires input
			parts[1].State.Input = map[string]any{}
		case "unknown-type":
			parts[0].Type = "txt"
		}
		writeJSON(w, 200, MessageWithParts{Info: json.RawMessage(`{"id":"msg_1"}`), Parts: parts})
	})
	mux.HandleFunc("GET /event", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		frames := []Event{
			{Type: "server.connected", Properties: map[string]any{}},
			{Type: "session.updated", Properties: map[string]any{"info": sess}},
		}
		if r.URL.Query().Get("bad") != "" {
			frames = append(frames, Event{Type: "session.updated", Properties: map[string]any{"info": map[string]any{"id": 1}}})
		}
		_, _ = io.WriteString(w, ": heartbeat\n\n")
		for _, e := range frames {
			b, _ := json.Marshal(e)
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestResponseValidator(t *testing.T) {
	verify, err := check.ResponseValidator(buildDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t)
	fetch := func(t *testing.T, path string) (int, http.Header, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, body
	}
	tests := []struct {
		name, path string
		want       error // nil: accepted
	}{
		{"session list", "/session", nil},
		{"session", "/session/ses_1", nil},
		{"documented 404", "/session/ses_x", nil},
		{"message with parts", "/session/ses_1/message/msg_1", nil},
		{"sse frames", "/event", nil},
		{"text part missing text", "/session/ses_1/message/empty-text", check.ErrResponse},
		{"completed state missing end", "/session/ses_1/message/unfinished", check.ErrResponse},
		{"completed state with empty input", "/session/ses_1/message/empty-input", check.ErrResponse},
		{"unknown discriminator", "/session/ses_1/message/unknown-type", check.ErrResponse},
		{"sse frame wrong type", "/event?bad=1", check.ErrResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := fetch(t, tc.path)
			if err := verify("GET", tc.path, status, h, body); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v\nbody: %s", err, tc.want, body)
			}
		})
	}

	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	direct := []struct {
		name, method, path string
		status             int
		body               string
		want               error
	}{
		{"wrong field type", "GET", "/session/ses_1", 200, `{"id":"ses_1","title":"t","version":"v","time":{"created":"yesterday","updated":2}}`, check.ErrResponse},
		{"missing required field", "GET", "/session/ses_1", 200, `{"id":"ses_1","title":"t","time":{"created":1,"updated":2}}`, check.ErrResponse},
		{"null optional field", "GET", "/session/ses_1", 200, `{"id":"ses_1","title":"t","version":"v","time":{"created":1,"updated":2},"share":null}`, check.ErrResponse},
		{"undocumented status", "GET", "/session/ses_1", 500, `{"name":"UnknownError","data":{}}`, check.ErrResponse},
		{"bad error body", "GET", "/session/ses_1", 404, `{"data":{}}`, check.ErrResponse},
		{"plain bool", "POST", "/log", 200, `true`, nil},
		{"charset parameter", "GET", "/session", 200, `[]`, nil},
		{"bool wrong type", "POST", "/log", 200, `"true"`, check.ErrResponse},
		{"query string ignored for routing", "GET", "/find/file?query=a", 200, `["a.go"]`, nil},
		{"unknown route", "GET", "/nope", 200, `{}`, check.ErrNoRoute},
		{"wrong method", "DELETE", "/log", 200, `{}`, check.ErrNoRoute},
	}
	for _, tc := range direct {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(tc.method, tc.path, tc.status, json, []byte(tc.body)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResponseValidatorConcurrent(t *testing.T) {
	verify, err := check.ResponseValidator(buildDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	good := `{"id":"ses_1","title":"t","version":"v","time":{"created":1,"updated":2}}`
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			body := good
			if i%2 == 1 {
				body = strings.Replace(good, `"title":"t",`, "", 1)
			}
			err := verify("GET", "/session/ses_1", 200, h, []byte(body))
			if (err == nil) != (i%2 == 0) {
				errs <- fmt.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkJSON(b *testing.B) {
	bd := testBuilder()
	for b.Loop() {
		if _, err := bd.JSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseValidator(b *testing.B) {
	doc, err := testBuilder().JSON()
	if err != nil {
		b.Fatal(err)
	}
	verify, err := check.ResponseValidator(doc)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	body := []byte(`{"info":{},"parts":[{"id":"p","sessionID":"s","messageID":"m","type":"text","text":"hi"},` +
		`{"id":"p","sessionID":"s","messageID":"m","type":"tool","callID":"c","tool":"bash","state":{"status":"completed","input":{},"output":"","title":"","metadata":{},"time":{"start":1,"end":2}}}]}`)
	for b.Loop() {
		if err := verify("GET", "/session/s/message/m", 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// schemed is a document with a JSON Schema of its own.
type schemed map[string]any

func (schemed) OpenAPISchema() map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{"theme": map[string]any{"type": "string"}},
		"additionalProperties": false}
}

// TestOwnSchemaAndOneOf: a type's OpenAPISchema describes it, and
// ResponseOneOf documents an answer of either shape; the response check
// accepts both shapes and rejects a third.
func TestOwnSchemaAndOneOf(t *testing.T) {
	b := New(Info{Title: "t", Version: "1"})
	b.Name(typeOf[schemed](), "Config")
	b.Add(Operation{Method: "GET", Path: "/config", ID: "config.get", Response: typeOf[schemed]()})
	b.Add(Operation{Method: "GET", Path: "/file", ID: "file.get", ResponseOneOf: []reflect.Type{typeOf[[]string](), typeOf[Other]()}})
	doc, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := check.Validate(doc); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	if got := at(t, v, "components", "schemas", "Config", "properties", "theme", "type"); got != "string" {
		t.Errorf("Config schema: %s", asJSON(at(t, v, "components", "schemas", "Config")))
	}
	if alts := at(t, v, "paths", "/file", "get", "responses", "200", "content", "application/json", "schema", "oneOf").([]any); len(alts) != 2 {
		t.Errorf("oneOf: %s", asJSON(alts))
	}
	verify, err := check.ResponseValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for _, c := range []struct {
		path, body string
		ok         bool
	}{{"/config", `{"theme":"x"}`, true}, {"/config", `{"theme":1}`, false}, {"/config", `{"nope":1}`, false},
		{"/file", `["a"]`, true}, {"/file", `{"X":1}`, true}, {"/file", `"s"`, false}} {
		if err := verify("GET", c.path, 200, h, []byte(c.body)); (err == nil) != c.ok {
			t.Errorf("GET %s %s: %v, want ok=%v", c.path, c.body, err, c.ok)
		}
	}
}
