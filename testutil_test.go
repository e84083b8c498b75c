package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness is one in-process ocgo on a temp git project, reached over real
// HTTP, with its SSE stream recorded from the start.
type harness struct {
	t       *testing.T
	app     *app
	srv     *httptest.Server
	dir     string
	data    string
	mu      sync.Mutex
	events  []map[string]any
	evReady chan struct{}
}

type harnessOpts struct {
	config string            // opencode.json written into the project
	env    map[string]string // extra environment for the app
	noSSE  bool
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	dir, data, home := t.TempDir(), t.TempDir(), t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o644)
	if o.config != "" {
		os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(o.config), 0o644)
	}
	run("add", "-A")
	run("commit", "-qm", "init")
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"), "SHELL": "/bin/sh"}
	for k, v := range o.env {
		env[k] = v
	}
	a, err := newApp(appConfig{Dir: dir, DataRoot: data, Env: func(k string) string { return env[k] }, NoTitles: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	h := &harness{t: t, app: a, srv: srv, dir: dir, data: data, evReady: make(chan struct{})}
	t.Cleanup(func() { a.Shutdown(); srv.Close(); a.Close() })
	if !o.noSSE {
		go h.readEvents()
		select {
		case <-h.evReady:
		case <-time.After(5 * time.Second):
			t.Fatal("no server.connected")
		}
	}
	return h
}

func (h *harness) readEvents() {
	res, err := http.Get(h.srv.URL + "/event")
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
		json.Unmarshal([]byte(line), &ev)
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		if first {
			close(h.evReady)
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
