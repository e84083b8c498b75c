package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// patchFilesOf lists the files of every patch part of a session, per part.
func patchFilesOf(t *testing.T, h *harness, sid string) [][]string {
	t.Helper()
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var out [][]string
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == storage.PartPatch {
				var rel []string
				for _, f := range p.Files {
					r, _ := filepath.Rel(h.dir, f)
					rel = append(rel, filepath.ToSlash(r))
				}
				out = append(out, rel)
			}
		}
	}
	return out
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBeforeSnapshotSeesAFileCreatedJustBefore: the user creates d/c.txt and
// at once the agent reads and rewrites it, before the watcher can report
// it. Reverting the call restores the user's file instead of deleting it.
func TestBeforeSnapshotSeesAFileCreatedJustBefore(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w0", Name: "write", Args: `{"filePath":"first.txt","content":"x\n"}`}}},
		fakellm.Turn{Text: []string{"ok"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "r1", Name: "read", Args: `{"filePath":"d/c.txt"}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"d/c.txt","content":"the agent's\n"}`}}},
		fakellm.Turn{Text: []string{"rewritten"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("first"), &r)
	// A watcher that has not reported the user's file yet, whatever the
	// machine's speed: stop it (the snapshotter keeps trusting it).
	if err := h.app.Watcher().Close(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(h.dir, "d", "c.txt"), "the user's\n")
	h.call("POST", "/session/"+sid+"/message", textPrompt("rewrite d/c.txt"), &r)
	if got := read(t, filepath.Join(h.dir, "d", "c.txt")); got != "the agent's\n" {
		t.Fatalf("agent write: %q (%+v)", got, r.Info.Error)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if got := read(t, filepath.Join(h.dir, "d", "c.txt")); got != "the user's\n" {
		t.Errorf("after revert d/c.txt is %q, want the user's content back", got)
	}
	if got := read(t, filepath.Join(h.dir, "first.txt")); got != "x\n" {
		t.Errorf("first.txt: %q", got)
	}
}

// TestPatchHoldsOnlyTheToolsFiles: while a write waits for permission the
// user saves another file; the call's patch names only the tool's file, and
// reverting it leaves the user's file alone.
func TestPatchHoldsOnlyTheToolsFiles(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"agent.txt","content":"agent\n"}`}}},
		fakellm.Turn{Text: []string{"written"}},
	)
	h := anthropicHarness(t, fake, `,"permission":{"edit":"ask"}`)
	write(t, filepath.Join(h.dir, "user.txt"), "v1\n")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("write"))
	ev := h.waitEvent(ofType("permission.updated"))
	write(t, filepath.Join(h.dir, "user.txt"), "v2, saved while the agent waited\n")
	write(t, filepath.Join(h.dir, "user-new.txt"), "created meanwhile\n")
	perm := ev["properties"].(map[string]any)
	h.call("POST", "/session/"+sid+"/permissions/"+perm["id"].(string), map[string]any{"response": "once"}, nil)
	res := waitResult(t, done)
	if got := patchFilesOf(t, h, sid); len(got) != 1 || !slices.Equal(got[0], []string{"agent.txt"}) {
		t.Fatalf("patch files: %v", got)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": res.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "agent.txt")) != "<missing>" {
		t.Errorf("agent.txt not removed")
	}
	if read(t, filepath.Join(h.dir, "user.txt")) != "v2, saved while the agent waited\n" || read(t, filepath.Join(h.dir, "user-new.txt")) != "created meanwhile\n" {
		t.Errorf("revert touched the user's files")
	}
}

// TestTwoSessionsEditTheSameFile: session A writes shared.txt, session B
// rewrites it. Undoing A first would discard B's work: 409. Undoing B puts
// back A's version; then undoing A removes the file; unrevert of A brings
// A's version back.
func TestTwoSessionsEditTheSameFile(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "a1", Name: "write", Args: `{"filePath":"shared.txt","content":"from A\n"}`}}},
		fakellm.Turn{Text: []string{"A done"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b0", Name: "read", Args: `{"filePath":"shared.txt"}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "write", Args: `{"filePath":"shared.txt","content":"from B\n"}`}}},
		fakellm.Turn{Text: []string{"B done"}},
	)
	h := anthropicHarness(t, fake, "")
	a, b := h.newSession(), h.newSession()
	var ra, rb storage.WithParts
	h.call("POST", "/session/"+a+"/message", textPrompt("A"), &ra)
	h.call("POST", "/session/"+b+"/message", textPrompt("B"), &rb)
	shared := filepath.Join(h.dir, "shared.txt")
	if read(t, shared) != "from B\n" {
		t.Fatalf("shared.txt: %q", read(t, shared))
	}
	files := conflictFiles(t, h, "/session/"+a+"/revert", map[string]any{"messageID": ra.Info.ID})
	if !slices.Equal(files, []string{"shared.txt"}) || read(t, shared) != "from B\n" {
		t.Fatalf("revert A over B's write: %v, file %q", files, read(t, shared))
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+b+"/revert", map[string]any{"messageID": rb.Info.ID}, &sess); code != 200 || read(t, shared) != "from A\n" {
		t.Fatalf("revert B: %d, file %q", code, read(t, shared))
	}
	if code := h.call("POST", "/session/"+a+"/revert", map[string]any{"messageID": ra.Info.ID}, &sess); code != 200 || read(t, shared) != "<missing>" {
		t.Fatalf("revert A: %d, file %q", code, read(t, shared))
	}
	// B's unrevert would recreate the file A's revert removed: refused.
	if files := conflictFiles(t, h, "/session/"+b+"/unrevert", nil); !slices.Equal(files, []string{"shared.txt"}) {
		t.Errorf("unrevert B: %v", files)
	}
	if code := h.call("POST", "/session/"+a+"/unrevert", nil, &sess); code != 200 || read(t, shared) != "from A\n" {
		t.Fatalf("unrevert A: %d, file %q", code, read(t, shared))
	}
	if code := h.call("POST", "/session/"+b+"/unrevert", nil, &sess); code != 200 || read(t, shared) != "from B\n" {
		t.Fatalf("unrevert B: %d, file %q", code, read(t, shared))
	}
}

// TestNonUTF8NamesUndoneAfterRestart: the agent's command rewrites a file
// whose name is not UTF-8 and creates another; after a restart (patch files
// read back from JSON, with U+FFFD in the names) revert and unrevert still
// find the exact files.
func TestNonUTF8NamesUndoneAfterRestart(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash",
			Args: `{"command":"printf agent > \"$(printf 'old\\377.txt')\" && printf new > \"$(printf 'caf\\351.txt')\"","description":"names"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	oldName, newName := filepath.Join(h.dir, "old\xff.txt"), filepath.Join(h.dir, "caf\xe9.txt")
	write(t, oldName, "user\n")
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	if read(t, oldName) != "agent" || read(t, newName) != "new" {
		t.Fatalf("agent command: %q %q %+v", read(t, oldName), read(t, newName), r.Info.Error)
	}
	h.restart()
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if read(t, oldName) != "user\n" || read(t, newName) != "<missing>" {
		t.Fatalf("after revert: %q %q", read(t, oldName), read(t, newName))
	}
	h.restart()
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	if read(t, oldName) != "agent" || read(t, newName) != "new" {
		t.Errorf("after unrevert: %q %q", read(t, oldName), read(t, newName))
	}
}

// TestLargeCreatedFileUndone: a 6 MB file (over the 4 MiB snapshot cap)
// made by the agent's command is removed by the revert and comes back with
// unrevert.
func TestLargeCreatedFileUndone(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash",
			Args: `{"command":"head -c 6000000 /dev/urandom > big.bin","description":"big"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	big := filepath.Join(h.dir, "big.bin")
	content, err := os.ReadFile(big)
	if err != nil || len(content) != 6000000 {
		t.Fatalf("big.bin: %d %v", len(content), err)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if _, err := os.Stat(big); !os.IsNotExist(err) {
		t.Fatalf("big.bin still there after revert: %v", err)
	}
	sess = storage.Session{}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	if got, _ := os.ReadFile(big); string(got) != string(content) {
		t.Errorf("unrevert: big.bin has %d bytes, want the agent's 6000000", len(got))
	}
}
