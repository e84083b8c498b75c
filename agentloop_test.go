package main

import (
	"encoding/base64"
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

func TestTaskToolRunsAChildSession(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "task1", Name: "task",
			Args: `{"description":"count files","prompt":"Count the markdown files","subagent_type":"general"}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "c1", Name: "bash", Args: `{"command":"ls *.md | wc -l","description":"count"}`}}},
		fakellm.Turn{Text: []string{"There is 1 markdown file."}},
		fakellm.Turn{Text: []string{"The subagent counted 1."}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("count"), &res)
	if res.Info.Error != nil || textOf(res) != "The subagent counted 1." {
		t.Fatalf("res: %+v", res)
	}
	var children []storage.Session
	h.call("GET", "/session/"+sid+"/children", nil, &children)
	if len(children) != 1 || children[0].ParentID != sid || !strings.Contains(children[0].Title, "count files") {
		t.Fatalf("children: %+v", children)
	}
	child := children[0].ID
	var msgs []storage.WithParts
	h.call("GET", "/session/"+child+"/message", nil, &msgs)
	if len(msgs) != 2 || msgs[0].Info.Role != "user" || msgs[0].Parts[0].Text != "Count the markdown files" || textOf(msgs[1]) != "There is 1 markdown file." {
		t.Fatalf("child messages: %+v", msgs)
	}
	childTools := partsOf(msgs[1], "tool")
	if len(childTools) != 1 || childTools[0].State.Output != "1\n" {
		t.Fatalf("child tools: %+v", childTools)
	}
	task := partsOf(res, "tool")[0]
	if task.Tool != "task" || task.State.Status != "completed" || task.State.Output != "There is 1 markdown file." {
		t.Fatalf("task part: %+v", task.State)
	}
	summary, _ := task.State.Metadata["summary"].([]any)
	if len(summary) != 1 {
		t.Fatalf("summary: %v", task.State.Metadata)
	}
	entry := summary[0].(map[string]any)
	if entry["id"] != childTools[0].ID || entry["tool"] != "bash" || entry["state"].(map[string]any)["status"] != "completed" {
		t.Errorf("summary entry: %v", entry)
	}
	if task.State.Metadata["sessionId"] != child {
		t.Errorf("metadata sessionId: %v", task.State.Metadata["sessionId"])
	}
	// The child's tools ran without the task tools.
	if raw := string(fake.Requests()[1].Raw); strings.Contains(raw, `"name":"task"`) || strings.Contains(raw, `"name":"todowrite"`) {
		t.Errorf("child request offers task/todo tools")
	}
	// session.idle only for the root session.
	h.waitEvent(ofType("session.idle"))
	for _, e := range h.events {
		if e["type"] == "session.idle" && e["properties"].(map[string]any)["sessionID"] == child {
			t.Errorf("session.idle for the child session")
		}
	}
}

func TestAbortStopsTheChildSession(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "task1", Name: "task",
			Args: `{"description":"long job","prompt":"Work forever","subagent_type":"general"}`}}},
		fakellm.Turn{Text: []string{"child working"}, Hang: true},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("delegate"))
	ev := h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)["part"].(map[string]any)
		return e["type"] == "message.part.updated" && p["text"] == "child working"
	})
	child := ev["properties"].(map[string]any)["part"].(map[string]any)["sessionID"].(string)
	if child == sid {
		t.Fatal("the text came from the parent")
	}
	h.call("POST", "/session/"+sid+"/abort", nil, nil)
	res := waitResult(t, done)
	if res.Info.Error == nil || res.Info.Error.Name != "MessageAbortedError" {
		t.Fatalf("parent: %+v", res.Info)
	}
	if task := partsOf(res, "tool"); len(task) != 1 || task[0].State.Status != "error" {
		t.Errorf("task part: %+v", task)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+child+"/message", nil, &msgs)
	if len(msgs) != 2 || msgs[1].Info.Error == nil || msgs[1].Info.Error.Name != "MessageAbortedError" || msgs[1].Info.Time.Completed == nil {
		t.Fatalf("child messages: %+v", msgs)
	}
	var busy bool
	h.call("POST", "/session/"+child+"/abort", nil, &busy)
	if busy {
		t.Errorf("the child session still runs")
	}
}

func TestTodoWriteThenRead(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w", Name: "todowrite",
			Args: `{"todos":[{"content":"write the parser","status":"in_progress","priority":"high","id":"1"},{"content":"test it","status":"pending","priority":"medium","id":"2"}]}`}}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "r", Name: "todoread", Args: `{}`}}},
		fakellm.Turn{Text: []string{"planned"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("plan"), &res)
	tools := partsOf(res, "tool")
	if res.Info.Error != nil || len(tools) != 2 || tools[0].State.Status != "completed" || tools[1].State.Status != "completed" {
		t.Fatalf("res: %+v", res)
	}
	if !strings.Contains(tools[1].State.Output, "write the parser") || !strings.Contains(tools[1].State.Output, "test it") {
		t.Errorf("todoread output: %q", tools[1].State.Output)
	}
	var onDisk []map[string]any
	data, err := os.ReadFile(filepath.Join(h.app.ProjectData(), "storage", "todo", sid+".json"))
	if err != nil || json.Unmarshal(data, &onDisk) != nil || len(onDisk) != 2 || onDisk[0]["content"] != "write the parser" || onDisk[1]["status"] != "pending" {
		t.Fatalf("todo file: %v %s", err, data)
	}
}

// hasText reports whether a recorded Anthropic request's messages mention s.
func messagesMention(t *testing.T, r fakellm.Request, s string) bool {
	b, _ := json.Marshal(anthropicMessages(t, r))
	return strings.Contains(string(b), s)
}

func TestSummarizeStartsTheNextPromptFromTheSummary(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Text: []string{"first answer"}},
		fakellm.Turn{Text: []string{"SUMMARY: one earlier exchange"}},
		fakellm.Turn{Text: []string{"second answer"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	h.call("POST", "/session/"+sid+"/message", textPrompt("first question"), nil)
	var ok bool
	if code := h.call("POST", "/session/"+sid+"/summarize", map[string]any{"providerID": "anthropic", "modelID": sonnet}, &ok); code != 200 || !ok {
		t.Fatalf("summarize: %d %v", code, ok)
	}
	reqs := fake.Requests()
	if !messagesMention(t, reqs[1], "first question") || !messagesMention(t, reqs[1], "first answer") || strings.Contains(string(reqs[1].Raw), `"name":"bash"`) {
		t.Errorf("summary request: %.1500s", reqs[1].Raw)
	}
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("second question"), &res)
	if textOf(res) != "second answer" {
		t.Fatalf("res: %+v", res)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 5 || !msgs[2].Info.Summary || msgs[2].Info.Role != "assistant" || textOf(msgs[2]) != "SUMMARY: one earlier exchange" {
		t.Fatalf("messages: %+v", msgs)
	}
	last := fake.Requests()[2]
	sent := anthropicMessages(t, last)
	if len(sent) != 3 || sent[0]["role"] != "user" || sent[1]["role"] != "assistant" || sent[2]["role"] != "user" {
		t.Errorf("roles after the summary: %v", sent)
	}
	if messagesMention(t, last, "first question") || messagesMention(t, last, "first answer") || !messagesMention(t, last, "SUMMARY:") || !messagesMention(t, last, "second question") {
		t.Errorf("request after the summary: %v", sent)
	}
}

func TestAutomaticCompactionNearTheContextLimit(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Text: []string{"first answer"}, Usage: fakellm.Usage{Input: 880, Output: 20}},
		fakellm.Turn{Text: []string{"SUMMARY of the first exchange"}, Usage: fakellm.Usage{Input: 900, Output: 10}},
		fakellm.Turn{Text: []string{"second answer"}, Usage: fakellm.Usage{Input: 50, Output: 5}},
	)
	h := anthropicHarness(t, fake, `,"model":"anthropic/`+sonnet+`"`)
	// Shrink the model's limits through config, as a user can.
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"},"models":{"` + sonnet + `":{"limit":{"context":1000,"output":100}}}}}}`
	if err := os.WriteFile(filepath.Join(h.dir, "opencode.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	h.restart()
	sid := h.newSession()
	h.call("POST", "/session/"+sid+"/message", textPrompt("first question"), nil)
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("second question"), &res)
	if res.Info.Error != nil || textOf(res) != "second answer" {
		t.Fatalf("res: %+v", res)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests: %d", len(reqs))
	}
	if !messagesMention(t, reqs[1], "first answer") || messagesMention(t, reqs[1], "second question") {
		t.Errorf("summary request: %v", anthropicMessages(t, reqs[1]))
	}
	sent := anthropicMessages(t, reqs[2])
	if messagesMention(t, reqs[2], "first answer") || !messagesMention(t, reqs[2], "SUMMARY of the first exchange") || !messagesMention(t, reqs[2], "second question") {
		t.Errorf("request after compaction: %v", sent)
	}
	if last := sent[len(sent)-1]; last["role"] != "user" || !strings.Contains(func() string { b, _ := json.Marshal(last); return string(b) }(), "second question") {
		t.Errorf("the prompt is not last: %v", sent)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	summaries := 0
	for _, m := range msgs {
		if m.Info.Summary {
			summaries++
		}
	}
	if len(msgs) != 5 || summaries != 1 {
		t.Errorf("messages %d summaries %d", len(msgs), summaries)
	}
}

func TestContextOverflowCompactsAndRetriesOnce(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Text: []string{"first answer"}},
		fakellm.Turn{Status: 400, ErrorMessage: "prompt is too long: 250000 tokens > 200000 maximum"},
		fakellm.Turn{Text: []string{"SUMMARY so far"}},
		fakellm.Turn{Text: []string{"second answer"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	h.call("POST", "/session/"+sid+"/message", textPrompt("first question"), nil)
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("second question"), &res)
	if res.Info.Error != nil || textOf(res) != "second answer" {
		t.Fatalf("res: %+v %v", res.Info.Error, len(res.Parts))
	}
	reqs := fake.Requests()
	if len(reqs) != 4 || !messagesMention(t, reqs[3], "SUMMARY so far") || messagesMention(t, reqs[3], "first answer") || !messagesMention(t, reqs[3], "second question") {
		t.Fatalf("requests %d; last: %v", len(reqs), anthropicMessages(t, reqs[len(reqs)-1]))
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	for _, m := range msgs {
		if m.Info.Error != nil {
			t.Errorf("an errored message stayed: %+v", m.Info)
		}
	}
	if len(msgs) != 5 {
		t.Errorf("messages: %d, want user, answer, user, summary, answer", len(msgs))
	}
	h.waitEvent(ofType("message.removed"))
	if h.count("session.error") != 0 {
		t.Errorf("session.error for a recovered overflow")
	}

	// A second overflow right after compaction is reported, not looped on.
	fake.Push(
		fakellm.Turn{Status: 400, ErrorMessage: "prompt is too long: 250000 tokens > 200000 maximum"},
		fakellm.Turn{Text: []string{"SUMMARY again"}},
		fakellm.Turn{Status: 400, ErrorMessage: "prompt is too long: 250000 tokens > 200000 maximum"},
	)
	h.call("POST", "/session/"+sid+"/message", textPrompt("third question"), &res)
	if res.Info.Error == nil || !strings.Contains(res.Info.Error.Data["message"].(string), "prompt is too long") {
		t.Fatalf("second overflow: %+v", res.Info)
	}
	if fake.Remaining() != 0 {
		t.Errorf("turns left: %d", fake.Remaining())
	}
}

func TestInitWritesAgentsMDAndMarksInitialized(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "w", Name: "write", Args: `{"filePath":"AGENTS.md","content":"# Agents\nRun go test ./...\n"}`}}},
		fakellm.Turn{Text: []string{"Wrote AGENTS.md"}},
	)
	h := anthropicHarness(t, fake, "")
	var app struct {
		Time struct{ Initialized int64 }
	}
	h.call("GET", "/app", nil, &app)
	if app.Time.Initialized != 0 {
		t.Fatalf("initialized before init: %v", app.Time.Initialized)
	}
	sid := h.newSession()
	var ok bool
	msgID := storage.NewIDs(nil).Ascending(storage.PrefixMessage)
	code := h.call("POST", "/session/"+sid+"/init", map[string]any{"messageID": msgID, "providerID": "anthropic", "modelID": sonnet}, &ok)
	if code != 200 || !ok {
		t.Fatalf("init: %d %v", code, ok)
	}
	if got := read(t, filepath.Join(h.dir, "AGENTS.md")); got != "# Agents\nRun go test ./...\n" {
		t.Errorf("AGENTS.md: %q", got)
	}
	if !messagesMention(t, fake.Requests()[0], "AGENTS.md") {
		t.Errorf("init prompt: %.500s", fake.Requests()[0].Raw)
	}
	h.call("GET", "/app", nil, &app)
	if app.Time.Initialized == 0 {
		t.Errorf("time.initialized not set")
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 2 || msgs[0].Info.ID != msgID {
		t.Errorf("messages: %+v", msgs)
	}
}

func TestCommandTemplateWithArgumentsAndFile(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"reviewed"}})
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("not for the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := anthropicHarness(t, fake, `,"model":"anthropic/`+sonnet+`","command":{"review":{"template":"Review $ARGUMENTS carefully, see @README.md and @`+outside+` in !`+"`pwd`"+`","description":"Review code"}}`)
	var cmds []map[string]any
	h.call("GET", "/command", nil, &cmds)
	if len(cmds) == 0 {
		t.Fatalf("GET /command: %v", cmds)
	}
	sid := h.newSession()
	var res storage.WithParts
	if code := h.call("POST", "/session/"+sid+"/command", map[string]any{"command": "review", "arguments": "the parser"}, &res); code != 200 || textOf(res) != "reviewed" {
		t.Fatalf("command: %d %+v", code, res)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	user := msgs[0]
	var kinds []string
	for _, p := range user.Parts {
		k := p.Type
		if p.Synthetic {
			k += "(synthetic)"
		}
		kinds = append(kinds, k)
	}
	if strings.Join(kinds, ",") != "text,text(synthetic),text(synthetic),file" {
		t.Fatalf("user parts: %v", kinds)
	}
	if user.Parts[0].Text != "Review the parser carefully, see @README.md and @"+outside+" in "+h.dir ||
		!strings.HasPrefix(user.Parts[1].Text, "Called the Read tool with the following input: ") ||
		!strings.Contains(user.Parts[2].Text, "hello") || user.Parts[3].Filename != "README.md" {
		t.Errorf("user parts: %+v", user.Parts)
	}
	if r := fake.Requests()[0]; !messagesMention(t, r, "Review the parser carefully") || !messagesMention(t, r, "Called the Read tool") || messagesMention(t, r, "not for the model") {
		t.Errorf("request: %.1000s", r.Raw)
	}
	if code := h.call("POST", "/session/"+sid+"/command", map[string]any{"command": "nope", "arguments": ""}, nil); code < 400 {
		t.Errorf("unknown command: %d", code)
	}
	// A bad input is refused before anything runs: no template shell step,
	// no model request, no message.
	for _, in := range []map[string]any{{"command": "", "arguments": "x"}, {"command": "review", "arguments": "x", "messageID": "nope"}} {
		if code := h.call("POST", "/session/"+sid+"/command", in, nil); code != 400 {
			t.Errorf("command input %v: %d, want 400", in, code)
		}
	}
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(fake.Requests()) != 1 || len(msgs) != 2 {
		t.Errorf("a refused command reached the model or the store: %d requests, %d messages", len(fake.Requests()), len(msgs))
	}
}

func TestTitleGeneratedWithTheSmallModel(t *testing.T) {
	main := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"sure"}})
	small := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"\"Parser refactor", " plan\""}})
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + main.URL + `"}},
  "small":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"` + small.URL + `"},"models":{"tiny":{}}}},
  "small_model":"small/tiny"}`
	h := newHarness(t, harnessOpts{config: cfg, titles: true, env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	sid := h.newSession()
	h.call("POST", "/session/"+sid+"/message", textPrompt("let us refactor the parser"), nil)
	ev := h.waitEvent(func(e map[string]any) bool {
		info, _ := e["properties"].(map[string]any)["info"].(map[string]any)
		return e["type"] == "session.updated" && info["id"] == sid && !strings.HasPrefix(info["title"].(string), "New session")
	})
	if title := ev["properties"].(map[string]any)["info"].(map[string]any)["title"]; title != "Parser refactor plan" {
		t.Errorf("title %q", title)
	}
	reqs := small.Requests()
	if len(reqs) != 1 || reqs[0].Body["model"] != "tiny" || !strings.Contains(string(reqs[0].Raw), "let us refactor the parser") {
		t.Fatalf("small model requests: %d", len(reqs))
	}
	var s storage.Session
	h.call("GET", "/session/"+sid, nil, &s)
	if s.Title != "Parser refactor plan" {
		t.Errorf("stored title %q", s.Title)
	}
	// Only the first message names the session.
	main.Push(fakellm.Turn{Text: []string{"again"}})
	h.call("POST", "/session/"+sid+"/message", textPrompt("more"), nil)
	if len(small.Requests()) != 1 {
		t.Errorf("title requested again")
	}
}

func TestFileAttachments(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"seen"}})
	h := anthropicHarness(t, fake, "")
	if err := os.WriteFile(filepath.Join(h.dir, "notes.txt"), []byte("line one\nline two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRfake-image-bytes")
	if err := os.WriteFile(filepath.Join(h.dir, "pic.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	sid := h.newSession()
	body := map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{
		map[string]any{"type": "text", "text": "look at these"},
		map[string]any{"type": "file", "mime": "text/plain", "filename": "notes.txt", "url": "file://" + filepath.Join(h.dir, "notes.txt")},
		map[string]any{"type": "file", "mime": "image/png", "filename": "pic.png", "url": "file://" + filepath.Join(h.dir, "pic.png")},
	}}
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", body, &res)
	if res.Info.Error != nil {
		t.Fatalf("res: %+v", res.Info)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	p := msgs[0].Parts
	if len(p) != 6 {
		t.Fatalf("user parts: %+v", p)
	}
	if !p[1].Synthetic || !strings.HasPrefix(p[1].Text, "Called the Read tool with the following input: ") || !strings.Contains(p[1].Text, "notes.txt") {
		t.Errorf("read call part: %+v", p[1])
	}
	if !p[2].Synthetic || !strings.Contains(p[2].Text, "line one") || !strings.Contains(p[2].Text, "line two") {
		t.Errorf("read output part: %+v", p[2])
	}
	if p[3].Type != "file" || !strings.HasPrefix(p[3].URL, "file://") {
		t.Errorf("text file part: %+v", p[3])
	}
	if !p[4].Synthetic || !strings.Contains(p[4].Text, "pic.png") {
		t.Errorf("image read part: %+v", p[4])
	}
	wantURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	if p[5].Type != "file" || p[5].URL != wantURL || p[5].Mime != "image/png" {
		t.Errorf("image part: %+v", p[5])
	}
	// The model got the text file's content as text and the image as an
	// image block with the same bytes.
	msgsSent := anthropicMessages(t, fake.Requests()[0])
	b, _ := json.Marshal(msgsSent)
	if !strings.Contains(string(b), "line two") || !strings.Contains(string(b), `"type":"image"`) || !strings.Contains(string(b), base64.StdEncoding.EncodeToString(png)) {
		t.Errorf("request messages: %s", b)
	}
	// A file outside the project is refused.
	bad := map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{
		map[string]any{"type": "file", "mime": "text/plain", "filename": "passwd", "url": "file:///etc/passwd"}}}
	if code := h.call("POST", "/session/"+sid+"/message", bad, nil); code != 400 {
		t.Errorf("outside file: %d", code)
	}
}

// A provider that pauses mid-answer must not leave clients with a stale
// prefix: text coalesced during the interval is written when it ends.
func TestPausedStreamShowsAllTextSoFar(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"part", "ial ", "answer"}, Hang: true})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("go"))
	h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)["part"].(map[string]any)
		return e["type"] == "message.part.updated" && p["text"] == "partial answer"
	})
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	if len(msgs) != 2 || textOf(msgs[1]) != "partial answer" {
		t.Errorf("stored while streaming: %+v", msgs)
	}
	h.call("POST", "/session/"+sid+"/abort", nil, nil)
	if res := waitResult(t, done); textOf(res) != "partial answer" || res.Info.Error == nil {
		t.Errorf("after abort: %q %+v", textOf(res), res.Info.Error)
	}
}
