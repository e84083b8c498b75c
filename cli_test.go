package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"ocgo/app"
	"ocgo/provider/fakellm"
	"ocgo/session"
	"ocgo/storage"
)

// closeApp stops the harness' server so the CLI can take the data lock.
func closeApp(h *harness) {
	h.app.Shutdown()
	h.srv.Close()
	if err := h.app.Close(); err != nil {
		h.t.Error(err)
	}
}

// cli runs an ocgo sub-command in-process on the harness' project and data.
func cli(t *testing.T, h *harness, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"), "SHELL": "/bin/sh"}
	var stdout, stderr bytes.Buffer
	args = append(args, "--dir", h.dir, "--data-dir", h.data)
	err := runCLI(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func mustCLI(t *testing.T, h *harness, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, h, args...)
	if err != nil {
		t.Fatalf("ocgo %v: %v\n%s", args, err, errOut)
	}
	return out
}

func gitSnap(t *testing.T, h *harness, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + filepath.Join(h.app.ProjectData(), "snapshots")}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fileState is a file's bytes and mode, or absence.
type fileState struct {
	data string
	mode os.FileMode
}

func states(t *testing.T, dir string, names ...string) map[string]fileState {
	out := map[string]fileState{}
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			out[n] = fileState{data: "<missing>"}
			continue
		}
		out[n] = fileState{data: read(t, filepath.Join(dir, n)), mode: fi.Mode()}
	}
	return out
}

var diffHeader = regexp.MustCompile(`(?m)^diff --git a/(\S+) b/`)

func diffFiles(d string) []string {
	var out []string
	for _, m := range diffHeader.FindAllStringSubmatch(d, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCLISessionsPatchesDiff(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	closeApp(h)

	out := mustCLI(t, h, "sessions")
	if !strings.Contains(out, sid) || !strings.Contains(out, "REVERT") || strings.Contains(out, "reverted") {
		t.Errorf("sessions:\n%s", out)
	}
	var list []storage.Session
	if err := json.Unmarshal([]byte(mustCLI(t, h, "sessions", "--json")), &list); err != nil || len(list) != 1 || list[0].ID != sid {
		t.Fatalf("sessions --json: %v %+v", err, list)
	}

	var rows []patchRow
	if err := json.Unmarshal([]byte(mustCLI(t, h, "patches", sid, "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		msg, tool, call string
		files           []string
	}{
		{msgs[1].Info.ID, "write", "c1", []string{"new.txt"}},
		{msgs[1].Info.ID, "bash", "c2", []string{"README.md"}},
		{msgs[3].Info.ID, "bash", "c3", []string{"README.md", "gone.txt", "tool.sh"}},
	}
	if len(rows) != len(want) {
		t.Fatalf("patches: %+v", rows)
	}
	for i, w := range want {
		r := rows[i]
		files := slices.Sorted(slices.Values(r.Files))
		if r.MessageID != w.msg || r.Tool != w.tool || r.CallID != w.call || !slices.Equal(files, w.files) || r.Reverted || r.Hash == "" || r.After == "" {
			t.Errorf("patch %d: %+v, want %+v", i, r, w)
		}
	}
	text := mustCLI(t, h, "patches", sid)
	for _, s := range []string{msgs[1].Info.ID, "write c1", "bash c3", "      new.txt", rows[2].Hash[:12]} {
		if !strings.Contains(text, s) {
			t.Errorf("patches text lacks %q:\n%s", s, text)
		}
	}

	// The first answer: new.txt created, README rewritten; nothing of the second.
	d := mustCLI(t, h, "diff", sid, msgs[1].Info.ID)
	for _, s := range []string{"new file mode 100644", "+created", "-hello", "+v2"} {
		if !strings.Contains(d, s) {
			t.Errorf("diff of the first answer lacks %q:\n%s", s, d)
		}
	}
	if got := diffFiles(d); !slices.Equal(got, []string{"README.md", "new.txt"}) {
		t.Errorf("diff files %v:\n%s", got, d)
	}
	// A user message stands for the answers to it; git agrees on the files.
	d2 := mustCLI(t, h, "diff", sid, msgs[2].Info.ID)
	for _, s := range []string{"deleted file mode", "-keep me", "+v3", "new mode 100755"} {
		if !strings.Contains(d2, s) {
			t.Errorf("diff of the second prompt lacks %q:\n%s", s, d2)
		}
	}
	names, err := gitSnap(t, h, "diff", "--name-only", rows[2].Hash, rows[2].After, "--", "README.md", "gone.txt", "tool.sh")
	if err != nil {
		t.Fatal(err, names)
	}
	if gitNames := slices.Sorted(slices.Values(strings.Fields(names))); !slices.Equal(diffFiles(d2), gitNames) {
		t.Errorf("diff files %v, git says %v", diffFiles(d2), gitNames)
	}
	if _, _, err := cli(t, h, "diff", sid, "msg_nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown message: %v", err)
	}
	if _, _, err := cli(t, h, "diff", sid); !errors.Is(err, errUsage) {
		t.Errorf("missing argument: %v", err)
	}
}

func TestCLIRevertUnrevert(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	closeApp(h)
	files := []string{"README.md", "new.txt", "gone.txt", "tool.sh", "unrelated.txt"}
	if err := os.WriteFile(filepath.Join(h.dir, "unrelated.txt"), []byte("user work, edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := states(t, h.dir, files...)

	// A dry run lists the files and the diff and changes nothing.
	out, errOut, err := cli(t, h, "revert", "--dry-run", sid, msgs[2].Info.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if got := diffFiles(out); !slices.Equal(got, []string{"README.md", "gone.txt", "tool.sh"}) || !strings.Contains(errOut, "dry run") || !strings.Contains(errOut, "write  gone.txt") {
		t.Errorf("dry run printed files %v, stderr %q:\n%s", got, errOut, out)
	}
	if now := states(t, h.dir, files...); !maps.Equal(now, before) {
		t.Errorf("the dry run changed files: %+v", now)
	}

	// Undo the second prompt.
	out, errOut, err = cli(t, h, "revert", sid, msgs[2].Info.ID)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if got := diffFiles(out); !slices.Equal(got, []string{"README.md", "gone.txt", "tool.sh"}) || !strings.Contains(errOut, "reverted to "+msgs[2].Info.ID) {
		t.Errorf("revert printed files %v, stderr %q:\n%s", got, errOut, out)
	}
	mid := states(t, h.dir, files...)
	if mid["README.md"].data != "v2\n" || mid["gone.txt"].data != "keep me\n" || mid["tool.sh"].mode&0o111 != 0 || mid["new.txt"] != before["new.txt"] || mid["unrelated.txt"] != before["unrelated.txt"] {
		t.Errorf("after revert: %+v", mid)
	}
	if out := mustCLI(t, h, "sessions"); !strings.Contains(out, "reverted to "+msgs[2].Info.ID) {
		t.Errorf("sessions does not show the revert:\n%s", out)
	}
	var rows []patchRow
	if err := json.Unmarshal([]byte(mustCLI(t, h, "patches", sid, "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Reverted || rows[1].Reverted || !rows[2].Reverted {
		t.Errorf("reverted marks: %+v", rows)
	}

	// Unrevert: byte- and mode-identical to before, and says what came back.
	out, errOut, err = cli(t, h, "unrevert", sid)
	if err != nil {
		t.Fatal(err, errOut)
	}
	if after := states(t, h.dir, files...); !maps.Equal(after, before) {
		t.Errorf("unrevert: %+v, want %+v", after, before)
	}
	if got := diffFiles(out); !slices.Equal(got, []string{"README.md", "gone.txt", "tool.sh"}) {
		t.Errorf("unrevert printed %v:\n%s", got, out)
	}
	if _, errOut, err := cli(t, h, "unrevert", sid); err != nil || !strings.Contains(errOut, "no revert") {
		t.Errorf("second unrevert: %v %q", err, errOut)
	}

	// Revert to a part as `patches` lists it: the first answer's second
	// patch (README) and everything after it; new.txt from its first stays.
	bashPart := rows[1].PartID
	mustCLI(t, h, "revert", sid, msgs[1].Info.ID, bashPart)
	part := states(t, h.dir, files...)
	if part["README.md"].data != "hello\n" || part["new.txt"] != before["new.txt"] || part["gone.txt"].data != "keep me\n" {
		t.Errorf("partial revert: %+v", part)
	}
	mustCLI(t, h, "unrevert", sid)
	if after := states(t, h.dir, files...); !maps.Equal(after, before) {
		t.Errorf("unrevert after partial revert: %+v", after)
	}

	// A user edit to a file the agent changed: refused, nothing touched.
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("the user's own edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = cli(t, h, "revert", sid, msgs[2].Info.ID)
	var ce *session.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "revert refused") || !slices.Equal(ce.Files, []string{"README.md"}) {
		t.Errorf("conflict: %v", err)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "the user's own edit\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Errorf("a refused revert changed files")
	}
}

func TestCLILockedWhileServing(t *testing.T) {
	h := newHarness(t, harnessOpts{noSSE: true})
	sid := h.newSession()
	// Reads need no lock.
	if out := mustCLI(t, h, "sessions"); !strings.Contains(out, sid) {
		t.Errorf("sessions while serving: %s", out)
	}
	// A write with no recorded server address says how to reach the server.
	_, _, err := cli(t, h, "revert", sid, "msg_x")
	wantCurl := `curl -X POST http://127.0.0.1:4096/session/` + sid + `/revert -H 'content-type: application/json' -d '{"messageID":"msg_x"}'`
	if !errors.Is(err, storage.ErrLocked) || !strings.Contains(err.Error(), wantCurl) || !strings.Contains(err.Error(), "Stop it") {
		t.Errorf("revert while serving: %v", err)
	}
	closeApp(h)
	if out := mustCLI(t, h, "sessions"); !strings.Contains(out, sid) {
		t.Errorf("after the server stopped: %s", out)
	}
	// Another project has no data: said so, and nothing is created.
	other, data := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	err = runCLI([]string{"sessions", "--dir", other, "--data-dir", data}, func(string) (string, bool) { return "", false }, &stdout, &stderr)
	if ents, _ := os.ReadDir(data); !errors.Is(err, app.ErrNoData) || len(ents) != 0 {
		t.Errorf("project without data: %v, data root holds %d entries", err, len(ents))
	}
}

// looseObjects lists the shadow repository's loose object ids.
func looseObjects(h *harness) map[string]bool {
	dir := filepath.Join(h.app.ProjectData(), "snapshots", "objects")
	fans, _ := os.ReadDir(dir)
	out := map[string]bool{}
	for _, f := range fans {
		if len(f.Name()) != 2 {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(dir, f.Name()))
		for _, e := range ents {
			if len(e.Name()) == 38 {
				out[f.Name()+e.Name()] = true
			}
		}
	}
	return out
}

func blobID(t *testing.T, content string) string {
	cmd := exec.Command("git", "hash-object", "--stdin")
	cmd.Stdin = strings.NewReader(content)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestDeletePrunesUnreferencedSnapshots(t *testing.T) {
	h, fake, sidA, _ := agentEdits(t)
	// Session B edits after A: its "before" tree shares A's final state.
	fake.Push(fakellm.Turn{ToolCalls: []fakellm.ToolCall{
		{ID: "b1", Name: "bash", Args: `{"command":"printf 'b\\n' >> README.md && printf 'mine\\n' > b.txt","description":"edit"}`},
	}})
	fake.Push(fakellm.Turn{Text: []string{"b done"}})
	sidB := h.newSession()
	var rb storage.WithParts
	h.call("POST", "/session/"+sidB+"/message", textPrompt("b"), &rb)
	if rb.Info.Error != nil || read(t, filepath.Join(h.dir, "b.txt")) != "mine\n" {
		t.Fatalf("session B: %+v", rb.Info.Error)
	}
	var msgsB []storage.WithParts
	h.call("GET", "/session/"+sidB+"/message", nil, &msgsB)
	var treesB []string
	for _, m := range msgsB {
		for _, p := range m.Parts {
			if p.Type == storage.PartPatch {
				treesB = append(treesB, p.Hash, p.After)
			}
		}
	}
	if len(treesB) != 2 {
		t.Fatalf("session B patches: %v", treesB)
	}
	if err := h.app.Snapshots().Flush(); err != nil {
		t.Fatal(err)
	}
	// Blobs only A's snapshots hold: README's intermediate state, the file A deleted.
	onlyA := []string{blobID(t, "v2\n"), blobID(t, "keep me\n")}
	before := looseObjects(h)
	for _, id := range onlyA {
		if !before[id] {
			t.Fatalf("blob %s not in the shadow repo before delete", id)
		}
	}

	if code := h.call("DELETE", "/session/"+sidA, nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if err := h.app.Sessions().WaitPrune(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := looseObjects(h)
	for _, id := range onlyA {
		if after[id] {
			t.Errorf("blob %s only the deleted session needed survived the prune", id)
		}
	}
	if len(after) >= len(before) {
		t.Errorf("loose objects: %d before, %d after", len(before), len(after))
	}
	for _, tree := range treesB {
		if out, err := gitSnap(t, h, "ls-tree", "-r", tree); err != nil {
			t.Errorf("tree %s of the remaining session: %v %s", tree, err, out)
		}
	}
	if out, err := gitSnap(t, h, "fsck", "--full", "--no-dangling"); err != nil {
		t.Errorf("fsck: %v\n%s", err, out)
	}

	// The remaining session still reverts and unreverts byte-identically.
	var sess storage.Session
	if code := h.call("POST", "/session/"+sidB+"/revert", map[string]any{"messageID": msgsB[0].Info.ID}, &sess); code != 200 {
		t.Fatalf("revert B: %d", code)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "b.txt")) != "<missing>" {
		t.Errorf("revert of B after prune: README %q", read(t, filepath.Join(h.dir, "README.md")))
	}
	h.call("POST", "/session/"+sidB+"/unrevert", nil, &sess)
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\nb\n" || read(t, filepath.Join(h.dir, "b.txt")) != "mine\n" {
		t.Errorf("unrevert of B after prune: README %q", read(t, filepath.Join(h.dir, "README.md")))
	}
}
