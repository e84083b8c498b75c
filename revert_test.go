package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

func read(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		return "<missing>"
	}
	return string(data)
}

// agentEdits scripts two prompts: the first creates new.txt and rewrites
// README.md, the second deletes gone.txt and appends to README.md.
func agentEdits(t *testing.T) (*harness, *fakellm.Server, string, []storage.WithParts) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "c1", Name: "write", Args: `{"filePath":"new.txt","content":"created\n"}`},
			{ID: "c2", Name: "bash", Args: `{"command":"printf 'v2\\n' > README.md","description":"edit"}`},
		}},
		fakellm.Turn{Text: []string{"first done"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "c3", Name: "bash", Args: `{"command":"rm gone.txt && printf 'v3\\n' >> README.md && chmod +x tool.sh","description":"edit"}`},
		}},
		fakellm.Turn{Text: []string{"second done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	if err := os.WriteFile(filepath.Join(h.dir, "gone.txt"), []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "tool.sh"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "unrelated.txt"), []byte("user work\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sid := h.newSession()
	var r1, r2 storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("first"), &r1)
	h.call("POST", "/session/"+sid+"/message", textPrompt("second"), &r2)
	if r1.Info.Error != nil || r2.Info.Error != nil {
		t.Fatalf("prompts failed: %+v %+v", r1.Info.Error, r2.Info.Error)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	return h, fake, sid, msgs
}

func TestRevertUnrevertRedo(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Fatal("agent edits did not happen")
	}
	patches := 0
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == "patch" {
				patches++
				if p.Hash == "" || len(p.Files) == 0 || !filepath.IsAbs(p.Files[0]) {
					t.Errorf("patch part: %+v", p)
				}
			}
		}
	}
	if patches != 3 {
		t.Fatalf("patch parts: %d, want 3 (one per file-changing tool call)", patches)
	}
	// The user edits an unrelated file meanwhile: no revert may touch it.
	if err := os.WriteFile(filepath.Join(h.dir, "unrelated.txt"), []byte("user work, edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(h.dir, "unrelated.txt"))

	// Undo the second prompt (revert to its user message).
	secondUser := msgs[2].Info.ID
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": secondUser}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if sess.Revert == nil || sess.Revert.MessageID != secondUser || sess.Revert.Snapshot == "" {
		t.Fatalf("revert state: %+v", sess.Revert)
	}
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "v2\n" {
		t.Errorf("README after undo: %q", got)
	}
	if got := read(t, filepath.Join(h.dir, "gone.txt")); got != "keep me\n" {
		t.Errorf("deleted file not back: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(h.dir, "tool.sh")); fi.Mode()&0o111 != 0 {
		t.Errorf("mode change not undone: %v", fi.Mode())
	}
	if !strings.Contains(sess.Revert.Diff, "gone.txt") || !strings.Contains(sess.Revert.Diff, "README.md") || strings.Contains(sess.Revert.Diff, "unrelated.txt") {
		t.Errorf("diff: %s", sess.Revert.Diff)
	}
	// Undo further: to the first prompt.
	h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess)
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "hello\n" {
		t.Errorf("README after second undo: %q", got)
	}
	if read(t, filepath.Join(h.dir, "new.txt")) != "<missing>" {
		t.Errorf("created file not removed")
	}
	// Redo one step: the first prompt's changes come back, the second's stay undone.
	h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": secondUser}, &sess)
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "v2\n" || read(t, filepath.Join(h.dir, "new.txt")) != "created\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "keep me\n" {
		t.Errorf("redo: README %q new %q gone %q", got, read(t, filepath.Join(h.dir, "new.txt")), read(t, filepath.Join(h.dir, "gone.txt")))
	}
	// Unrevert: everything as before the first undo.
	sess = storage.Session{}
	h.call("POST", "/session/"+sid+"/unrevert", nil, &sess)
	if sess.Revert != nil || read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" || read(t, filepath.Join(h.dir, "new.txt")) != "created\n" {
		t.Errorf("unrevert: %+v README %q", sess.Revert, read(t, filepath.Join(h.dir, "README.md")))
	}
	st2, _ := os.Stat(filepath.Join(h.dir, "unrelated.txt"))
	if read(t, filepath.Join(h.dir, "unrelated.txt")) != "user work, edited\n" || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("a revert touched the user's unrelated file")
	}
}

func TestRevertRefusesToClobberUserEdits(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("the user's own edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var e struct {
		Name string
		Data map[string]any
	}
	code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID}, &e)
	if code != 409 || e.Name != "ConflictError" || !strings.Contains(e.Data["message"].(string), "README.md") {
		t.Fatalf("%d %+v", code, e)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "the user's own edit\n" {
		t.Errorf("user edit lost")
	}
}

func TestPromptAfterRevertDeletesRevertedMessagesAndParts(t *testing.T) {
	h, fake, sid, msgs := agentEdits(t)
	fake.Push(fakellm.Turn{Text: []string{"fresh start"}})
	var sess storage.Session
	h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID}, &sess)
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("third"), &res)
	var after []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &after)
	if len(after) != 4 || after[2].Parts[0].Text != "third" {
		t.Fatalf("messages after new prompt: %d", len(after))
	}
	for _, gone := range msgs[2:] {
		if _, err := os.Stat(filepath.Join(h.app.ProjectData(), "storage", "session", "part", sid, gone.Info.ID)); !os.IsNotExist(err) {
			t.Errorf("part files of removed message %s left behind", gone.Info.ID)
		}
	}
	h.waitEvent(ofType("message.removed"))
	sess = storage.Session{}
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert != nil {
		t.Errorf("revert not cleared")
	}
	// The reverted exchange never reaches the model again.
	last := fake.Requests()[len(fake.Requests())-1]
	if strings.Contains(string(last.Raw), "second done") {
		t.Errorf("reverted messages sent to the model")
	}
}

// conflictFiles posts a revert-like call that must be refused with 409
// ConflictError and returns the files it names.
func conflictFiles(t *testing.T, h *harness, path string, body any) []string {
	t.Helper()
	var e struct {
		Name string
		Data struct {
			Message string
			Files   []string
		}
	}
	if code := h.call("POST", path, body, &e); code != 409 || e.Name != "ConflictError" {
		t.Fatalf("%s: %d %+v, want 409 ConflictError", path, code, e)
	}
	sort.Strings(e.Data.Files)
	return e.Data.Files
}

// TestUnrevertKeepsEditsMadeAfterTheUndo: revert, the user edits a restored
// file and recreates a file the revert brought back, unrevert → 409 naming
// both, and nothing on disk changes.
func TestUnrevertKeepsEditsMadeAfterTheUndo(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("the user's text after the undo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "gone.txt"), []byte("user rewrote it\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := conflictFiles(t, h, "/session/"+sid+"/unrevert", nil)
	if strings.Join(files, ",") != "README.md,gone.txt" {
		t.Errorf("conflict files: %v", files)
	}
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "the user's text after the undo\n" {
		t.Errorf("README: %q", got)
	}
	if got := read(t, filepath.Join(h.dir, "gone.txt")); got != "user rewrote it\n" {
		t.Errorf("gone.txt: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(h.dir, "tool.sh")); fi.Mode()&0o111 != 0 {
		t.Errorf("a refused unrevert changed tool.sh's mode")
	}
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert == nil || sess.Revert.MessageID != msgs[2].Info.ID {
		t.Errorf("revert state changed by a refused unrevert: %+v", sess.Revert)
	}
	// Once the user puts the restored content back, unrevert goes through.
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "gone.txt"), []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sess = storage.Session{}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 || sess.Revert != nil {
		t.Fatalf("unrevert: %d %+v", code, sess.Revert)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Errorf("unrevert did not re-apply the agent's changes")
	}
}

// TestMovingTheRevertPointKeepsUserEdits: revert to the second prompt, the
// user edits a file the first prompt created, revert to the first prompt →
// 409, the file intact and nothing else changed; the same for redo over a
// file the user edited after an undo.
func TestMovingTheRevertPointKeepsUserEdits(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	var sess storage.Session
	h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID}, &sess)
	if err := os.WriteFile(filepath.Join(h.dir, "new.txt"), []byte("the user's version\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := conflictFiles(t, h, "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID})
	if strings.Join(files, ",") != "new.txt" {
		t.Errorf("conflict files: %v", files)
	}
	if got := read(t, filepath.Join(h.dir, "new.txt")); got != "the user's version\n" {
		t.Errorf("new.txt: %q", got)
	}
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "v2\n" {
		t.Errorf("a refused revert changed README.md: %q", got)
	}
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert == nil || sess.Revert.MessageID != msgs[2].Info.ID {
		t.Errorf("revert state changed by a refused revert: %+v", sess.Revert)
	}

	// Redo: undo both prompts, the user edits README.md (restored to
	// "hello"), redo to the second prompt would write README.md → 409.
	if err := os.WriteFile(filepath.Join(h.dir, "new.txt"), []byte("created\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert to the first prompt: %d", code)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("hello, edited by the user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files = conflictFiles(t, h, "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID})
	if strings.Join(files, ",") != "README.md" {
		t.Errorf("redo conflict files: %v", files)
	}
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "hello, edited by the user\n" || read(t, filepath.Join(h.dir, "new.txt")) != "<missing>" {
		t.Errorf("a refused redo changed files: README %q new.txt %q", got, read(t, filepath.Join(h.dir, "new.txt")))
	}
}

// TestRevertPreview: GET /session/:id/revert lists the files, the diff and
// the conflicts of a revert without changing anything, and /doc documents
// it.
func TestRevertPreview(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	var pv struct {
		MessageID string
		Files     []struct {
			Path, Action string
			Conflict     bool
		}
		Conflicts []string
		Diff      string
	}
	url := "/session/" + sid + "/revert?messageID=" + msgs[2].Info.ID
	if code := h.call("GET", url, nil, &pv); code != 200 {
		t.Fatalf("preview: %d", code)
	}
	actions := map[string]string{}
	for _, f := range pv.Files {
		actions[f.Path] = f.Action
	}
	if pv.MessageID != msgs[2].Info.ID || actions["README.md"] != "write" || actions["gone.txt"] != "write" || actions["tool.sh"] != "write" || len(pv.Conflicts) != 0 {
		t.Errorf("preview: %+v", pv)
	}
	if !strings.Contains(pv.Diff, "-v3") || !strings.Contains(pv.Diff, "+keep me") {
		t.Errorf("preview diff: %s", pv.Diff)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Fatal("the preview changed files")
	}
	var sess storage.Session
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert != nil {
		t.Fatal("the preview set session.revert")
	}
	// A conflict shows up, and deleting a created file is a "delete".
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pv.Files, pv.Conflicts = nil, nil
	h.call("GET", "/session/"+sid+"/revert?messageID="+msgs[0].Info.ID, nil, &pv)
	actions = map[string]string{}
	for _, f := range pv.Files {
		actions[f.Path] = f.Action
	}
	if strings.Join(pv.Conflicts, ",") != "README.md" || actions["new.txt"] != "delete" {
		t.Errorf("preview with a conflict: %+v", pv)
	}
	if code := h.call("GET", "/session/"+sid+"/revert", nil, nil); code != 400 {
		t.Errorf("preview without messageID: %d", code)
	}
	var doc map[string]any
	h.call("GET", "/doc", nil, &doc)
	op, _ := doc["paths"].(map[string]any)["/session/{id}/revert"].(map[string]any)["get"].(map[string]any)
	if op == nil || op["operationId"] != "session.revert.preview" {
		t.Errorf("/doc lacks the preview: %v", op)
	}
}
