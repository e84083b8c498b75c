package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// recordedSession runs a real two-prompt session through the HTTP API with
// the fake LLM: reasoning, text, a write, a bash call with long output, a
// second prompt's edit, then a revert of the second prompt.
func recordedSession(t *testing.T) (*harness, string, []storage.WithParts) {
	t.Helper()
	h, _, sid, msgs := recordedSessionFake(t)
	return h, sid, msgs
}

// recordedSessionFake is recordedSession that also returns the fake LLM,
// for tests that prompt further.
func recordedSessionFake(t *testing.T) (*harness, *fakellm.Server, string, []storage.WithParts) {
	t.Helper()
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{
			Reasoning: []string{"The user wants a file.\n", "Then the README needs a second version."},
			Text:      []string{"I will create new.txt ", "and update the README."},
			ToolCalls: []fakellm.ToolCall{
				{ID: "c1", Name: "write", Args: `{"filePath":"new.txt","content":"created\n"}`},
				{ID: "c2", Name: "bash", Args: `{"command":"seq 1 40 && printf 'v2\\n' > README.md","description":"count and edit"}`},
			},
		},
		fakellm.Turn{Text: []string{"Done: new.txt exists and the README says v2."}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "c3", Name: "bash", Args: `{"command":"printf 'v3\\n' >> README.md","description":"append"}`},
		}},
		fakellm.Turn{Text: []string{"Appended v3."}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	h.call("PATCH", "/session/"+sid, map[string]any{"title": "Add new.txt, bump the README"}, nil)
	for _, p := range []string{"create new.txt and bump the README", "append v3"} {
		var r storage.WithParts
		h.call("POST", "/session/"+sid+"/message", textPrompt(p), &r)
		if r.Info.Error != nil {
			t.Fatalf("prompt %q: %+v", p, r.Info.Error)
		}
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 4 {
		t.Fatalf("%d messages", len(msgs))
	}
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[2].Info.ID}, nil); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	return h, fake, sid, msgs
}

var (
	idRe    = regexp.MustCompile(`\b(ses|msg|prt|per)_[0-9a-f]{12}[0-9A-Za-z]{14}\b`)
	dateRe  = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	clockRe = regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`)
	hashRe  = regexp.MustCompile(`\b[0-9a-f]{40}\b`)
)

// normalize replaces what differs between runs (IDs in order of first
// appearance, times, hashes, the temporary directories) with stable names.
func normalize(s string, h *harness) string {
	s = strings.ReplaceAll(s, h.dir, "<project>")
	s = strings.ReplaceAll(s, h.data, "<data>")
	seen := map[string]string{}
	count := map[string]int{}
	s = idRe.ReplaceAllStringFunc(s, func(id string) string {
		if v, ok := seen[id]; ok {
			return v
		}
		prefix := id[:3]
		count[prefix]++
		seen[id] = fmt.Sprintf("%s_%d", prefix, count[prefix])
		return seen[id]
	})
	s = dateRe.ReplaceAllString(s, "YYYY-MM-DD hh:mm:ss")
	s = clockRe.ReplaceAllString(s, "hh:mm:ss")
	s = hashRe.ReplaceAllString(s, "<hash>")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}

// TestCLIShowWhileServing reads a recorded session with `ocgo show` and
// `ocgo sessions` while the server holds the data lock, and compares the
// output with golden files.
func TestCLIShowWhileServing(t *testing.T) {
	h, sid, msgs := recordedSession(t)

	out := mustCLI(t, h, "show", sid)
	golden(t, "show.golden", normalize(out, h))
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes in piped output")
	}
	for _, s := range []string{"▸ reasoning (2 lines, folded): The user wants a file.", "⚙ write", "+1 -0", "+1 -1", "[cut: 28 more lines",
		"reverted to " + msgs[2].Info.ID, "Appended v3.", "[reverted]"} {
		if !strings.Contains(out, s) {
			t.Errorf("show lacks %q", s)
		}
	}
	if strings.Contains(out, "Then the README needs a second version.") {
		t.Errorf("reasoning is not folded")
	}

	var doc showDoc
	if err := json.Unmarshal([]byte(mustCLI(t, h, "show", sid, "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Session.ID != sid || len(doc.Messages) != 4 || len(doc.Patches) != 3 {
		t.Fatalf("show --json: %+v", doc)
	}
	readme := doc.Patches[2].Changes
	if len(readme) != 1 || readme[0].File != "README.md" || readme[0].Additions != 1 || readme[0].Deletions != 0 || !doc.Patches[2].Reverted {
		t.Errorf("the second prompt's patch: %+v", doc.Patches[2])
	}

	list := mustCLI(t, h, "sessions")
	golden(t, "sessions.golden", normalize(list, h))
	var rows []sessionRow
	if err := json.Unmarshal([]byte(mustCLI(t, h, "sessions", "--json")), &rows); err != nil || len(rows) != 1 || rows[0].Messages != 4 {
		t.Errorf("sessions --json: %v %+v", err, rows)
	}
	// Reading took no lock: the server still writes.
	if code := h.call("PATCH", "/session/"+sid, map[string]any{"title": "renamed"}, nil); code != 200 {
		t.Errorf("server write after the CLI read: %d", code)
	}
	if !strings.Contains(mustCLI(t, h, "sessions"), "renamed") {
		t.Errorf("sessions does not see the server's write")
	}
	if _, _, err := cli(t, h, "show", "ses_nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}

// TestCLIWritesGoThroughServer: with `ocgo serve` holding the lock and its
// address recorded, revert and unrevert are sent to it over HTTP, and the
// server's clients see the change.
func TestCLIWritesGoThroughServer(t *testing.T) {
	h, sid, msgs := recordedSession(t)
	// Without a recorded address the CLI explains how to reach the server.
	if _, _, err := cli(t, h, "unrevert", sid); !errors.Is(err, storage.ErrLocked) || !strings.Contains(err.Error(), "curl -X POST") {
		t.Fatalf("unrevert without an address: %v", err)
	}
	if err := h.app.Store().RecordAddress(h.srv.URL); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := cli(t, h, "unrevert", sid)
	if err != nil || !strings.Contains(errOut, "asking it at "+h.srv.URL) || !strings.Contains(errOut, "unreverted") {
		t.Fatalf("unrevert through the server: %v %q %q", err, out, errOut)
	}
	if got := read(t, filepath.Join(h.dir, "README.md")); got != "v2\nv3\n" {
		t.Errorf("README after unrevert: %q", got)
	}
	h.waitEvent(func(e map[string]any) bool { // the server's SSE clients see the unrevert
		p, _ := e["properties"].(map[string]any)
		info, _ := p["info"].(map[string]any)
		return e["type"] == "session.updated" && info["id"] == sid && info["revert"] == nil
	})
	out, _, err = cli(t, h, "revert", sid, msgs[2].Info.ID)
	if err != nil || !strings.Contains(out, "-v3") || read(t, filepath.Join(h.dir, "README.md")) != "v2\n" {
		t.Errorf("revert through the server: %v\n%s", err, out)
	}
	// A conflict is reported as the local command reports it.
	mustCLI(t, h, "unrevert", sid)
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, h, "revert", sid, msgs[2].Info.ID); err == nil || !strings.Contains(err.Error(), "revert refused") || !strings.Contains(err.Error(), "README.md") {
		t.Errorf("conflict through the server: %v", err)
	}
}
