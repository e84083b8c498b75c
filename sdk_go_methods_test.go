package main

// Every service method of the published Go SDK (opencode-sdk-go v0.2.0)
// against ocgo, with a fake model behind it: the SDK's decoders see
// assistant messages with tokens and cost, every part type of a prompt with
// tools (text, reasoning, tool, step-start, step-finish, patch), the error
// union, and the event stream over a prompt that asks for a permission.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	opencode "github.com/sst/opencode-sdk-go"

	"ocgo/provider/fakellm"
)

// sdkEvents collects the typed events the SDK decodes from GET /event.
type sdkEvents struct {
	mu     sync.Mutex
	events []opencode.EventListResponseUnion
	err    error
}

func (s *sdkEvents) has(fn func(opencode.EventListResponseUnion) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if fn(e) {
			return true
		}
	}
	return false
}

func (s *sdkEvents) wait(t *testing.T, what string, fn func(opencode.EventListResponseUnion) bool) opencode.EventListResponseUnion {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, e := range s.events {
			if fn(e) {
				s.mu.Unlock()
				return e
			}
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			t.Fatalf("event stream failed before %s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event", what)
	return nil
}

func TestSDKEveryServiceMethod(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		// chat: reasoning, text and a bash call that needs approval ...
		fakellm.Turn{Reasoning: []string{"plan: ", "make a file"}, Text: []string{"Creating it."},
			ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "bash", Args: `{"command":"printf 'made\\n' > made.txt","description":"make a file"}`}},
			Usage:     fakellm.Usage{Input: 120, Output: 30, CacheRead: 10}},
		// ... then the answer after the tool result.
		fakellm.Turn{Text: []string{"Made ", "made.txt."}, Usage: fakellm.Usage{Input: 160, Output: 5}},
	)
	cfg := fmt.Sprintf(`{"provider":{"anthropic":{"options":{"baseURL":%q}}},"model":"anthropic/%s",
		"permission":{"bash":"ask"},
		"command":{"greet":{"template":"Say hello to $ARGUMENTS","description":"greets"}}}`, fake.URL, sonnet)
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-sdk-test")
	e := newSDKEnvWith(t, cfg)
	ctx := testCtx(t)
	c := e.client
	if err := os.WriteFile(filepath.Join(e.proj, "main.go"), []byte("package main\n\nfunc Hello() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The event stream, decoded by the SDK's own union, from the start.
	evs := &sdkEvents{}
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	stream := c.Event.ListStreaming(streamCtx)
	go func() {
		for stream.Next() {
			evs.mu.Lock()
			evs.events = append(evs.events, stream.Current().AsUnion())
			evs.mu.Unlock()
		}
		evs.mu.Lock()
		if streamCtx.Err() == nil {
			evs.err = fmt.Errorf("stream ended: %v", stream.Err())
		}
		evs.mu.Unlock()
	}()
	evs.wait(t, "server.connected", func(u opencode.EventListResponseUnion) bool {
		_, ok := u.(opencode.EventListResponseEventServerConnected)
		return ok
	})

	// Config, agents, commands, providers.
	if cfgGot, err := c.Config.Get(ctx); err != nil || cfgGot.Model != "anthropic/"+sonnet {
		t.Fatalf("Config.Get: %v %+v", err, cfgGot)
	}
	agents, err := c.Agent.List(ctx)
	if err != nil || len(*agents) == 0 {
		t.Fatalf("Agent.List: %v", err)
	}
	cmds, err := c.Command.List(ctx)
	if err != nil || !strings.Contains(fmt.Sprint(*cmds), "greet") {
		t.Fatalf("Command.List: %v %+v", err, cmds)
	}
	provs, err := c.App.Providers(ctx)
	if err != nil || len(provs.Providers) == 0 || provs.Default["anthropic"] == "" {
		t.Fatalf("App.Providers: %v %+v", err, provs)
	}

	// Chat: the permission is asked, answered through the SDK, the tool runs.
	sess, err := c.Session.New(ctx, opencode.SessionNewParams{Title: opencode.F("sdk")})
	if err != nil {
		t.Fatal(err)
	}
	type chatResult struct {
		res *opencode.SessionChatResponse
		err error
	}
	done := make(chan chatResult, 1)
	go func() {
		res, err := c.Session.Chat(ctx, sess.ID, opencode.SessionChatParams{
			ProviderID: opencode.F("anthropic"), ModelID: opencode.F(sonnet),
			Parts: opencode.F([]opencode.SessionChatParamsPartUnion{opencode.TextPartInputParam{
				Type: opencode.F(opencode.TextPartInputTypeText), Text: opencode.F("make a file")}}),
		})
		done <- chatResult{res, err}
	}()
	ev := evs.wait(t, "permission.updated", func(u opencode.EventListResponseUnion) bool {
		_, ok := u.(opencode.EventListResponseEventPermissionUpdated)
		return ok
	})
	perm := ev.(opencode.EventListResponseEventPermissionUpdated).Properties
	if perm.SessionID != sess.ID || perm.Type != "bash" || !strings.Contains(perm.Title, "made.txt") {
		t.Errorf("permission: %+v", perm)
	}
	if ok, err := c.Session.Permissions.Respond(ctx, sess.ID, perm.ID, opencode.SessionPermissionRespondParams{
		Response: opencode.F(opencode.SessionPermissionRespondParamsResponseOnce)}); err != nil || !*ok {
		t.Fatalf("Permissions.Respond: %v", err)
	}
	var chat *opencode.SessionChatResponse
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Chat: %v", r.err)
		}
		chat = r.res
	case <-time.After(20 * time.Second):
		t.Fatal("Chat did not return")
	}
	if b, _ := os.ReadFile(filepath.Join(e.proj, "made.txt")); string(b) != "made\n" {
		t.Fatalf("the approved tool did not run: %q", b)
	}
	info := chat.Info
	// As in opencode, the message's tokens are the last step's; cost adds up.
	if info.Role != opencode.AssistantMessageRoleAssistant || info.Tokens.Input != 160 || info.Tokens.Output != 5 ||
		info.Cost <= 0 || info.Time.Completed == 0 || info.ProviderID != "anthropic" || info.Error.Name != "" {
		t.Errorf("assistant message as the SDK decodes it: %s", info.JSON.RawJSON())
	}
	kinds := map[string]int{}
	for _, p := range chat.Parts {
		switch u := p.AsUnion().(type) {
		case opencode.TextPart:
			kinds["text"]++
		case opencode.ReasoningPart:
			if u.Text == "plan: make a file" {
				kinds["reasoning"]++
			}
		case opencode.ToolPart:
			if st, ok := u.State.AsUnion().(opencode.ToolStateCompleted); ok && u.Tool == "bash" && u.CallID == "toolu_1" && st.Input["command"] != nil {
				kinds["tool"]++
			}
		case opencode.StepStartPart:
			kinds["step-start"]++
		case opencode.StepFinishPart:
			if u.Tokens.Output > 0 {
				kinds["step-finish"]++
			}
		case opencode.PartPatchPart:
			if len(u.Files) == 1 && strings.HasSuffix(u.Files[0], "made.txt") && u.Hash != "" {
				kinds["patch"]++
			}
		default:
			t.Errorf("part decoded as %T: %s", u, p.JSON.RawJSON())
		}
	}
	for k, n := range map[string]int{"text": 2, "reasoning": 1, "tool": 1, "step-start": 2, "step-finish": 2, "patch": 1} {
		if kinds[k] != n {
			t.Errorf("%s parts: %d, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	// The same story on the event stream, in the SDK's types.
	for name, fn := range map[string]func(opencode.EventListResponseUnion) bool{
		"permission.replied": func(u opencode.EventListResponseUnion) bool {
			r, ok := u.(opencode.EventListResponseEventPermissionReplied)
			return ok && r.Properties.PermissionID == perm.ID && r.Properties.Response == "once"
		},
		"message.updated (assistant, completed)": func(u opencode.EventListResponseUnion) bool {
			m, ok := u.(opencode.EventListResponseEventMessageUpdated)
			a, isA := m.Properties.Info.AsUnion().(opencode.AssistantMessage)
			return ok && isA && a.ID == info.ID && a.Time.Completed > 0
		},
		"message.updated (user)": func(u opencode.EventListResponseUnion) bool {
			m, ok := u.(opencode.EventListResponseEventMessageUpdated)
			_, isU := m.Properties.Info.AsUnion().(opencode.UserMessage)
			return ok && isU
		},
		"message.part.updated (tool completed)": func(u opencode.EventListResponseUnion) bool {
			m, ok := u.(opencode.EventListResponseEventMessagePartUpdated)
			tp, isTool := m.Properties.Part.AsUnion().(opencode.ToolPart)
			return ok && isTool && tp.State.Status == opencode.ToolPartStateStatusCompleted
		},
		"message.part.updated (reasoning)": func(u opencode.EventListResponseUnion) bool {
			m, ok := u.(opencode.EventListResponseEventMessagePartUpdated)
			_, isR := m.Properties.Part.AsUnion().(opencode.ReasoningPart)
			return ok && isR
		},
		"session.updated": func(u opencode.EventListResponseUnion) bool {
			s, ok := u.(opencode.EventListResponseEventSessionUpdated)
			return ok && s.Properties.Info.ID == sess.ID
		},
		"session.idle": func(u opencode.EventListResponseUnion) bool {
			s, ok := u.(opencode.EventListResponseEventSessionIdle)
			return ok && s.Properties.SessionID == sess.ID
		},
	} {
		evs.wait(t, name, fn)
	}

	// Messages and Message decode the user/assistant union.
	msgs, err := c.Session.Messages(ctx, sess.ID)
	if err != nil || len(*msgs) != 2 {
		t.Fatalf("Messages: %v %d", err, len(*msgs))
	}
	user, ok := (*msgs)[0].Info.AsUnion().(opencode.UserMessage)
	if !ok {
		t.Fatalf("first message decodes as %T", (*msgs)[0].Info.AsUnion())
	}
	one, err := c.Session.Message(ctx, sess.ID, info.ID)
	if err != nil || len(one.Parts) != len(chat.Parts) {
		t.Fatalf("Message: %v", err)
	}

	// Command runs the template through the model.
	fake.Push(fakellm.Turn{Text: []string{"Hello, world!"}})
	cmd, err := c.Session.Command(ctx, sess.ID, opencode.SessionCommandParams{Command: opencode.F("greet"), Arguments: opencode.F("world")})
	if err != nil || cmd.Info.Error.Name != "" || cmd.Info.Time.Completed == 0 {
		t.Fatalf("Command: %v %+v", err, cmd)
	}
	if reqs := fake.Requests(); !strings.Contains(string(reqs[len(reqs)-1].Raw), "Say hello to world") {
		t.Errorf("command template not sent to the model")
	}

	// Init (AGENTS.md) and Summarize go through the model too.
	fake.Push(fakellm.Turn{Text: []string{"Analyzed."}})
	if ok, err := c.Session.Init(ctx, sess.ID, opencode.SessionInitParams{MessageID: opencode.F("msg_" + strings.Repeat("a", 26)),
		ProviderID: opencode.F("anthropic"), ModelID: opencode.F(sonnet)}); err != nil || !*ok {
		t.Fatalf("Init: %v", err)
	}
	fake.Push(fakellm.Turn{Text: []string{"Summary: a file was made."}})
	if ok, err := c.Session.Summarize(ctx, sess.ID, opencode.SessionSummarizeParams{ProviderID: opencode.F("anthropic"), ModelID: opencode.F(sonnet)}); err != nil || !*ok {
		t.Fatalf("Summarize: %v", err)
	}

	// Revert to the first prompt removes the file; Unrevert brings it back.
	rev, err := c.Session.Revert(ctx, sess.ID, opencode.SessionRevertParams{MessageID: opencode.F(user.ID)})
	if err != nil || rev.Revert.MessageID != user.ID {
		t.Fatalf("Revert: %v %+v", err, rev)
	}
	if _, err := os.Stat(filepath.Join(e.proj, "made.txt")); !os.IsNotExist(err) {
		t.Errorf("after Revert made.txt: %v", err)
	}
	unrev, err := c.Session.Unrevert(ctx, sess.ID)
	if err != nil || unrev.Revert.MessageID != "" {
		t.Fatalf("Unrevert: %v %+v", err, unrev)
	}
	if b, _ := os.ReadFile(filepath.Join(e.proj, "made.txt")); string(b) != "made\n" {
		t.Errorf("after Unrevert made.txt: %q", b)
	}

	// Share serves a local page and answers the Session with share.url;
	// Unshare clears it.
	shared, err := c.Session.Share(ctx, sess.ID)
	if err != nil || !strings.Contains(shared.Share.URL, "/share/") {
		t.Fatalf("Share: %v %+v", err, shared)
	}
	unshared, err := c.Session.Unshare(ctx, sess.ID)
	if err != nil || unshared.Share.URL != "" {
		t.Fatalf("Unshare: %v %+v", err, unshared)
	}

	// Children and List.
	kid, err := c.Session.New(ctx, opencode.SessionNewParams{ParentID: opencode.F(sess.ID), Title: opencode.F("kid")})
	if err != nil {
		t.Fatal(err)
	}
	if kids, err := c.Session.Children(ctx, sess.ID); err != nil || len(*kids) != 1 || (*kids)[0].ID != kid.ID {
		t.Fatalf("Children: %v", err)
	}
	if all, err := c.Session.List(ctx); err != nil || len(*all) != 2 {
		t.Fatalf("List: %v", err)
	}

	// Files and search.
	if nodes, err := c.File.List(ctx, opencode.FileListParams{Path: opencode.F(".")}); err != nil || !strings.Contains(fmt.Sprint(*nodes), "main.go") {
		t.Fatalf("File.List: %v", err)
	}
	if fc, err := c.File.Read(ctx, opencode.FileReadParams{Path: opencode.F("main.go")}); err != nil || !strings.Contains(fc.Content, "func Hello") {
		t.Fatalf("File.Read: %v %+v", err, fc)
	}
	// /file/status answers from the watcher's state: the unrevert's
	// made.txt shows once the watcher has reported it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := c.File.Status(ctx)
		if err == nil && strings.Contains(fmt.Sprint(*st), "made.txt") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("File.Status: %v %+v", err, st)
		}
	}
	if files, err := c.Find.Files(ctx, opencode.FindFilesParams{Query: opencode.F("main")}); err != nil || !strings.Contains(fmt.Sprint(*files), "main.go") {
		t.Fatalf("Find.Files: %v", err)
	}
	if matches, err := c.Find.Text(ctx, opencode.FindTextParams{Pattern: opencode.F("func Hello")}); err != nil || len(*matches) != 1 || (*matches)[0].Path.Text != "main.go" {
		t.Fatalf("Find.Text: %v %+v", err, matches)
	}
	if _, err := c.Find.Symbols(ctx, opencode.FindSymbolsParams{Query: opencode.F("Hello")}); err != nil {
		t.Fatalf("Find.Symbols: %v", err)
	}

	// The TUI control methods, answered by a TUI polling the control queue.
	asked := make(chan string, 16)
	tuiCtx, stopTUI := context.WithCancel(ctx)
	defer stopTUI()
	go func() {
		for tuiCtx.Err() == nil {
			req, _ := http.NewRequestWithContext(tuiCtx, "GET", e.srv.URL+"/tui/control/next", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			asked <- string(b)
			r, err := http.Post(e.srv.URL+"/tui/control/response", "application/json", strings.NewReader("true"))
			if err == nil {
				_ = r.Body.Close()
			}
		}
	}()
	tui := []struct {
		path string
		call func() (*bool, error)
	}{
		{"append-prompt", func() (*bool, error) {
			return c.Tui.AppendPrompt(ctx, opencode.TuiAppendPromptParams{Text: opencode.F("hi")})
		}},
		{"submit-prompt", func() (*bool, error) { return c.Tui.SubmitPrompt(ctx) }},
		{"clear-prompt", func() (*bool, error) { return c.Tui.ClearPrompt(ctx) }},
		{"open-help", func() (*bool, error) { return c.Tui.OpenHelp(ctx) }},
		{"open-sessions", func() (*bool, error) { return c.Tui.OpenSessions(ctx) }},
		{"open-themes", func() (*bool, error) { return c.Tui.OpenThemes(ctx) }},
		{"open-models", func() (*bool, error) { return c.Tui.OpenModels(ctx) }},
		{"execute-command", func() (*bool, error) {
			return c.Tui.ExecuteCommand(ctx, opencode.TuiExecuteCommandParams{Command: opencode.F("session_new")})
		}},
		{"show-toast", func() (*bool, error) {
			return c.Tui.ShowToast(ctx, opencode.TuiShowToastParams{Message: opencode.F("hello"), Variant: opencode.F(opencode.TuiShowToastParamsVariantInfo)})
		}},
	}
	for _, tc := range tui {
		ok, err := tc.call()
		if err != nil || !*ok {
			t.Fatalf("Tui %s: %v", tc.path, err)
		}
		if got := <-asked; !strings.Contains(got, `"path":"/tui/`+tc.path+`"`) {
			t.Errorf("Tui %s reached the TUI as %s", tc.path, got)
		}
	}

	// App.Log and Delete close the round.
	if ok, err := c.App.Log(ctx, opencode.AppLogParams{Service: opencode.F("sdk-test"), Level: opencode.F(opencode.AppLogParamsLevelInfo), Message: opencode.F("done")}); err != nil || !*ok {
		t.Fatalf("App.Log: %v", err)
	}
	if ok, err := c.Session.Delete(ctx, sess.ID); err != nil || !*ok {
		t.Fatalf("Delete: %v", err)
	}
	evs.wait(t, "session.deleted", func(u opencode.EventListResponseUnion) bool {
		d, ok := u.(opencode.EventListResponseEventSessionDeleted)
		return ok && d.Properties.Info.ID == sess.ID
	})
	if evs.has(func(u opencode.EventListResponseUnion) bool {
		_, ok := u.(opencode.EventListResponseEventSessionError)
		return ok
	}) {
		t.Errorf("a session.error was published")
	}
}
