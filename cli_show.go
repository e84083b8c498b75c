package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"ocgo/session"
	"ocgo/storage"
)

// Limits of `ocgo show`: long tool input and output are cut, with a marker
// saying how much was left out (--json has everything).
const (
	showInputMax   = 400  // bytes of a tool call's input
	showOutputMax  = 1200 // bytes of a tool call's output
	showOutputRows = 12   // lines of a tool call's output
)

// showDoc is `ocgo show --json`: the session, its messages with parts, and
// each patch with the lines it added and removed per file.
type showDoc struct {
	Session  storage.Session     `json:"session"`
	Messages []storage.WithParts `json:"messages"`
	Patches  []showPatch         `json:"patches"`
}

// showPatch is a patch part with its per-file counts.
type showPatch struct {
	patchRow
	Changes []fileCount `json:"changes"`
	Error   string      `json:"error,omitempty"` // why counts are missing
}

// fileCount is one file of a patch with its added and removed lines.
type fileCount struct {
	File      string `json:"file"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
}

// palette holds the ANSI sequences used when stdout is a terminal; all
// empty otherwise, so piped output is plain text.
type palette struct{ bold, dim, cyan, green, red, yellow, reset string }

func colours(w io.Writer, env func(string) string) palette {
	f, ok := w.(*os.File)
	if !ok || env("NO_COLOR") != "" || env("TERM") == "dumb" {
		return palette{}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return palette{}
	}
	return palette{bold: "\x1b[1m", dim: "\x1b[2m", cyan: "\x1b[36m", green: "\x1b[32m", red: "\x1b[31m", yellow: "\x1b[33m", reset: "\x1b[0m"}
}

// showData gathers what show prints.
func (c *cliCore) showData(ctx context.Context, sessionID string) (showDoc, error) {
	sess, err := c.Sessions.Get(sessionID)
	if err != nil {
		return showDoc{}, err
	}
	msgs, err := c.Sessions.Messages(sessionID)
	if err != nil {
		return showDoc{}, err
	}
	rows, err := c.patchRows(sessionID)
	if err != nil {
		return showDoc{}, err
	}
	doc := showDoc{Session: sess, Messages: msgs, Patches: make([]showPatch, 0, len(rows))}
	for _, r := range rows {
		sp := showPatch{patchRow: r, Changes: []fileCount{}}
		switch {
		case c.Snapshots == nil:
			sp.Error = "snapshots are disabled"
		case r.After == "":
			sp.Error = "no tree recorded after the change"
		default:
			diffs, err := c.Snapshots.FileDiffs(ctx, r.Hash, r.After, r.Files)
			if err != nil {
				sp.Error = err.Error()
				break
			}
			for _, d := range diffs {
				sp.Changes = append(sp.Changes, fileCount{File: d.File, Additions: d.Additions, Deletions: d.Deletions})
			}
		}
		doc.Patches = append(doc.Patches, sp)
	}
	return doc, nil
}

func (c *cliCore) show(ctx context.Context, f cliFlags, stdout io.Writer, env func(string) string) error {
	doc, err := c.showData(ctx, f.args[0])
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(stdout, doc)
	}
	var buf bytes.Buffer
	renderShow(&buf, doc, colours(stdout, env))
	_, err = stdout.Write(buf.Bytes())
	return err
}

// renderShow writes the conversation as readable text.
func renderShow(w *bytes.Buffer, doc showDoc, p palette) {
	s := doc.Session
	cost := 0.0
	for _, m := range doc.Messages {
		cost += m.Info.Cost
	}
	fmt.Fprintf(w, "%s%s%s  %s\n", p.bold, s.Title, p.reset, s.ID)
	fmt.Fprintf(w, "created %s · updated %s · %d messages · %s\n", stamp(s.Time.Created), stamp(s.Time.Updated), len(doc.Messages), dollars(cost))
	if s.ParentID != "" {
		fmt.Fprintf(w, "child of %s\n", s.ParentID)
	}
	if s.Revert != nil {
		fmt.Fprintf(w, "%s%s%s: what follows that point is undone and hidden from clients; `ocgo unrevert %s` brings it back\n",
			p.yellow, revertState(s.Revert), p.reset, s.ID)
	}
	patches := map[string]showPatch{}
	for _, sp := range doc.Patches {
		patches[sp.PartID] = sp
	}
	for _, m := range doc.Messages {
		reverted := session.Reverted(s.Revert, m.Info.ID, "")
		head := m.Info.Role
		if m.Info.Role == storage.RoleAssistant {
			if m.Info.ProviderID != "" {
				head += " · " + m.Info.ProviderID + "/" + m.Info.ModelID
			}
			if m.Info.Mode != "" {
				head += " · " + m.Info.Mode
			}
			if m.Info.Cost > 0 {
				head += " · " + dollars(m.Info.Cost)
			}
		}
		mark := ""
		if reverted {
			mark = p.yellow + "  [reverted]" + p.reset
		}
		fmt.Fprintf(w, "\n%s── %s%s  %s%s  %s%s\n", p.bold, head, p.reset, p.dim, m.Info.ID, clock(m.Info.Time.Created), p.reset+mark)
		for _, part := range m.Parts {
			partMark := ""
			if !reverted && session.Reverted(s.Revert, m.Info.ID, part.ID) {
				partMark = p.yellow + " [reverted]" + p.reset
			}
			switch part.Type {
			case storage.PartText:
				if part.Synthetic {
					fmt.Fprintf(w, "%s%s%s%s\n", p.dim, indent(cut(part.Text, showOutputMax, showOutputRows), ""), p.reset, partMark)
					continue
				}
				fmt.Fprintf(w, "%s%s\n", strings.TrimRight(part.Text, "\n"), partMark)
			case storage.PartReasoning:
				first, _, _ := strings.Cut(strings.TrimSpace(part.Text), "\n")
				if utf8.RuneCountInString(first) > 80 {
					first = string([]rune(first)[:80]) + "…"
				}
				fmt.Fprintf(w, "%s▸ reasoning (%d lines, folded): %s%s%s\n", p.dim, countLines(part.Text), first, p.reset, partMark)
			case storage.PartTool:
				renderTool(w, part, p, partMark)
			case storage.PartPatch:
				renderPatch(w, patches[part.ID], p, partMark)
			case storage.PartFile:
				fmt.Fprintf(w, "%s📎 %s (%s)%s%s\n", p.dim, firstNonEmptyStr(part.Filename, part.URL), part.Mime, p.reset, partMark)
			case storage.PartAgent:
				fmt.Fprintf(w, "%s@%s%s\n", p.dim, part.Name, p.reset)
			}
		}
		if m.Info.Error != nil {
			msg, _ := m.Info.Error.Data["message"].(string)
			fmt.Fprintf(w, "%s✗ %s: %s%s\n", p.red, m.Info.Error.Name, msg, p.reset)
		}
	}
}

func renderTool(w *bytes.Buffer, part storage.Part, p palette, mark string) {
	st := storage.ToolState{Status: storage.ToolPending}
	if part.State != nil {
		st = *part.State
	}
	title := ""
	if st.Title != "" {
		title = "  " + st.Title
	}
	fmt.Fprintf(w, "%s⚙ %s%s %s[%s]%s%s%s\n", p.cyan, part.Tool, p.reset, p.dim, st.Status, p.reset, title, mark)
	if len(st.Input) > 0 {
		fmt.Fprintf(w, "  %sinput%s  %s\n", p.dim, p.reset, cut(plainJSON(st.Input, ""), showInputMax, 1))
	}
	switch {
	case st.Status == storage.ToolError:
		fmt.Fprintf(w, "  %serror%s  %s\n", p.red, p.reset, indent(cut(st.Error, showOutputMax, showOutputRows), "         "))
	case st.Output != "":
		fmt.Fprintf(w, "  %soutput%s\n%s\n", p.dim, p.reset, indent(cut(st.Output, showOutputMax, showOutputRows), "    "))
	}
}

func renderPatch(w *bytes.Buffer, sp showPatch, p palette, mark string) {
	by := ""
	if sp.Tool != "" {
		by = " by " + sp.Tool
	}
	fmt.Fprintf(w, "%s± patch%s%s, %d file(s)%s\n", p.bold, by, p.reset, len(sp.Files), mark)
	counts := map[string]fileCount{}
	for _, c := range sp.Changes {
		counts[c.File] = c
	}
	width := 0
	for _, f := range sp.Files {
		width = max(width, len(f))
	}
	for _, f := range sp.Files {
		c, ok := counts[f]
		switch {
		case ok:
			fmt.Fprintf(w, "    %-*s  %s+%d%s %s-%d%s\n", width, f, p.green, c.Additions, p.reset, p.red, c.Deletions, p.reset)
		case sp.Error != "":
			fmt.Fprintf(w, "    %-*s  ?\n", width, f)
		default:
			fmt.Fprintf(w, "    %-*s  (mode only)\n", width, f)
		}
	}
	if sp.Error != "" {
		fmt.Fprintf(w, "    %s(counts unavailable: %s)%s\n", p.dim, sp.Error, p.reset)
	}
}

// plainJSON re-encodes raw JSON for people: compact (or indented with
// indent), object keys sorted, and without \u003c-style escapes.
func plainJSON(raw json.RawMessage, indent string) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSpace(b.String())
}

// cut shortens s to at most maxBytes and maxLines, ending with a marker
// that says how much was left out.
func cut(s string, maxBytes, maxLines int) string {
	s = strings.TrimRight(s, "\n")
	kept := s
	if lines := strings.SplitAfter(kept, "\n"); len(lines) > maxLines {
		kept = strings.TrimRight(strings.Join(lines[:maxLines], ""), "\n")
	}
	if len(kept) > maxBytes {
		kept = kept[:maxBytes]
		for !utf8.ValidString(kept) {
			kept = kept[:len(kept)-1]
		}
	}
	if kept == s {
		return s
	}
	rest := s[len(kept):]
	return fmt.Sprintf("%s … [cut: %d more lines, %d more bytes]", kept, strings.Count(rest, "\n"), len(rest))
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

func countLines(s string) int {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

func firstNonEmptyStr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func stamp(ms int64) string { return time.UnixMilli(ms).Format("2006-01-02 15:04:05") }
func clock(ms int64) string { return time.UnixMilli(ms).Format("15:04:05") }
