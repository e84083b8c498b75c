package event

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestAllListsEveryEvent: a type with an EventType method that All leaves
// out would be sent but missing from /doc.
func TestAllListsEveryEvent(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "EventType" && fn.Recv != nil {
				declared = append(declared, fn.Recv.List[0].Type.(*ast.Ident).Name)
			}
		}
	}
	var listed []string
	seen := map[string]bool{}
	for _, e := range All() {
		name := reflect.TypeOf(e).Name()
		if seen[e.EventType()] {
			t.Errorf("event type %q listed twice", e.EventType())
		}
		seen[e.EventType()] = true
		listed = append(listed, name)
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Fatalf("types with EventType: %v\nlisted in All: %v", declared, listed)
	}
}
