package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// Linux only: the directories a bash command makes are known from its
// tracer (package trace).

// isDir reports whether p is a directory.
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// patchDirs lists the directories each call's patch part records, by
// call ID.
func patchDirs(msgs []storage.WithParts) map[string][]string {
	out := map[string][]string{}
	for id, p := range patchOf(msgs) {
		var ds []string
		for _, d := range p.Dirs {
			ds = append(ds, string(d))
		}
		slices.Sort(ds)
		out[id] = ds
	}
	return out
}

// TestRevertRemovesDirectoriesTheAgentMade: each call records the
// directories it created (the write tool's parents, a command's mkdir -p,
// not a directory that was there), the record survives a restart, and a
// revert removes exactly those once it has emptied them; the unrevert puts
// the files back.
func TestRevertRemovesDirectoriesTheAgentMade(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"made/by/agent.txt","content":"x\n"}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash", Args: `{"command":"mkdir -p keep/sub cmd/dir && echo y > keep/sub/f && echo z > cmd/dir/g","description":"make"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	if err := os.Mkdir(filepath.Join(h.dir, "keep"), 0o755); err != nil { // the user's, empty
		t.Fatal(err)
	}
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	if read(t, filepath.Join(h.dir, "made", "by", "agent.txt")) != "x\n" || read(t, filepath.Join(h.dir, "cmd", "dir", "g")) != "z\n" {
		t.Fatalf("agent calls: %+v", r.Info.Error)
	}
	h.restart() // the record is durable
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	dirs := patchDirs(msgs)
	if want := []string{"made", "made/by"}; !slices.Equal(dirs["w1"], want) {
		t.Errorf("write call records %q, want %q", dirs["w1"], want)
	}
	if want := []string{"cmd", "cmd/dir", "keep/sub"}; !slices.Equal(dirs["b1"], want) {
		t.Errorf("bash call records %q, want %q", dirs["b1"], want)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	for _, d := range []string{"made", "cmd", "keep/sub"} {
		if _, err := os.Lstat(filepath.Join(h.dir, d)); !os.IsNotExist(err) {
			t.Errorf("%s: the agent's directory is left: %v", d, err)
		}
	}
	if !isDir(filepath.Join(h.dir, "keep")) {
		t.Error("the user's directory keep/ is gone")
	}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "made", "by", "agent.txt")) != "x\n" || read(t, filepath.Join(h.dir, "keep", "sub", "f")) != "y\n" {
		t.Error("the unrevert did not put the agent's files back")
	}
	// The unrevert made them again for the agent: the next revert removes
	// them again.
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("second revert: %d", code)
	}
	for _, d := range []string{"made", "cmd", "keep/sub"} {
		if _, err := os.Lstat(filepath.Join(h.dir, d)); !os.IsNotExist(err) {
			t.Errorf("%s: the agent's directory is left by the second revert: %v", d, err)
		}
	}
}

// TestRevertKeepsADirectoryTheUserMadeAgain: the agent writes new/a.txt
// (making new/); the revert removes it; the user makes new/ again for a
// file of their own; the unrevert puts a.txt back; the user deletes their
// file; reverting again deletes a.txt and must leave new/, which is the
// user's now, not the agent's.
func TestRevertKeepsADirectoryTheUserMadeAgain(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"new/a.txt","content":"agent\n"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	var sess storage.Session
	revert := func() {
		t.Helper()
		if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
			t.Fatalf("revert: %d", code)
		}
	}
	revert()
	if _, err := os.Lstat(filepath.Join(h.dir, "new")); !os.IsNotExist(err) {
		t.Fatalf("the first revert left the agent's directory: %v", err)
	}
	if err := os.Mkdir(filepath.Join(h.dir, "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "new", "mine.txt"), []byte("user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	if err := os.Remove(filepath.Join(h.dir, "new", "mine.txt")); err != nil {
		t.Fatal(err)
	}
	h.restart() // the record holds across a restart
	revert()
	if read(t, filepath.Join(h.dir, "new", "a.txt")) != "<missing>" {
		t.Error("the revert left the agent's file")
	}
	if !isDir(filepath.Join(h.dir, "new")) {
		t.Error("the revert removed new/, which the user made")
	}
}

// TestUnrevertKeepsDirectoriesTheUserMade (the revert model's seed
// 592251686): after an earlier change of the session, the user makes
// d/e/g.dat; the agent's patch deletes the file; revert brings it back;
// the unrevert deletes it again and must leave d and d/e, which the user
// made, not the agent (they were born after the session's first change,
// which is what the removal used to go by).
func TestUnrevertKeepsDirectoriesTheUserMade(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"a.txt","content":"a\n"}`}}},
		fakellm.Turn{Text: []string{"done"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "p1", Name: "patch", Args: `{"patchText":"*** Begin Patch\n*** Delete File: d/e/g.dat\n*** End Patch"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, `,"tools":{"patch":true}`)
	sid := h.newSession()
	var r1, r2 storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("first"), &r1)
	if err := os.MkdirAll(filepath.Join(h.dir, "d", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "d", "e", "g.dat"), []byte("user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.call("POST", "/session/"+sid+"/message", textPrompt("second"), &r2)
	if r1.Info.Error != nil || r2.Info.Error != nil || read(t, filepath.Join(h.dir, "d", "e", "g.dat")) != "<missing>" {
		t.Fatalf("agent calls: %+v %+v", r1.Info.Error, r2.Info.Error)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r2.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "d", "e", "g.dat")) != "user\n" {
		t.Fatal("the revert did not bring the user's file back")
	}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "d", "e", "g.dat")) != "<missing>" {
		t.Error("the unrevert did not delete the file again")
	}
	if !isDir(filepath.Join(h.dir, "d", "e")) {
		t.Error("the unrevert removed the user's directories d/e")
	}
}

// TestRevertKeepsWhatAnUntracedCommandMade: without tracing, the
// directories a command made cannot be told from those others made
// meanwhile, so none is recorded and a revert leaves them, empty
// (README, "Revert"): a directory left over is better than a user's gone.
func TestRevertKeepsWhatAnUntracedCommandMade(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash", Args: `{"command":"mkdir -p cmd/dir && echo z > cmd/dir/g","description":"make"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k", "OCGO_TRACE": "0"}})
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if d := patchDirs(msgs)["b1"]; len(d) != 0 {
		t.Errorf("untraced command records directories %q", d)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "cmd", "dir", "g")) != "<missing>" {
		t.Error("the revert left the command's file")
	}
	if !isDir(filepath.Join(h.dir, "cmd", "dir")) {
		t.Error("the revert removed a directory it cannot know the command made")
	}
}
