package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"ocgo/mcp"
	"ocgo/mcp/mcptest"
	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestMain lets the test binary act as an MCP server (mcptest) when run by
// the app as a local MCP server.
func TestMain(m *testing.M) {
	if mode := os.Getenv(mcptest.EnvMode); mode != "" {
		mcptest.Main(mode)
		return
	}
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashServe(spec) // a child server of the revert model's crash operation
		return
	}
	os.Exit(m.Run())
}

// mcpConfig is an "mcp" block running this test binary as server "t", a
// disabled server and one that cannot start.
func mcpConfig(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"t":      map[string]any{"type": "local", "command": []string{exe}, "environment": map[string]string{mcptest.EnvMode: "stdio", "MCPTEST_GREETING": "env"}},
		"off":    map[string]any{"type": "local", "command": []string{exe}, "enabled": false},
		"broken": map[string]any{"type": "local", "command": []string{"/nonexistent/mcp"}},
	})
	return `,"mcp":` + string(b)
}

func toolPart(t *testing.T, w storage.WithParts, name string) storage.Part {
	t.Helper()
	for _, p := range partsOf(w, "tool") {
		if p.Tool == name {
			return p
		}
	}
	t.Fatalf("no %s tool part in %+v", name, w.Parts)
	return storage.Part{}
}

func TestMCPToolCalledEndToEnd(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "t_echo", Args: `{"text":"hi"}`}}},
		fakellm.Turn{Text: []string{"echoed"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_2", Name: "t_hang", Args: `{}`}, {ID: "toolu_3", Name: "t_fail", Args: `{}`}}},
		fakellm.Turn{Text: []string{"survived"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_4", Name: "t_crash", Args: `{}`}}},
		fakellm.Turn{Text: []string{"crashed"}},
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_5", Name: "t_echo", Args: `{"text":"back"}`}}},
		fakellm.Turn{Text: []string{"back"}},
	)
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}}` + mcpConfig(t) + `}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}, mcpTimeout: 2 * time.Second})

	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("echo hi"), &res)
	p := toolPart(t, res, "t_echo")
	if p.State.Status != "completed" || p.State.Output != "echo: hi (env)" {
		t.Fatalf("t_echo part: %+v", p.State)
	}
	// Stored and served: the message read back over HTTP holds the output.
	var back storage.WithParts
	h.call("GET", "/session/"+sid+"/message/"+res.Info.ID, nil, &back)
	if p := toolPart(t, back, "t_echo"); p.State.Output != "echo: hi (env)" {
		t.Errorf("stored part: %+v", p.State)
	}
	// The model was offered the server's tools under their opencode names,
	// and not those of the disabled or failed servers.
	var tools []string
	for _, tl := range fake.Requests()[0].Body["tools"].([]any) {
		tools = append(tools, tl.(map[string]any)["name"].(string))
	}
	joined := "," + strings.Join(tools, ",") + ","
	for _, want := range []string{",t_echo,", ",t_media_kinds,", ",read,"} {
		if !strings.Contains(joined, want) {
			t.Errorf("tools offered lack %s: %v", want, tools)
		}
	}
	if strings.Contains(joined, "off_") || strings.Contains(joined, "broken_") {
		t.Errorf("tools of a disabled or failed server offered: %v", tools)
	}

	var status map[string]mcp.ServerStatus
	h.call("GET", "/mcp", nil, &status)
	if status["t"].Status != "connected" || status["off"].Status != "disabled" || status["broken"].Status != "failed" || status["broken"].Error == "" {
		t.Errorf("GET /mcp: %+v", status)
	}

	// A call that never returns is cut off; an isError result is an error;
	// the run goes on.
	res = storage.WithParts{}
	h.call("POST", "/session/"+sid+"/message", textPrompt("try the rest"), &res)
	if p := toolPart(t, res, "t_hang"); p.State.Status != "error" || !strings.Contains(p.State.Error, "did not answer") {
		t.Errorf("t_hang part: %+v", p.State)
	}
	if p := toolPart(t, res, "t_fail"); p.State.Status != "error" || p.State.Error != "it broke" {
		t.Errorf("t_fail part: %+v", p.State)
	}
	if textOf(res) != "survived" {
		t.Errorf("run did not go on: %q", textOf(res))
	}

	// A crash is announced without a session id; the next use starts the
	// server again.
	res = storage.WithParts{}
	h.call("POST", "/session/"+sid+"/message", textPrompt("crash it"), &res)
	if p := toolPart(t, res, "t_crash"); p.State.Status != "error" {
		t.Errorf("t_crash part: %+v", p.State)
	}
	ev := h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)
		return e["type"] == "session.error" && strings.Contains(jsonOf(p["error"]), "MCP server t stopped")
	})
	if p := ev["properties"].(map[string]any); p["sessionID"] != nil || !strings.Contains(jsonOf(p["error"]), `"name":"UnknownError"`) {
		t.Errorf("session.error for an MCP server: %v", p)
	}
	res = storage.WithParts{}
	h.call("POST", "/session/"+sid+"/message", textPrompt("again"), &res)
	if p := toolPart(t, res, "t_echo"); p.State.Status != "completed" || p.State.Output != "echo: back (env)" {
		t.Errorf("after the crash: %+v", p.State)
	}
}

func TestMCPToolsFollowTheAgentsToolMap(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "t_echo", Args: `{"text":"hi"}`}}},
		fakellm.Turn{Text: []string{"ok"}},
	)
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}},"agent":{"build":{"tools":{"t_*":false}}}` + mcpConfig(t) + `}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}, mcpTimeout: 2 * time.Second})
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("echo hi"), &res)
	if p := toolPart(t, res, "t_echo"); p.State.Status != "error" || !strings.Contains(p.State.Error, "not available") {
		t.Errorf("disabled MCP tool ran: %+v", p.State)
	}
	if raw := string(fake.Requests()[0].Raw); strings.Contains(raw, `"t_echo"`) {
		t.Error("a tool the agent turns off was offered")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
