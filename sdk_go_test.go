package main

// These tests drive the in-process server through the published Go SDK
// (github.com/sst/opencode-sdk-go v0.2.0, the module matching opencode
// 0.5.29's routes) over real HTTP, so a wire-format slip that the SDK's
// decoder would trip over shows up here rather than in a user's TUI.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	opencode "github.com/sst/opencode-sdk-go"
	"github.com/sst/opencode-sdk-go/option"
)

// sdkEnv is one served project: the in-process server, an SDK client for
// it, and the directories it was given.
type sdkEnv struct {
	client   *opencode.Client
	srv      *httptest.Server
	proj     string // git project directory
	dataRoot string
	home     string
	config   string // $XDG_CONFIG_HOME
	state    string // $XDG_STATE_HOME
}

// projectData is where the server must keep this project's data:
// <dataRoot>/project/<slug>, with the slug derived here independently of
// the server's code (reference §3.9).
func (e *sdkEnv) projectData() string {
	var segs []string
	for _, s := range strings.Split(filepath.ToSlash(e.proj), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	slug := regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(strings.Join(segs, "-"), "-")
	return filepath.Join(e.dataRoot, "project", slug)
}

func (e *sdkEnv) storage(parts ...string) string {
	return filepath.Join(append([]string{e.projectData(), "storage"}, parts...)...)
}

// newSDKEnv isolates HOME and the XDG directories, makes a git project and
// serves it with httptest.
func newSDKEnv(t *testing.T) *sdkEnv {
	t.Helper()
	return newSDKEnvWith(t, "")
}

// newSDKEnvWith is newSDKEnv with an opencode.json in the project (and no
// background title requests, which would take the fake model's turns).
func newSDKEnvWith(t *testing.T, config string) *sdkEnv {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need git on PATH: %v", err)
	}
	e := &sdkEnv{
		proj:     t.TempDir(),
		dataRoot: t.TempDir(),
		home:     t.TempDir(),
		config:   t.TempDir(),
		state:    t.TempDir(),
	}
	t.Setenv("HOME", e.home)
	t.Setenv("XDG_CONFIG_HOME", e.config)
	t.Setenv("XDG_STATE_HOME", e.state)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("SHELL", "/bin/sh")
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "ocgo test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
		"GIT_COMMITTER_NAME": "ocgo test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
		"GIT_CONFIG_NOSYSTEM": "1",
	} {
		t.Setenv(k, v)
	}
	if out, err := exec.Command("git", "init", "-q", e.proj).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}

	if config != "" {
		if err := os.WriteFile(filepath.Join(e.proj, "opencode.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := newApp(appConfig{Dir: e.proj, DataRoot: e.dataRoot, Env: os.Getenv, NoTitles: config != ""})
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	t.Cleanup(a.Shutdown) // runs first: ends SSE streams so srv.Close can return
	e.client = opencode.NewClient(option.WithBaseURL(e.srv.URL), option.WithMaxRetries(0))
	return e
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantStatus asserts that err is an SDK API error with the given status and
// the standard {name, data: {message}} body.
func wantStatus(t *testing.T, what string, err error, status int, name string) {
	t.Helper()
	var apiErr *opencode.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: want an SDK API error with status %d, got %v", what, status, err)
	}
	if apiErr.StatusCode != status {
		t.Fatalf("%s: status %d, want %d (%s)", what, apiErr.StatusCode, status, apiErr.JSON.RawJSON())
	}
	var body struct {
		Name string `json:"name"`
		Data struct {
			Message string `json:"message"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(apiErr.JSON.RawJSON()), &body); err != nil {
		t.Fatalf("%s: error body is not JSON: %v (%q)", what, err, apiErr.JSON.RawJSON())
	}
	if body.Name != name || body.Data.Message == "" {
		t.Fatalf("%s: error body %s, want name %q and a message", what, apiErr.JSON.RawJSON(), name)
	}
}

func TestSDKSessionLifecycle(t *testing.T) {
	e := newSDKEnv(t)
	ctx := testCtx(t)
	sessions := e.client.Session

	// Create with an empty JSON object (what the SDK sends for no params)
	// and with no body at all (what the TUI sends).
	empty, err := sessions.New(ctx, opencode.SessionNewParams{})
	if err != nil {
		t.Fatalf("create (empty params): %v", err)
	}
	var bodiless opencode.Session
	if err := e.client.Post(ctx, "session", nil, &bodiless); err != nil {
		t.Fatalf("create (no body): %v", err)
	}
	titled, err := sessions.New(ctx, opencode.SessionNewParams{Title: opencode.F("alpha")})
	if err != nil {
		t.Fatalf("create (title): %v", err)
	}
	child, err := sessions.New(ctx, opencode.SessionNewParams{ParentID: opencode.F(titled.ID), Title: opencode.F("kid")})
	if err != nil {
		t.Fatalf("create (child): %v", err)
	}

	idRe := regexp.MustCompile(`^ses_[0-9a-f]{12}[A-Za-z0-9]{14}$`)
	for _, s := range []*opencode.Session{empty, &bodiless, titled, child} {
		if !idRe.MatchString(s.ID) {
			t.Errorf("session id %q is not a 30-char ses_ id", s.ID)
		}
		if s.Version != apiVersion {
			t.Errorf("session %s version %q, want %q", s.ID, s.Version, apiVersion)
		}
		if s.Time.Created == 0 || s.Time.Updated < s.Time.Created {
			t.Errorf("session %s time %+v", s.ID, s.Time)
		}
		if _, err := os.Stat(e.storage("session", "info", s.ID+".json")); err != nil {
			t.Errorf("session %s not on disk: %v", s.ID, err)
		}
	}
	if !strings.HasPrefix(empty.Title, "New session - ") || !strings.HasPrefix(bodiless.Title, "New session - ") {
		t.Errorf("default titles %q, %q; want \"New session - <time>\"", empty.Title, bodiless.Title)
	}
	if titled.Title != "alpha" || child.Title != "kid" {
		t.Errorf("titles %q, %q", titled.Title, child.Title)
	}
	if child.ParentID != titled.ID {
		t.Errorf("child parentID %q, want %q", child.ParentID, titled.ID)
	}
	if !titled.JSON.ParentID.IsMissing() {
		t.Errorf("root session carries parentID: %s", titled.JSON.RawJSON())
	}

	// List: every session, newest update first.
	list, err := sessions.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(*list) != 4 {
		t.Fatalf("list has %d sessions, want 4", len(*list))
	}
	for i := 1; i < len(*list); i++ {
		if (*list)[i-1].Time.Updated < (*list)[i].Time.Updated {
			t.Errorf("list not sorted by time.updated descending at %d", i)
		}
	}

	got, err := sessions.Get(ctx, titled.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != titled.ID || got.Title != "alpha" {
		t.Errorf("get returned %s %q", got.ID, got.Title)
	}

	time.Sleep(2 * time.Millisecond) // so the bump of time.updated is visible
	upd, err := sessions.Update(ctx, titled.ID, opencode.SessionUpdateParams{Title: opencode.F("beta")})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Title != "beta" || upd.Time.Updated <= titled.Time.Updated || upd.Time.Created != titled.Time.Created {
		t.Errorf("update returned title %q time %+v (before %+v)", upd.Title, upd.Time, titled.Time)
	}
	raw, err := os.ReadFile(e.storage("session", "info", titled.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal(raw, &onDisk); err != nil || onDisk.Title != "beta" {
		t.Errorf("session file after update: %v %s", err, raw)
	}
	if !strings.Contains(string(raw), "\n  \"id\": ") {
		t.Errorf("session file is not 2-space indented JSON: %s", raw)
	}
	if list, err = sessions.List(ctx); err != nil || (*list)[0].ID != titled.ID {
		t.Errorf("after update the renamed session should list first: %v", err)
	}

	kids, err := sessions.Children(ctx, titled.ID)
	if err != nil {
		t.Fatalf("children: %v", err)
	}
	if len(*kids) != 1 || (*kids)[0].ID != child.ID {
		t.Errorf("children = %+v, want only %s", *kids, child.ID)
	}
	if kids, err = sessions.Children(ctx, empty.ID); err != nil || len(*kids) != 0 {
		t.Errorf("children of a leaf: %v, %v", kids, err)
	}

	// Deleting the parent deletes the child too.
	ok, err := sessions.Delete(ctx, titled.ID)
	if err != nil || !*ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	for _, id := range []string{titled.ID, child.ID} {
		_, err := sessions.Get(ctx, id)
		wantStatus(t, "get deleted "+id, err, http.StatusNotFound, "NotFoundError")
		if _, err := os.Stat(e.storage("session", "info", id+".json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("session file %s still there after delete: %v", id, err)
		}
	}
	list, err = sessions.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	ids := map[string]bool{}
	for _, s := range *list {
		ids[s.ID] = true
	}
	if len(ids) != 2 || !ids[empty.ID] || !ids[bodiless.ID] {
		t.Errorf("after delete the list is %v, want %s and %s", ids, empty.ID, bodiless.ID)
	}
}

func TestSDKNotFound(t *testing.T) {
	e := newSDKEnv(t)
	ctx := testCtx(t)
	const missing = "ses_0123456789abcdefghijklmnop"
	_, err := e.client.Session.Get(ctx, missing)
	wantStatus(t, "get", err, http.StatusNotFound, "NotFoundError")
	var apiErr *opencode.Error
	errors.As(err, &apiErr)
	if body := apiErr.JSON.RawJSON(); strings.Contains(body, e.dataRoot) || strings.Contains(body, e.proj) {
		t.Errorf("404 body leaks a path: %s", body)
	}
	_, err = e.client.Session.Update(ctx, missing, opencode.SessionUpdateParams{Title: opencode.F("x")})
	wantStatus(t, "update", err, http.StatusNotFound, "NotFoundError")
	_, err = e.client.Session.Delete(ctx, missing)
	wantStatus(t, "delete", err, http.StatusNotFound, "NotFoundError")
	_, err = e.client.Session.Messages(ctx, missing)
	wantStatus(t, "messages", err, http.StatusNotFound, "NotFoundError")
	_, err = e.client.Session.Shell(ctx, missing, opencode.SessionShellParams{Agent: opencode.F("build"), Command: opencode.F("true")})
	wantStatus(t, "shell", err, http.StatusNotFound, "NotFoundError")

	s, err := e.client.Session.New(ctx, opencode.SessionNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Session.Message(ctx, s.ID, "msg_0123456789abcdefghijklmnop")
	wantStatus(t, "message", err, http.StatusNotFound, "NotFoundError")
}

func TestSDKApp(t *testing.T) {
	e := newSDKEnv(t)
	ctx := testCtx(t)
	// opencode-sdk-go v0.2.0 has no App.Get; the TUI reads /app the same
	// raw way through the client.
	var app struct {
		Hostname string `json:"hostname"`
		Git      *bool  `json:"git"`
		Path     map[string]string
		Time     map[string]json.RawMessage `json:"time"`
	}
	if err := e.client.Get(ctx, "app", nil, &app); err != nil {
		t.Fatalf("GET /app: %v", err)
	}
	host, _ := os.Hostname()
	if app.Hostname != host {
		t.Errorf("hostname %q, want %q", app.Hostname, host)
	}
	if app.Git == nil || !*app.Git {
		t.Errorf("git = %v, want true for a git project", app.Git)
	}
	want := map[string]string{
		"home": e.home, "config": filepath.Join(e.config, "opencode"), "state": filepath.Join(e.state, "opencode"),
		"data": e.projectData(), "root": e.proj, "cwd": e.proj,
	}
	for k, v := range want {
		if app.Path[k] != v {
			t.Errorf("path.%s = %q, want %q", k, app.Path[k], v)
		}
	}
	// The TUI writes <state>/tui without creating the directory.
	if st, err := os.Stat(app.Path["state"]); err != nil || !st.IsDir() {
		t.Errorf("path.state %q is not a directory: %v", app.Path["state"], err)
	}
	if len(app.Path) != len(want) {
		t.Errorf("path has keys %v, want exactly %d", app.Path, len(want))
	}
	if app.Time == nil {
		t.Fatalf("time missing")
	}
	if _, ok := app.Time["initialized"]; ok {
		t.Errorf("fresh project reports time.initialized: %v", app.Time)
	}

	// The SDK's typed calls that live on the app service decode too.
	var ok bool
	if err := e.client.Post(ctx, "app/init", nil, &ok); err != nil || !ok {
		t.Fatalf("POST /app/init: %v %v", ok, err)
	}
	if err := e.client.Get(ctx, "app", nil, &app); err != nil {
		t.Fatal(err)
	}
	if _, ok := app.Time["initialized"]; !ok {
		t.Errorf("time.initialized missing after /app/init: %v", app.Time)
	}
	logged, err := e.client.App.Log(ctx, opencode.AppLogParams{
		Service: opencode.F("sdk-test"), Level: opencode.F(opencode.AppLogParamsLevelInfo), Message: opencode.F("hello"),
	})
	if err != nil || !*logged {
		t.Errorf("App.Log: %v %v", logged, err)
	}
}

// shellResult is what POST /session/:id/shell actually returns (the SDK
// declares AssistantMessage; opencode 0.5.29 sends {info, parts}).
type shellResult struct {
	Info  opencode.AssistantMessage `json:"info"`
	Parts []opencode.Part           `json:"parts"`
}

func TestSDKShellAndEvents(t *testing.T) {
	e := newSDKEnv(t)
	ctx := testCtx(t)

	sess, err := e.client.Session.New(ctx, opencode.SessionNewParams{Title: opencode.F("shell")})
	if err != nil {
		t.Fatal(err)
	}

	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	stream := e.client.Event.ListStreaming(streamCtx)
	defer stream.Close()
	events := make(chan opencode.EventListResponse, 256)
	go func() {
		defer close(events)
		for stream.Next() {
			events <- stream.Current()
		}
	}()
	next := func() opencode.EventListResponse {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended: %v", stream.Err())
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("no event within 10 s")
		}
		panic("unreachable")
	}
	if ev := next(); ev.Type != opencode.EventListResponseTypeServerConnected {
		t.Fatalf("first event %q, want server.connected", ev.Type)
	}

	var res shellResult
	_, err = e.client.Session.Shell(ctx, sess.ID, opencode.SessionShellParams{
		Agent: opencode.F("build"), Command: opencode.F("echo hi; exit 3"),
	}, option.WithResponseBodyInto(&res))
	if err != nil {
		t.Fatalf("shell: %v", err)
	}
	if res.Info.Role != opencode.AssistantMessageRoleAssistant || res.Info.SessionID != sess.ID || res.Info.Time.Completed == 0 {
		t.Errorf("shell info: %s", res.Info.JSON.RawJSON())
	}
	if len(res.Parts) != 1 {
		t.Fatalf("shell returned %d parts, want 1", len(res.Parts))
	}
	part := res.Parts[0]
	if part.Type != opencode.PartTypeTool || part.Tool != "bash" || part.MessageID != res.Info.ID || part.CallID == "" {
		t.Fatalf("shell part: %s", part.JSON.RawJSON())
	}
	tool, ok := part.AsUnion().(opencode.ToolPart)
	if !ok {
		t.Fatalf("part decodes as %T, want ToolPart", part.AsUnion())
	}
	done, ok := tool.State.AsUnion().(opencode.ToolStateCompleted)
	if !ok {
		t.Fatalf("tool state %T (%s), want completed", tool.State.AsUnion(), tool.State.JSON.RawJSON())
	}
	if done.Output != "hi\n" || done.Input["command"] != "echo hi; exit 3" {
		t.Errorf("completed state: output %q input %v", done.Output, done.Input)
	}
	if done.Metadata["output"] != "hi\n" || done.Metadata["exit"] != float64(3) {
		t.Errorf("metadata %v, want output \"hi\\n\" and exit 3", done.Metadata)
	}
	if done.Time.Start == 0 || done.Time.End < done.Time.Start {
		t.Errorf("tool time %+v", done.Time)
	}

	// On disk, in opencode's layout.
	var diskPart struct {
		State struct {
			Status   string         `json:"status"`
			Metadata map[string]any `json:"metadata"`
		} `json:"state"`
	}
	raw, err := os.ReadFile(e.storage("session", "part", sess.ID, res.Info.ID, part.ID+".json"))
	if err != nil {
		t.Fatalf("tool part file: %v", err)
	}
	if err := json.Unmarshal(raw, &diskPart); err != nil || diskPart.State.Status != "completed" || diskPart.State.Metadata["exit"] != float64(3) {
		t.Errorf("tool part on disk: %v %s", err, raw)
	}
	if _, err := os.Stat(e.storage("session", "message", sess.ID, res.Info.ID+".json")); err != nil {
		t.Errorf("assistant message file: %v", err)
	}

	// Messages through the SDK: the synthetic user message, then the assistant.
	msgs, err := e.client.Session.Messages(ctx, sess.ID)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	if len(*msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(*msgs))
	}
	user, asst := (*msgs)[0], (*msgs)[1]
	if user.Info.Role != opencode.MessageRoleUser || len(user.Parts) != 1 || user.Parts[0].Type != opencode.PartTypeText || !user.Parts[0].Synthetic {
		t.Errorf("user message: %s", user.JSON.RawJSON())
	}
	if _, err := os.Stat(e.storage("session", "message", sess.ID, user.Info.ID+".json")); err != nil {
		t.Errorf("user message file: %v", err)
	}
	if asst.Info.ID != res.Info.ID || len(asst.Parts) != 1 || asst.Parts[0].ID != part.ID {
		t.Errorf("assistant message: %s", asst.JSON.RawJSON())
	}
	one, err := e.client.Session.Message(ctx, sess.ID, res.Info.ID)
	if err != nil || one.Info.ID != res.Info.ID {
		t.Errorf("message: %v", err)
	}

	// The event sequence: the session is touched, the messages and parts
	// are written, the tool part completes, then the session goes idle.
	want := []string{"session.updated", "message.updated", "message.part.updated", "message.updated", "tool-completed", "session.idle"}
	var seen []string
	for len(want) > 0 {
		ev := next()
		seen = append(seen, string(ev.Type))
		got := string(ev.Type)
		switch u := ev.AsUnion().(type) {
		case opencode.EventListResponseEventSessionUpdated:
			if u.Properties.Info.ID != sess.ID {
				t.Errorf("session.updated for %s", u.Properties.Info.ID)
			}
		case opencode.EventListResponseEventMessagePartUpdated:
			if u.Properties.Part.SessionID != sess.ID {
				t.Errorf("part event for session %s", u.Properties.Part.SessionID)
			}
			if tp, ok := u.Properties.Part.AsUnion().(opencode.ToolPart); ok && tp.State.Status == opencode.ToolPartStateStatusCompleted {
				got = "tool-completed"
			}
		case opencode.EventListResponseEventSessionIdle:
			if u.Properties.SessionID != sess.ID {
				t.Errorf("session.idle for %s", u.Properties.SessionID)
			}
		}
		switch got {
		case want[0]:
			want = want[1:]
		case "session.idle":
			t.Fatalf("session.idle before %v; events: %v", want, seen)
		}
	}

	// Updating the title is seen live too.
	if _, err := e.client.Session.Update(ctx, sess.ID, opencode.SessionUpdateParams{Title: opencode.F("renamed")}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next()
		if u, ok := ev.AsUnion().(opencode.EventListResponseEventSessionUpdated); ok {
			if u.Properties.Info.Title != "renamed" {
				t.Errorf("session.updated title %q", u.Properties.Info.Title)
			}
			break
		}
	}
	if _, err := e.client.Session.Delete(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next()
		if u, ok := ev.AsUnion().(opencode.EventListResponseEventSessionDeleted); ok {
			if u.Properties.Info.ID != sess.ID {
				t.Errorf("session.deleted for %s", u.Properties.Info.ID)
			}
			break
		}
	}
	// Parts go with the session (opencode leaves them behind).
	if _, err := os.Stat(e.storage("session", "part", sess.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("part folder survives the delete: %v", err)
	}
}

// TestSDKShellBusy checks that a second shell on a busy session is refused
// with 409 and that abort ends the first.
func TestSDKShellBusy(t *testing.T) {
	e := newSDKEnv(t)
	ctx := testCtx(t)
	sess, err := e.client.Session.New(ctx, opencode.SessionNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	var res shellResult
	go func() {
		_, err := e.client.Session.Shell(ctx, sess.ID, opencode.SessionShellParams{
			Agent: opencode.F("build"), Command: opencode.F("echo started; sleep 30"),
		}, option.WithResponseBodyInto(&res))
		first <- err
	}()
	// Wait until the first command's output is on disk: then it is running.
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := e.client.Session.Messages(ctx, sess.ID)
		if err == nil && len(*msgs) == 2 && len((*msgs)[1].Parts) == 1 {
			if m, ok := (*msgs)[1].Parts[0].State.(opencode.ToolPartState); ok {
				if md, ok := m.Metadata.(map[string]any); ok && md["output"] == "started\n" {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shell output never showed up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = e.client.Session.Shell(ctx, sess.ID, opencode.SessionShellParams{Agent: opencode.F("build"), Command: opencode.F("true")})
	wantStatus(t, "second shell", err, http.StatusConflict, "BusyError")

	aborted, err := e.client.Session.Abort(ctx, sess.ID)
	if err != nil || !*aborted {
		t.Fatalf("abort: %v %v", aborted, err)
	}
	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("aborted shell: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("abort did not end the shell")
	}
	if len(res.Parts) != 1 {
		t.Fatalf("aborted shell returned %d parts", len(res.Parts))
	}
	if st := res.Parts[0].State.(opencode.ToolPartState); st.Status != opencode.ToolPartStateStatusError {
		t.Errorf("aborted tool state %q, want error", st.Status)
	}
}
