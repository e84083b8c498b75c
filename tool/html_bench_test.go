package tool

import (
	"strings"
	"testing"
)

// BenchmarkHTMLToMarkdown converts a 100 KB page.
func BenchmarkHTMLToMarkdown(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("<html><head><script>x()</script></head><body>")
	for sb.Len() < 100<<10 {
		sb.WriteString(`<h2>Title</h2><p>Some <b>bold</b> and <a href="/x">a link</a> with <code>code</code>.</p><ul><li>one</li><li>two<ul><li>three</li></ul></li></ul><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table><pre><code class="language-go">func main() {}</code></pre>`)
	}
	sb.WriteString("</body></html>")
	page := sb.String()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		if out := HTMLToMarkdown(page); !strings.Contains(out, "## Title") {
			b.Fatal(out[:200])
		}
	}
}
