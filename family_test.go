package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
)

// requestRow is one row of the README's table of what each model family is
// sent.
type requestRow struct {
	family, model, temperature, topP string
	fields                           map[string]string // body key → JSON value, or "session id"
}

func readRequestTable(t *testing.T) []requestRow {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- request-table -->")
	table, _, ok2 := strings.Cut(rest, "<!-- /request-table -->")
	if !ok || !ok2 {
		t.Fatal("README has no request table")
	}
	var rows []requestRow
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 6 {
			t.Fatalf("bad row %q", line)
		}
		r := requestRow{family: cells[0], model: strings.Fields(cells[1])[0], temperature: cells[2], topP: cells[3], fields: map[string]string{}}
		for _, f := range strings.Split(cells[4], "; ") {
			if k, v, ok := strings.Cut(f, "="); ok {
				r.fields[k] = v
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// familyPhrases are phrases only the family's prompt file holds.
var familyPhrases = map[string]string{
	"anthropic": "from their terminal",
	"openai":    "Keep going until the user",
	"gpt-5":     "precise, pragmatic and autonomous",
	"gemini":    "Core mandates",
	"qwen":      "Refuse to write code meant to do harm",
	"default":   "Refuse to write code meant to do harm",
}

// watched are the body fields whose absence the table also asserts.
var watched = []string{"tool_choice", "thinking", "reasoning_effort", "verbosity", "prompt_cache_key",
	"reasoning", "text", "store", "include"}

func TestRequestBodiesPerModelFamily(t *testing.T) {
	rows := readRequestTable(t)
	if len(rows) < 6 {
		t.Fatalf("table rows: %d", len(rows))
	}
	for _, row := range rows {
		t.Run(row.family, func(t *testing.T) {
			providerID, modelID, _ := strings.Cut(row.model, "/")
			var fake *fakellm.Server
			switch providerID {
			case "anthropic":
				fake = fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"ok"}})
			case "openai":
				fake = fakellm.NewResponses(t, fakellm.Turn{Text: []string{"ok"}})
			case "azure":
				fake = fakellm.NewAzure(t, "k", fakellm.Turn{Text: []string{"ok"}})
			case "mistral":
				fake = fakellm.NewMistral(t, fakellm.Turn{Text: []string{"ok"}})
			default:
				fake = fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"ok"}})
			}
			modelOpts := "{}"
			if strings.Contains(row.family, "thinking") {
				modelOpts = `{"thinking":{"type":"enabled","budgetTokens":4096}}`
			}
			if strings.Contains(row.family, "config") {
				modelOpts = `{"reasoningEffort":"high"}`
			}
			cfg := `{"provider":{"` + providerID + `":{"options":{"baseURL":"` + fake.URL + `","apiKey":"k"},"models":{"` + modelID + `":{"options":` + modelOpts + `}}}}}`
			h := newHarness(t, harnessOpts{config: cfg})
			sid := h.newSession()
			body := map[string]any{"providerID": providerID, "modelID": modelID, "parts": []any{map[string]any{"type": "text", "text": "hi"}}}
			var res struct {
				Info struct {
					Error any `json:"error"`
				} `json:"info"`
			}
			h.call("POST", "/session/"+sid+"/message", body, &res)
			if res.Info.Error != nil || len(fake.Requests()) != 1 {
				t.Fatalf("prompt failed: %v", res.Info.Error)
			}
			got := fake.Requests()[0].Body
			check := func(key, want string) {
				t.Helper()
				v, present := got[key]
				if want == "–" {
					if present {
						t.Errorf("%s sent: %v", key, v)
					}
					return
				}
				if want == "session id" {
					want = `"` + sid + `"`
				}
				b, _ := json.Marshal(v)
				if !present || string(b) != want {
					t.Errorf("%s = %s (present %v), table says %s", key, b, present, want)
				}
			}
			// The agent prompt is the family's own.
			family, _, _ := strings.Cut(row.family, " ")
			if phrase := familyPhrases[family]; !strings.Contains(string(fake.Requests()[0].Raw), phrase) {
				t.Errorf("system prompt of family %s lacks %q", family, phrase)
			}
			check("temperature", row.temperature)
			check("top_p", row.topP)
			for _, k := range watched {
				want, ok := row.fields[k]
				if !ok {
					want = "–"
				}
				check(k, want)
			}
		})
	}
}

// With extended thinking on, a tool loop continues only when the signed
// thinking block of the step comes back before its tool calls; the fake
// refuses the request otherwise, as the Messages API does.
func TestThinkingToolLoopKeepsTheSignedBlock(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{Reasoning: []string{"I should ", "read it"}, Signature: "sig-from-the-server",
			ToolCalls: []fakellm.ToolCall{{ID: "toolu_r", Name: "read", Args: `{"filePath":"README.md"}`}}},
		fakellm.Turn{Text: []string{"read it"}},
	)
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `","apiKey":"k"},"models":{"` + sonnet +
		`":{"options":{"thinking":{"type":"enabled","budgetTokens":2048}}}}}}}`
	h := newHarness(t, harnessOpts{config: cfg})
	sid := h.newSession()
	var res struct {
		Info struct {
			Error any `json:"error"`
		} `json:"info"`
	}
	h.call("POST", "/session/"+sid+"/message", textPrompt("read the readme"), &res)
	if res.Info.Error != nil {
		t.Fatalf("tool loop refused: %v", res.Info.Error)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests: %d", len(reqs))
	}
	msgs := anthropicMessages(t, reqs[1])
	first := msgs[1]["content"].([]any)[0].(map[string]any)
	if first["type"] != "thinking" || first["signature"] != "sig-from-the-server" || first["thinking"] != "I should read it" {
		t.Errorf("assistant turn starts with %v", first)
	}
	if th, _ := reqs[1].Body["thinking"].(map[string]any); th["budget_tokens"] != float64(2048) {
		t.Errorf("thinking: %v", reqs[1].Body["thinking"])
	}
	if mt, _ := reqs[1].Body["max_tokens"].(float64); mt <= 2048 {
		t.Errorf("max_tokens %v not above the budget", mt)
	}
}

// At start ocgo refreshes opencode's models.dev cache (under
// $XDG_CACHE_HOME/opencode) in the background; the next start uses it, and
// GET /config/providers says which catalog is in use and its date.
func TestModelsDevRefreshFillsOpencodesCache(t *testing.T) {
	catalog := `{"acme":{"id":"acme","name":"Acme AI","env":["ACME_API_KEY"],"npm":"@ai-sdk/openai-compatible","api":"http://127.0.0.1:9/v1",
	 "models":{"acme-coder-9":{"id":"acme-coder-9","name":"Acme Coder 9","attachment":false,"reasoning":false,"temperature":true,
	 "tool_call":true,"release_date":"2026-11-01","cost":{"input":1,"output":2},"limit":{"context":500000,"output":64000}}}}}`
	served := make(chan struct{}, 4)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, catalog)
		served <- struct{}{}
	}))
	defer site.Close()
	cache := t.TempDir()
	h := newHarness(t, harnessOpts{env: map[string]string{"OPENCODE_DISABLE_MODELS_FETCH": "", "OCGO_MODELS_URL": site.URL,
		"XDG_CACHE_HOME": cache, "ACME_API_KEY": "k"}})
	var out struct {
		Providers []struct {
			ID string `json:"id"`
		} `json:"providers"`
		Catalog struct {
			Source, Date, Path string
		} `json:"catalog"`
	}
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh request")
	}
	file := filepath.Join(cache, "opencode", "models.json")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cache file not written")
		}
	}
	h.restart()
	h.call("GET", "/config/providers", nil, &out)
	if out.Catalog.Source != "cache" || out.Catalog.Path != file || len(out.Catalog.Date) != 10 {
		t.Errorf("catalog: %+v", out.Catalog)
	}
	if len(out.Providers) != 1 || out.Providers[0].ID != "acme" {
		t.Errorf("providers: %+v", out.Providers)
	}
}

func TestEmbeddedCatalogIsDatedInProviders(t *testing.T) {
	h := newHarness(t, harnessOpts{env: map[string]string{"ANTHROPIC_API_KEY": "k"}})
	var out struct {
		Catalog map[string]any `json:"catalog"`
	}
	h.call("GET", "/config/providers", nil, &out)
	if out.Catalog["source"] != "embedded" || out.Catalog["date"] == "" || out.Catalog["sources"] == "" {
		t.Errorf("catalog: %v", out.Catalog)
	}
}
