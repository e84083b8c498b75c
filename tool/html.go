package tool

import (
	"regexp"
	"strings"
	"sync"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
)

// skipped elements carry no readable content.
var skippedElems = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Head: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true, atom.Meta: true, atom.Link: true,
}

var (
	spaceRun  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[ \t\r\n\f]+`) })
	blankRuns = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\n{3,}`) })
)

// HTMLToText returns the visible text of an HTML document, one block per
// line.
func HTMLToText(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return src
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && skippedElems[n.DataAtom] {
			return
		}
		if n.Type == html.TextNode {
			if t := strings.TrimSpace(spaceRun().ReplaceAllString(n.Data, " ")); t != "" {
				if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte(' ')
				}
				b.WriteString(t)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && isBlock(n.DataAtom) && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	walk(doc)
	return strings.TrimSpace(blankRuns().ReplaceAllString(b.String(), "\n\n"))
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Br, atom.Li, atom.Tr, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Pre, atom.Blockquote, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Table,
		atom.Ul, atom.Ol, atom.Hr, atom.Main, atom.Nav, atom.Aside, atom.Dt, atom.Dd, atom.Title:
		return true
	}
	return false
}

// markdown converts HTML to CommonMark with html-to-markdown (headings
// "#", "-" bullets, fenced code, GitHub tables); scripts, styles and the
// like are dropped, as the original's Turndown set-up drops them.
// It is built on first use, not at start.
var markdown = sync.OnceValue(func() *converter.Converter {
	return converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(commonmark.WithBulletListMarker("-"), commonmark.WithHorizontalRule("---")),
		table.NewTablePlugin(),
	))
})

// HTMLToMarkdown converts an HTML document to markdown; a document the
// converter refuses is returned as it came.
func HTMLToMarkdown(src string) string {
	out, err := markdown().ConvertString(src)
	if err != nil {
		return src
	}
	return strings.TrimSpace(blankLine().ReplaceAllString(out, ""))
}

// blankLine is a line of only spaces (the converter indents the empty line
// before a nested list).
var blankLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^[ \t]+$`) })
