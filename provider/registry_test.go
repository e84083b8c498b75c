package provider

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"ocgo/llm"

	"ocgo/config"
	"ocgo/provider/fakellm"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func ids(list []Info) []string {
	var out []string
	for _, p := range list {
		out = append(out, p.ID)
	}
	return out
}

func TestListSources(t *testing.T) {
	authStore := map[string]string{}
	src := Source{
		Env:  envMap(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-envsecret-123456", "GEMINI_API_KEY": "AIzaSyEnvSecretValue0123456"}),
		Auth: func(id string) (string, bool) { k, ok := authStore[id]; return k, ok },
		Config: map[string]config.ProviderConfig{
			"ollama": {NPM: "@ai-sdk/openai-compatible", Name: "Ollama (local)",
				Options: map[string]any{"baseURL": "http://localhost:11434/v1"},
				Models:  map[string]config.ModelConfig{"llama2": {Name: "Llama 2"}}},
			"deepseek": {Options: map[string]any{"apiKey": "sk-configsecret-abcdef"}},
			"groq":     {Models: map[string]config.ModelConfig{"llama-3.3-70b-versatile": {Name: "renamed"}}}, // no key: inactive
		},
		Disabled: []string{"xai"},
	}
	reg, err := NewRegistry(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(reg.List()), []string{"anthropic", "deepseek", "google", "ollama"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	// auth.json is re-read on every call: PUT /auth works without restart.
	authStore["openai"] = "sk-authsecret-987654321"
	authStore["xai"] = "xai-authsecret-987654321" // disabled wins
	if got, want := ids(reg.List()), []string{"anthropic", "deepseek", "google", "ollama", "openai"}; !slices.Equal(got, want) {
		t.Fatalf("List after auth = %v, want %v", got, want)
	}

	b, err := json.Marshal(reg.List())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"envsecret", "EnvSecret", "configsecret", "authsecret", "apiKey", "baseURL"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("List JSON contains %q", secret)
		}
	}
	var decoded []map[string]any
	_ = json.Unmarshal(b, &decoded)
	for _, p := range decoded {
		for _, k := range []string{"id", "name", "env", "models"} {
			if _, ok := p[k]; !ok {
				t.Errorf("provider %v lacks %s", p["id"], k)
			}
		}
	}

	var ollama Info
	for _, p := range reg.List() {
		if p.ID == "ollama" {
			ollama = p
		}
	}
	m := ollama.Models["llama2"]
	if ollama.Name != "Ollama (local)" || ollama.NPM != "@ai-sdk/openai-compatible" || m.ID != "llama2" || m.Name != "Llama 2" || !m.ToolCall || m.Options == nil {
		t.Errorf("ollama = %+v", ollama)
	}
	if _, ok := reg.List()[4].Models["gpt-5-chat-latest"]; ok {
		t.Error("gpt-5-chat-latest must be filtered out")
	}

	d := reg.Defaults()
	want := map[string]string{"anthropic": "claude-sonnet-4-6", "openai": "gpt-5.6-terra", "google": "gemini-2.5-pro-preview-06-05",
		"ollama": "llama2", "deepseek": "deepseek-v4-pro"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("Defaults[%s] = %q, want %q", k, d[k], v)
		}
	}
	if len(d) != len(want) {
		t.Errorf("Defaults = %v", d)
	}
	// Config-declared providers are preferred for the fallback default.
	if p, m, err := reg.Default(); err != nil || p != "deepseek" || m != "deepseek-v4-pro" {
		t.Errorf("Default = %s %s %v", p, m, err)
	}
}

func TestSortModels(t *testing.T) {
	ids := []string{"a-model", "claude-3-5-haiku-latest", "gpt-5-mini", "claude-sonnet-4-5", "z-latest", "b-model", "gemini-2.5-pro-preview-05"}
	SortModels(ids)
	want := []string{"claude-sonnet-4-5", "gpt-5-mini", "gemini-2.5-pro-preview-05", "z-latest", "claude-3-5-haiku-latest", "b-model", "a-model"}
	if !slices.Equal(ids, want) {
		t.Errorf("SortModels = %v\nwant %v", ids, want)
	}
}

func TestDefaultNoProvider(t *testing.T) {
	reg, err := NewRegistry(Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := reg.List(); len(l) != 0 {
		t.Fatalf("List = %v", ids(l))
	}
	_, _, err = reg.Default()
	if !errors.Is(err, ErrNoProvider) {
		t.Fatalf("err = %v", err)
	}
	for _, hint := range []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "PUT /auth/", "baseURL"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("ErrNoProvider message lacks %q", hint)
		}
	}
	// A catalog provider without a key is an auth error, not "not found".
	_, err = reg.Model(context.Background(), "anthropic", "claude-sonnet-4-20250514")
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Model without key: %v", err)
	}
	if name, data := Classify(err); name != "ProviderAuthError" || data["providerID"] != "anthropic" {
		t.Errorf("Classify = %s %v", name, data)
	}
	for _, c := range [][2]string{{"nope", "nope"}, {"anthropic", "nope"}} {
		if _, err := reg.Model(context.Background(), c[0], c[1]); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("Model(%v) = %v", c, err)
		}
	}
}

func TestSmallModel(t *testing.T) {
	reg, _ := NewRegistry(Source{Config: map[string]config.ProviderConfig{
		"local": {NPM: "@ai-sdk/openai-compatible", Options: map[string]any{"baseURL": "http://x/v1"}, Models: map[string]config.ModelConfig{"m": {}}},
	}}, nil)
	for p, want := range map[string]string{"anthropic": "claude-3-5-haiku-20241022", "openrouter": "anthropic/claude-3.5-haiku",
		"google": "gemini-2.5-flash", "openai": "gpt-5-nano", "local": "", "nope": ""} {
		if got := reg.SmallModel(p); got != want {
			t.Errorf("SmallModel(%s) = %q, want %q", p, got, want)
		}
	}
}

// TestOllamaConfig uses the config exactly as an Ollama user writes it,
// pointed at the fake, and checks that the process's OpenAI key is not sent
// to the local server.
func TestOllamaConfig(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-real-openai-key-must-not-leak")
	s := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"hi from llama"}})
	cfgJSON := `{"provider":{"ollama":{"npm":"@ai-sdk/openai-compatible","name":"Ollama (local)","options":{"baseURL":"` +
		s.URL + `"},"models":{"llama2":{"name":"Llama 2"}}}}}`
	var cfg struct {
		Provider map[string]config.ProviderConfig `json:"provider"`
	}
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(Source{Config: cfg.Provider}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, m, err := reg.Default()
	if err != nil || p != "ollama" || m != "llama2" {
		t.Fatalf("Default = %s %s %v", p, m, err)
	}
	res, err := reg.Model(context.Background(), p, m)
	if err != nil {
		t.Fatal(err)
	}
	parts := collect(t, context.Background(), res.LM, userCall("hello"))
	if got := joined(parts, llm.StreamPartTypeTextDelta); got != "hi from llama" {
		t.Fatalf("text %q", got)
	}
	req := s.Requests()[0]
	if req.Path != "/v1/chat/completions" || req.Body["model"] != "llama2" {
		t.Errorf("request %s %v", req.Path, req.Body["model"])
	}
	if h := req.Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization sent to keyless provider: %q", h)
	}
}

func TestCost(t *testing.T) {
	m := Model{Cost: Pricing{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}}
	u := llm.Usage{InputTokens: 1_000_000, OutputTokens: 100_000, CacheReadTokens: 2_000_000, CacheCreationTokens: 400_000}
	want := 3 + 1.5 + 0.6 + 1.5
	if got := Cost(m, u); math.Abs(got-want) > 1e-9 {
		t.Errorf("Cost = %v, want %v", got, want)
	}
	if got := Cost(Model{}, u); got != 0 {
		t.Errorf("free model cost = %v", got)
	}
}

func TestCatalog(t *testing.T) {
	c, info := NewCatalog(CatalogOptions{}).Load()
	if info.Source != "embedded" || len(info.Date) != len("2006-01-02") || info.Sources == "" {
		t.Errorf("info: %+v", info)
	}
	for _, id := range []string{"anthropic", "openai", "openrouter", "google", "groq", "deepseek"} {
		p, ok := c[id]
		if !ok || len(p.Models) == 0 || len(p.Env) == 0 || p.Name == "" {
			t.Errorf("catalog provider %s missing or empty", id)
			continue
		}
		for mid, m := range p.Models {
			if m.ID != mid || m.Limit.Context <= 0 || m.Cost.Input < 0 || m.Options == nil {
				t.Errorf("%s/%s incomplete: %+v", id, mid, m)
			}
		}
	}
}

type fakeOAuth map[string]string

func (f fakeOAuth) Has(id string) bool { _, ok := f[id]; return ok }
func (f fakeOAuth) Access(_ context.Context, id string) (string, bool, error) {
	t, ok := f[id]
	return t, ok, nil
}

// An "oauth" entry of auth.json activates the provider, and its access
// token goes out as a Bearer token (with Anthropic's OAuth beta header), never
// as an API key.
func TestOAuthAccessTokenIsSentAsBearer(t *testing.T) {
	fake := fakellm.NewAnthropic(t, fakellm.Turn{Text: []string{"hi"}})
	reg, _ := NewRegistry(Source{OAuth: fakeOAuth{"anthropic": "sk-ant-oat-access"},
		Config: map[string]config.ProviderConfig{"anthropic": {Options: map[string]any{"baseURL": fake.URL}}}}, nil)
	if got := ids(reg.List()); !slices.Contains(got, "anthropic") {
		t.Fatalf("List = %v", got)
	}
	r, err := reg.Model(context.Background(), "anthropic", "claude-sonnet-4-20250514")
	if err != nil {
		t.Fatal(err)
	}
	if a := drain(t, r.LM, llm.Call{Prompt: llm.Prompt{llm.NewUserMessage("hi")}}); a.err != nil {
		t.Fatal(a.err)
	}
	h := fake.Requests()[0].Header
	if h.Get("Authorization") != "Bearer sk-ant-oat-access" || h.Get("X-Api-Key") != "" || !strings.Contains(h.Get("Anthropic-Beta"), "oauth-2025-04-20") {
		t.Errorf("headers: %v", h)
	}
}
