package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"ocgo/atomicfile"
	"ocgo/session"
	"ocgo/storage"
)

// encodeExport writes the export document as indented JSON without HTML
// escaping; the same document always gives the same bytes.
func encodeExport(doc session.Export) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// exportCmd is `ocgo export SESSION [-o FILE] [--format json|markdown]`.
func (c *cliCore) exportCmd(ctx context.Context, f cliFlags, stdout io.Writer) error {
	var data []byte
	if f.format == "markdown" {
		doc, err := c.showData(ctx, f.args[0])
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		renderMarkdown(&buf, doc)
		data = buf.Bytes()
	} else {
		doc, err := c.Sessions.Export(ctx, f.args[0])
		if err != nil {
			return err
		}
		if data, err = encodeExport(doc); err != nil {
			return err
		}
	}
	if f.output == "" || f.output == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return atomicfile.WriteFile(f.output, data, 0o644)
}

// importCmd is `ocgo import FILE [--new-ids]`.
func (c *cliCore) importCmd(ctx context.Context, f cliFlags, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(f.args[0])
	if err != nil {
		return err
	}
	var doc session.Export
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s is not an ocgo export: %w", f.args[0], err)
	}
	sess, err := c.Sessions.Import(ctx, doc, f.newIDs)
	if err != nil {
		return err
	}
	if c.Snapshots != nil {
		if err := c.Snapshots.Flush(); err != nil {
			return err
		}
	}
	return reportImport(sess, f, stdout, stderr)
}

// reportImport tells what an import created.
func reportImport(sess storage.Session, f cliFlags, stdout, stderr io.Writer) error {
	if f.json {
		return writeJSON(stdout, sess)
	}
	fmt.Fprintf(stderr, "ocgo: imported session %s (%s)\n", sess.ID, sess.Title)
	fmt.Fprintln(stdout, sess.ID)
	return nil
}

// renderMarkdown writes a readable transcript: the same content as show,
// with reasoning in <details> and tool input and output in code blocks.
func renderMarkdown(w *bytes.Buffer, doc showDoc) {
	s := doc.Session
	cost := 0.0
	for _, m := range doc.Messages {
		cost += m.Info.Cost
	}
	fmt.Fprintf(w, "# %s\n\n", s.Title)
	fmt.Fprintf(w, "- session: `%s`\n- created: %s, updated: %s\n- %d messages, cost %s\n", s.ID, stamp(s.Time.Created), stamp(s.Time.Updated), len(doc.Messages), dollars(cost))
	if s.Revert != nil {
		fmt.Fprintf(w, "- %s: the messages marked *reverted* are undone\n", revertState(s.Revert))
	}
	w.WriteString("\n")
	patches := map[string]showPatch{}
	for _, sp := range doc.Patches {
		patches[sp.PartID] = sp
	}
	for _, m := range doc.Messages {
		head := "User"
		if m.Info.Role == storage.RoleAssistant {
			head = "Assistant"
			if m.Info.ProviderID != "" {
				head += " (" + m.Info.ProviderID + "/" + m.Info.ModelID + ")"
			}
		}
		if session.Reverted(s.Revert, m.Info.ID, "") {
			head += " *reverted*"
		}
		fmt.Fprintf(w, "## %s\n\n", head)
		for _, p := range m.Parts {
			switch p.Type {
			case storage.PartText:
				fmt.Fprintf(w, "%s\n\n", strings.TrimRight(p.Text, "\n"))
			case storage.PartReasoning:
				fmt.Fprintf(w, "<details><summary>Reasoning</summary>\n\n%s\n\n</details>\n\n", strings.TrimRight(p.Text, "\n"))
			case storage.PartTool:
				st := storage.ToolState{Status: storage.ToolPending}
				if p.State != nil {
					st = *p.State
				}
				fmt.Fprintf(w, "**Tool: %s** (%s)", p.Tool, st.Status)
				if st.Title != "" {
					fmt.Fprintf(w, " %s", st.Title)
				}
				w.WriteString("\n\n")
				if len(st.Input) > 0 {
					fenced(w, "json", plainJSON(st.Input, "  "))
				}
				if st.Output != "" {
					fenced(w, "", cut(st.Output, 4*showOutputMax, 4*showOutputRows))
				}
				if st.Error != "" {
					fenced(w, "", "error: "+st.Error)
				}
			case storage.PartPatch:
				sp := patches[p.ID]
				counts := map[string]fileCount{}
				for _, c := range sp.Changes {
					counts[c.File] = c
				}
				w.WriteString("**Changed files**")
				if sp.Tool != "" {
					fmt.Fprintf(w, " (%s)", sp.Tool)
				}
				w.WriteString(":\n\n")
				for _, f := range sp.Files {
					if c, ok := counts[f]; ok {
						fmt.Fprintf(w, "- `%s` +%d -%d\n", f, c.Additions, c.Deletions)
					} else {
						fmt.Fprintf(w, "- `%s`\n", f)
					}
				}
				w.WriteString("\n")
			}
		}
	}
}

// fenced writes s in a code block whose fence is longer than any run of
// backticks inside s.
func fenced(w *bytes.Buffer, lang, s string) {
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	fmt.Fprintf(w, "%s%s\n%s\n%s\n\n", fence, lang, strings.TrimRight(s, "\n"), fence)
}
