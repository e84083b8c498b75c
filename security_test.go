package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ocgo/app"
	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// canary is the secret the hostile-repository tests plant outside the
// project; it must never reach an answer, an event, the disk or the model.
const canary = "sk-CANARY-7f3a9c1e-outside-the-project"

// outsideSecret writes the canary into a file next to (outside) dir.
func outsideSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret.md")
	if err := os.WriteFile(p, []byte("---\ndescription: x\n---\n"+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// get returns the status and body of a GET.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	res, err := http.Get(h.srv.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// eventsText is every SSE frame received so far.
func (h *harness) eventsText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, e := range h.events {
		b.WriteString(asJSON(e))
	}
	return b.String()
}

// dataContains reports whether any file under dir holds s.
func dataContains(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	if err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), s) {
				found = p
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// Hole 1: symlinked rules, agents and commands in a cloned repository do
// not leak outside files into the system prompt, the model request, the
// config answers, the message files or SSE.
func TestHole1SymlinkedRulesAgentsCommandsLeakNothing(t *testing.T) {
	secret := outsideSecret(t)
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"ok"}})
	h := newHarness(t, harnessOpts{
		config: `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}}}`,
		env:    map[string]string{"ANTHROPIC_API_KEY": "k"},
		setup: func(dir string) {
			if err := os.Symlink("/proc/self/environ", filepath.Join(dir, "AGENTS.md")); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(secret, filepath.Join(dir, "CLAUDE.md")); err != nil {
				t.Error(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, ".opencode", "command"), 0o755); err != nil {
				t.Error(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, ".opencode", "agent"), 0o755); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(secret, filepath.Join(dir, ".opencode", "command", "leak.md")); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(secret, filepath.Join(dir, ".opencode", "agent", "leak.md")); err != nil {
				t.Error(err)
			}
		},
	})
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), &res)
	if res.Info.Error != nil {
		t.Fatalf("prompt: %+v", res.Info.Error)
	}
	raw := string(fake.Requests()[0].Raw)
	if strings.Contains(raw, canary) || strings.Contains(raw, "ANTHROPIC_API_KEY") || strings.Contains(raw, "PATH=") {
		t.Errorf("model request carries outside content: %.600s", raw)
	}
	for _, p := range []string{"/command", "/agent", "/config", "/session/" + sid + "/message"} {
		if code, body := h.get(p); code != 200 || strings.Contains(body, canary) {
			t.Errorf("GET %s: %d, canary present: %v", p, code, strings.Contains(body, canary))
		}
	}
	if f := dataContains(t, h.data, canary); f != "" {
		t.Errorf("canary stored in %s", f)
	}
	if strings.Contains(h.eventsText(), canary) {
		t.Error("canary in SSE")
	}
}

// Hole 3: a FIFO, a socket or a hard link in the project never hangs the
// file routes or the read tool, and abandoned requests do not pile up.
func TestHole3FifoNeverHangs(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "read", Args: `{"filePath":"p"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	if err := syscall.Mkfifo(filepath.Join(h.dir, "p"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, p := range []string{"/file/content?path=p", "/file?path=p"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+p, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", p, res.StatusCode)
		}
	}
	// Many requests abandoned after 50 ms: the server stays responsive.
	var wg sync.WaitGroup
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(c, "GET", h.srv.URL+"/file/content?path=p", nil)
			if res, err := http.DefaultClient.Do(req); err == nil {
				_ = res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if code, _ := h.get("/app"); code != 200 {
		t.Fatalf("server unhealthy after abandoned requests: %d", code)
	}
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("read p"))
	res := waitResult(t, done)
	tools := partsOf(res, "tool")
	if len(tools) != 1 || tools[0].State.Status != "error" || !strings.Contains(tools[0].State.Error, "not a regular file") {
		t.Fatalf("read of a FIFO: %+v", tools)
	}
}

// Hole 4: ocgo's data folder inside the served directory is invisible to
// the file routes, search and the tools.
func TestHole4DataFolderInsideProjectHidden(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "x")
	a, err := newApp(appConfig{Dir: dir, DataRoot: data, Env: func(k string) string {
		return map[string]string{"HOME": t.TempDir()}[k]
	}, NoTitles: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := os.WriteFile(filepath.Join(data, "auth.json"), []byte(`{"openai":{"type":"api","key":"`+canary+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t}
	h.srv = newTestServer(t, a)
	for _, p := range []string{"/file/content?path=x/auth.json", "/file?path=x", "/file?path=x/auth.json"} {
		if code, body := h.get(p); code != http.StatusForbidden || strings.Contains(body, canary) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the watcher see the write
	for _, p := range []string{"/find/file?query=auth", "/find?pattern=CANARY", "/file?path=."} {
		if code, body := h.get(p); code != 200 || strings.Contains(body, "auth.json") || strings.Contains(body, canary) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
}

// Hole 6: an agent allowed to edit but not to run commands cannot write
// .git/config or a hook, directly or through a symlink, and cannot read
// .git through a symlink to it.
func TestHole6EditOnlyAgentCannotTouchGit(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "toolu_1", Name: "write", Args: `{"filePath":".git/hooks/pre-commit","content":"#!/bin/sh\ntouch /tmp/pwned\n"}`},
			{ID: "toolu_2", Name: "write", Args: `{"filePath":"gitlink/hooks/post-checkout","content":"#!/bin/sh\n"}`},
			{ID: "toolu_3", Name: "read", Args: `{"filePath":"gitlink/config"}`},
			{ID: "toolu_4", Name: "edit", Args: `{"filePath":".git/config","oldString":"","newString":"[core]\n\tfsmonitor = touch /tmp/pwned\n"}`},
		}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := newHarness(t, harnessOpts{
		config: `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}},"permission":{"bash":"deny","edit":"allow"}}`,
		env:    map[string]string{"ANTHROPIC_API_KEY": "k"},
		setup: func(dir string) {
			if err := os.Symlink(".git", filepath.Join(dir, "gitlink")); err != nil {
				t.Error(err)
			}
		},
	})
	cfgBefore, _ := os.ReadFile(filepath.Join(h.dir, ".git", "config"))
	sid := h.newSession()
	res := waitResult(t, h.promptAsync(sid, textPrompt("go")))
	for _, p := range partsOf(res, "tool") {
		if p.State.Status != "error" {
			t.Errorf("%s %s: %s", p.Tool, p.State.Input, p.State.Status)
		}
	}
	hooks, _ := filepath.Glob(filepath.Join(h.dir, ".git", "hooks", "p*-c*"))
	for _, hk := range hooks {
		if !strings.HasSuffix(hk, ".sample") {
			t.Errorf("hook written: %s", hk)
		}
	}
	if cfgAfter, _ := os.ReadFile(filepath.Join(h.dir, ".git", "config")); string(cfgAfter) != string(cfgBefore) {
		t.Errorf(".git/config changed:\n%s", cfgAfter)
	}
	if code, _ := h.get("/file/content?path=gitlink/config"); code != http.StatusForbidden {
		t.Errorf("/file/content through a symlink to .git: %d", code)
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// newTestServer serves a over real HTTP until the test ends.
func newTestServer(t *testing.T, a *app.App) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { a.Shutdown(); srv.Close() })
	return srv
}

// Hole 2: no secret reaches the agent's processes: not through their
// environment (by name or by value), not through /proc/$PPID/environ, not
// through /shell or a command template's !`cmd`. Real binary, canaries in
// every secret place.
func TestHole2SecretsNeverReachAgentProcesses(t *testing.T) {
	const (
		password = "pw-CANARY-2a1b3c4d"
		apiKey   = "sk-CANARY-api-5e6f7a8b"
		cfgEnv   = "CANARY-cfgenv-9c0d1e2f"
		fileVal  = "CANARY-filevalue-3a4b5c6d"
		authKey  = "sk-CANARY-authjson-7e8f9a0b"
	)
	canaries := []string{password, apiKey, cfgEnv, fileVal, authKey}
	dir, data, home := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "key.txt"), []byte(fileVal+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "auth.json"), []byte(`{"openrouter":{"type":"api","key":"`+authKey+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	probe := `tr '\0' '\n' < /proc/$PPID/environ; echo; env; echo PROBE-DONE`
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "bash", Args: asJSON(map[string]string{"command": probe, "description": "probe"})}}},
		fakellm.Turn{Text: []string{"done"}},
		fakellm.Turn{Text: []string{"done"}},
	)
	// Titles go to a model of their own: a background title request would
	// otherwise race the prompt for the scripted turns.
	titles := fakellm.NewAnthropic(t)
	titles.SetResponder(func(fakellm.Request) fakellm.Turn { return fakellm.Turn{Text: []string{"Probe"}} })
	cfg := `{"small_model":"titles/haiku","provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}},
	  "titles":{"npm":"@ai-sdk/anthropic","options":{"baseURL":"` + titles.URL + `"},"models":{"haiku":{}}},
	  "custom":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"http://127.0.0.1:9/v1","apiKey":"{env:MY_CREDS}","headers":{"X-Token":"{file:` + filepath.Join(home, "key.txt") + `}"}},"models":{"m":{}}}},
	  "command":{"leak":{"template":"look: !` + "`" + `tr '\\0' '\\n' < /proc/$PPID/environ; env; echo PROBE-DONE` + "`" + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "SHELL=/bin/sh", "OPENCODE_DISABLE_MODELS_FETCH=1",
		"OPENCODE_SERVER_PASSWORD=" + password, "ANTHROPIC_API_KEY=" + apiKey, "MY_CREDS=" + cfgEnv,
		"INNOCENT_LOOKING=" + apiKey, "ALSO_INNOCENT=x" + authKey + "x"}
	p := startOcgo(t, dir, data, env)
	defer p.stop(false)

	code, body := p.do(t, "POST", "/session", "{}", password)
	if code != 200 {
		t.Fatalf("create session: %d %s", code, body)
	}
	var s struct{ ID string }
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	code, body = p.do(t, "POST", "/session/"+s.ID+"/message", asJSON(textPrompt("probe")), password)
	outputs = append(outputs, body)
	code2, body2 := p.do(t, "POST", "/session/"+s.ID+"/shell", asJSON(map[string]string{"agent": "build", "command": probe}), password)
	outputs = append(outputs, body2)
	code3, body3 := p.do(t, "POST", "/session/"+s.ID+"/command", asJSON(map[string]string{"command": "leak", "arguments": ""}), password)
	outputs = append(outputs, body3)
	if code != 200 || code2 != 200 || code3 != 200 {
		t.Fatalf("statuses %d %d %d: %s / %s / %s", code, code2, code3, body, body2, body3)
	}
	_, all := p.do(t, "GET", "/session/"+s.ID+"/message", "", password)
	if n := strings.Count(all, "PROBE-DONE"); n < 4 || !strings.Contains(all, "PATH=") {
		t.Errorf("probes did not all run (%d outputs): %.3000s", n, all)
	}
	outputs = append(outputs, all)
	for i, out := range outputs {
		for _, c := range canaries {
			if strings.Contains(out, c) {
				t.Errorf("answer %d: canary %q reached an agent process", i, c)
			}
		}
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("%d model requests, want 3 (tool call, its answer, the command)", n)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(string(r.Raw), "Write a short title") {
			t.Errorf("the title request went to the prompt's model")
		}
	}
	for _, r := range append(fake.Requests(), titles.Requests()...) {
		for _, c := range canaries {
			if strings.Contains(string(r.Raw), c) {
				t.Errorf("canary %q in an LLM request", c)
			}
		}
	}
	for _, c := range canaries {
		if strings.Contains(p.stderr.String(), c) {
			t.Errorf("canary %q in the log", c)
		}
	}
}

// Hole 5: config answers carry no secret: per-model options, {file:}
// values, MCP command tokens, URL credentials, token-shaped values under
// harmless keys; a validation error never shows an {env:} value.
func TestHole5ConfigAnswersRedacted(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "s.txt")
	if err := os.WriteFile(secretFile, []byte("CANARY-file-value-1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `{
	  "provider": {"custom": {"npm": "@ai-sdk/openai-compatible",
	    "options": {"baseURL": "https://user:CANARY-urlpw@example.test/v1?api_key=CANARY-urlq&x=1", "organization": "sk-CANARYorg12345678"},
	    "models": {"m": {"options": {"apiKey": "CANARY-model-key", "headers": {"X-Custom": "CANARY-model-header"}, "note": "sk-proj-CANARYmodel0001"}}}}},
	  "mcp": {"gh": {"type": "local", "command": ["npx", "srv", "--token", "CANARY-mcp-1", "--api-key=CANARY-mcp-2", "GITHUB_TOKEN=CANARY-mcp-3", "ghp_CANARYCANARYCANARYCANARY01"]}},
	  "agent": {"build": {"prompt": "{file:` + secretFile + `}"}}
	}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	for _, p := range []string{"/config", "/config/providers"} {
		code, body := h.get(p)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		if i := strings.Index(body, "CANARY"); i >= 0 {
			t.Errorf("GET %s leaks a secret: …%s…", p, body[max(0, i-120):min(len(body), i+60)])
		}
	}
	_, body := h.get("/config")
	if !strings.Contains(body, `"npx"`) || !strings.Contains(body, "example.test") {
		t.Errorf("redaction removed too much: %s", body)
	}

	// A validation error names the key, not the substituted value.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(`{"share": "{env:MY_SECRET}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	_, err := newApp(appConfig{Dir: dir, DataRoot: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Env: func(k string) string { return map[string]string{"HOME": dir, "MY_SECRET": "CANARY-enum-value"}[k] }})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	if strings.Contains(err.Error(), "CANARY") || strings.Contains(logs.String(), "CANARY") {
		t.Errorf("validation error shows the {env:} value: %v\n%s", err, logs.String())
	}
}

// Hole 7: the smaller items, over real HTTP.
func TestHole7SmallerItems(t *testing.T) {
	dir := t.TempDir()
	a, err := newApp(appConfig{Dir: dir, DataRoot: t.TempDir(), Password: "pw", Username: "opencode",
		CORS: []string{"https://app.example"}, NoTitles: true,
		Env: func(k string) string { return map[string]string{"HOME": dir}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := newTestServer(t, a)
	send := func(method, path, body string, hdr map[string]string) *http.Response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Error(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Error(err)
		}
		return res
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("opencode:pw"))

	// Defensive headers on every answer, errors included.
	for _, res := range []*http.Response{send("GET", "/app", "", map[string]string{"Authorization": auth}), send("GET", "/nope", "", nil)} {
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: missing defensive headers: %v", res.Request.URL.Path, res.Header)
		}
	}
	// A CORS preflight from an allowed origin is answered before auth; a
	// 401 to that origin carries the CORS headers.
	res := send("OPTIONS", "/session", "", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight with a password: %d %v", res.StatusCode, res.Header)
	}
	res = send("GET", "/session", "", map[string]string{"Origin": "https://app.example"})
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("401 to an allowed origin: %d %v", res.StatusCode, res.Header)
	}
	res = send("OPTIONS", "/session", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from a foreign origin got ACAO")
	}
	// GET /tui/control/next has a side effect: refused cross-origin.
	res = send("GET", "/tui/control/next", "", map[string]string{"Authorization": auth, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin GET /tui/control/next: %d", res.StatusCode)
	}
	// Body limits per route: PUT /auth/message is not a prompt route.
	big := `{"type":"api","key":"` + strings.Repeat("a", 2<<20) + `"}`
	res = send("PUT", "/auth/message", big, map[string]string{"Authorization": auth, "Content-Type": "application/json"})
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT /auth/message with 2 MiB: %d", res.StatusCode)
	}
	// A very long path is a client error, not a 500.
	res = send("GET", "/file/content?path="+strings.Repeat("a/", 3000), "", map[string]string{"Authorization": auth})
	if res.StatusCode >= 500 {
		t.Errorf("very long path: %d", res.StatusCode)
	}
	// Session files 0600 in 0700 directories, whatever the umask.
	res = send("POST", "/session", "{}", map[string]string{"Authorization": auth, "Content-Type": "application/json"})
	if res.StatusCode != 200 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	if err := filepath.Walk(a.ProjectData(), func(p string, fi os.FileInfo, err error) error {
		if err != nil || strings.Contains(p, "snapshots") {
			return nil
		}
		if fi.IsDir() && fi.Mode().Perm()&0o077 != 0 && strings.Contains(p, "storage") {
			t.Errorf("%s: mode %v", p, fi.Mode())
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v", p, fi.Mode())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
