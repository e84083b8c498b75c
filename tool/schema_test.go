package tool

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Each tool's parameter schema is written by hand beside the struct its Run
// decodes the model's input into. They must name the same fields: a
// property the struct lacks is silently dropped, a field the schema lacks is
// never sent by the model.
func TestParametersMatchInputTypes(t *testing.T) {
	inputs := map[string]reflect.Type{
		"invalid":   reflect.TypeFor[invalidInput](),
		"bash":      reflect.TypeFor[bashInput](),
		"edit":      reflect.TypeFor[editInput](),
		"webfetch":  reflect.TypeFor[webfetchInput](),
		"glob":      reflect.TypeFor[globInput](),
		"grep":      reflect.TypeFor[grepInput](),
		"list":      reflect.TypeFor[listInput](),
		"patch":     reflect.TypeFor[patchInput](),
		"read":      reflect.TypeFor[readInput](),
		"write":     reflect.TypeFor[writeInput](),
		"todowrite": reflect.TypeFor[todoInput](),
		"todoread":  reflect.TypeFor[struct{}](),
		"task":      reflect.TypeFor[taskInput](),
	}
	tools := Registry(Options{Agents: func() []AgentInfo { return []AgentInfo{{Name: "general"}} }})
	if len(tools) != len(inputs) {
		t.Errorf("%d tools, %d input types listed here", len(tools), len(inputs))
	}
	for _, tl := range tools {
		info := tl.Info()
		typ, ok := inputs[info.Name]
		if !ok {
			t.Errorf("%s: no input type listed in this test", info.Name)
			continue
		}
		var fields []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name != "-" {
				fields = append(fields, name)
			}
		}
		var params []string
		for p := range info.Parameters {
			params = append(params, p)
		}
		slices.Sort(fields)
		slices.Sort(params)
		if !slices.Equal(fields, params) {
			t.Errorf("%s: schema properties %v, input struct fields %v", info.Name, params, fields)
		}
		for _, r := range info.Required {
			if !slices.Contains(fields, r) {
				t.Errorf("%s: requires %q, which the input struct lacks", info.Name, r)
			}
		}
	}
}
