package tool

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkGrep searches 500 files of 200 lines each.
func BenchmarkGrep(b *testing.B) {
	e := newEnv(b)
	var body strings.Builder
	for i := range 200 {
		fmt.Fprintf(&body, "line %d of some code with identifiers foo_%d\n", i, i)
	}
	for i := range 500 {
		e.file(filepath.Join(fmt.Sprintf("d%d", i%20), fmt.Sprintf("f%d.go", i)), body.String())
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := run(b, e, "grep", m{"pattern": `foo_19\d\b`, "include": "*.go"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEditFuzzy measures the whitespace-tolerant fallbacks on a
// 5000-line file where the exact match fails.
func BenchmarkEditFuzzy(b *testing.B) {
	var sb strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&sb, "\tstatement_%d(x, y)\n", i)
	}
	content := sb.String()
	old := "  statement_4000(x,  y)\n  statement_4001(x, y)"
	for b.Loop() {
		if _, err := replaceText(content, old, "replaced()", false); err != nil {
			b.Fatal(err)
		}
	}
}
