package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// anthropicHarness is a harness whose config points "anthropic" at fake.
func anthropicHarness(t *testing.T, fake *fakellm.Server, extra string) *harness {
	t.Helper()
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}}` + extra + `}`
	return newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
}

// promptAsync sends a prompt in the background; the answer arrives on the
// returned channel.
func (h *harness) promptAsync(sid string, body map[string]any) <-chan storage.WithParts {
	done := make(chan storage.WithParts, 1)
	go func() {
		var res storage.WithParts
		h.call("POST", "/session/"+sid+"/message", body, &res)
		done <- res
	}()
	return done
}

func waitResult(t *testing.T, c <-chan storage.WithParts) storage.WithParts {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("prompt did not return")
	}
	return storage.WithParts{}
}

func partsOf(w storage.WithParts, typ string) []storage.Part {
	var out []storage.Part
	for _, p := range w.Parts {
		if p.Type == typ {
			out = append(out, p)
		}
	}
	return out
}

func textOf(w storage.WithParts) string {
	var b strings.Builder
	for _, p := range partsOf(w, "text") {
		b.WriteString(p.Text)
	}
	return b.String()
}

func (h *harness) count(typ string) int {
	n := 0
	for _, x := range h.types() {
		if x == typ {
			n++
		}
	}
	return n
}

// anthropicMessages decodes the "messages" array of a recorded request.
func anthropicMessages(t *testing.T, r fakellm.Request) []map[string]any {
	t.Helper()
	var body struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		t.Fatal(err)
	}
	return body.Messages
}

func contentTypes(m map[string]any) []string {
	var out []string
	list, _ := m["content"].([]any)
	for _, c := range list {
		out = append(out, c.(map[string]any)["type"].(string))
	}
	return out
}

func TestParallelToolCallsAnsweredInOneToolMessage(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "toolu_a", Name: "read", Args: `{"filePath":"README.md"}`},
			{ID: "toolu_b", Name: "glob", Args: `{"pattern":"*.md"}`},
		}},
		fakellm.Turn{Text: []string{"both seen"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("look"), &res)
	if res.Info.Error != nil || textOf(res) != "both seen" {
		t.Fatalf("res: %+v", res)
	}
	tools := partsOf(res, "tool")
	if len(tools) != 2 || tools[0].State.Status != "completed" || tools[1].State.Status != "completed" {
		t.Fatalf("tool parts: %+v", tools)
	}
	if len(partsOf(res, "step-start")) != 2 {
		t.Errorf("want two steps: %+v", res.Parts)
	}
	msgs := anthropicMessages(t, fake.Requests()[1])
	// user, assistant (two tool_use), user (two tool_result)
	if len(msgs) != 3 {
		t.Fatalf("second request messages: %d %v", len(msgs), msgs)
	}
	if got := strings.Join(contentTypes(msgs[1]), ","); msgs[1]["role"] != "assistant" || got != "tool_use,tool_use" {
		t.Errorf("assistant turn: %v %s", msgs[1]["role"], got)
	}
	if got := strings.Join(contentTypes(msgs[2]), ","); msgs[2]["role"] != "user" || got != "tool_result,tool_result" {
		t.Errorf("tool results turn: %v %s", msgs[2]["role"], got)
	}
	raw := string(fake.Requests()[1].Raw)
	if !strings.Contains(raw, `"tool_use_id":"toolu_a"`) || !strings.Contains(raw, `"tool_use_id":"toolu_b"`) || !strings.Contains(raw, "hello") {
		t.Errorf("results: %.1500s", raw)
	}
}

func TestRateLimitThenSuccess(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Status: 429, RetryAfter: "0"},
		fakellm.Turn{Text: []string{"after ", "the wait"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), &res)
	if res.Info.Error != nil || textOf(res) != "after the wait" {
		t.Fatalf("res: %+v", res)
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("requests: %d, want 2", n)
	}
	h.waitEvent(ofType("session.idle"))
	if h.count("session.error") != 0 {
		t.Errorf("a retried 429 published session.error")
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	turns := make([]fakellm.Turn, 4)
	for i := range turns {
		turns[i] = fakellm.Turn{Status: 500, ErrorMessage: "upstream exploded"}
	}
	fake := fakellm.NewAnthropic(t, turns...)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), &res)
	if res.Info.Error == nil || res.Info.Error.Name != "UnknownError" || !strings.Contains(res.Info.Error.Data["message"].(string), "upstream exploded") {
		t.Fatalf("error: %+v", res.Info.Error)
	}
	if n := len(fake.Requests()); n != 4 {
		t.Errorf("requests: %d, want 4 (1 + 3 retries)", n)
	}
	ev := h.waitEvent(ofType("session.error"))
	props := ev["properties"].(map[string]any)
	if props["sessionID"] != sid || props["error"].(map[string]any)["name"] != "UnknownError" {
		t.Errorf("session.error: %v", props)
	}
	var stored storage.WithParts
	h.call("GET", "/session/"+sid+"/message/"+res.Info.ID, nil, &stored)
	if stored.Info.Error == nil || stored.Info.Error.Name != "UnknownError" || stored.Info.Time.Completed == nil {
		t.Errorf("stored: %+v", stored.Info)
	}
}

func TestMalformedStreamIsStoredAsError(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"half", " an answer"}, Malformed: true})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), &res)
	if res.Info.Error == nil || res.Info.Error.Name != "UnknownError" || res.Info.Time.Completed == nil {
		t.Fatalf("info: %+v", res.Info)
	}
	if textOf(res) != "half" {
		t.Errorf("partial text: %q", textOf(res))
	}
	var stored storage.WithParts
	h.call("GET", "/session/"+sid+"/message/"+res.Info.ID, nil, &stored)
	if stored.Info.Error == nil || stored.Info.Error.Name != "UnknownError" {
		t.Errorf("stored: %+v", stored.Info)
	}
	h.waitEvent(ofType("session.error"))
}

func TestAbortKillsRunningBash(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{ToolCalls: []fakellm.ToolCall{
		{ID: "t1", Name: "bash", Args: `{"command":"echo $$ > pid.txt; exec sleep 100","description":"sleep"}`},
	}})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("sleep"))
	var pid int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(h.dir, "pid.txt"))
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && n > 0 {
			pid = n
			break
		}
	}
	if pid == 0 {
		t.Fatal("the bash tool never started")
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("sleep not running: %v", err)
	}
	var aborted bool
	h.call("POST", "/session/"+sid+"/abort", nil, &aborted)
	res := waitResult(t, done)
	if !aborted || res.Info.Error == nil || res.Info.Error.Name != "MessageAbortedError" {
		t.Fatalf("aborted=%v info=%+v", aborted, res.Info)
	}
	tools := partsOf(res, "tool")
	if len(tools) != 1 || tools[0].State.Status != "error" {
		t.Fatalf("tool part: %+v", tools)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("sleep (pid %d) still exists after abort: %v", pid, err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("the loop went on after abort: %d requests", n)
	}
}

func TestPermissionAlwaysSurvivesRestart(t *testing.T) {
	bash := func(id string) fakellm.Turn {
		return fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: id, Name: "bash", Args: `{"command":"echo hi >> log.txt","description":"log"}`}}}
	}
	fake := fakellm.NewAnthropic(t, bash("t1"), bash("t2"), fakellm.Turn{Text: []string{"logged twice"}})
	h := anthropicHarness(t, fake, `,"permission":{"bash":"ask"}`)
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("log"))
	ev := h.waitEvent(ofType("permission.updated"))
	perm := ev["properties"].(map[string]any)
	if perm["pattern"] != "echo hi >> log.txt" {
		t.Fatalf("permission: %v", perm)
	}
	h.call("POST", "/session/"+sid+"/permissions/"+perm["id"].(string), map[string]any{"response": "always"}, nil)
	res := waitResult(t, done)
	if res.Info.Error != nil || textOf(res) != "logged twice" {
		t.Fatalf("res: %+v", res)
	}
	if n := h.count("permission.updated"); n != 1 {
		t.Errorf("permission requests: %d, want 1 (the second was auto-approved)", n)
	}
	if got := read(t, filepath.Join(h.dir, "log.txt")); got != "hi\nhi\n" {
		t.Errorf("log.txt %q", got)
	}

	// After a restart the approval still holds for this session.
	h.restart()
	fake.Push(bash("t3"), fakellm.Turn{Text: []string{"logged again"}})
	res = waitResult(t, h.promptAsync(sid, textPrompt("log again")))
	if res.Info.Error != nil || textOf(res) != "logged again" {
		t.Fatalf("after restart: %+v", res)
	}
	if n := h.count("permission.updated"); n != 0 {
		t.Errorf("asked again after restart: %d", n)
	}
	if got := read(t, filepath.Join(h.dir, "log.txt")); got != "hi\nhi\nhi\n" {
		t.Errorf("log.txt %q", got)
	}
	// Another session is not covered by that approval.
	other := h.newSession()
	fake.Push(bash("t4"))
	done = h.promptAsync(other, textPrompt("log"))
	ev = h.waitEvent(ofType("permission.updated"))
	h.call("POST", "/session/"+other+"/permissions/"+ev["properties"].(map[string]any)["id"].(string), map[string]any{"response": "reject"}, nil)
	waitResult(t, done)
}
