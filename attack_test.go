package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/routes"
	"ocgo/storage"
)

// TestAttackSuite attacks every route of the table over real HTTP, so a new
// route cannot skip it: a foreign Host, no credentials, a cross-origin
// state change, a non-JSON body, traversal/symlink/special-file/ID payloads
// in every path and query parameter; and secret canaries (password, API
// keys from the environment, {env:} config values, auth.json, a file
// outside the project, .git/config credentials, ocgo's data folder inside
// the project) must never appear in a response, an SSE frame, a log line,
// an LLM request or an agent process's environment.
func TestAttackSuite(t *testing.T) {
	const (
		cPassword = "pw-CANARY-attack-0001"
		cEnvKey   = "sk-CANARY-attack-envkey-0002"
		cCfgEnv   = "CANARY-attack-cfgenv-0003"
		cAuth     = "sk-CANARY-attack-authjson-0004"
		cOutside  = "CANARY-attack-outside-file-0005"
		cGit      = "CANARY-attack-gitcred-0006"
	)
	canaries := []string{cPassword, cEnvKey, cCfgEnv, cAuth, cOutside, cGit}
	t.Setenv("OPENAI_API_KEY", cEnvKey)
	t.Setenv("INNOCENT_NAME", cEnvKey) // the same key under a harmless name
	t.Setenv("MY_CFG_SECRET", cCfgEnv)

	base := t.TempDir()
	dir := filepath.Join(base, "proj")
	data := filepath.Join(dir, "x") // the data folder inside the served directory
	home := filepath.Join(base, "home")
	for _, d := range []string{filepath.Join(dir, ".git"), data, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(base, "outside.txt")
	if err := os.WriteFile(outside, []byte(cOutside), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[remote \"o\"]\n\turl = https://u:"+cGit+"@host/r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "auth.json"), []byte(`{"openrouter":{"type":"api","key":"`+cAuth+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("fine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link_out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".git", filepath.Join(dir, "gitlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/self/environ", filepath.Join(dir, "AGENTS.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, "hardlink")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "toolu_1", Name: "bash", Args: `{"command":"env; tr '\\0' '\\n' < /proc/$PPID/environ","description":"probe"}`},
			{ID: "toolu_2", Name: "read", Args: `{"filePath":"link_out"}`},
			{ID: "toolu_3", Name: "read", Args: `{"filePath":"x/auth.json"}`},
			{ID: "toolu_4", Name: "read", Args: `{"filePath":"hardlink"}`},
			{ID: "toolu_5", Name: "grep", Args: `{"pattern":"CANARY"}`},
		}},
		fakellm.Turn{Text: []string{"done"}},
	)
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(`{"provider":{"anthropic":{"options":{"baseURL":"`+fake.URL+`","apiKey":"{env:MY_CFG_SECRET}"}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	a, err := newApp(appConfig{Dir: dir, DataRoot: data, Password: cPassword, Username: "opencode", NoTitles: true,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Env: func(k string) string {
			return map[string]string{"HOME": home, "SHELL": "/bin/sh", "MY_CFG_SECRET": cCfgEnv, "OPENAI_API_KEY": cEnvKey}[k]
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := newTestServer(t, a)

	do := func(method, path, body string, hdr map[string]string) (int, string, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		req.SetBasicAuth("opencode", cPassword)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
				continue
			}
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
		c := &http.Client{Timeout: 10 * time.Second}
		res, err := c.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return 0, "", nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
		return res.StatusCode, string(b), res.Header
	}

	// SSE, recorded for the whole run.
	var frames lockedBuffer
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/event", nil)
		req.SetBasicAuth("opencode", cPassword)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			if _, err := frames.Write([]byte(sc.Text() + "\n")); err != nil {
				t.Error(err)
			}
		}
	}()

	// A real session and a prompt whose tools probe for secrets.
	code, body, _ := do("POST", "/session", "{}", nil)
	if code != 200 {
		t.Fatalf("create session: %d %s", code, body)
	}
	var sess storage.Session
	if err := json.Unmarshal([]byte(body), &sess); err != nil {
		t.Fatal(err)
	}
	code, body, _ = do("POST", "/session/"+sess.ID+"/message", asJSON(textPrompt("probe")), nil)
	if code != 200 {
		t.Fatalf("prompt: %d %s", code, body)
	}
	_, body, _ = do("GET", "/session/"+sess.ID+"/message", "", nil)
	if !strings.Contains(body, "PATH=") {
		t.Errorf("the bash probe did not run: %.2000s", body)
	}
	var msgs []storage.WithParts
	if err := json.Unmarshal([]byte(body), &msgs); err != nil {
		t.Fatal(err)
	}
	msgID := msgs[0].Info.ID

	ids := map[string]string{":id": sess.ID, ":messageID": msgID, ":permissionID": "per_0000000000000000000000000", ":token": "tok_0000000000"}
	real := func(rt routes.RouteInfo) string {
		p := rt.Path
		if strings.HasPrefix(p, "/auth/") {
			return "/auth/attackprov"
		}
		for k, v := range ids {
			p = strings.ReplaceAll(p, k, v)
		}
		return p
	}
	pathPayloads := []string{"../../../etc/passwd", "/etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", `..\..\etc\passwd`,
		"ok.txt\x00.png", "sub/../../outside.txt", "link_out", "up/outside.txt", "gitlink/config", ".git/config",
		"hardlink", "fifo", "x/auth.json", "x", outside, filepath.Join(dir, ".git", "config"), "C:\\Windows\\win.ini",
		`\\server\share`, strings.Repeat("a/", 3000) + "b"}
	idPayloads := []string{"../../../etc/passwd", "ses_../../x", "%2e%2e", "ses_" + strings.Repeat("A", 5000), "msg_x%00y", "..", "ses_ok\x00"}
	queryKinds := map[string]string{"path": "path", "pattern": "search", "query": "search", "messageID": "id", "partID": "id", "dirs": "flag", "limit": "flag", "newIDs": "flag", "directory": "path"}
	searchPayloads := []string{"CANARY", "--pre=sh", "(a+)+$", "[", strings.Repeat("(", 5000), "\x00", "../../etc/passwd"}

	var routeList = a.Routes()
	if len(routeList) < 40 {
		t.Fatalf("route table has %d routes", len(routeList))
	}
	for _, rt := range routeList {
		path := real(rt)
		name := rt.Method + " " + rt.Path
		// Host allow-list, before anything.
		if code, _, _ := do(rt.Method, path, "", map[string]string{"Host": "evil.example"}); code != http.StatusForbidden {
			t.Errorf("%s with a foreign Host: %d", name, code)
		}
		// Basic auth on every route.
		if code, _, h := do(rt.Method, path, "", map[string]string{"Authorization": ""}); code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without credentials: %d", name, code)
		}
		// A cross-origin state change.
		if rt.Method != "GET" {
			if code, _, _ := do(rt.Method, path, "{}", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
				t.Errorf("%s cross-origin: %d", name, code)
			}
			if rt.Body {
				if code, _, _ := do(rt.Method, path, "{}", map[string]string{"Content-Type": "text/plain"}); code != http.StatusUnsupportedMediaType {
					t.Errorf("%s with text/plain: %d", name, code)
				}
			}
		} else if _, _, h := do(rt.Method, path, "", map[string]string{"Origin": "https://evil.example"}); h != nil && h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: ACAO for a foreign origin", name)
		}
		// ID payloads in every path parameter.
		for _, seg := range strings.Split(rt.Path, "/") {
			if !strings.HasPrefix(seg, ":") {
				continue
			}
			for _, pl := range idPayloads {
				p := strings.Replace(real(rt), ids[seg], url.PathEscape(pl), 1)
				if strings.HasPrefix(rt.Path, "/auth/") {
					p = "/auth/" + url.PathEscape(pl)
				}
				code, body, _ := do(rt.Method, p, bodyFor(rt), nil)
				if code == 200 && !strings.HasPrefix(rt.Path, "/share/") || code >= 500 {
					t.Errorf("%s with %s=%q: %d %.200s", name, seg, pl, code, body)
				}
			}
		}
		// Payloads in every query parameter the route reads.
		for _, q := range append(append([]string{}, rt.Query...), rt.OptQuery...) {
			kind, ok := queryKinds[q]
			if !ok {
				t.Errorf("%s reads query parameter %q, which the attack suite does not know: classify it in queryKinds", name, q)
				continue
			}
			var pls []string
			switch kind {
			case "path":
				pls = pathPayloads
			case "search":
				pls = searchPayloads
			case "id":
				pls = idPayloads
			default:
				pls = []string{"-1", "99999999999999999999", "x"}
			}
			for _, pl := range pls {
				vals := url.Values{}
				for _, r := range rt.Query {
					vals.Set(r, "x")
				}
				vals.Set(q, pl)
				// Vite CVE-2025-30208: duplicated parameters and odd suffixes.
				code, body, _ := do(rt.Method, path+"?"+vals.Encode()+"&"+q+"=ok.txt&raw??", bodyFor(rt), nil)
				if code >= 500 {
					t.Errorf("%s ?%s=%.60q: %d %.200s", name, q, pl, code, body)
				}
				code, body, _ = do(rt.Method, path+"?"+vals.Encode(), bodyFor(rt), nil)
				if code >= 500 {
					t.Errorf("%s ?%s=%.60q: %d %.200s", name, q, pl, code, body)
				}
				if kind == "path" && code == 200 {
					t.Errorf("%s ?%s=%.60q: 200 %.200s", name, q, pl, body)
				}
				for _, c := range canaries {
					if strings.Contains(body, c) {
						t.Errorf("%s ?%s=%.60q leaks %s", name, q, pl, c)
					}
				}
			}
		}
	}

	// Crawl every GET route with real ids: no canary in any answer.
	for _, rt := range routeList {
		if rt.Method != "GET" || rt.Stream && !strings.HasPrefix(rt.Path, "/share/") || rt.Path == "/tui/control/next" {
			continue // streams are read above; /tui/control/next long-polls
		}
		vals := url.Values{}
		for _, q := range rt.Query {
			switch queryKinds[q] {
			case "id":
				vals.Set(q, msgID)
			case "path":
				vals.Set(q, ".")
			default:
				vals.Set(q, "a")
			}
		}
		p := real(rt)
		if len(vals) > 0 {
			p += "?" + vals.Encode()
		}
		_, body, _ := do("GET", p, "", nil)
		for _, c := range canaries {
			if strings.Contains(body, c) {
				i := strings.Index(body, c)
				t.Errorf("GET %s leaks %s: …%s…", p, c, body[max(0, i-100):min(len(body), i+40)])
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	for where, text := range map[string]string{"SSE": frames.String(), "log": logs.String(), "LLM requests": fmt.Sprint(fakeBodies(fake))} {
		for _, c := range canaries {
			if strings.Contains(text, c) {
				i := strings.Index(text, c)
				t.Errorf("%s leaks %s: …%s…", where, c, text[max(0, i-150):min(len(text), i+40)])
			}
		}
	}
}

// bodyFor is a harmless JSON body for routes that take one.
func bodyFor(rt routes.RouteInfo) string {
	if rt.Body || rt.Method == "PUT" {
		return "{}"
	}
	return ""
}

func fakeBodies(f *fakellm.Server) []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, string(r.Raw))
	}
	return out
}
