package routes

import (
	"encoding/json"
	"strings"
	"testing"
)

// noBody are the routes that change state without reading a request body.
var noBody = map[string]bool{
	"app.init":         true, // marks the project initialized
	"session.delete":   true, // the id is the whole request
	"session.abort":    true,
	"session.share":    true,
	"session.unshare":  true,
	"session.unrevert": true, // a body is accepted and ignored
}

// TestEveryRouteIsTyped walks the route table: every route declares the
// type of its answer (or is a stream, a non-JSON page, or a 204) and every
// route that writes declares its request body, and the /doc built from the
// table carries those schemas for every operation.
func TestEveryRouteIsTyped(t *testing.T) {
	f := newFixture(t, nil)
	for _, rt := range f.srv.routes {
		name := rt.method + " " + rt.path
		if rt.resp == nil && len(rt.respOneOf) == 0 && rt.stream == nil && rt.produces == "" && !rt.noContent {
			t.Errorf("%s (%s) has no response type", name, rt.id)
		}
		if rt.method != "GET" && rt.in.t == nil && !noBody[rt.id] {
			t.Errorf("%s (%s) declares no request body type", name, rt.id)
		}
	}
	data, err := f.srv.Document()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			RequestBody *struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			seen++
			name := strings.ToUpper(method) + " " + path
			if _, ok := op.Responses["204"]; ok {
				continue
			}
			ok, has := op.Responses["200"]
			if !has || len(ok.Content) == 0 {
				t.Errorf("%s (%s): no 200 content in /doc", name, op.OperationID)
				continue
			}
			for media, c := range ok.Content {
				if c.Schema == nil {
					t.Errorf("%s (%s): 200 %s without a schema", name, op.OperationID, media)
				}
			}
			if method != "get" && !noBody[op.OperationID] {
				if op.RequestBody == nil || op.RequestBody.Content["application/json"].Schema == nil {
					t.Errorf("%s (%s): no request body schema in /doc", name, op.OperationID)
				}
			}
		}
	}
	if seen != len(f.srv.routes) {
		t.Errorf("/doc has %d operations, the table %d routes", seen, len(f.srv.routes))
	}
}
