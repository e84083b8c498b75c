// Package openapi generates the OpenAPI 3.1 document served at GET /doc from
// the Go types the handlers encode, and validates documents and real HTTP
// responses against it with getkin/kin-openapi.
//
// Guarantees: the schemas are derived by reflection from the very types passed
// to encoding/json (json tags, omitempty, embedding), so the document cannot
// drift from the wire format the way a hand-kept copy does; component names
// and operationIds are chosen by the caller so SDK generators see the same
// names as opencode 0.5.29's document; output is deterministic (encoding/json
// sorts map keys, required lists follow struct field order).
//
// Reflection rules:
//   - a field is required unless it has omitempty/omitzero or is a pointer;
//     null is never documented (ocgo omits optional fields, so a null on the
//     wire is a bug the response check should catch), nil slices and maps are
//     documented as arrays and objects;
//   - json:"-" and unexported fields are skipped, embedded structs flattened
//     (the shallowest field of a name wins), the ",string" option gives a string;
//   - time.Time is a date-time string, json.RawMessage and interfaces are {}
//     (any value), []byte a base64 string, map[K]V an object with
//     additionalProperties V, []T and [N]T arrays;
//   - named struct types, types given a name with Builder.Name, unions and
//     enum types become components referenced with $ref (cycle-safe); other
//     named scalar types are inlined;
//   - a type (or its pointer) with a method OpenAPIEnum() []any gets an enum;
//   - a type with a method OpenAPISchema() map[string]any is described by
//     that JSON Schema (for a document validated by a schema of its own, such
//     as the config file; the method must derive it from that schema);
//     a field tag doc:"..." becomes the property's description;
//   - any other type implementing json.Marshaler is an error: its wire form
//     cannot be inferred, so the document would lie.
package openapi

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sentinel errors returned (wrapped) by Builder.JSON.
var (
	ErrUnsupported = errors.New("openapi: unsupported type")
	ErrConflict    = errors.New("openapi: conflicting definition")
	ErrVariant     = errors.New("openapi: bad union variant")
)

// Info is the document's info object.
type Info struct{ Title, Version, Description string }

// Param is a query or path parameter.
type Param struct {
	Name, In, Description string // In is "query" or "path"
	Required              bool   // always true for path parameters
	Type                  reflect.Type
}

// Operation describes one route.
type Operation struct {
	// Method and Path in httprouter form: "/session/:id/message/:messageID"
	// is emitted as "/session/{id}/message/{messageID}" and its path
	// parameters are declared automatically (override them through Params).
	Method, Path             string
	ID, Summary, Description string
	Params                   []Param
	// Body is the application/json request body type (nil: no body); the
	// body is required unless BodyOptional.
	Body         reflect.Type
	BodyOptional bool
	// Response is the 200 application/json schema. With Stream the 200
	// response is text/event-stream and Response, if set, is the type of
	// each frame's data (ResponseValidator then checks every frame).
	Response reflect.Type
	Stream   bool
	// ResponseOneOf, instead of Response, documents a 200 answer that is
	// one of these types (a route answering two shapes).
	ResponseOneOf []reflect.Type
	// NoContent documents a 204 answer without a body instead of the 200.
	NoContent bool
	// Produces, when set, is the media type of a 200 that is not JSON (an
	// HTML page, or an event stream whose frames are not Response).
	Produces string
	// Errors are documented error statuses; each references the error
	// schema (see Builder.ErrorSchema).
	Errors []int
}

// Variant is one member of a Union.
type Variant struct {
	Name  string // component name, e.g. "TextPart"
	Value string // discriminator value, e.g. "text"
	// Fields are the json names the variant carries (nil: all of the
	// struct's fields); the discriminator is always included.
	Fields []string
	// Required json names (nil: those the struct itself requires, among
	// Fields); the discriminator is always required.
	Required []string
	// Override gives a field a variant-specific type, e.g. the "properties"
	// of each Event variant. An unnamed struct type is inlined.
	Override map[string]reflect.Type
}

// Union documents a flat Go struct (all variant fields side by side, most of
// them omitempty) that is a discriminated union on the wire: one component
// per variant, built from the struct's own field schemas, and a component
// Name that is a oneOf of them with a discriminator mapping.
type Union struct {
	Type          reflect.Type
	Name          string // e.g. "Part"
	Discriminator string // json name of the string field, e.g. "type"
	Variants      []Variant
}

// Builder collects names, unions and operations, then renders the document.
// Configure it from one goroutine; JSON only reads it and may be called
// concurrently afterwards.
type Builder struct {
	info     Info
	names    map[reflect.Type]string
	unions   map[reflect.Type]Union
	errType  reflect.Type
	ops      []Operation
	setupErr error
}

// New returns an empty Builder.
func New(info Info) *Builder {
	return &Builder{info: info, names: map[reflect.Type]string{}, unions: map[reflect.Type]Union{}}
}

// Name sets the component name of t (otherwise the Go type name).
func (b *Builder) Name(t reflect.Type, name string) { b.names[t] = name }

// Union registers a flat struct documented as a discriminated union.
func (b *Builder) Union(u Union) {
	if u.Type == nil || u.Type.Kind() != reflect.Struct {
		b.setupErr = firstErr(b.setupErr, fmt.Errorf("%w: union %s needs a struct type", ErrVariant, u.Name))
		return
	}
	b.unions[u.Type] = u
}

// ErrorSchema sets the Go type of the shared error body referenced by every
// Operation.Errors status. Without it a component "Error" with
// {name: string, data: object} is used, the shape of ocgo's error mapper.
func (b *Builder) ErrorSchema(t reflect.Type) { b.errType = t }

// Add registers an operation.
func (b *Builder) Add(op Operation) { b.ops = append(b.ops, op) }

// OpenAPIVersion is the version written in the document.
const OpenAPIVersion = "3.1.0"

type obj = map[string]any

// gen holds the state of one JSON call.
type gen struct {
	b     *Builder
	comps obj            // name -> schema
	owner map[string]any // name -> the reflect.Type or variant label that claimed it
	err   error
}

// JSON renders the document. It fails on a type it cannot document, a
// component name used by two types, a bad variant, or a duplicate route or
// operationId.
func (b *Builder) JSON() ([]byte, error) {
	if b.setupErr != nil {
		return nil, b.setupErr
	}
	g := &gen{b: b, comps: obj{}, owner: map[string]any{}}
	errRef := g.errorRef()
	paths := obj{}
	ids := map[string]bool{}
	for _, op := range b.ops {
		p, params := convertPath(op.Path)
		method := strings.ToLower(op.Method)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		if item[method] != nil {
			g.fail(fmt.Errorf("%w: route %s %s added twice", ErrConflict, op.Method, op.Path))
		}
		if op.ID != "" && ids[op.ID] {
			g.fail(fmt.Errorf("%w: operationId %s used twice", ErrConflict, op.ID))
		}
		ids[op.ID] = true
		item[method] = g.operation(op, params, errRef)
	}
	if g.err != nil {
		return nil, g.err
	}
	doc := obj{
		"openapi":    OpenAPIVersion,
		"info":       obj{"title": b.info.Title, "version": b.info.Version, "description": b.info.Description},
		"paths":      paths,
		"components": obj{"schemas": g.comps},
	}
	return json.MarshalIndent(doc, "", "  ")
}

var pathParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/[:*]([^/]+)`) })

// convertPath turns "/a/:id/*rest" into "/a/{id}/{rest}" and its parameter names.
func convertPath(p string) (string, []string) {
	var names []string
	out := pathParam().ReplaceAllStringFunc(p, func(m string) string {
		names = append(names, m[2:])
		return "/{" + m[2:] + "}"
	})
	return out, names
}

func (g *gen) operation(op Operation, pathNames []string, errRef obj) obj {
	o := obj{}
	for k, v := range map[string]string{"operationId": op.ID, "summary": op.Summary, "description": op.Description} {
		if v != "" {
			o[k] = v
		}
	}
	byName := map[string]Param{}
	for _, p := range op.Params {
		byName[p.In+" "+p.Name] = p
	}
	params := []any{}
	for _, n := range pathNames {
		p, ok := byName["path "+n]
		if !ok {
			p = Param{Name: n, In: "path"}
		}
		delete(byName, "path "+n)
		params = append(params, g.param(p))
	}
	for _, p := range op.Params { // the rest, in the caller's order
		if _, ok := byName[p.In+" "+p.Name]; ok {
			if p.In == "path" {
				g.fail(fmt.Errorf("%w: %s %s: path parameter %s not in the path", ErrConflict, op.Method, op.Path, p.Name))
			}
			params = append(params, g.param(p))
		}
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Body != nil {
		rb := obj{"content": obj{"application/json": obj{"schema": g.schema(op.Body)}}}
		if !op.BodyOptional {
			rb["required"] = true
		}
		o["requestBody"] = rb
	}
	ok := obj{"description": http.StatusText(http.StatusOK)}
	switch {
	case op.Produces != "":
		ok["content"] = obj{op.Produces: obj{"schema": obj{"type": "string"}}}
	case op.Stream:
		media := obj{}
		if op.Response != nil {
			media["schema"] = g.schema(op.Response)
		}
		ok["content"] = obj{"text/event-stream": media}
	case op.Response != nil:
		ok["content"] = obj{"application/json": obj{"schema": g.schema(op.Response)}}
	case len(op.ResponseOneOf) > 0:
		alts := make([]any, len(op.ResponseOneOf))
		for i, t := range op.ResponseOneOf {
			alts[i] = g.schema(t)
		}
		ok["content"] = obj{"application/json": obj{"schema": obj{"oneOf": alts}}}
	}
	resp := obj{"200": ok}
	if op.NoContent {
		resp = obj{"204": obj{"description": http.StatusText(http.StatusNoContent)}}
	}
	for _, s := range op.Errors {
		resp[strconv.Itoa(s)] = obj{
			"description": http.StatusText(s),
			"content":     obj{"application/json": obj{"schema": errRef}},
		}
	}
	o["responses"] = resp
	return o
}

func (g *gen) param(p Param) obj {
	t := p.Type
	if t == nil {
		t = reflect.TypeFor[string]()
	}
	o := obj{"name": p.Name, "in": p.In, "schema": g.schema(t)}
	if p.In == "path" || p.Required {
		o["required"] = true
	}
	if p.Description != "" {
		o["description"] = p.Description
	}
	return o
}

func (g *gen) errorRef() obj {
	if g.b.errType != nil {
		return g.schema(g.b.errType)
	}
	g.comps["Error"] = obj{
		"type": "object",
		"properties": obj{
			"name": obj{"type": "string"},
			"data": obj{"type": "object", "additionalProperties": obj{}},
		},
		"required": []string{"name", "data"},
	}
	g.owner["Error"] = "the default error schema"
	return ref("Error")
}

func (g *gen) fail(err error) {
	g.err = firstErr(g.err, err)
}

func firstErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

type enumer interface{ OpenAPIEnum() []any }

type schemer interface{ OpenAPISchema() map[string]any }

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	validName     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9._-]`) })
)

// enumOf returns the values of t's OpenAPIEnum method, if any.
func enumOf(t reflect.Type) ([]any, bool) {
	if e, ok := reflect.New(t).Interface().(enumer); ok {
		return e.OpenAPIEnum(), true
	}
	return nil, false
}

// schema returns a fresh schema for t: a $ref for component types.
func (g *gen) schema(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if u, ok := g.b.unions[t]; ok {
		return g.component(t, u.Name, func() obj { return g.union(u) })
	}
	name, named := g.b.names[t]
	_, isEnum := enumOf(t)
	if !named && t.Name() != "" && (t.Kind() == reflect.Struct || isEnum) && t != timeType {
		name, named = validName().ReplaceAllString(t.Name(), "_"), true
	}
	if named {
		return g.component(t, name, func() obj { return g.inline(t) })
	}
	return g.inline(t)
}

// component returns a $ref to name, building the component once.
func (g *gen) component(t any, name string, build func() obj) obj {
	if owner, ok := g.owner[name]; ok {
		if owner != t {
			g.fail(fmt.Errorf("%w: component %s claimed by %v and %v (use Builder.Name)", ErrConflict, name, owner, t))
		}
		return ref(name)
	}
	g.owner[name] = t
	g.comps[name] = obj{} // placeholder: recursive types stop here
	g.comps[name] = build()
	return ref(name)
}

// inline returns t's schema without making t itself a component.
func (g *gen) inline(t reflect.Type) obj {
	if sc, ok := reflect.New(t).Elem().Interface().(schemer); ok {
		return sc.OpenAPISchema()
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == rawType:
		return obj{}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType):
		return obj{"type": "string", "contentEncoding": "base64"}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		g.fail(fmt.Errorf("%w: %v has its own MarshalJSON", ErrUnsupported, t))
		return obj{}
	case t.Implements(textType) || reflect.PointerTo(t).Implements(textType):
		return obj{"type": "string"}
	}
	var s obj
	switch t.Kind() {
	case reflect.Bool:
		s = obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = obj{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s = obj{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		s = obj{"type": "number"}
	case reflect.String:
		s = obj{"type": "string"}
	case reflect.Interface:
		s = obj{}
	case reflect.Slice:
		s = obj{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Array:
		s = obj{"type": "array", "items": g.schema(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		s = obj{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		s = g.object(fields(t), nil, nil)
	default:
		g.fail(fmt.Errorf("%w: %v", ErrUnsupported, t))
		return obj{}
	}
	if vals, ok := enumOf(t); ok {
		s["enum"] = vals
	}
	return s
}

// field is one json member of a struct, embedded fields flattened.
type field struct {
	name     string
	typ      reflect.Type
	optional bool
	asString bool
	doc      string
}

// fields lists t's json members in struct order.
func fields(t reflect.Type) []field {
	var out []field
	depth := map[string]int{}
	var walk func(t reflect.Type, d int, optional bool)
	walk = func(t reflect.Type, d int, optional bool) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, d+1, optional || ft.Kind() == reflect.Pointer)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if old, seen := depth[name]; seen {
				if old <= d {
					continue
				}
				out = slices.DeleteFunc(out, func(f field) bool { return f.name == name })
			}
			depth[name] = d
			o := "," + opts + ","
			out = append(out, field{
				name:     name,
				typ:      ft,
				optional: optional || ft.Kind() == reflect.Pointer || strings.Contains(o, ",omitempty,") || strings.Contains(o, ",omitzero,"),
				asString: strings.Contains(o, ",string,"),
				doc:      sf.Tag.Get("doc"),
			})
		}
	}
	walk(t, 0, false)
	return out
}

// object builds an object schema from fs; override replaces field types and
// required (when non-nil) replaces the fields' own optionality.
func (g *gen) object(fs []field, override map[string]reflect.Type, required []string) obj {
	props := obj{}
	req := []string{}
	for _, f := range fs {
		var s obj
		if ot, ok := override[f.name]; ok {
			s = g.schema(ot)
		} else {
			s = g.fieldSchema(f)
		}
		if f.doc != "" {
			s["description"] = f.doc
		}
		props[f.name] = s
		if required == nil && !f.optional {
			req = append(req, f.name)
		}
	}
	if required != nil {
		req = required
	}
	s := obj{"type": "object", "properties": props}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

func (g *gen) fieldSchema(f field) obj {
	t := f.typ
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f.asString {
		switch t.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			return obj{"type": "string"}
		}
	}
	return g.schema(t)
}

// union builds the variant components and returns the oneOf schema.
func (g *gen) union(u Union) obj {
	all := fields(u.Type)
	byName := map[string]field{}
	for _, f := range all {
		byName[f.name] = f
	}
	if f, ok := byName[u.Discriminator]; !ok || f.typ.Kind() != reflect.String {
		g.fail(fmt.Errorf("%w: %s: discriminator %q is not a string field", ErrVariant, u.Name, u.Discriminator))
		return obj{}
	}
	var oneOf []any
	mapping := obj{}
	for _, v := range u.Variants {
		want := map[string]bool{u.Discriminator: true}
		for _, n := range v.Fields {
			want[n] = true
		}
		for _, n := range slices.Concat(v.Fields, v.Required, keys(v.Override)) {
			if _, ok := byName[n]; !ok || (v.Fields != nil && !want[n]) {
				g.fail(fmt.Errorf("%w: %s: field %q not in %v or not in Fields", ErrVariant, v.Name, n, u.Type))
			}
		}
		var fs []field
		for _, f := range all {
			if v.Fields == nil || want[f.name] {
				fs = append(fs, f)
			}
		}
		var req []string
		if v.Required != nil {
			req = append([]string{}, v.Required...)
		} else {
			for _, f := range fs {
				if !f.optional {
					req = append(req, f.name)
				}
			}
		}
		if !slices.Contains(req, u.Discriminator) {
			req = append([]string{u.Discriminator}, req...)
		}
		g.component(u.Name+" variant "+v.Name, v.Name, func() obj {
			s := g.object(fs, v.Override, req)
			d := obj{"type": "string", "const": v.Value}
			if f := byName[u.Discriminator]; f.doc != "" {
				d["description"] = f.doc
			}
			s["properties"].(obj)[u.Discriminator] = d
			return s
		})
		if _, dup := mapping[v.Value]; dup {
			g.fail(fmt.Errorf("%w: %s: discriminator value %q used twice", ErrVariant, u.Name, v.Value))
		}
		oneOf = append(oneOf, ref(v.Name))
		mapping[v.Value] = "#/components/schemas/" + v.Name
	}
	return obj{"oneOf": oneOf, "discriminator": obj{"propertyName": u.Discriminator, "mapping": mapping}}
}

func keys(m map[string]reflect.Type) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
