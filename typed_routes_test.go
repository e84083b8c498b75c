package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestConfigRoutesMatchDoc: the config routes answer in the shapes /doc
// declares for them (the Config schema is the loader's own), on a project
// whose config uses most blocks, and PUT /auth/:id takes the documented
// Auth union.
func TestConfigRoutesMatchDoc(t *testing.T) {
	h := newHarness(t, harnessOpts{config: `{
		"$schema": "https://opencode.ai/config.json",
		"model": "local/m1", "theme": "opencode", "layout": "auto", "share": "manual", "snapshot": true,
		"keybinds": {"leader": "ctrl+x"}, "tui": {"scroll_speed": 2},
		"provider": {"local": {"npm": "@ai-sdk/openai-compatible", "name": "Local",
			"options": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": "sk-local-secret-123456"},
			"models": {"m1": {"name": "M1", "limit": {"context": 8000, "output": 1000}, "cost": {"input": 1, "output": 2}}}}},
		"agent": {"review": {"mode": "subagent", "description": "reviews", "tools": {"write": false}, "temperature": 0.2}},
		"command": {"test": {"template": "Run the tests: $ARGUMENTS", "description": "tests"}},
		"permission": {"edit": "ask", "bash": {"git push*": "ask", "*": "allow"}},
		"mcp": {"off": {"type": "local", "command": ["true"], "enabled": false}},
		"lsp": {"gopls": {"disabled": true}},
		"formatter": {"gofmt": {"disabled": true}},
		"tools": {"patch": true}, "instructions": ["docs/*.md"]
	}`})
	verify := docChecker(t, h)
	for _, path := range []string{"/config", "/agent", "/command", "/config/providers", "/file?path=.", "/file?path=README.md"} {
		code, hdr, body := rawCall(t, h, "GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		verify("GET", strings.Split(path, "?")[0], code, hdr, body)
		if strings.Contains(string(body), "sk-local-secret") {
			t.Errorf("GET %s leaks the api key: %s", path, body)
		}
	}
	_, _, body := rawCall(t, h, "GET", "/config/providers", "")
	var listing struct {
		Providers []struct{ ID string }
		Default   map[string]string
	}
	if err := json.Unmarshal(body, &listing); err != nil || len(listing.Providers) != 1 || listing.Providers[0].ID != "local" || listing.Default["local"] != "m1" {
		t.Errorf("providers: %v %s", err, body)
	}
	for _, c := range []struct {
		body string
		code int
	}{{`{"type":"api","key":"sk-new-key-abcdef"}`, 200}, {`{"type":"api"}`, 400}, {`{"type":"nope","key":"x"}`, 400}} {
		code, hdr, out := rawCall(t, h, "PUT", "/auth/openai", c.body)
		if code != c.code {
			t.Errorf("PUT /auth/openai %s: %d %s", c.body, code, out)
		}
		verify("PUT", "/auth/openai", code, hdr, out)
	}
}
