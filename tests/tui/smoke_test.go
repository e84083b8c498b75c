//go:build tui

// Package tui is a smoke test of the stock opencode 0.5.29 terminal UI
// against a built ocgo binary: the TUI is started in a private tmux server,
// driven with send-keys and read with capture-pane, while ocgo talks to a
// scripted fake OpenAI-compatible model (provider/fakellm). It guarantees
// that the real client starts, streams an answer onto the screen, keeps its
// event stream alive past ocgo's SSE heartbeat, persists the session in
// opencode's on-disk layout and quits cleanly. It needs the TUI binary and
// tmux, so it only builds with -tags tui and is run by tests/tui/run.sh,
// not by CI.
package tui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
)

// env describes one isolated run: every directory the TUI or ocgo may write
// lives under a temp dir, so nothing of the real user is touched.
type env struct {
	root, proj, data, home string
	vars                   []string
	tmux                   []string // tmux command prefix with a private socket
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{root: root, proj: filepath.Join(root, "proj"), data: filepath.Join(root, "data"), home: filepath.Join(root, "home")}
	for _, d := range []string{e.proj, e.data, e.home, filepath.Join(root, "xdg", "data"), filepath.Join(root, "xdg", "config"), filepath.Join(root, "xdg", "state"), filepath.Join(root, "xdg", "cache")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.vars = []string{
		"HOME=" + e.home,
		"XDG_DATA_HOME=" + filepath.Join(root, "xdg", "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(root, "xdg", "config"),
		"XDG_STATE_HOME=" + filepath.Join(root, "xdg", "state"),
		"XDG_CACHE_HOME=" + filepath.Join(root, "xdg", "cache"),
		"PATH=" + os.Getenv("PATH"),
		"SHELL=/bin/sh",
		"TERM=xterm-256color",
		"LANG=C.UTF-8",
		"GIT_AUTHOR_NAME=ocgo test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=ocgo test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_CONFIG_NOSYSTEM=1",
	}
	e.tmux = []string{"tmux", "-S", filepath.Join(root, "tmux.sock"), "-f", "/dev/null"}
	return e
}

func (e *env) run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, e.vars
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func (e *env) screen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(e.tmux[0], append(e.tmux[1:], "capture-pane", "-p", "-t", "tui")...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

func (e *env) keys(t *testing.T, keys ...string) {
	t.Helper()
	if out, err := exec.Command(e.tmux[0], append(append(e.tmux[1:], "send-keys", "-t", "tui"), keys...)...).CombinedOutput(); err != nil {
		t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

// waitScreen polls the pane until it contains want, and fails with the last
// screen otherwise.
func (e *env) waitScreen(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := e.screen(t)
		if strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not on screen after %v; screen:\n%s", want, limit, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestTUISmoke(t *testing.T) {
	tuiBin, ocgoBin := os.Getenv("OCGO_TUI_BIN"), os.Getenv("OCGO_BIN")
	if tuiBin == "" || ocgoBin == "" {
		t.Skip("set OCGO_TUI_BIN (the opencode 0.5.29 TUI) and OCGO_BIN (ocgo); tests/tui/run.sh does")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	e := newEnv(t)

	// The fake model: the first prompt costs two requests (the answer and
	// the session title); later turns are pushed just before their prompt.
	const answer1, answer2 = "smoke-answer-one", "smoke-answer-two"
	llm := fakellm.NewOpenAI(t,
		fakellm.Turn{Text: []string{"smoke-", "answer-", "one"}, Usage: fakellm.Usage{Input: 10, Output: 3}},
		fakellm.Turn{Text: []string{"smoke-answer-one"}, Usage: fakellm.Usage{Input: 10, Output: 3}},
	)
	cfg := fmt.Sprintf(`{"provider":{"mock":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":%q},"models":{"mock-model":{}}}},"model":"mock/mock-model"}`, llm.URL)
	if err := os.WriteFile(filepath.Join(e.proj, "opencode.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(e.proj, "README.md"), []byte("smoke\n"), 0o644)
	e.run(t, e.proj, "git", "init", "-q")
	e.run(t, e.proj, "git", "add", "-A")
	e.run(t, e.proj, "git", "commit", "-qm", "init")

	// ocgo on a free loopback port.
	stderr, err := os.Create(filepath.Join(e.root, "ocgo.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	srv := exec.Command(ocgoBin, "serve", "-p", "0", "--dir", e.proj, "--data-dir", e.data, "--log-level", "debug")
	srv.Env, srv.Stderr = e.vars, stderr
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			t.Logf("ocgo stderr (last lines):\n%s", tail(stderr.Name(), 40))
			t.Logf("TUI stderr (last lines):\n%s", tail(filepath.Join(e.root, "tui.stderr"), 20))
		}
	})
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				url <- sc.Text()[i:]
			}
		}
	}()
	var base string
	select {
	case base = <-url:
	case <-time.After(20 * time.Second):
		t.Fatal("ocgo printed no URL within 20s")
	}
	res, err := http.Get(base + "/app")
	if err != nil {
		t.Fatal(err)
	}
	appInfo, _ := io.ReadAll(res.Body)
	res.Body.Close()

	// The TUI in a private tmux server; a launcher script carries the env.
	os.WriteFile(filepath.Join(e.root, "app.json"), appInfo, 0o644)
	launcher := filepath.Join(e.root, "tui.sh")
	script := "#!/bin/sh\n"
	for _, v := range e.vars {
		k, val, _ := strings.Cut(v, "=")
		script += fmt.Sprintf("export %s='%s'\n", k, strings.ReplaceAll(val, "'", `'\''`))
	}
	script += fmt.Sprintf("export OPENCODE_SERVER='%s'\nexport OPENCODE_APP_INFO=\"$(cat '%s')\"\ncd '%s' && exec '%s' 2>'%s'\n",
		base, filepath.Join(e.root, "app.json"), e.proj, tuiBin, filepath.Join(e.root, "tui.stderr"))
	if err := os.WriteFile(launcher, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(e.tmux[0], append(e.tmux[1:], "new-session", "-d", "-s", "tui", "-x", "120", "-y", "40", launcher)...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(e.tmux[0], append(e.tmux[1:], "kill-server")...).Run() })

	e.waitScreen(t, "enter send", 30*time.Second)
	e.keys(t, "-l", "hello from the smoke test")
	e.keys(t, "Enter")
	e.waitScreen(t, answer1, 30*time.Second)

	// Outlive ocgo's 10 s SSE heartbeat: the second answer only reaches the
	// screen if the TUI's event stream survived it.
	deadline := time.Now().Add(20 * time.Second)
	for llm.Remaining() > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(11 * time.Second)
	llm.Push(fakellm.Turn{Text: []string{"smoke-answer", "-two"}, Usage: fakellm.Usage{Input: 20, Output: 3}})
	e.keys(t, "-l", "second prompt")
	e.keys(t, "Enter")
	e.waitScreen(t, answer2, 30*time.Second)

	// The prompt reached the model.
	var sawPrompt bool
	for _, r := range llm.Requests() {
		if strings.Contains(string(r.Raw), "hello from the smoke test") {
			sawPrompt = true
		}
	}
	if !sawPrompt {
		t.Error("no model request carried the typed prompt")
	}

	// The session is on disk in opencode's layout, with the answer in a part.
	infos, _ := filepath.Glob(filepath.Join(e.data, "project", "*", "storage", "session", "info", "ses_*.json"))
	if len(infos) != 1 {
		t.Fatalf("session info files: %v, want exactly one", infos)
	}
	var sess struct{ ID string }
	raw, _ := os.ReadFile(infos[0])
	if json.Unmarshal(raw, &sess) != nil || !strings.HasPrefix(sess.ID, "ses_") {
		t.Fatalf("session file %s: %s", infos[0], raw)
	}
	parts, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(infos[0])), "part", sess.ID, "*", "*.json"))
	var sawAnswer bool
	for _, p := range parts {
		if b, _ := os.ReadFile(p); strings.Contains(string(b), answer2) {
			sawAnswer = true
		}
	}
	if !sawAnswer {
		t.Errorf("no part file of %s holds %q (%d parts)", sess.ID, answer2, len(parts))
	}

	// <leader>q (ctrl+x q) quits the TUI.
	e.keys(t, "C-x", "q")
	deadline = time.Now().Add(10 * time.Second)
	for exec.Command(e.tmux[0], append(e.tmux[1:], "has-session", "-t", "tui")...).Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the TUI did not quit on ctrl+x q; screen:\n%s", e.screen(t))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Errors ocgo logged, its own or the TUI's (shipped over POST /log).
	logs, _ := os.ReadFile(stderr.Name())
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "clipboard") &&
			!strings.Contains(line, "/tui/control/next") { // the TUI's long poll is cut when it quits
			t.Errorf("ocgo log: %s", line)
		}
	}
}

// tail returns the last n lines of a file, for failure reports (the temp
// dir is gone after the test).
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
