// Command fakellm serves provider/fakellm's fake OpenAI-compatible model as
// a process of its own, for clients that run outside `go test`: the JS SDK
// test (tests/js) and the stock TUI test (tests/tui) point ocgo at it
// through an opencode.json provider with options.baseURL.
//
// It prints "fakellm listening on <baseURL>" on stdout and serves until
// stdin closes or it gets SIGINT/SIGTERM. Every request is answered from
// the last message of the conversation, so any number of prompts (and
// ocgo's background title requests) can be served in any order:
//
//	last message is a tool result   → text "tool finished: <output>"
//	user text contains USE_BASH     → a bash call: echo bash-ran
//	user text contains USE_WRITE    → a write call: fake-written.txt
//	user text contains USE_THINK    → reasoning, then text
//	user text contains USE_FAIL     → a 404 model_not_found error
//	anything else                   → text "Hello from fakellm. You said: <text>"
//
// Every answer reports usage (when asked for, as the real API does).
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"ocgo/provider/fakellm"
)

// reporter logs what a testing.T would report.
type reporter struct{ cleanups []func() }

func (*reporter) Helper()                      {}
func (r *reporter) Cleanup(f func())           { r.cleanups = append(r.cleanups, f) }
func (*reporter) Errorf(f string, args ...any) { log.Printf("fakellm: error: "+f, args...) }
func (*reporter) Logf(f string, args ...any)   { log.Printf(f, args...) }
func (r *reporter) close() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func main() {
	r := &reporter{}
	srv := fakellm.NewOpenAI(r)
	srv.SetResponder(answer)
	fmt.Printf("fakellm listening on %s\n", srv.URL)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	r.close()
}

// answer scripts the model's reply from the conversation's last message.
func answer(req fakellm.Request) fakellm.Turn {
	msgs, _ := req.Body["messages"].([]any)
	var last map[string]any
	if len(msgs) > 0 {
		last, _ = msgs[len(msgs)-1].(map[string]any)
	}
	usage := fakellm.Usage{Input: 100, Output: 20}
	if last["role"] == "tool" {
		out := text(last["content"])
		if len(out) > 40 {
			out = out[:40]
		}
		return fakellm.Turn{Text: []string{"tool finished: ", strings.TrimSpace(out)}, Usage: usage}
	}
	user := text(last["content"])
	call := func(name, args string) fakellm.Turn {
		return fakellm.Turn{Text: []string{"Calling " + name + "."}, ToolCalls: []fakellm.ToolCall{{ID: "call_" + name, Name: name, Args: args}}, Usage: usage}
	}
	switch {
	case strings.Contains(user, "USE_BASH"):
		return call("bash", `{"command":"echo bash-ran","description":"echo"}`)
	case strings.Contains(user, "USE_WRITE"):
		return call("write", `{"filePath":"fake-written.txt","content":"written by fakellm\n"}`)
	case strings.Contains(user, "USE_FAIL"):
		return fakellm.Turn{Status: 404, ErrorMessage: "fakellm refuses USE_FAIL"}
	case strings.Contains(user, "USE_THINK"):
		return fakellm.Turn{Reasoning: []string{"thinking ", "it over"}, Text: []string{"Thought ", "about it."}, Usage: fakellm.Usage{Input: 100, Output: 20, Reasoning: 7}}
	}
	words := strings.Fields(user)
	if len(words) > 12 {
		words = words[:12]
	}
	return fakellm.Turn{Text: []string{"Hello from fakellm. ", "You said: ", strings.Join(words, " ")}, Usage: usage}
}

// text flattens a message's content (a string or a list of parts).
func text(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, p := range c {
			if m, ok := p.(map[string]any); ok {
				if s, ok := m["text"].(string); ok {
					b.WriteString(s)
					b.WriteString(" ")
				}
			}
		}
		return b.String()
	}
	return ""
}
