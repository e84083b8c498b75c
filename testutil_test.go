package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ocgo/app"
	"ocgo/atomicfile"
	"ocgo/provider"
)

// harness is one in-process ocgo on a temp git project, reached over real
// HTTP, with its SSE stream recorded from the start.
type harness struct {
	t       testing.TB
	app     *app.App
	srv     *httptest.Server
	dir     string
	data    string
	mu      sync.Mutex
	events  []map[string]any
	evReady chan struct{}
	opts    harnessOpts
	env     map[string]string
}

type harnessOpts struct {
	config string            // opencode.json written into the project
	env    map[string]string // extra environment for the app
	noSSE  bool
	titles bool             // generate titles in the background (off by default)
	setup  func(dir string) // prepares the project before the first commit
	// mcpTimeout bounds MCP connects and calls (default: the app's).
	mcpTimeout time.Duration
	noGit      bool          // a project that is not a git repository
	subdir     string        // the server runs in this subdirectory of the project
	storageFS  atomicfile.FS // the session store's file system (nil: the OS's)
	logger     *slog.Logger  // the app's logger (nil: discarded)
}

// fastRetry keeps provider retries real but quick in tests.
var fastRetry = provider.RetryPolicy{MaxRetries: 3, InitialDelay: time.Millisecond, Factor: 2, MaxDelay: 20 * time.Millisecond}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	dir, data, home := t.TempDir(), t.TempDir(), t.TempDir()
	run := func(args ...string) {
		if o.noGit {
			return
		}
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.config != "" {
		if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(o.config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.setup != nil {
		o.setup(dir)
	}
	if o.subdir != "" {
		if err := os.MkdirAll(filepath.Join(dir, o.subdir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "-qm", "init")
	// Test sites (httptest) are on loopback, which webfetch refuses by
	// default; TestWebfetchRefusesPrivateAddresses checks the default.
	// Tests use the embedded model catalog unless they say otherwise.
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"), "SHELL": "/bin/sh",
		"OCGO_WEBFETCH_PRIVATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1"}
	for k, v := range o.env {
		env[k] = v
	}
	h := &harness{t: t, dir: dir, data: data, opts: o, env: env}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// start builds an app on the harness's project and data directories and
// serves it; stop closes it. restart does both, as a server restart would.
func (h *harness) start() {
	h.t.Helper()
	retry := fastRetry
	a, err := newApp(appConfig{Dir: filepath.Join(h.dir, h.opts.subdir), DataRoot: h.data, Env: func(k string) string { return h.env[k] }, NoTitles: !h.opts.titles, Retry: &retry, MCPTimeout: h.opts.mcpTimeout, StorageFS: h.opts.storageFS, Logger: h.opts.logger})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.app, h.srv, h.events, h.evReady = a, httptest.NewServer(a.Handler()), nil, make(chan struct{})
	h.mu.Unlock()
	if !h.opts.noSSE {
		go h.readEvents(h.srv.URL, h.evReady)
		select {
		case <-h.evReady:
		case <-time.After(5 * time.Second):
			h.t.Fatal("no server.connected")
		}
	}
}

func (h *harness) stop() {
	if h.app == nil {
		return
	}
	// A run still waiting on a provider (a failed test) would keep its
	// HTTP request, and so srv.Close, from ever returning.
	for _, s := range h.app.Sessions().List() {
		h.app.Sessions().Abort(s.ID)
	}
	h.app.Shutdown()
	h.srv.Close()
	if err := h.app.Close(); err != nil {
		h.t.Error(err)
	}
	h.app = nil
}

func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

func (h *harness) readEvents(url string, ready chan struct{}) {
	res, err := http.Get(url + "/event")
	if err != nil {
		return
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	first := true
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			h.t.Errorf("event %q: %v", line, err)
		}
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		if first {
			close(ready)
			first = false
		}
	}
}

// waitEvent waits until an event matching fn arrived and returns it.
func (h *harness) waitEvent(fn func(map[string]any) bool) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, e := range h.events {
			if fn(e) {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("event not seen; got %d events", len(h.types()))
	return nil
}

func (h *harness) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e["type"].(string))
	}
	return out
}

func ofType(typ string) func(map[string]any) bool {
	return func(e map[string]any) bool { return e["type"] == typ }
}

func (h *harness) call(method, path string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
		}
	}
	return res.StatusCode
}

func (h *harness) newSession() string {
	var s struct{ ID string }
	h.call("POST", "/session", map[string]any{}, &s)
	return s.ID
}

// bashGate holds a bash tool call in the middle of its command, so a test
// can act while the command runs: the command ends with g.cmd() (a read of
// a FIFO outside the project, which the bash tool allows), waitStarted
// returns once the command is blocked there, release lets it finish.
type bashGate struct {
	path string
	w    *os.File
}

func newBashGate(t testing.TB) *bashGate {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return &bashGate{path: p}
}

func (g *bashGate) cmd() string { return "cat '" + g.path + "' > /dev/null" }

// waitStarted opens the FIFO for writing, which blocks until the command
// opens it for reading.
func (g *bashGate) waitStarted(timeout time.Duration) bool {
	done := make(chan *os.File, 1)
	go func() {
		f, _ := os.OpenFile(g.path, os.O_WRONLY, 0)
		done <- f
	}()
	select {
	case g.w = <-done:
		return g.w != nil
	case <-time.After(timeout):
		if r, err := os.OpenFile(g.path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			if f := <-done; f != nil { // unblocks the opener
				_ = f.Close()
			}
			_ = r.Close()
		}
		return false
	}
}

func (g *bashGate) release() {
	if g.w != nil {
		_ = g.w.Close() // a FIFO's writer: closing it is the signal
		g.w = nil
	}
}

// The root package's tests drive the binary's pieces together; these
// names keep them short.
type appConfig = app.Config

const apiVersion = app.APIVersion

func newApp(c appConfig) (*app.App, error) { return app.New(c) }
