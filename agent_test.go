package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// toolNames lists the tool names of a recorded Anthropic request.
func toolNames(t *testing.T, r fakellm.Request) []string {
	t.Helper()
	var body struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tl := range body.Tools {
		out = append(out, tl.Name)
	}
	return out
}

func TestDeniedToolsAreNotOffered(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"ok"}}, fakellm.Turn{Text: []string{"ok"}})
	h := anthropicHarness(t, fake, `,"permission":{"edit":"deny","webfetch":"deny","bash":{"*":"deny"}},
		"agent":{"scout":{"mode":"primary","permission":{"bash":{"*":"deny","git status":"allow"}}}}`)
	sid := h.newSession()
	h.call("POST", "/session/"+sid+"/message", textPrompt("hi"), nil)
	got := strings.Join(toolNames(t, fake.Requests()[0]), ",")
	for _, denied := range []string{"edit", "write", "bash", "webfetch"} {
		if strings.Contains(","+got+",", ","+denied+",") {
			t.Errorf("denied tool %s offered: %s", denied, got)
		}
	}
	if !strings.Contains(got, "read") || !strings.Contains(got, "grep") {
		t.Errorf("allowed tools missing: %s", got)
	}
	// A bash rule that still allows a command keeps bash on offer.
	body := textPrompt("hi")
	body["agent"] = "scout"
	h.call("POST", "/session/"+sid+"/message", body, nil)
	if got := toolNames(t, fake.Requests()[1]); !strings.Contains(strings.Join(got, ","), "bash") {
		t.Errorf("bash missing for an agent allowing `git status`: %v", got)
	}
}

// slowSite is a loopback web server (the outside world of webfetch) whose
// pages take delay to answer, or hang until the client goes when delay is 0.
func slowSite(t *testing.T, delay time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delay == 0 {
			<-r.Context().Done()
			return
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "page "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// meetingSite is a loopback web server whose pages answer only once n
// requests are in flight at the same time (or after 10 s): calls that run
// one after another take the full wait, concurrent ones answer at once.
func meetingSite(t *testing.T, n int) (*httptest.Server, func() int) {
	var mu sync.Mutex
	inflight, most := 0, 0
	met := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		if inflight > most {
			most = inflight
		}
		if inflight == n {
			close(met)
		}
		mu.Unlock()
		select {
		case <-met:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "page "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return most }
}

// Two tools of one step are in flight at the same time, the step-finish
// part follows them, and the results go back in call order.
func TestToolsOfOneStepRunConcurrently(t *testing.T) {
	site, most := meetingSite(t, 2)
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{
			{ID: "toolu_1", Name: "webfetch", Args: `{"url":"` + site.URL + `/first","format":"text"}`},
			{ID: "toolu_2", Name: "webfetch", Args: `{"url":"` + site.URL + `/second","format":"text"}`},
		}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &res)
	if res.Info.Error != nil {
		t.Fatalf("error: %+v", res.Info.Error)
	}
	if got := most(); got != 2 {
		t.Errorf("at most %d of the step's two tools were in flight at once: they ran one after another", got)
	}
	var order []string
	for _, p := range res.Parts {
		if p.Type != "patch" {
			order = append(order, p.Type)
		}
	}
	if got := strings.Join(order, ","); got != "step-start,tool,tool,step-finish,step-start,text,step-finish" {
		t.Errorf("part order: %s", got)
	}
	// On the event stream the first step-finish comes after both tools
	// completed (the original publishes it once the step's tools are done).
	h.waitEvent(ofType("session.idle"))
	var seq []string
	h.mu.Lock()
	for _, ev := range h.events {
		p, _ := ev["properties"].(map[string]any)["part"].(map[string]any)
		if ev["type"] != "message.part.updated" || p == nil {
			continue
		}
		switch p["type"] {
		case "step-finish":
			seq = append(seq, "finish")
		case "tool":
			if st, _ := p["state"].(map[string]any); st["status"] == "completed" {
				seq = append(seq, "tool-done")
			}
		}
	}
	h.mu.Unlock()
	if got := strings.Join(seq, ","); !strings.HasPrefix(got, "tool-done,tool-done,finish") {
		t.Errorf("events: %s", got)
	}
	msgs := anthropicMessages(t, fake.Requests()[1])
	b, _ := json.Marshal(msgs[len(msgs)-1])
	first, second := strings.Index(string(b), "toolu_1"), strings.Index(string(b), "toolu_2")
	if first < 0 || second < first || !strings.Contains(string(b), "first") || !strings.Contains(string(b), "second") {
		t.Errorf("tool results not in call order: %s", b)
	}
}

func TestAbortStopsEveryToolOfTheStep(t *testing.T) {
	site := slowSite(t, 0)
	fake := fakellm.NewAnthropic(t, fakellm.Turn{ToolCalls: []fakellm.ToolCall{
		{ID: "t1", Name: "bash", Args: `{"command":"echo $$ > a.pid; exec sleep 100","description":"a"}`},
		{ID: "t2", Name: "webfetch", Args: `{"url":"` + site.URL + `/never","format":"text"}`},
	}})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("sleep"))
	pid := 0
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(h.dir, "a.pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if pid == 0 {
		t.Fatal("bash never started")
	}
	h.waitEvent(func(ev map[string]any) bool {
		p, _ := ev["properties"].(map[string]any)["part"].(map[string]any)
		st, _ := p["state"].(map[string]any)
		return p != nil && p["tool"] == "webfetch" && st["status"] == "running"
	})
	start := time.Now()
	h.call("POST", "/session/"+sid+"/abort", nil, nil)
	res := waitResult(t, done)
	if res.Info.Error == nil || res.Info.Error.Name != "MessageAbortedError" {
		t.Fatalf("info: %+v", res.Info)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("abort took %v", d)
	}
	tools := partsOf(res, "tool")
	if len(tools) != 2 {
		t.Fatalf("tool parts: %+v", tools)
	}
	for _, p := range tools {
		if p.State.Status != "error" {
			t.Errorf("tool part after abort: %+v", p.State)
		}
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("bash (pid %d) still runs after abort", pid)
	}
}

func TestAbortedTurnsStayOutOfLaterRequests(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Text: []string{"half-said thought"}, Hang: true},
		fakellm.Turn{Text: []string{"fresh"}},
	)
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	done := h.promptAsync(sid, textPrompt("first"))
	h.waitEvent(func(ev map[string]any) bool {
		p, _ := ev["properties"].(map[string]any)["part"].(map[string]any)
		text, _ := p["text"].(string)
		return ev["type"] == "message.part.updated" && strings.Contains(text, "half")
	})
	h.call("POST", "/session/"+sid+"/abort", nil, nil)
	waitResult(t, done)
	h.call("POST", "/session/"+sid+"/message", textPrompt("second"), nil)
	b, _ := json.Marshal(anthropicMessages(t, fake.Requests()[1]))
	if strings.Contains(string(b), "half-said") {
		t.Errorf("the aborted answer reached the next request: %s", b)
	}
	if !strings.Contains(string(b), "first") || !strings.Contains(string(b), "second") {
		t.Errorf("user turns missing: %s", b)
	}
}

func TestTextDataAttachmentReachesTheModel(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"seen"}}, fakellm.Turn{Text: []string{"seen"}})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	body := map[string]any{"providerID": "anthropic", "modelID": sonnet, "parts": []any{
		map[string]any{"type": "text", "text": "summarise"},
		map[string]any{"type": "file", "mime": "text/plain", "filename": "notes.txt",
			"url": "data:text/plain;base64,U2VjcmV0IHJlY2lwZTogb25lIGVnZy4K"}, // "Secret recipe: one egg.\n"
		map[string]any{"type": "file", "mime": "text/markdown", "filename": "b.md", "url": "data:text/markdown,%23%20Title%20two"},
	}}
	h.call("POST", "/session/"+sid+"/message", body, nil)
	b, _ := json.Marshal(anthropicMessages(t, fake.Requests()[0]))
	if !strings.Contains(string(b), "Secret recipe: one egg.") || !strings.Contains(string(b), "# Title two") {
		t.Errorf("attachment content not sent: %s", b)
	}
	if !strings.Contains(string(b), `notes.txt`) {
		t.Errorf("file name not sent: %s", b)
	}
}

func TestPlanAndBuildReminders(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"a plan"}}, fakellm.Turn{Text: []string{"built"}}, fakellm.Turn{Text: []string{"again"}})
	h := anthropicHarness(t, fake, "")
	sid := h.newSession()
	plan := textPrompt("plan it")
	plan["agent"] = "plan"
	h.call("POST", "/session/"+sid+"/message", plan, nil)
	h.call("POST", "/session/"+sid+"/message", textPrompt("do it"), nil)
	h.call("POST", "/session/"+sid+"/message", textPrompt("more"), nil)
	last := func(i int) string {
		msgs := anthropicMessages(t, fake.Requests()[i])
		b, _ := json.Marshal(msgs[len(msgs)-1])
		return string(b)
	}
	if s := last(0); !strings.Contains(s, "plan it") || !strings.Contains(s, "Plan mode is on") {
		t.Errorf("plan request's user turn: %s", s)
	}
	if s := last(1); !strings.Contains(s, "switched from plan mode to build mode") || strings.Contains(s, "Plan mode is on") {
		t.Errorf("build request after plan: %s", s)
	}
	all, _ := json.Marshal(anthropicMessages(t, fake.Requests()[2]))
	if strings.Contains(string(all), "system-reminder") {
		t.Errorf("reminders are stored or repeated: %s", all)
	}
	var msgs []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &msgs)
	for _, m := range msgs {
		for _, p := range m.Parts {
			if strings.Contains(p.Text, "system-reminder") {
				t.Errorf("reminder stored: %+v", p)
			}
		}
	}
}

func TestCustomProviderEnvIsAnArray(t *testing.T) {
	h := newHarness(t, harnessOpts{config: `{"provider":{"local":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"http://127.0.0.1:9/v1"},"models":{"m":{}}}}}`})
	var out struct {
		Providers []map[string]any `json:"providers"`
	}
	h.call("GET", "/config/providers", nil, &out)
	for _, p := range out.Providers {
		if p["id"] == "local" {
			if env, ok := p["env"].([]any); !ok || env == nil {
				t.Errorf("env: %#v", p["env"])
			}
			return
		}
	}
	t.Errorf("provider missing: %+v", out)
}
