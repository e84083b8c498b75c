package main

// The stock opencode 0.5.29 terminal UI (the Go binary shipped inside the
// npm package opencode-linux-x64@0.5.29) against ocgo, driven the way a user
// drives it: keys sent with tmux send-keys, the screen read with tmux
// capture-pane. ocgo serves over real HTTP in this process; the model is
// provider/fakellm, named by an opencode.json in the project.
//
// The TUI binary is OCGO_TUI_BIN, else the copy tests/tui/get-tui.sh puts in
// ${XDG_CACHE_HOME:-~/.cache}/ocgo-tests/opencode-tui-0.5.29 (.ci/run does
// that). Without it or without tmux the test skips on a developer machine
// and fails in CI (CI=true). A failure prints the TUI's screen and ocgo's log.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/provider/fakellm"
)

// tuiBinary finds the stock TUI, or skips (fails in CI).
func tuiBinary(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		msg := why + "; get it with tests/tui/get-tui.sh (npm opencode-linux-x64@0.5.29) and apt-get install tmux"
		if os.Getenv("CI") == "true" {
			t.Fatal("CI: " + msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		missing("tmux is not installed")
	}
	bin := os.Getenv("OCGO_TUI_BIN")
	if bin == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		bin = filepath.Join(cache, "ocgo-tests", "opencode-tui-0.5.29")
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		missing("no opencode 0.5.29 TUI at " + bin)
	}
	return bin
}

// lockedBuffer collects ocgo's log (the TUI's own log arrives via POST /log).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tuiRun is one TUI in a private tmux server against one ocgo.
type tuiRun struct {
	t    *testing.T
	tmux []string
	log  *lockedBuffer
	base string
	proj string
}

func (r *tuiRun) screen() string {
	out, _ := exec.Command(r.tmux[0], append(r.tmux[1:], "capture-pane", "-p", "-t", "tui")...).Output()
	return string(out)
}

func (r *tuiRun) keys(keys ...string) {
	r.t.Helper()
	if out, err := exec.Command(r.tmux[0], append(append(r.tmux[1:], "send-keys", "-t", "tui"), keys...)...).CombinedOutput(); err != nil {
		r.t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

func (r *tuiRun) typeLine(text string) {
	r.t.Helper()
	r.keys("-l", text)
	time.Sleep(150 * time.Millisecond)
	r.keys("Enter")
}

// wait polls the screen until cond holds; on timeout it fails, printing the
// screen and the log.
func (r *tuiRun) wait(what string, limit time.Duration, cond func(screen string) bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := r.screen()
		// What the TUI shows for an event type it does not know (its SDK
		// decodes one as installation.updated), e.g. a bad heartbeat.
		if strings.Contains(s, "opencode updated to") {
			r.t.Fatalf("the TUI shows an update toast: an event it cannot place")
		}
		if cond(s) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not seen within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *tuiRun) waitText(want string, limit time.Duration) {
	r.t.Helper()
	r.wait(fmt.Sprintf("%q on screen", want), limit, func(s string) bool { return strings.Contains(s, want) })
}

// waitFile polls the disk until cond holds for the file's content ("" when
// it does not exist).
func (r *tuiRun) waitFile(name string, limit time.Duration, cond func(content string, exists bool) bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(filepath.Join(r.proj, name))
		if cond(string(b), err == nil) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: content %q (exists %v) not as expected within %v", name, b, err == nil, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *tuiRun) post(path, body string) {
	r.t.Helper()
	res, err := http.Post(r.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		r.t.Fatalf("POST %s: %v", path, err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 || string(b) != "true" {
		r.t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
}

func TestStockTUI(t *testing.T) {
	tuiBin := tuiBinary(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"proj", "data", "home", "xdg/data", "xdg/config", "xdg/state", "xdg/cache"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	proj := dirs["proj"]
	env := map[string]string{
		"HOME": dirs["home"], "XDG_DATA_HOME": dirs["xdg/data"], "XDG_CONFIG_HOME": dirs["xdg/config"],
		"XDG_STATE_HOME": dirs["xdg/state"], "XDG_CACHE_HOME": dirs["xdg/cache"],
		"PATH": os.Getenv("PATH"), "SHELL": "/bin/sh", "TERM": "xterm-256color", "LANG": "C.UTF-8",
		"GIT_AUTHOR_NAME": "ocgo test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
		"GIT_COMMITTER_NAME": "ocgo test", "GIT_COMMITTER_EMAIL": "test@example.invalid", "GIT_CONFIG_NOSYSTEM": "1",
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	// The fake model: each step of the test pushes the turns it needs.
	llm := fakellm.NewOpenAI(t)
	cfg := fmt.Sprintf(`{"$schema":"https://opencode.ai/config.json","model":"fake/fake-model",
		"provider":{"fake":{"npm":"@ai-sdk/openai-compatible","name":"Fake Provider","options":{"baseURL":%q},
			"models":{"fake-model":{"name":"Fake Model One","tool_call":true,"limit":{"context":100000,"output":4000}},
			          "other-model":{"name":"Fake Model Two","tool_call":true}}}},
		"permission":{"bash":"ask"}}`, llm.URL)
	if err := os.WriteFile(filepath.Join(proj, "opencode.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "README.md"), []byte("tui test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = proj, environ
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}

	// ocgo, in process, over real HTTP, logging to a buffer.
	logs := &lockedBuffer{}
	// A heartbeat every 500 ms: the TUI must take dozens of them unharmed.
	a, err := newApp(appConfig{Dir: proj, DataRoot: dirs["data"], Env: func(k string) string { return env[k] }, NoTitles: true, Heartbeat: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		for _, s := range a.Sessions().List() {
			a.Sessions().Abort(s.ID)
		}
		a.Shutdown()
		srv.Close()
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	res, err := http.Get(srv.URL + "/app")
	if err != nil {
		t.Fatal(err)
	}
	appInfo, _ := io.ReadAll(res.Body)
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}

	// The TUI in a private tmux server; a launcher script carries the env.
	r := &tuiRun{t: t, tmux: []string{"tmux", "-S", filepath.Join(root, "tmux.sock"), "-f", "/dev/null"}, log: logs, base: srv.URL, proj: proj}
	if err := os.WriteFile(filepath.Join(root, "app.json"), appInfo, 0o644); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("#!/bin/sh\n")
	for _, v := range environ {
		k, val, _ := strings.Cut(v, "=")
		fmt.Fprintf(&script, "export %s='%s'\n", k, strings.ReplaceAll(val, "'", `'\''`))
	}
	fmt.Fprintf(&script, "export OPENCODE_SERVER='%s'\nexport OPENCODE_APP_INFO=\"$(cat '%s')\"\ncd '%s' && exec '%s' 2>'%s'\n",
		srv.URL, filepath.Join(root, "app.json"), proj, tuiBin, filepath.Join(root, "tui.stderr"))
	launcher := filepath.Join(root, "tui.sh")
	if err := os.WriteFile(launcher, []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(r.tmux[0], append(r.tmux[1:], "new-session", "-d", "-s", "tui", "-x", "140", "-y", "45", launcher)...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("TUI screen:\n%s", r.screen())
			stderr, _ := os.ReadFile(filepath.Join(root, "tui.stderr"))
			t.Logf("TUI stderr:\n%s", stderr)
			t.Logf("ocgo log (last 60 lines):\n%s", lastLines(logs.String(), 60))
		}
		_ = exec.Command(r.tmux[0], append(r.tmux[1:], "kill-server")...).Run() // it may have gone with the TUI
	})

	// 1. It starts and shows the configured model.
	r.waitText("enter send", 30*time.Second)
	r.waitText("Fake Model One", 10*time.Second)

	// 2. A prompt streams an answer.
	llm.Push(fakellm.Turn{Text: []string{"The answer ", "streams ", "in."}, Usage: fakellm.Usage{Input: 10, Output: 3}})
	r.typeLine("hello from the tui test")
	r.waitText("The answer streams in.", 20*time.Second)
	if !strings.Contains(string(llm.Requests()[0].Raw), "hello from the tui test") {
		t.Errorf("the model did not get the typed prompt")
	}

	// 3. A tool edit shows, and the file is written.
	llm.Push(fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "call_w", Name: "write", Args: `{"filePath":"tui-made.txt","content":"made in the tui test\n"}`}}},
		fakellm.Turn{Text: []string{"Wrote tui-made.txt."}})
	r.typeLine("write a file please")
	r.waitText("Wrote tui-made.txt.", 20*time.Second)
	r.waitText("tui-made.txt", time.Second)
	r.waitFile("tui-made.txt", 5*time.Second, func(c string, ok bool) bool { return ok && c == "made in the tui test\n" })

	// 4. Undo (ctrl+x u) reverts the file on disk; redo (ctrl+x r) restores it.
	// Undo puts the undone prompt back into the editor, as opencode's TUI
	// does: once it shows, the TUI is done with the undo and takes the redo.
	r.keys("C-x", "u")
	r.waitFile("tui-made.txt", 15*time.Second, func(_ string, ok bool) bool { return !ok })
	r.waitText("> write a file please", 10*time.Second)
	r.keys("C-x", "r")
	r.waitFile("tui-made.txt", 20*time.Second, func(c string, ok bool) bool { return ok && c == "made in the tui test\n" })
	// ctrl+c clears the editor.
	r.keys("C-c")
	r.wait("an empty editor", 5*time.Second, func(s string) bool { return !strings.Contains(s, "> write a file please") })

	// 5. A permission prompt, answered from the TUI (enter accepts once).
	llm.Push(fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "call_b", Name: "bash", Args: `{"command":"echo permitted-run > permitted.txt","description":"write permitted.txt"}`}}},
		fakellm.Turn{Text: []string{"The command ran."}})
	r.typeLine("run a command")
	r.wait("a permission prompt", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Permission required") || strings.Contains(s, "permission")
	})
	if _, err := os.Stat(filepath.Join(proj, "permitted.txt")); err == nil {
		t.Fatal("the command ran before it was permitted")
	}
	r.keys("Enter")
	r.waitText("The command ran.", 20*time.Second)
	r.waitFile("permitted.txt", 5*time.Second, func(c string, ok bool) bool { return ok && c == "permitted-run\n" })

	// 6. The sessions and models dialogs open (and close with esc).
	// (A key right after Escape would arrive as alt+key: wait in between.)
	r.keys("C-x", "l")
	r.waitText("Switch Session", 10*time.Second)
	r.keys("Escape")
	r.wait("the sessions dialog closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Switch Session") })
	r.keys("C-x", "m")
	r.waitText("Fake Model Two", 10*time.Second)
	r.keys("Escape")
	r.wait("the models dialog closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Fake Model Two") })

	// 7. /tui/append-prompt and /tui/submit-prompt drive it.
	llm.Push(fakellm.Turn{Text: []string{"Driven over HTTP."}})
	r.post("/tui/append-prompt", `{"text":"sent by a plugin"}`)
	r.waitText("sent by a plugin", 10*time.Second)
	r.post("/tui/submit-prompt", `{}`)
	r.waitText("Driven over HTTP.", 20*time.Second)
	if last := llm.Requests()[len(llm.Requests())-1]; !strings.Contains(string(last.Raw), "sent by a plugin") {
		t.Errorf("the appended prompt did not reach the model")
	}

	// Every request the model got was one the real API accepts.
	for _, req := range llm.Requests() {
		if req.Rejected != "" {
			t.Errorf("a model request was refused: %s", req.Rejected)
		}
	}
	// Errors ocgo logged, its own or the TUI's (shipped over POST /log).
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "clipboard") {
			t.Errorf("ocgo log: %s", line)
		}
	}
	var sessions []json.RawMessage
	if res, err := http.Get(srv.URL + "/session"); err == nil {
		if err := json.NewDecoder(res.Body).Decode(&sessions); err != nil {
			t.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(sessions) != 1 {
		t.Errorf("sessions: %d, want the one the TUI made", len(sessions))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
