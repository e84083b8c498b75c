package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// awaitingAttrib marks the checks that need exact attribution of what a
// bash command's processes wrote (issue 14 item 3, helper attrib). While it
// is true a failure of those checks is reported as a skip naming the
// dependency; the helper that lands the tracer sets it to false.
var awaitingAttrib = false

// knownFailing reports problems as a failure, or while the fix they wait
// for has not landed, as a skip that says so (the test still runs every
// step, so it shows when the fix lands).
func knownFailing(t *testing.T, awaiting bool, dep string, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	if awaiting && !*revertModelStrict {
		t.Skipf("KNOWN FAILING until %s lands: %s", dep, strings.Join(problems, "; "))
	}
	t.Fatal(strings.Join(problems, "; "))
}

// TestRevertKeepsUserEditMadeDuringBash: the user saves a file in their
// editor while the agent's command runs. The command's patch holds only
// what the command wrote, and reverting the prompt removes the agent's file
// and keeps the user's edit.
func TestRevertKeepsUserEditMadeDuringBash(t *testing.T) {
	gate := newBashGate(t)
	cmd := "printf 'agent\\n' > agent.txt && " + gate.cmd()
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "bash", Args: `{"command":` + jsonString(cmd) + `,"description":"write"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true})
	user := filepath.Join(h.dir, "user.txt")
	if err := os.WriteFile(user, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the watcher has seen v1: only the edit below happens during the call
	sid := h.newSession()
	res := h.promptAsync(sid, textPrompt("write agent.txt"))
	if !gate.waitStarted(15 * time.Second) {
		t.Fatal("the command did not start")
	}
	if err := os.WriteFile(user, []byte("the user's edit, saved during the command\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gate.release()
	if r := waitResult(t, res); r.Info.Error != nil {
		t.Fatalf("prompt: %+v", r.Info.Error)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var problems []string
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == storage.PartPatch && (len(p.Files) != 1 || p.Files[0] != filepath.Join(h.dir, "agent.txt")) {
				problems = append(problems, "the command's patch names "+strings.Join(p.Files, ", ")+", want only agent.txt")
			}
		}
	}
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if got := read(t, filepath.Join(h.dir, "agent.txt")); got != "<missing>" {
		t.Errorf("the agent's file is still there: %q", got)
	}
	if got := read(t, user); got != "the user's edit, saved during the command\n" {
		problems = append(problems, "revert changed the user's file to "+jsonString(got))
	}
	h.call("POST", "/session/"+sid+"/unrevert", nil, &sess)
	if got := read(t, filepath.Join(h.dir, "agent.txt")); got != "agent\n" {
		t.Errorf("unrevert: agent.txt %q", got)
	}
	if got := read(t, user); got != "the user's edit, saved during the command\n" {
		problems = append(problems, "after unrevert the user's file is "+jsonString(got))
	}
	knownFailing(t, awaitingAttrib, "exact attribution of bash writes (helper attrib, issue 14 item 3)", problems)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// awaitingEmptyDirFix marks the check that a revert keeps a directory
// that existed (empty) before the agent wrote into it.
// TODO(revert): set to false once Restore removes only directories the
// agent created.
var awaitingEmptyDirFix = false

// TestRevertKeepsAnEmptyDirectoryTheUserMade: the user made out/ (empty),
// the agent writes out/report.txt, the revert removes the agent's file and
// keeps the user's directory.
func TestRevertKeepsAnEmptyDirectoryTheUserMade(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "write", Args: `{"filePath":"out/report.txt","content":"agent\n"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true})
	if err := os.Mkdir(filepath.Join(h.dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("write the report"), &res)
	if read(t, filepath.Join(h.dir, "out", "report.txt")) != "agent\n" {
		t.Fatalf("the agent did not write: %+v", res.Info.Error)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	if read(t, filepath.Join(h.dir, "out", "report.txt")) != "<missing>" {
		t.Fatal("the agent's file is still there")
	}
	var problems []string
	if fi, err := os.Stat(filepath.Join(h.dir, "out")); err != nil || !fi.IsDir() {
		problems = append(problems, "the revert removed the user's directory out/")
	}
	knownFailing(t, awaitingEmptyDirFix, "a Restore that removes only directories the agent created (helper revert)", problems)
}
