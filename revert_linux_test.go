package main

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestRevertRemovesDirectoriesTheAgentMade: directories created for the
// agent's file go with it (a directory the user had stays:
// TestRevertKeepsAnEmptyDirectoryTheUserMade).
func TestRevertRemovesDirectoriesTheAgentMade(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w1", Name: "write", Args: `{"filePath":"made/by/agent.txt","content":"x\n"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, h.dir, 0, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		t.Skip("this file system records no birth times; emptied directories are kept")
	}
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	if read(t, filepath.Join(h.dir, "made", "by", "agent.txt")) != "x\n" {
		t.Fatalf("agent write: %+v", r.Info.Error)
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "made")); !os.IsNotExist(err) {
		t.Errorf("the agent's directories are left: %v", err)
	}
}
