package tool

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements carry no readable content.
var skippedElems = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Head: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true, atom.Meta: true, atom.Link: true,
}

var (
	spaceRun  = regexp.MustCompile(`[ \t\r\n\f]+`)
	blankRuns = regexp.MustCompile(`\n{3,}`)
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
			if t := strings.TrimSpace(spaceRun.ReplaceAllString(n.Data, " ")); t != "" {
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
	return strings.TrimSpace(blankRuns.ReplaceAllString(b.String(), "\n\n"))
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

// HTMLToMarkdown converts an HTML document to CommonMark: headings, paragraphs,
// emphasis, links, images, inline code, fenced code blocks, lists (nested),
// blockquotes, rules and simple tables. Scripts, styles and the head are
// dropped.
func HTMLToMarkdown(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return src
	}
	c := &mdConv{}
	c.block(doc, "")
	out := blankRuns.ReplaceAllString(c.b.String(), "\n\n")
	return strings.TrimSpace(out)
}

type mdConv struct {
	b strings.Builder
}

// inline renders the inline content of n on one logical line.
func (c *mdConv) inline(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(escapeMD(spaceRun.ReplaceAllString(n.Data, " ")))
			return
		case html.ElementNode:
			if skippedElems[n.DataAtom] {
				return
			}
			switch n.DataAtom {
			case atom.Br:
				b.WriteString("  \n")
				return
			case atom.Strong, atom.B:
				if t := strings.TrimSpace(c.inline(n)); t != "" {
					b.WriteString("**" + t + "**")
				}
				return
			case atom.Em, atom.I:
				if t := strings.TrimSpace(c.inline(n)); t != "" {
					b.WriteString("_" + t + "_")
				}
				return
			case atom.Code, atom.Kbd, atom.Samp:
				t := textOf(n)
				fence := "`"
				if strings.Contains(t, "`") {
					fence = "``"
				}
				b.WriteString(fence + t + fence)
				return
			case atom.A:
				t := strings.TrimSpace(c.inline(n))
				href := attr(n, "href")
				if href == "" || strings.HasPrefix(strings.ToLower(href), "javascript:") {
					b.WriteString(t)
				} else {
					b.WriteString("[" + t + "](" + href + ")")
				}
				return
			case atom.Img:
				b.WriteString("![" + attr(n, "alt") + "](" + attr(n, "src") + ")")
				return
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		walk(ch)
	}
	return b.String()
}

// block renders block-level structure; prefix is prepended to every line
// (blockquotes, list indentation).
func (c *mdConv) block(n *html.Node, prefix string) {
	var para []*html.Node
	flushPara := func() {
		if len(para) == 0 {
			return
		}
		var text strings.Builder
		for _, p := range para {
			text.WriteString(c.inlineOne(p))
		}
		c.para(strings.TrimSpace(text.String()), prefix)
		para = nil
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && skippedElems[ch.DataAtom] {
			continue
		}
		if ch.Type == html.CommentNode || ch.Type == html.DoctypeNode {
			continue
		}
		if ch.Type == html.TextNode || (ch.Type == html.ElementNode && !isMDBlock(ch.DataAtom)) {
			para = append(para, ch)
			continue
		}
		flushPara()
		if ch.Type != html.ElementNode {
			c.block(ch, prefix)
			continue
		}
		switch ch.DataAtom {
		case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
			level := int(ch.Data[1] - '0')
			c.para(strings.Repeat("#", level)+" "+strings.TrimSpace(c.inline(ch)), prefix)
		case atom.P:
			c.para(strings.TrimSpace(c.inline(ch)), prefix)
		case atom.Hr:
			c.para("---", prefix)
		case atom.Pre:
			lang := ""
			if code := firstChild(ch, atom.Code); code != nil {
				for _, cl := range strings.Fields(attr(code, "class")) {
					if l, ok := strings.CutPrefix(cl, "language-"); ok {
						lang = l
					}
				}
			}
			body := strings.TrimSuffix(textOf(ch), "\n")
			fence := "```"
			for strings.Contains(body, fence) {
				fence += "`"
			}
			c.para(fence+lang+"\n"+body+"\n"+fence, prefix)
		case atom.Blockquote:
			c.block(ch, prefix+"> ")
		case atom.Ul, atom.Ol:
			c.list(ch, prefix)
		case atom.Table:
			c.table(ch, prefix)
		default:
			c.block(ch, prefix)
		}
	}
	flushPara()
}

func (c *mdConv) inlineOne(n *html.Node) string {
	tmp := &html.Node{Type: html.ElementNode, DataAtom: atom.Span, Data: "span"}
	// Render n as the only child of a temporary parent without detaching it.
	parent, prev, next := n.Parent, n.PrevSibling, n.NextSibling
	n.Parent, n.PrevSibling, n.NextSibling = tmp, nil, nil
	tmp.FirstChild, tmp.LastChild = n, n
	s := c.inline(tmp)
	n.Parent, n.PrevSibling, n.NextSibling = parent, prev, next
	return s
}

func (c *mdConv) para(text, prefix string) {
	if strings.TrimSpace(text) == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		c.b.WriteString(strings.TrimRight(prefix+line, " ") + "\n")
	}
	c.b.WriteString(strings.TrimRight(prefix, " ") + "\n")
}

func (c *mdConv) list(n *html.Node, prefix string) {
	i := 1
	for li := n.FirstChild; li != nil; li = li.NextSibling {
		if li.Type != html.ElementNode || li.DataAtom != atom.Li {
			continue
		}
		marker := "- "
		if n.DataAtom == atom.Ol {
			marker = fmt.Sprintf("%d. ", i)
			i++
		}
		sub := &mdConv{}
		sub.block(li, "")
		lines := strings.Split(strings.TrimSpace(blankRuns.ReplaceAllString(sub.b.String(), "\n\n")), "\n")
		indent := strings.Repeat(" ", len(marker))
		for j, l := range lines {
			switch {
			case j == 0:
				c.b.WriteString(prefix + marker + l + "\n")
			case strings.TrimSpace(l) == "":
				continue
			default:
				c.b.WriteString(prefix + indent + l + "\n")
			}
		}
	}
	c.b.WriteString(strings.TrimRight(prefix, " ") + "\n")
}

func (c *mdConv) table(n *html.Node, prefix string) {
	var rows [][]string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Tr {
			var row []string
			for cell := n.FirstChild; cell != nil; cell = cell.NextSibling {
				if cell.Type == html.ElementNode && (cell.DataAtom == atom.Td || cell.DataAtom == atom.Th) {
					row = append(row, strings.ReplaceAll(strings.TrimSpace(c.inline(cell)), "|", `\|`))
				}
			}
			rows = append(rows, row)
			return
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	if len(rows) == 0 {
		return
	}
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	var b strings.Builder
	for i, r := range rows {
		for len(r) < cols {
			r = append(r, "")
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		if i == 0 {
			b.WriteString("|" + strings.Repeat(" --- |", cols) + "\n")
		}
	}
	c.para(strings.TrimSuffix(b.String(), "\n"), prefix)
}

func isMDBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Blockquote,
		atom.Ul, atom.Ol, atom.Table, atom.Hr, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Main, atom.Nav, atom.Aside, atom.Body, atom.Html, atom.Figure, atom.Form, atom.Dl, atom.Li:
		return true
	}
	return false
}

func firstChild(n *html.Node, a atom.Atom) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == a {
			return c
		}
	}
	return nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var mdSpecial = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`)

func escapeMD(s string) string { return mdSpecial.Replace(s) }
