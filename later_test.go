package main

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ocgo/openapi/check"
	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// rawCall sends a request and returns the status, headers and body.
func rawCall(t *testing.T, h *harness, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, data
}

// docChecker checks answers against the server's own /doc.
func docChecker(t *testing.T, h *harness) func(method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	_, _, doc := rawCall(t, h, "GET", "/doc", "")
	if err := check.Validate(doc); err != nil {
		t.Fatalf("/doc invalid: %v", err)
	}
	v, err := check.ResponseValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	return func(method, path string, status int, header http.Header, body []byte) {
		t.Helper()
		if err := v(method, path, status, header, body); err != nil {
			t.Errorf("%s %s (%d) does not match /doc: %v\n%s", method, path, status, err, body)
		}
	}
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return slices.Sorted(maps.Keys(m))
}

// TestLaterEndpointsDiffForkTodo: GET /session/:id/diff, POST
// /session/:id/fork and GET /session/:id/todo on a recorded session, in the
// shapes of the later JS SDK's FileDiff, Session and Todo types.
func TestLaterEndpointsDiffForkTodo(t *testing.T) {
	h, sid, msgs := recordedSession(t)
	verify := docChecker(t, h)

	// The first answer's diff (FileDiff: file, before, after, additions, deletions).
	path := "/session/" + sid + "/diff?messageID=" + msgs[1].Info.ID
	code, hdr, body := rawCall(t, h, "GET", path, "")
	verify("GET", path, code, hdr, body)
	var diffs []json.RawMessage
	if err := json.Unmarshal(body, &diffs); err != nil {
		t.Fatal(err)
	}
	if code != 200 || len(diffs) != 2 {
		t.Fatalf("diff: %d %s", code, body)
	}
	if k := keys(t, diffs[0]); !slices.Equal(k, []string{"additions", "after", "before", "deletions", "file"}) {
		t.Errorf("FileDiff keys %v", k)
	}
	var fd []struct {
		File, Before, After  string
		Additions, Deletions int
	}
	if err := json.Unmarshal(body, &fd); err != nil {
		t.Fatal(err)
	}
	if fd[0].File != "README.md" || fd[0].Before != "hello\n" || fd[0].After != "v2\n" || fd[0].Additions != 1 || fd[0].Deletions != 1 ||
		fd[1].File != "new.txt" || fd[1].Before != "" || fd[1].After != "created\n" || fd[1].Additions != 1 || fd[1].Deletions != 0 {
		t.Errorf("diff of the first answer: %+v", fd)
	}
	// The whole session, with the second prompt reverted: the first answer's changes only.
	code, _, body = rawCall(t, h, "GET", "/session/"+sid+"/diff", "")
	if err := json.Unmarshal(body, &fd); err != nil {
		t.Fatal(err)
	}
	if code != 200 || len(fd) != 2 || fd[0].After != "v2\n" {
		t.Errorf("session diff: %d %s", code, body)
	}
	for _, bad := range []struct {
		path string
		code int
	}{{"/session/" + sid + "/diff?messageID=nope", 400}, {"/session/" + sid + "/diff?messageID=msg_missing", 404}, {"/session/ses_missing/diff", 404}} {
		if code, _, body := rawCall(t, h, "GET", bad.path, ""); code != bad.code {
			t.Errorf("%s: %d %s", bad.path, code, body)
		}
	}

	// Fork before the second prompt: the first exchange, new IDs, same snapshots.
	code, hdr, body = rawCall(t, h, "POST", "/session/"+sid+"/fork", `{"messageID":"`+msgs[2].Info.ID+`"}`)
	verify("POST", "/session/"+sid+"/fork", code, hdr, body)
	var fork storage.Session
	if err := json.Unmarshal(body, &fork); err != nil {
		t.Fatal(err)
	}
	if code != 200 || fork.ID == sid || fork.Revert != nil || !strings.HasSuffix(fork.Title, "(fork)") {
		t.Fatalf("fork: %d %s", code, body)
	}
	var forked []storage.WithParts
	h.call("GET", "/session/"+fork.ID+"/message", nil, &forked)
	if len(forked) != 2 || forked[0].Info.ID == msgs[0].Info.ID || forked[1].Info.SessionID != fork.ID || len(forked[1].Parts) != len(msgs[1].Parts) {
		t.Fatalf("forked messages: %+v", forked)
	}
	code, _, body = rawCall(t, h, "GET", "/session/"+fork.ID+"/diff?messageID="+forked[1].Info.ID, "")
	if code != 200 || !strings.Contains(string(body), `"after":"v2\n"`) {
		t.Errorf("the fork's diff: %d %s", code, body)
	}
	var all storage.Session
	if code := h.call("POST", "/session/"+sid+"/fork", nil, &all); code != 200 {
		t.Fatalf("fork without a body: %d", code)
	}
	h.call("GET", "/session/"+all.ID+"/message", nil, &forked)
	if len(forked) != 4 {
		t.Errorf("a whole fork has %d messages", len(forked))
	}
	if code, _, body := rawCall(t, h, "POST", "/session/"+sid+"/fork", `{"messageID":"msg_missing"}`); code != 404 {
		t.Errorf("fork at an unknown message: %d %s", code, body)
	}

	// Todos: none yet is [], and the Todo shape once the agent wrote some.
	code, hdr, body = rawCall(t, h, "GET", "/session/"+sid+"/todo", "")
	verify("GET", "/session/"+sid+"/todo", code, hdr, body)
	if code != 200 || string(body) != "[]" {
		t.Errorf("todo: %d %s", code, body)
	}
	if code, _, _ := rawCall(t, h, "GET", "/session/ses_missing/todo", ""); code != 404 {
		t.Errorf("todo of an unknown session: %d", code)
	}
}

func TestLaterEndpointsTodoStatusPromptAsync(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "t1", Name: "todowrite",
			Args: `{"todos":[{"content":"write the tests","status":"in_progress","priority":"high","id":"1"}]}`}}},
		fakellm.Turn{Text: []string{"listed"}},
		fakellm.Turn{Text: []string{"thinking hard"}, Hang: true},
	)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	verify := docChecker(t, h)
	sid := h.newSession()

	// prompt_async answers 204 at once; the reply follows on SSE.
	prompt, _ := json.Marshal(textPrompt("plan"))
	start := time.Now()
	code, hdr, body := rawCall(t, h, "POST", "/session/"+sid+"/prompt_async", string(prompt))
	verify("POST", "/session/"+sid+"/prompt_async", code, hdr, body)
	if code != 204 || len(body) != 0 {
		t.Fatalf("prompt_async: %d %s", code, body)
	}
	h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)
		return e["type"] == "session.idle" && p["sessionID"] == sid
	})
	t.Logf("prompt_async answered, then the run ended %v later", time.Since(start))
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 2 || !slices.ContainsFunc(msgs[1].Parts, func(p storage.Part) bool { return p.Type == "text" && p.Text == "listed" }) {
		t.Errorf("the async prompt's reply: %+v", msgs)
	}

	code, hdr, body = rawCall(t, h, "GET", "/session/"+sid+"/todo", "")
	verify("GET", "/session/"+sid+"/todo", code, hdr, body)
	var todos []json.RawMessage
	if err := json.Unmarshal(body, &todos); err != nil {
		t.Fatal(err)
	}
	if code != 200 || len(todos) != 1 || !slices.Equal(keys(t, todos[0]), []string{"content", "id", "priority", "status"}) ||
		!strings.Contains(string(todos[0]), `"write the tests"`) {
		t.Errorf("todo: %d %s", code, body)
	}

	// Bad requests are refused at once, not on SSE.
	for _, bad := range []struct {
		path, body string
		code       int
	}{
		{"/session/ses_missing/prompt_async", string(prompt), 404},
		{"/session/" + sid + "/prompt_async", `{"parts":[]}`, 400},
		{"/session/" + sid + "/prompt_async", `{"providerID":"nope","modelID":"x","parts":[{"type":"text","text":"hi"}]}`, 400},
	} {
		if code, _, body := rawCall(t, h, "POST", bad.path, bad.body); code != bad.code {
			t.Errorf("POST %s %s: %d %s", bad.path, bad.body, code, body)
		}
	}

	// Status: idle sessions are absent; a running one is busy until aborted.
	code, hdr, body = rawCall(t, h, "GET", "/session/status", "")
	verify("GET", "/session/status", code, hdr, body)
	if code != 200 || string(body) != "{}" {
		t.Errorf("status while idle: %d %s", code, body)
	}
	rawCall(t, h, "POST", "/session/"+sid+"/prompt_async", string(prompt))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, body = rawCall(t, h, "GET", "/session/status", "")
		if string(body) == `{"`+sid+`":{"type":"busy"}}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never busy: %s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	verify("GET", "/session/status", 200, http.Header{"Content-Type": {"application/json"}}, body)
	h.call("POST", "/session/"+sid+"/abort", nil, nil)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, _, body = rawCall(t, h, "GET", "/session/status", ""); string(body) == "{}" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after abort: %s", body)
		}
	}
	// The fixed path does not shadow sessions: GET /session/:id still works.
	if code := h.call("GET", "/session/"+sid, nil, nil); code != 200 {
		t.Errorf("GET /session/:id: %d", code)
	}
}

// TestExportImportHTTP moves a session between two servers with GET
// /session/:id/export and POST /session/import.
func TestExportImportHTTP(t *testing.T) {
	h, sid, _ := recordedSession(t)
	verify := docChecker(t, h)
	code, hdr, doc := rawCall(t, h, "GET", "/session/"+sid+"/export", "")
	verify("GET", "/session/"+sid+"/export", code, hdr, doc)
	if code != 200 || !strings.Contains(string(doc), `"format":"ocgo-session/1"`) {
		t.Fatalf("export: %d %.200s", code, doc)
	}
	other := newHarness(t, harnessOpts{noSSE: true})
	if err := os.WriteFile(filepath.Join(other.dir, "README.md"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, hdr, body := rawCall(t, other, "POST", "/session/import", string(doc))
	verify("POST", "/session/import", code, hdr, body)
	if code != 200 || !strings.Contains(string(body), sid) {
		t.Fatalf("import: %d %s", code, body)
	}
	if _, _, again := rawCall(t, other, "GET", "/session/"+sid+"/export", ""); string(again) != string(doc) {
		t.Errorf("export → import → export over HTTP is not byte-identical")
	}
	if code, _, body := rawCall(t, other, "POST", "/session/import", string(doc)); code != 409 || !strings.Contains(string(body), "ConflictError") {
		t.Errorf("second import: %d %s", code, body)
	}
	code, _, body = rawCall(t, other, "POST", "/session/import?newIDs=true", string(doc))
	var s storage.Session
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if code != 200 || s.ID == sid || s.ID == "" {
		t.Errorf("import with new IDs: %d %s", code, body)
	}
	if code, _, body := rawCall(t, other, "POST", "/session/import", `{"format":"other"}`); code != 400 {
		t.Errorf("a foreign document: %d %s", code, body)
	}
	var list []storage.Session
	other.call("GET", "/session", nil, &list)
	if len(list) != 2 {
		t.Errorf("%d sessions after the imports", len(list))
	}
}
