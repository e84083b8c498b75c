package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ocgo/session"
	"ocgo/storage"
)

// TestCLIExportImportRoundTrip exports a recorded session (while its
// server runs), imports it into another project with its own data folder,
// checks that patches, diff, unrevert and revert work there, and that
// exporting it again gives the same bytes.
func TestCLIExportImportRoundTrip(t *testing.T) {
	h, sid, msgs := recordedSession(t)
	file := filepath.Join(t.TempDir(), "session.json")
	mustCLI(t, h, "export", sid, "-o", file)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc session.Export
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != session.ExportFormat || doc.Info.ID != sid || len(doc.Messages) != 4 || len(doc.Objects) == 0 || doc.Info.Revert == nil {
		t.Fatalf("export: format %q, %d messages, %d objects, revert %+v", doc.Format, len(doc.Messages), len(doc.Objects), doc.Info.Revert)
	}
	for _, m := range doc.Messages {
		for _, p := range m.Parts {
			for _, f := range p.Files {
				if filepath.IsAbs(f) {
					t.Errorf("patch file %q is absolute in the export", f)
				}
			}
		}
		if m.Info.Path != nil && (m.Info.Path.Root != "." || m.Info.Path.Cwd != ".") {
			t.Errorf("message path %+v in the export", m.Info.Path)
		}
	}
	if stdout := mustCLI(t, h, "export", sid); stdout != string(first) {
		t.Errorf("export to stdout differs from export to a file")
	}

	// Another project, elsewhere, holding the files as the agent left them.
	other := &harness{t: t, dir: t.TempDir(), data: t.TempDir()}
	for name, content := range map[string]string{"README.md": "v2\n", "new.txt": "created\n"} {
		if err := os.WriteFile(filepath.Join(other.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out := mustCLI(t, other, "import", file); strings.TrimSpace(out) != sid {
		t.Fatalf("import printed %q", out)
	}
	again := mustCLI(t, other, "export", sid)
	if again != string(first) {
		t.Errorf("export → import → export is not byte-identical")
	}

	var rows []patchRow
	if err := json.Unmarshal([]byte(mustCLI(t, other, "patches", sid, "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Files[0] != "new.txt" || !rows[2].Reverted {
		t.Errorf("patches in the other project: %+v", rows)
	}
	if d := mustCLI(t, other, "diff", sid, msgs[1].Info.ID); !strings.Contains(d, "+created") || !strings.Contains(d, "-hello") {
		t.Errorf("diff in the other project:\n%s", d)
	}
	mustCLI(t, other, "unrevert", sid)
	if got := read(t, filepath.Join(other.dir, "README.md")); got != "v2\nv3\n" {
		t.Errorf("unrevert in the other project: README %q", got)
	}
	mustCLI(t, other, "revert", sid, msgs[0].Info.ID)
	if read(t, filepath.Join(other.dir, "README.md")) != "hello\n" || read(t, filepath.Join(other.dir, "new.txt")) != "<missing>" {
		t.Errorf("revert in the other project: README %q", read(t, filepath.Join(other.dir, "README.md")))
	}

	// The same IDs again are refused; --new-ids keeps both.
	if _, _, err := cli(t, other, "import", file); !errors.Is(err, session.ErrExists) {
		t.Errorf("second import: %v", err)
	}
	out := mustCLI(t, other, "import", file, "--new-ids")
	newID := strings.TrimSpace(out)
	if newID == sid || !storage.ValidID(storage.PrefixSession, newID) {
		t.Fatalf("import --new-ids printed %q", out)
	}
	var copyDoc showDoc
	if err := json.Unmarshal([]byte(mustCLI(t, other, "show", newID, "--json")), &copyDoc); err != nil {
		t.Fatal(err)
	}
	if len(copyDoc.Messages) != 4 || copyDoc.Session.Revert == nil || copyDoc.Messages[0].Info.SessionID != newID ||
		copyDoc.Session.Revert.MessageID != copyDoc.Messages[2].Info.ID || slices.ContainsFunc(copyDoc.Messages, func(m storage.WithParts) bool {
		return m.Info.ID == msgs[0].Info.ID
	}) {
		t.Errorf("the renumbered copy: %+v", copyDoc.Session)
	}

	// A tampered document is refused before anything is written.
	doc.Objects[0].Data = append(doc.Objects[0].Data, 'x')
	doc.Info.ID = "ses_" + strings.Repeat("f", 26)
	for i := range doc.Messages {
		doc.Messages[i].Info.SessionID = doc.Info.ID
		for j := range doc.Messages[i].Parts {
			doc.Messages[i].Parts[j].SessionID = doc.Info.ID
		}
	}
	bad, _ := json.Marshal(doc)
	if err := os.WriteFile(file, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, other, "import", file); err == nil || !strings.Contains(err.Error(), "does not match its content") {
		t.Errorf("tampered import: %v", err)
	}
	if _, _, err := cli(t, other, "show", doc.Info.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused import left a session: %v", err)
	}
}

func TestCLIExportMarkdown(t *testing.T) {
	h, sid, _ := recordedSession(t)
	out := mustCLI(t, h, "export", sid, "--format", "markdown")
	golden(t, "export.md.golden", normalize(out, h))
	for _, s := range []string{"# Add new.txt, bump the README", "<details><summary>Reasoning</summary>", "**Tool: bash** (completed)", "- `README.md` +1 -1", "*reverted*"} {
		if !strings.Contains(out, s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
}
