package config

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// kind is the JSON type a schema node accepts.
type kind int

const (
	kindAny kind = iota
	kindString
	kindNumber
	kindBool
	kindObject // fixed set of fields
	kindMap    // any key, every value of type elem
	kindArray
	kindUnion // pick chooses the alternative from the value
)

// node is one node of the small hand-written schema that mirrors opencode
// 0.5.29's zod schema for opencode.json. It exists so validation errors can
// name the exact key, and so no generic JSON-schema engine is needed.
type node struct {
	kind     kind
	fields   map[string]*node // kindObject
	required []string         // kindObject
	// strict rejects unknown keys (zod .strict()); otherwise unknown keys are
	// dropped, as zod does, unless extra is set, in which case they are kept
	// and validated by extra.
	strict bool
	extra  *node
	elem   *node    // kindMap, kindArray
	enum   []string // kindString
	min    *float64 // kindNumber
	// konst requires a bool to equal this value (kindBool).
	konst *bool
	// pick selects the alternative for a union value, or returns a message;
	// alts lists every alternative pick can return (for the JSON Schema).
	pick func(v any) (*node, string)
	alts []*node
}

// issue is the first validation failure found, with its dotted key path.
type issue struct {
	key     string
	message string
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// validate checks v against n, appending the keys it drops to dropped
// (which may be nil), and returns the cleaned value (unknown keys of
// non-strict objects dropped, as zod does) or the first issue.
func (n *node) validate(v any, key string, dropped *[]string) (any, *issue) {
	switch n.kind {
	case kindAny:
		return v, nil
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, &issue{key, "expected string, got " + typeName(v)}
		}
		if len(n.enum) > 0 && !slices.Contains(n.enum, s) {
			return nil, &issue{key, fmt.Sprintf("invalid value %q, expected one of %s", s, strings.Join(n.enum, ", "))}
		}
		return s, nil
	case kindNumber:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &issue{key, "expected number, got " + typeName(v)}
		}
		if n.min != nil && f < *n.min {
			return nil, &issue{key, fmt.Sprintf("must be at least %g", *n.min)}
		}
		return f, nil
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, &issue{key, "expected boolean, got " + typeName(v)}
		}
		if n.konst != nil && b != *n.konst {
			return nil, &issue{key, fmt.Sprintf("must be %t", *n.konst)}
		}
		return b, nil
	case kindArray:
		a, ok := v.([]any)
		if !ok {
			return nil, &issue{key, "expected array, got " + typeName(v)}
		}
		out := make([]any, 0, len(a))
		for i, e := range a {
			c, is := n.elem.validate(e, fmt.Sprintf("%s[%d]", key, i), dropped)
			if is != nil {
				return nil, is
			}
			out = append(out, c)
		}
		return out, nil
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &issue{key, "expected object, got " + typeName(v)}
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			c, is := n.elem.validate(m[k], joinKey(key, k), dropped)
			if is != nil {
				return nil, is
			}
			out[k] = c
		}
		return out, nil
	case kindObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &issue{key, "expected object, got " + typeName(v)}
		}
		for _, r := range n.required {
			if _, ok := m[r]; !ok {
				return nil, &issue{joinKey(key, r), "required"}
			}
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			f, known := n.fields[k]
			switch {
			case known:
			case n.extra != nil:
				f = n.extra
			case n.strict:
				return nil, &issue{joinKey(key, k), "unrecognized key"}
			default:
				// zod strips unknown keys of non-strict objects; report them
				// so a typo does not vanish silently.
				if dropped != nil {
					*dropped = append(*dropped, joinKey(key, k))
				}
				continue
			}
			c, is := f.validate(m[k], joinKey(key, k), dropped)
			if is != nil {
				return nil, is
			}
			out[k] = c
		}
		return out, nil
	case kindUnion:
		alt, msg := n.pick(v)
		if alt == nil {
			return nil, &issue{key, msg}
		}
		return alt.validate(v, key, dropped)
	}
	return nil, &issue{key, "unsupported schema node"}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Schema constructors, kept tiny so the schema below reads like the original.

func str() *node                   { return &node{kind: kindString} }
func num() *node                   { return &node{kind: kindNumber} }
func boolean() *node               { return &node{kind: kindBool} }
func anyv() *node                  { return &node{kind: kindAny} }
func enum(vals ...string) *node    { return &node{kind: kindString, enum: vals} }
func arr(elem *node) *node         { return &node{kind: kindArray, elem: elem} }
func mapOf(elem *node) *node       { return &node{kind: kindMap, elem: elem} }
func obj(f map[string]*node) *node { return &node{kind: kindObject, fields: f} }
func strictObj(f map[string]*node) *node {
	return &node{kind: kindObject, fields: f, strict: true}
}

func permValue() *node { return enum("ask", "allow", "deny") }

// permissionSchema is {edit?, bash?: perm | {[pattern]: perm}, webfetch?}.
func permissionSchema() *node {
	perm := permValue()
	permMap := mapOf(permValue())
	return obj(map[string]*node{
		"edit": permValue(),
		"bash": {kind: kindUnion, alts: []*node{perm, permMap}, pick: func(v any) (*node, string) {
			switch v.(type) {
			case string:
				return perm, ""
			case map[string]any:
				return permMap, ""
			}
			return nil, "expected \"ask\", \"allow\", \"deny\" or an object of patterns, got " + typeName(v)
		}},
		"webfetch": permValue(),
	})
}

// agentConfigSchema is AgentConfig: known keys typed, any other key kept (it
// ends up in the agent's options).
func agentConfigSchema() *node {
	n := obj(map[string]*node{
		"model":       str(),
		"temperature": num(),
		"top_p":       num(),
		"prompt":      str(),
		"tools":       mapOf(boolean()),
		"disable":     boolean(),
		"description": str(),
		"mode":        enum("subagent", "primary", "all"),
		"permission":  permissionSchema(),
	})
	n.extra = anyv()
	return n
}

func commandSchema() *node {
	n := obj(map[string]*node{
		"template":    str(),
		"description": str(),
		"agent":       str(),
		"model":       str(),
	})
	n.required = []string{"template"}
	return n
}

func hookCommand() *node {
	n := obj(map[string]*node{"command": arr(str()), "environment": mapOf(str())})
	n.required = []string{"command"}
	return n
}

// configSchema mirrors the strict Config object of opencode 0.5.29.
func configSchema() *node {
	one := 1.0
	yes := true

	keybindFields := map[string]*node{}
	for k := range keybindDefaults() {
		keybindFields[k] = str()
	}
	keybinds := strictObj(keybindFields)
	tui := obj(map[string]*node{"scroll_speed": {kind: kindNumber, min: &one}})
	model := obj(map[string]*node{
		"id":           str(),
		"name":         str(),
		"release_date": str(),
		"attachment":   boolean(),
		"reasoning":    boolean(),
		"temperature":  boolean(),
		"tool_call":    boolean(),
		"cost": func() *node {
			n := obj(map[string]*node{"input": num(), "output": num(), "cache_read": num(), "cache_write": num()})
			n.required = []string{"input", "output"}
			return n
		}(),
		"limit": func() *node {
			n := obj(map[string]*node{"context": num(), "output": num()})
			n.required = []string{"context", "output"}
			return n
		}(),
		"options": mapOf(anyv()),
	})
	providerOptions := obj(map[string]*node{"apiKey": str(), "baseURL": str()})
	providerOptions.extra = anyv()
	provider := strictObj(map[string]*node{
		"api":     str(),
		"name":    str(),
		"env":     arr(str()),
		"id":      str(),
		"npm":     str(),
		"models":  mapOf(model),
		"options": providerOptions,
	})

	mcpLocal := strictObj(map[string]*node{
		"type":        enum("local"),
		"command":     arr(str()),
		"environment": mapOf(str()),
		"enabled":     boolean(),
	})
	mcpLocal.required = []string{"type", "command"}
	mcpRemote := strictObj(map[string]*node{
		"type":    enum("remote"),
		"url":     str(),
		"enabled": boolean(),
		"headers": mapOf(str()),
	})
	mcpRemote.required = []string{"type", "url"}
	mcp := &node{kind: kindUnion, alts: []*node{mcpLocal, mcpRemote}, pick: func(v any) (*node, string) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "expected object, got " + typeName(v)
		}
		switch m["type"] {
		case "local":
			return mcpLocal, ""
		case "remote":
			return mcpRemote, ""
		}
		return nil, `"type" must be "local" or "remote"`
	}}

	lspDisabled := obj(map[string]*node{"disabled": {kind: kindBool, konst: &yes}})
	lspDisabled.required = []string{"disabled"}
	lspServer := obj(map[string]*node{
		"command":        arr(str()),
		"extensions":     arr(str()),
		"disabled":       boolean(),
		"env":            mapOf(str()),
		"initialization": mapOf(anyv()),
	})
	lspServer.required = []string{"command"}
	lsp := &node{kind: kindUnion, alts: []*node{lspDisabled, lspServer}, pick: func(v any) (*node, string) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "expected object, got " + typeName(v)
		}
		if _, has := m["command"]; !has && m["disabled"] == true {
			return lspDisabled, ""
		}
		return lspServer, ""
	}}

	return strictObj(map[string]*node{
		"$schema":            str(),
		"theme":              str(),
		"keybinds":           keybinds,
		"tui":                tui,
		"command":            mapOf(commandSchema()),
		"plugin":             arr(str()),
		"snapshot":           boolean(),
		"share":              enum("manual", "auto", "disabled"),
		"autoshare":          boolean(),
		"autoupdate":         boolean(),
		"disabled_providers": arr(str()),
		"model":              str(),
		"small_model":        str(),
		"username":           str(),
		"mode":               mapOf(agentConfigSchema()),
		"agent":              mapOf(agentConfigSchema()),
		"provider":           mapOf(provider),
		"mcp":                mapOf(mcp),
		"formatter": mapOf(obj(map[string]*node{
			"disabled":    boolean(),
			"command":     arr(str()),
			"environment": mapOf(str()),
			"extensions":  arr(str()),
		})),
		"lsp":          mapOf(lsp),
		"instructions": arr(str()),
		"layout":       enum("auto", "stretch"),
		"permission":   permissionSchema(),
		"tools":        mapOf(boolean()),
		"experimental": obj(map[string]*node{
			"hook": obj(map[string]*node{
				"file_edited":       mapOf(arr(hookCommand())),
				"session_completed": arr(hookCommand()),
			}),
		}),
	})
}

// jsonSchema is n as a JSON Schema object: the description of a value n
// accepts (after validation drops the unknown keys of non-strict objects).
func (n *node) jsonSchema() map[string]any {
	switch n.kind {
	case kindString:
		s := map[string]any{"type": "string"}
		if len(n.enum) > 0 {
			s["enum"] = n.enum
		}
		return s
	case kindNumber:
		s := map[string]any{"type": "number"}
		if n.min != nil {
			s["minimum"] = *n.min
		}
		return s
	case kindBool:
		s := map[string]any{"type": "boolean"}
		if n.konst != nil {
			s["enum"] = []bool{*n.konst}
		}
		return s
	case kindArray:
		return map[string]any{"type": "array", "items": n.elem.jsonSchema()}
	case kindMap:
		return map[string]any{"type": "object", "additionalProperties": n.elem.jsonSchema()}
	case kindObject:
		props := map[string]any{}
		for k, f := range n.fields {
			props[k] = f.jsonSchema()
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(n.required) > 0 {
			s["required"] = n.required
		}
		switch {
		case n.extra != nil:
			s["additionalProperties"] = n.extra.jsonSchema()
		case n.strict:
			s["additionalProperties"] = false
		}
		return s
	case kindUnion:
		alts := make([]any, len(n.alts))
		for i, a := range n.alts {
			alts[i] = a.jsonSchema()
		}
		return map[string]any{"anyOf": alts}
	}
	return map[string]any{}
}
