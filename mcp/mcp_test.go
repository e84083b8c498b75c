package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ocgo/config"
	"ocgo/mcp/mcptest"
	"ocgo/tool"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(mcptest.EnvMode); mode != "" {
		mcptest.Main(mode)
		return
	}
	os.Exit(m.Run())
}

// self runs this test binary as an MCP server in mode.
func self(t *testing.T, mode string, env map[string]string) config.MCPConfig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := map[string]string{mcptest.EnvMode: mode}
	for k, v := range env {
		e[k] = v
	}
	return config.MCPConfig{Type: "local", Command: []string{exe}, Environment: e}
}

type errs struct {
	mu   sync.Mutex
	list []string
}

func (e *errs) add(server string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, server+": "+err.Error())
}

func (e *errs) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// newManager starts a manager whose calls time out after call; connecting
// gets connect (a loaded CI machine may take a while to start a process).
func newManager(t *testing.T, servers map[string]config.MCPConfig, call, connect time.Duration) (*Manager, *errs) {
	t.Helper()
	var e errs
	m := New(Options{Servers: servers, Dir: t.TempDir(), OnError: e.add, ConnectTimeout: connect, CallTimeout: call})
	m.Start()
	t.Cleanup(m.Close)
	return m, &e
}

func toolNamed(t *testing.T, m *Manager, name string) tool.Tool {
	t.Helper()
	var names []string
	for _, x := range m.Tools(context.Background()) {
		if x.Info().Name == name {
			return x
		}
		names = append(names, x.Info().Name)
	}
	t.Fatalf("no tool %s among %v", name, names)
	return nil
}

func run(t *testing.T, tl tool.Tool, input string) (tool.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return tl.Run(ctx, tool.Call{ID: "c1", Input: json.RawMessage(input)}, nil)
}

func TestToolName(t *testing.T) {
	for _, c := range [][3]string{
		{"github", "create_issue", "github_create_issue"},
		{"my server", "list-files", "my_server_list_files"},
		{"docs", "search  - all", "docs_search_all"},
		{"a.b", "c/d", "a_b_c_d"},
	} {
		if got := ToolName(c[0], c[1]); got != c[2] {
			t.Errorf("ToolName(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestLocalServer(t *testing.T) {
	m, e := newManager(t, map[string]config.MCPConfig{"t": self(t, "stdio", map[string]string{"MCPTEST_GREETING": "from config"})}, 2*time.Second, 20*time.Second)

	echo := toolNamed(t, m, "t_echo")
	schema := echo.Info().Schema()
	if props, _ := schema["properties"].(map[string]any); props["text"] == nil || schema["type"] != "object" {
		t.Errorf("input schema not passed through: %v", schema)
	}
	res, err := run(t, echo, `{"text":"hi"}`)
	if err != nil || res.Output != "echo: hi (from config)" {
		t.Fatalf("echo: %q %v", res.Output, err)
	}
	if st := m.Status()["t"]; st.Status != StatusConnected {
		t.Errorf("status %+v", st)
	}

	res, err = run(t, toolNamed(t, m, "t_media_kinds"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "[image image/png, 9 bytes]", "resource text", "[resource doc: https://example.invalid/doc]"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("media output lacks %q: %q", want, res.Output)
		}
	}
	if items, _ := res.Metadata["content"].([]map[string]any); len(items) != 3 {
		t.Errorf("metadata content: %v", res.Metadata)
	}

	if _, err := run(t, toolNamed(t, m, "t_fail"), `{}`); err == nil || err.Error() != "it broke" {
		t.Errorf("isError result: %v", err)
	}

	start := time.Now()
	_, err = run(t, toolNamed(t, m, "t_hang"), `{}`)
	if err == nil || !strings.Contains(err.Error(), "did not answer") || time.Since(start) > 5*time.Second {
		t.Errorf("hanging call: %v after %v", err, time.Since(start))
	}
	if res, err := run(t, echo, `{"text":"still"}`); err != nil || !strings.HasPrefix(res.Output, "echo: still") {
		t.Errorf("server unusable after a hung call: %q %v", res.Output, err)
	}

	// A crash is reported once; the next use starts the server again.
	if _, err := run(t, toolNamed(t, m, "t_crash"), `{}`); err == nil {
		t.Error("crash call succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	// The status and the report come from the crash's goroutine: wait for both.
	for (m.Status()["t"].Status != StatusFailed || len(e.get()) == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := m.Status()["t"]; st.Status != StatusFailed || st.Error == "" {
		t.Errorf("status after crash: %+v", st)
	}
	if got := e.get(); len(got) != 1 || !strings.Contains(got[0], "stopped") {
		t.Errorf("errors reported: %q", got)
	}
	if res, err := run(t, echo, `{"text":"again"}`); err != nil || !strings.HasPrefix(res.Output, "echo: again") {
		t.Errorf("after restart: %q %v", res.Output, err)
	}
	if st := m.Status()["t"]; st.Status != StatusConnected {
		t.Errorf("status after restart: %+v", st)
	}
}

func TestCloseKillsTheServersChildren(t *testing.T) {
	m := New(Options{Servers: map[string]config.MCPConfig{"t": self(t, "stdio", nil)}, ConnectTimeout: 20 * time.Second, CallTimeout: 5 * time.Second})
	m.Start()
	res, err := run(t, toolNamed(t, m, "t_spawn"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(res.Output)
	if pid <= 0 || !alive(pid) {
		t.Fatalf("grandchild %q not running", res.Output)
	}
	m.Close()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		t.Fatal("the server's child outlived Close")
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) == 0 || f[0] != "Z"
}

func TestFailuresAndDisabled(t *testing.T) {
	off := false
	m, e := newManager(t, map[string]config.MCPConfig{
		"silent":  self(t, "silent", nil),
		"missing": {Type: "local", Command: []string{"/nonexistent/mcp-server"}},
		"off":     {Type: "local", Command: []string{"/nonexistent/mcp-server"}, Enabled: &off},
		"ok":      self(t, "stdio", nil),
	}, time.Second, 5*time.Second)
	names := []string{}
	for _, x := range m.Tools(context.Background()) {
		names = append(names, x.Info().Name)
	}
	if !slices.Contains(names, "ok_echo") || slices.ContainsFunc(names, func(n string) bool { return !strings.HasPrefix(n, "ok_") }) {
		t.Errorf("tools: %v", names)
	}
	st := m.Status()
	if st["off"].Status != StatusDisabled || st["ok"].Status != StatusConnected ||
		st["silent"].Status != StatusFailed || st["missing"].Status != StatusFailed || st["missing"].Error == "" {
		t.Errorf("status: %+v", st)
	}
	got := e.get()
	slices.Sort(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "missing: MCP server missing failed to start") || !strings.HasPrefix(got[1], "silent: ") {
		t.Errorf("errors: %q", got)
	}
}

func TestRemoteServer(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	check := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auth = append(auth, r.Header.Get("Authorization"))
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	// Cleanups run last first: the manager closes before the servers.
	streamable := httptest.NewServer(check(mcptest.Handler()))
	t.Cleanup(streamable.Close)
	sse := httptest.NewServer(check(mcptest.SSEHandler()))
	t.Cleanup(sse.Close)
	m, e := newManager(t, map[string]config.MCPConfig{
		"http": {Type: "remote", URL: streamable.URL, Headers: map[string]string{"Authorization": "Bearer t0k"}},
		"sse":  {Type: "remote", URL: sse.URL, Headers: map[string]string{"Authorization": "Bearer t0k"}},
	}, 5*time.Second, 20*time.Second)
	for _, name := range []string{"http_echo", "sse_echo"} {
		res, err := run(t, toolNamed(t, m, name), `{"text":"far"}`)
		if err != nil || !strings.HasPrefix(res.Output, "echo: far") {
			t.Errorf("%s: %q %v", name, res.Output, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) == 0 || slices.ContainsFunc(auth, func(a string) bool { return a != "Bearer t0k" }) {
		t.Errorf("headers not sent on every request: %q", auth)
	}
	if len(e.get()) != 0 {
		t.Errorf("errors: %q", e.get())
	}
}
