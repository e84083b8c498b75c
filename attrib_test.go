package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
	"ocgo/trace"
)

// agentScript changes files in every way a command can, from subshells, a
// background child and another directory, then waits for the test to say
// "go" (the file), so the test can write as the user meanwhile.
const agentScript = `printf a > a.txt; git add a.txt; mv b.txt c.txt; rm d.txt; mkdir e; (printf s > s.txt); (printf bg > bg.txt) & wait; ` +
	`(cd sub && printf x | tee ../x.txt >/dev/null); printf sp > "sp ace.txt"; printf 'caf\351' | xargs -I{} touch {}; ` +
	`printf started > started; i=0; while [ ! -e go ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done`

// agentFiles are the files agentScript changes (e is an empty directory,
// which no snapshot holds).
var agentFiles = []string{"a.txt", "b.txt", "c.txt", "d.txt", "s.txt", "bg.txt", "x.txt", "sp ace.txt", "caf\xe9", "started"}

// attribProject seeds the files agentScript and the "user" work on.
func attribProject(t *testing.T, h *harness) {
	t.Helper()
	for name, content := range map[string]string{"b.txt": "b\n", "d.txt": "d\n", "user.txt": "user before\n", "sub/keep": "k\n"} {
		p := filepath.Join(h.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// actAsUser waits for the command to start, then edits user.txt and
// creates go (which also lets the command finish).
func actAsUser(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(h.dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Error("the command never started")
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "user.txt"), []byte("user during\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "go"), []byte("go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// patchFiles returns the files of a message's patch parts, relative to dir,
// with names that are not UTF-8 compared in their JSON (lossy) form.
func patchFiles(t *testing.T, dir string, parts []storage.Part) []string {
	t.Helper()
	var out []string
	for _, p := range parts {
		if p.Type != storage.PartPatch {
			continue
		}
		for _, f := range p.Files {
			rel, err := filepath.Rel(dir, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.ToValidUTF8(filepath.ToSlash(rel), "\uFFFD"))
		}
	}
	slices.Sort(out)
	return out
}

func wantAgentFiles(t *testing.T, got []string) {
	t.Helper()
	var want []string
	for _, f := range agentFiles {
		want = append(want, strings.ToValidUTF8(f, "\uFFFD"))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("patch files:\n got %q\nwant %q", got, want)
	}
}

// checkReverted checks the agent's changes are undone and the user's kept.
func checkReverted(t *testing.T, h *harness) {
	t.Helper()
	for name, want := range map[string]string{
		"a.txt": "<missing>", "b.txt": "b\n", "c.txt": "<missing>", "d.txt": "d\n", "x.txt": "<missing>",
		"sp ace.txt": "<missing>", "caf\xe9": "<missing>", "bg.txt": "<missing>",
		"user.txt": "user during\n", "go": "go\n",
	} {
		if got := read(t, filepath.Join(h.dir, name)); got != want {
			t.Errorf("%q after revert: %q, want %q", name, got, want)
		}
	}
}

func TestBashPatchHoldsOnlyWhatTheCommandWrote(t *testing.T) {
	if !trace.Supported {
		t.Skip("no tracer on this system")
	}
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "c1", Name: "bash", Args: `{"command":` + jsonString(agentScript) + `,"description":"work"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	attribProject(t, h)
	sid := h.newSession()
	done := make(chan storage.WithParts)
	go func() {
		var r storage.WithParts
		h.call("POST", "/session/"+sid+"/message", textPrompt("work"), &r)
		done <- r
	}()
	actAsUser(t, h)
	r := <-done
	if r.Info.Error != nil {
		t.Fatalf("prompt failed: %+v", r.Info.Error)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var all []storage.Part
	for _, m := range msgs {
		all = append(all, m.Parts...)
	}
	for _, p := range all {
		if p.Type == storage.PartTool && p.State.Status != storage.ToolCompleted {
			t.Fatalf("bash: %s", p.State.Error)
		}
	}
	wantAgentFiles(t, patchFiles(t, h.dir, all))

	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d %+v", code, sess)
	}
	checkReverted(t, h)
}

// shellWhileUserEdits runs agentScript through POST /session/:id/shell in a
// new session while the "user" edits, and returns the session and answer.
func shellWhileUserEdits(t *testing.T, h *harness) (string, storage.WithParts) {
	t.Helper()
	attribProject(t, h)
	sid := h.newSession()
	done := make(chan storage.WithParts)
	go func() {
		var r storage.WithParts
		h.call("POST", "/session/"+sid+"/shell", map[string]any{"agent": "build", "command": agentScript}, &r)
		done <- r
	}()
	actAsUser(t, h)
	return sid, <-done
}

func TestShellPatchHoldsOnlyWhatTheCommandWrote(t *testing.T) {
	if !trace.Supported {
		t.Skip("no tracer on this system")
	}
	h := newHarness(t, harnessOpts{})
	sid, r := shellWhileUserEdits(t, h)
	wantAgentFiles(t, patchFiles(t, h.dir, r.Parts))

	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d %+v", code, sess)
	}
	checkReverted(t, h)
}

// With tracing off (OCGO_TRACE=0) the old attribution holds: every change
// during the command is the command's, the user's edit included.
func TestTracingOffAttributesTheWholeWindow(t *testing.T) {
	h := newHarness(t, harnessOpts{env: map[string]string{"OCGO_TRACE": "0"}})
	_, r := shellWhileUserEdits(t, h)
	got := patchFiles(t, h.dir, r.Parts)
	if !slices.Contains(got, "user.txt") || !slices.Contains(got, "go") {
		t.Fatalf("untraced patch should hold the user's files too: %q", got)
	}
}
