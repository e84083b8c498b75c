package main

// Editor plugins of the opencode 0.5 era, replayed request by request as
// they send them (read from their sources as of that era):
//
//   - NickvanDyke/opencode.nvim, lua/opencode/client.lua ("tested with
//     v0.5.18"): curl -s -X METHOD -H "Content-Type: application/json"
//     -H "Accept: application/json" -H "Accept: text/event-stream" -N
//     [-d JSON]; POST /session with no body (later {}), a prompt with an
//     extra sessionID field and a part id from uuidgen, /tui/* calls, and
//     its own SSE parser (every non-empty line is payload).
//   - sudo-tee/opencode.nvim before its opencode 0.6 update: POST /session
//     {title}, /init with a client-made message id, reads
//     project/<slug>/storage/session/... itself and drives the shadow repo
//     with the git CLI (git -C <snapshots> show/read-tree/checkout-index/
//     checkout/rev-parse).
//   - the VS Code extension (sst/opencode sdks/vscode): polls GET /app until
//     the server answers, then POST /tui/append-prompt.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// curlLike sends a request the way opencode.nvim's curl command line does.
func curlLike(t *testing.T, method, url string, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Accept", "application/json")
	req.Header.Add("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// fakeTUI answers /tui/control/next like the stock TUI: it takes each
// request and posts true. It records what it was asked.
func fakeTUI(base string, n int) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var got []string
		for range n {
			res, err := http.Get(base + "/tui/control/next")
			if err != nil {
				break
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			got = append(got, string(b))
			r, err := http.Post(base+"/tui/control/response", "application/json", strings.NewReader("true"))
			if err != nil {
				break
			}
			_ = r.Body.Close()
		}
		out <- got
	}()
	return out
}

func TestOpencodeNvimRequestSequence(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "write", Args: `{"filePath":"nvim.txt","content":"from nvim\n"}`}}},
		fakellm.Turn{Text: []string{"Wrote ", "it."}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true})
	base := h.srv.URL

	// listen_for_sse: GET /event through curl, parsed by the plugin's parser.
	req, _ := http.NewRequest("GET", base+"/event", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Accept", "application/json")
	req.Header.Add("Accept", "text/event-stream")
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	events := make(chan map[string]any, 256)
	go nvimParse(sse.Body, events)
	if ev := <-events; ev["type"] != "server.connected" {
		t.Fatalf("first event %v", ev)
	}

	// get_sessions, then create_session: v0.5.18 sent POST with no body at all
	// (only the Content-Type header); later versions send {}.
	if code, body := curlLike(t, "GET", base+"/session", ""); code != 200 || string(body) != "[]" {
		t.Fatalf("GET /session: %d %s", code, body)
	}
	code, body := curlLike(t, "POST", base+"/session", "")
	var sess storage.Session
	if code != 200 || json.Unmarshal(body, &sess) != nil || !storage.ValidID(storage.PrefixSession, sess.ID) {
		t.Fatalf("POST /session with no body: %d %s", code, body)
	}
	if code, body := curlLike(t, "POST", base+"/session", "{}"); code != 200 {
		t.Fatalf("POST /session {}: %d %s", code, body)
	}

	// send_message: sessionID repeated in the body, the part id a UUID.
	const uuid = "3ce8edb0-0fd6-45f1-b93e-7124b807642f"
	prompt := fmt.Sprintf(`{"sessionID":%q,"providerID":"anthropic","modelID":%q,"parts":[{"type":"text","id":%q,"text":"write nvim.txt"}]}`, sess.ID, sonnet, uuid)
	code, body = curlLike(t, "POST", base+"/session/"+sess.ID+"/message", prompt)
	var res storage.WithParts
	if code != 200 || json.Unmarshal(body, &res) != nil || res.Info.Error != nil {
		t.Fatalf("prompt: %d %s", code, body)
	}
	// The client's part id is kept, as opencode 0.5.29 keeps it, and names
	// the part file.
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sess.ID+"/message", nil, &msgs)
	if len(msgs) != 2 || len(msgs[0].Parts) != 1 || msgs[0].Parts[0].ID != uuid || msgs[0].Parts[0].Text != "write nvim.txt" {
		t.Fatalf("user message: %+v", msgs)
	}
	partFile := filepath.Join(h.app.ProjectData(), "storage", "session", "part", sess.ID, msgs[0].Info.ID, uuid+".json")
	if _, err := os.Stat(partFile); err != nil {
		t.Errorf("part file: %v", err)
	}
	if !strings.Contains(string(fake.Requests()[0].Raw), "write nvim.txt") {
		t.Errorf("the model did not get the prompt")
	}

	// The plugin reloads buffers on file.edited; its parser must see it
	// (and everything before it) intact.
	deadline := time.After(10 * time.Second)
	for edited := false; !edited; {
		select {
		case ev := <-events:
			if ev["type"] == "file.edited" {
				edited = strings.HasSuffix(ev["properties"].(map[string]any)["file"].(string), "nvim.txt")
			}
		case <-deadline:
			t.Fatal("no file.edited reached the plugin's parser")
		}
	}

	// /tui/* calls, each answered by a TUI on the control queue.
	answers := fakeTUI(base, 4)
	for _, c := range []struct{ path, body string }{
		{"/tui/append-prompt", `{"text":"@README.md "}`},
		{"/tui/submit-prompt", `{}`},
		{"/tui/clear-prompt", `{}`},
		{"/tui/execute-command", `{"command":"session_new"}`},
	} {
		if code, body := curlLike(t, "POST", base+c.path, c.body); code != 200 || string(body) != "true" {
			t.Errorf("%s: %d %s", c.path, code, body)
		}
	}
	got := <-answers
	if len(got) != 4 || !strings.Contains(got[0], `"text":"@README.md "`) || !strings.Contains(got[3], `"session_new"`) {
		t.Errorf("the TUI was asked: %q", got)
	}
}

// nvimParse is opencode.nvim's 0.5-era handle_sse: every non-empty line,
// minus a leading "data: ", goes into a buffer; a blank line decodes the
// buffer, and a decode error is what the user would see as a notification.
func nvimParse(r io.Reader, out chan<- map[string]any) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	var buf []string
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			buf = append(buf, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			continue
		}
		if len(buf) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(strings.Join(buf, "")), &ev); err != nil {
			ev = map[string]any{"type": "DECODE ERROR", "raw": strings.Join(buf, "")}
		}
		buf = nil
		out <- ev
	}
	close(out)
}

func TestClientPartIDsAreKeptOnlyWhenSafeAsFileNames(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"ok"}})
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true})
	sid := h.newSession()
	for _, id := range []string{"../../etc/passwd", "..", ".", "a/b", `a\b`, "prt_../x", "x.json", "a b", "%2e%2e", strings.Repeat("a", 65), "ünïcode"} {
		body := map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{map[string]any{"type": "text", "id": id, "text": "x"}}}
		var e struct{ Name string }
		if code := h.call("POST", "/session/"+sid+"/message", body, &e); code != 400 || e.Name != "ValidationError" {
			t.Errorf("part id %q: %d %s, want 400 ValidationError", id, code, e.Name)
		}
	}
	// Nothing reached the disk for the refused prompts.
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 0 {
		t.Fatalf("refused prompts left messages: %+v", msgs)
	}
	// A revert may name such a part too.
	body := map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{map[string]any{"type": "text", "id": "Part-1_x", "text": "x"}}}
	if code := h.call("POST", "/session/"+sid+"/message", body, nil); code != 200 {
		t.Fatalf("prompt with id Part-1_x: %d", code)
	}
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	var e struct{ Name string }
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID, "partID": "Part-1_x"}, &e); code != 200 {
		t.Errorf("revert to client part id: %d %s", code, e.Name)
	}
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID, "partID": "../x"}, &e); code != 400 {
		t.Errorf("revert to ../x: %d", code)
	}
}

func TestVSCodeExtensionRequestSequence(t *testing.T) {
	h := newHarness(t, harnessOpts{noSSE: true})
	// It polls GET /app until the server answers, then appends the
	// editor's file reference to the prompt (fetch from Node: no Origin).
	var app struct{ Path struct{ Root string } }
	for i := 0; ; i++ {
		if code := h.call("GET", "/app", nil, &app); code == 200 {
			break
		}
		if i == 10 {
			t.Fatal("GET /app never answered")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if app.Path.Root != h.dir {
		t.Errorf("app root %q", app.Path.Root)
	}
	answers := fakeTUI(h.srv.URL, 1)
	res, err := http.Post(h.srv.URL+"/tui/append-prompt", "application/json", strings.NewReader(`{"text":"In @src/a.ts#L3-7"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || string(b) != "true" {
		t.Fatalf("append-prompt: %d %s", res.StatusCode, b)
	}
	if got := <-answers; len(got) != 1 || !strings.Contains(got[0], "@src/a.ts#L3-7") {
		t.Errorf("TUI asked %q", got)
	}
}

// sudoTeeSlug is sudo-tee/opencode.nvim's workspace_slug for a git project
// (its 0.5-era session.lua): the path with separators and everything outside
// [A-Za-z0-9_-] turned into '-', leading and trailing dashes trimmed.
func sudoTeeSlug(path string) string {
	s := regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(strings.ReplaceAll(path, "/", "-"), "-")
	return strings.Trim(s, "-")
}

func TestSudoTeeNvimReadsStorageAndDrivesTheShadowRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "bash", Args: `{"command":"printf 'changed by the agent\\n' > README.md","description":"edit"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true})

	// Its slug rule finds ocgo's project folder (for a git root as the cwd).
	project := filepath.Join(h.data, "project", sudoTeeSlug(h.dir))
	if project != h.app.ProjectData() {
		t.Fatalf("sudo-tee looks in %s, ocgo writes %s", project, h.app.ProjectData())
	}

	// POST /session {title}; then a prompt that edits a file.
	var sess storage.Session
	if code := h.call("POST", "/session", map[string]any{"title": "AGENTS.md Initialization"}, &sess); code != 200 || sess.Title != "AGENTS.md Initialization" {
		t.Fatalf("create: %d %+v", code, sess)
	}
	var res storage.WithParts
	h.call("POST", "/session/"+sess.ID+"/message", textPrompt("change the readme"), &res)
	if res.Info.Error != nil {
		t.Fatalf("prompt: %+v", res.Info.Error)
	}

	// It lists storage/session/info/*.json, then reads the messages and parts.
	info, err := os.ReadFile(filepath.Join(project, "storage", "session", "info", sess.ID+".json"))
	var onDisk storage.Session
	if err != nil || json.Unmarshal(info, &onDisk) != nil || onDisk.ID != sess.ID || onDisk.Time.Updated == 0 {
		t.Fatalf("session info file: %v %s", err, info)
	}
	msgFiles, _ := filepath.Glob(filepath.Join(project, "storage", "session", "message", sess.ID, "msg_*.json"))
	if len(msgFiles) != 2 {
		t.Fatalf("message files: %v", msgFiles)
	}
	// The snapshot hash the plugin diffs against: the step-start's snapshot
	// (or the patch part's hash), the state before the edit.
	var before string
	parts, _ := filepath.Glob(filepath.Join(project, "storage", "session", "part", sess.ID, res.Info.ID, "*.json"))
	for _, p := range parts {
		var part storage.Part
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &part); err != nil {
			t.Fatal(err)
		}
		if part.Type == "patch" {
			before = part.Hash
		}
	}
	if before == "" {
		t.Fatalf("no patch part among %d part files", len(parts))
	}
	snaps := filepath.Join(project, "snapshots")
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", snaps}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// diff_file: git -C <snapshots> show <hash>:<path>
	if out, err := git("show", before+":README.md"); err != nil || out != "hello\n" {
		t.Fatalf("git show %s:README.md: %v %q", before, err, out)
	}
	if out, err := git("rev-parse", before); err != nil || strings.TrimSpace(out) != before {
		t.Fatalf("git rev-parse: %v %q", err, out)
	}
	readme := filepath.Join(h.dir, "README.md")
	if b, _ := os.ReadFile(readme); string(b) != "changed by the agent\n" {
		t.Fatalf("the agent's edit is missing: %q", b)
	}
	// restore_file: read-tree <hash>, then checkout-index -f -- <path>: the
	// shadow repo's core.worktree points at the project.
	if out, err := git("read-tree", before); err != nil {
		t.Fatalf("git read-tree: %v %s", err, out)
	}
	if out, err := git("checkout-index", "-f", "--", "README.md"); err != nil {
		t.Fatalf("git checkout-index: %v %s", err, out)
	}
	if b, _ := os.ReadFile(readme); string(b) != "hello\n" {
		t.Fatalf("after checkout-index: %q", b)
	}
	// restore: read-tree + checkout-index -a -f; revert_file: checkout <hash> -- <path>.
	if err := os.WriteFile(readme, []byte("edited again\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := git("checkout-index", "-a", "-f"); err != nil {
		t.Fatalf("git checkout-index -a -f: %v %s", err, out)
	}
	if b, _ := os.ReadFile(readme); string(b) != "hello\n" {
		t.Fatalf("after checkout-index -a: %q", b)
	}
	if err := os.WriteFile(readme, []byte("edited again\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := git("checkout", before, "--", "README.md"); err != nil {
		t.Fatalf("git checkout: %v %s", err, out)
	}
	if b, _ := os.ReadFile(readme); string(b) != "hello\n" {
		t.Fatalf("after git checkout: %q", b)
	}
	// The project's own repository was never touched by these commands.
	cmd := exec.Command("git", "status", "--porcelain")
	cmd.Dir = h.dir
	if out, _ := cmd.Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("project git status after the plugin's restores: %s", out)
	}
	// ocgo still works on the shadow repo after git's index writes.
	var after storage.WithParts
	fake.Push(fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_2", Name: "bash", Args: `{"command":"echo second >> README.md","description":"edit"}`}}}, fakellm.Turn{Text: []string{"ok"}})
	h.call("POST", "/session/"+sess.ID+"/message", textPrompt("again"), &after)
	if after.Info.Error != nil {
		t.Fatalf("prompt after the plugin used git: %+v", after.Info.Error)
	}
	var reverted storage.Session
	if code := h.call("POST", "/session/"+sess.ID+"/revert", map[string]any{"messageID": after.Info.ID}, &reverted); code != 200 {
		t.Fatalf("revert after git use: %d", code)
	}
	if b, _ := os.ReadFile(readme); string(b) != "hello\n" {
		t.Errorf("revert after the plugin's git use: README is %q", b)
	}
}
