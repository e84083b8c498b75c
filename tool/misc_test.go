package tool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ocgo/childenv"
)

func TestPatchAddUpdateDelete(t *testing.T) {
	e := newEnv(t)
	e.file("upd.go", "package x\n\nfunc A() {\n\treturn\n}\n\nfunc B() {\n\treturn\n}\n")
	e.file("gone.txt", "bye\n")
	e.file("old/name.txt", "one\ntwo\n")
	patch := `*** Begin Patch
*** Add File: new/hello.txt
+hello
+world
*** Update File: upd.go
@@ func B() {
-	return
+	panic("b")
*** Delete File: gone.txt
*** Update File: old/name.txt
*** Move to: renamed.txt
@@
 one
-two
+three
*** End Patch`
	r := mustRun(t, e, "patch", m{"patchText": patch})
	if got := e.content("new/hello.txt"); got != "hello\nworld\n" {
		t.Errorf("added %q", got)
	}
	if got := e.content("upd.go"); got != "package x\n\nfunc A() {\n\treturn\n}\n\nfunc B() {\n\tpanic(\"b\")\n}\n" {
		t.Errorf("updated %q", got)
	}
	if got := e.content("renamed.txt"); got != "one\nthree\n" {
		t.Errorf("moved %q", got)
	}
	for _, p := range []string{"gone.txt", "old/name.txt"} {
		if _, err := os.Stat(filepath.Join(e.path, p)); !os.IsNotExist(err) {
			t.Errorf("%s still exists", p)
		}
	}
	if r.Title != "4 files changed" || !strings.HasPrefix(r.Output, "Patch applied successfully. 4 files changed:\n  A new/hello.txt\n  M upd.go\n  D gone.txt\n  M renamed.txt") {
		t.Errorf("result %q / %q", r.Title, r.Output)
	}
	if d := r.Metadata["diff"].(string); !strings.Contains(d, "+\tpanic(\"b\")") || !strings.Contains(d, "-bye") {
		t.Errorf("diff %q", d)
	}
	if len(e.edited) != 5 {
		t.Errorf("edited %v", e.edited)
	}
	if !(Registry(Options{})[7].Info().DisabledByDefault) {
		t.Error("patch must be disabled by default")
	}
}

func TestPatchAllOrNothing(t *testing.T) {
	e := newEnv(t)
	e.file("a.txt", "a\n")
	patch := "*** Begin Patch\n*** Add File: b.txt\n+b\n*** Update File: a.txt\n@@\n-not there\n+x\n*** End Patch"
	_, err := run(t, e, "patch", m{"patchText": patch})
	if !errors.Is(err, ErrNoMatch) {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.path, "b.txt")); !os.IsNotExist(err) {
		t.Error("b.txt written although the patch failed")
	}
	for _, bad := range []string{"no header", "*** Begin Patch\n*** Frobnicate: x\n*** End Patch", "*** Begin Patch\n*** Add File: x\n+x\n"} {
		if _, err := run(t, e, "patch", m{"patchText": bad}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestWebfetch(t *testing.T) {
	page := `<!doctype html><html><head><title>T</title><style>body{}</style><script>alert(1)</script></head>
<body><h1>Hello <em>world</em></h1><p>Some <strong>bold</strong> text with a <a href="https://x.test/a">link</a> and <code>x := 1</code>.</p>
<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
<pre><code class="language-go">func main() {
	fmt.Println("hi")
}</code></pre>
<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page)
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			chunk := strings.Repeat("z", 1<<20)
			for range 6 {
				fmt.Fprint(w, chunk)
			}
		case "/plain":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "<b>not html</b>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := newEnv(t)
	opts := Options{HTTPClient: srv.Client()}
	fetch := func(in m) (Result, error) { return runOpts(t, e, "webfetch", opts, in) }

	r, err := fetch(m{"url": srv.URL + "/page", "format": "markdown"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Hello *world*\n\nSome **bold** text with a [link](https://x.test/a) and `x := 1`.\n\n- one\n- two\n\n  - nested\n\n```go\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n```\n\n| k | v |\n|---|---|\n| a | 1 |"
	if r.Output != want {
		t.Errorf("markdown:\n%s\nwant\n%s", r.Output, want)
	}
	if r.Title != srv.URL+"/page (text/html; charset=utf-8)" {
		t.Errorf("title %q", r.Title)
	}
	r, err = fetch(m{"url": srv.URL + "/page", "format": "text"})
	if err != nil || strings.Contains(r.Output, "alert") || strings.Contains(r.Output, "<") || !strings.Contains(r.Output, "Hello world") {
		t.Errorf("text %q %v", r.Output, err)
	}
	r, err = fetch(m{"url": srv.URL + "/page", "format": "html"})
	if err != nil || r.Output != page {
		t.Errorf("html %v", err)
	}
	r, err = fetch(m{"url": srv.URL + "/plain", "format": "markdown"})
	if err != nil || r.Output != "<b>not html</b>" {
		t.Errorf("plain %q %v", r.Output, err)
	}
	if _, err := fetch(m{"url": srv.URL + "/big", "format": "text"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if _, err := fetch(m{"url": srv.URL + "/missing", "format": "text"}); err == nil || !strings.Contains(err.Error(), "status code: 404") {
		t.Errorf("404: %v", err)
	}
	for _, u := range []string{"file:///etc/passwd", "ftp://x.test/a", "x.test/a", "http://"} {
		if _, err := fetch(m{"url": u, "format": "text"}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v", u, err)
		}
	}
	e.allow("webfetch", map[string]string{"*": Ask})
	e.askErr = ErrRejected
	if _, err := fetch(m{"url": srv.URL + "/page", "format": "text", "timeout": 5}); !errors.Is(err, ErrRejected) {
		t.Fatalf("rejected: %v", err)
	}
	p := e.asks[0]
	wantMeta := map[string]any{"url": srv.URL + "/page", "format": "text", "timeout": 5.0}
	if p.Type != "webfetch" || p.Pattern != srv.URL+"/page" || !reflect.DeepEqual(p.Metadata, wantMeta) {
		t.Errorf("permission %+v", p)
	}
}

func TestTodosRoundTrip(t *testing.T) {
	e := newEnv(t)
	todos := []map[string]any{
		{"content": "write tests", "status": "in_progress", "priority": "high", "id": "1"},
		{"content": "ship", "status": "completed", "priority": "low", "id": "2"},
	}
	w := mustRun(t, e, "todowrite", m{"todos": todos})
	r := mustRun(t, e, "todoread", m{})
	if w.Output != r.Output || w.Title != "1 todos" || r.Title != "1 todos" {
		t.Errorf("write %q/%q read %q/%q", w.Title, w.Output, r.Title, r.Output)
	}
	if !strings.Contains(r.Output, "\n  {\n    \"content\": \"write tests\",\n    \"status\": \"in_progress\"") {
		t.Errorf("output %s", r.Output)
	}
	// On disk, per session.
	if _, err := os.Stat(filepath.Join(e.todos.dir, "ses_1.json")); err != nil {
		t.Error(err)
	}
	if _, err := run(t, e, "todowrite", m{"todos": []m{{"content": "x", "status": "done", "priority": "high", "id": "1"}}}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad status: %v", err)
	}
	empty := newEnv(t)
	if r := mustRun(t, empty, "todoread", m{}); r.Output != "[]" || r.Title != "0 todos" {
		t.Errorf("empty %q %q", r.Output, r.Title)
	}
}

func TestTask(t *testing.T) {
	e := newEnv(t)
	var got SubtaskRequest
	e.subtask = func(req SubtaskRequest) (SubtaskResult, error) {
		got = req
		return SubtaskResult{SessionID: "ses_child", Output: "found it", Summary: []any{}}, nil
	}
	opts := Options{Agents: func() []AgentInfo { return []AgentInfo{{Name: "general", Description: "General-purpose agent"}} }}
	if d := tool(t, "task", opts).Info().Description; !strings.Contains(d, "- general: General-purpose agent") {
		t.Errorf("description lacks the agents: %s", d)
	}
	r, err := runOpts(t, e, "task", opts, m{"description": "find x", "prompt": "look for x", "subagent_type": "general"})
	if err != nil {
		t.Fatal(err)
	}
	want := SubtaskRequest{ParentSessionID: "ses_1", ParentMessageID: "msg_1", CallID: "call_1", Description: "find x", Prompt: "look for x", Agent: "general"}
	if got != want || r.Title != "find x" || r.Output != "found it" || r.Metadata["sessionId"] != "ses_child" {
		t.Errorf("req %+v result %+v", got, r)
	}
	if _, err := runOpts(t, e, "task", opts, m{"description": "d", "prompt": "p", "subagent_type": "nope"}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unknown agent: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	r := mustRun(t, newEnv(t), "invalid", m{"tool": "bash", "error": "command is required"})
	if r.Title != "Invalid Tool" || r.Output != "The arguments provided to the tool are invalid: command is required" {
		t.Errorf("%+v", r)
	}
}

func TestRegistrySchemas(t *testing.T) {
	var names []string
	for _, tl := range Registry(Options{}) {
		info := tl.Info()
		names = append(names, info.Name)
		if info.Description == "" {
			t.Errorf("%s: no description", info.Name)
		}
		for _, r := range info.Required {
			if _, ok := info.Parameters[r]; !ok {
				t.Errorf("%s: required %s not in properties", info.Name, r)
			}
		}
		s := info.Schema()
		if s["type"] != "object" || s["additionalProperties"] != false {
			t.Errorf("%s schema %v", info.Name, s)
		}
	}
	want := []string{"invalid", "bash", "edit", "webfetch", "glob", "grep", "list", "patch", "read", "write", "todowrite", "todoread", "task"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v", names)
	}
}

func TestInputErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		tool string
		in   string
	}{
		{"read", `{}`}, {"read", `{"filePath": 3}`}, {"write", `{"filePath":"a"}`}, {"edit", `{"filePath":"a","oldString":"x"}`},
		{"bash", `{"description":"x"}`}, {"bash", `{"command":"ls","timeout":-1}`}, {"glob", `{"pattern":"["}`},
		{"todowrite", `{}`}, {"task", `{"prompt":"x"}`}, {"webfetch", `{"url":"https://x.test","format":"pdf"}`},
	} {
		_, err := tool(t, c.tool, Options{}).Run(context.Background(), Call{SessionID: "s", Input: []byte(c.in)}, e)
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s %s: err %v", c.tool, c.in, err)
		}
	}
}

func TestAgentEnvironDropsCredentials(t *testing.T) {
	got := childenv.New([]string{"PATH=/bin", "ANTHROPIC_API_KEY=sk-1", "openai_api_key=x", "OPENCODE_SERVER_PASSWORD=pw", "HOME=/h"}, nil, nil).Environ()
	if strings.Join(got, " ") != "PATH=/bin HOME=/h" {
		t.Fatalf("environ: %v", got)
	}
}
