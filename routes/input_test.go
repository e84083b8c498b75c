package routes

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// needsName is a body whose zero value does not validate.
type needsName struct {
	Name string `json:"name"`
}

func (b *needsName) validate() error {
	if b.Name == "" {
		return badRequest("name", "name is required")
	}
	return nil
}

// TestInputDecodesAndValidates drives takes and reads through serve: the
// body is decoded and validated whether sent or empty-and-optional (a zero
// value), a required body must be sent, and the handler runs only on a
// body that passed.
func TestInputDecodesAndValidates(t *testing.T) {
	var got any
	took := takes(func(_ *http.Request, _ httprouter.Params, b *needsName) (any, error) { got = b.Name; return true, nil })
	readChecked := reads[needsName](func(_ *http.Request, _ httprouter.Params, raw json.RawMessage) (any, error) {
		got = raw
		return true, nil
	})
	readRaw := reads[json.RawMessage](func(_ *http.Request, _ httprouter.Params, raw json.RawMessage) (any, error) {
		got = raw
		return true, nil
	})
	for _, c := range []struct {
		name     string
		in       input
		body     string
		optional bool
		want     any    // what the handler got; nil: not called
		field    string // the ValidationError's field, "" for one without
		err      bool
	}{
		{"takes sent", took, `{"name":"a","extra":1}`, false, "a", "", false},
		{"takes invalid", took, `{"name":""}`, false, nil, "name", true},
		{"takes empty optional is validated", took, ``, true, nil, "name", true},
		{"takes empty required", took, ``, false, nil, "", true},
		{"takes malformed", took, `{`, false, nil, "", true},
		{"reads checked sent", readChecked, `{"name":"a"}`, false, json.RawMessage(`{"name":"a"}`), "", false},
		{"reads checked invalid", readChecked, `{}`, false, nil, "name", true},
		{"reads checked empty optional is validated", readChecked, ``, true, nil, "name", true},
		{"reads raw sent", readRaw, `[1, 2]`, false, json.RawMessage(`[1, 2]`), "", false},
		{"reads raw empty optional", readRaw, ``, true, json.RawMessage(nil), "", false},
		{"reads raw malformed", readRaw, `{"a":`, false, nil, "", true},
	} {
		got = nil
		r := httptest.NewRequest("POST", "/x", strings.NewReader(c.body))
		_, err := c.in.serve(r, nil, c.optional)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want one: %v", c.name, err, c.err)
			continue
		}
		if c.field != "" {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Data["field"] != c.field {
				t.Errorf("%s: %v, want a 400 on %q", c.name, err, c.field)
			}
		}
		switch want := c.want.(type) {
		case nil:
			if got != nil {
				t.Errorf("%s: handler called with %v", c.name, got)
			}
		case json.RawMessage:
			raw, ok := got.(json.RawMessage)
			if !ok || string(raw) != string(want) || (want == nil) != (raw == nil) {
				t.Errorf("%s: handler got %#v, want %#v", c.name, got, want)
			}
		default:
			if got != want {
				t.Errorf("%s: handler got %v, want %v", c.name, got, want)
			}
		}
	}
}
