// Package provider resolves LLM providers and models the way opencode
// 0.5.29 does (models.dev catalog + opencode.json `provider` blocks + keys
// from env vars and auth.json) and hands out llm.LanguageModels that speak
// the real wire protocols, each through ocgo's own adapter: Anthropic
// Messages, OpenAI's Responses API for the openai and azure providers
// (which keeps reasoning items across steps), OpenAI Chat Completions for
// @ai-sdk/openai providers and any OpenAI-compatible server by base URL
// (chat.go), and Google Vertex AI (Claude at its rawPredict endpoint, the
// rest at its OpenAI-compatible endpoint, with Application Default
// Credentials). OpenAI-compatible servers are Ollama, llama.cpp, LM Studio,
// vLLM, OpenRouter, Groq, DeepSeek, GitHub Copilot and the like.
//
// Guarantees:
//   - credentials are looked up on every call (auth.json changes made by
//     PUT /auth/:id take effect without a restart) and never appear in Info,
//     in logs, or in errors returned by the models (request dumps are dropped
//     and key text is redacted);
//   - a provider without its own key never receives another provider's key:
//     the adapters read nothing from the process environment and send only
//     the key the registry resolved for that provider;
//   - models returned by Registry.Model retry 408/409/429/5xx and transient
//     stream failures with capped exponential backoff honouring
//     Retry-After, but only before the first content part reached the
//     caller, so a consumer never sees duplicated output;
//   - provider failures map onto opencode's message error union via Classify.
package provider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"ocgo/config"
	"ocgo/llm"
)

// Sentinel errors. Wrapped with %w; test with errors.Is.
var (
	// ErrNoProvider means no provider is usable at all.
	ErrNoProvider = errors.New("no model provider configured: set an API key environment variable " +
		"(for example ANTHROPIC_API_KEY or OPENAI_API_KEY), store a key with PUT /auth/:id, " +
		"or add a provider block with options.baseURL to opencode.json " +
		`(e.g. {"provider":{"ollama":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"http://127.0.0.1:11434/v1"},"models":{"llama3":{}}}}})`)
	// ErrModelNotFound means the provider or model id is unknown (opencode's
	// ProviderModelNotFoundError).
	ErrModelNotFound = errors.New("model not found")
	// ErrAuth means the provider has no usable credentials or rejected them
	// (opencode's ProviderAuthError).
	ErrAuth = errors.New("provider authentication failed")
	// ErrOutputLength marks a step that stopped at the output token limit;
	// the session core wraps it when a stream finishes with
	// llm.FinishReasonLength and Classify maps it to
	// MessageOutputLengthError.
	ErrOutputLength = errors.New("output length exceeded")
)

// ModelNotFoundError names the pair that did not resolve; it is
// ErrModelNotFound for errors.Is, and routes answer its IDs in data as
// opencode does ({"providerID","modelID"}).
type ModelNotFoundError struct{ ProviderID, ModelID string }

func (e *ModelNotFoundError) Error() string {
	return ErrModelNotFound.Error() + ": " + e.ProviderID + "/" + e.ModelID
}

func (e *ModelNotFoundError) Is(target error) bool { return target == ErrModelNotFound }

// Listing is GET /config/providers: the active providers (without any
// secret), each one's default model, and (an ocgo addition clients ignore)
// where the model catalog came from and its date.
type Listing struct {
	Providers []Info            `json:"providers"`
	Default   map[string]string `json:"default"`
	Catalog   CatalogInfo       `json:"catalog"`
}

// Source is everything the registry reads from the outside world.
type Source struct {
	// Config is opencode.json `provider` (merged config).
	Config map[string]config.ProviderConfig
	// Disabled is opencode.json `disabled_providers`.
	Disabled []string
	// Env looks up environment variables (os.Getenv in production).
	Env func(string) string
	// Auth returns the API key stored in auth.json for a provider
	// ({type:"api"} entries). It is called on every lookup.
	Auth func(providerID string) (apiKey string, ok bool)
	// HTTPClient is used for provider requests; nil means a client without
	// timeout (streams are bounded by the caller's context).
	HTTPClient *http.Client
	// Retry configures retries of model calls; nil means DefaultRetryPolicy.
	Retry *RetryPolicy
	// Catalog is the models.dev database; nil means the embedded snapshot.
	Catalog *Catalog
	// OAuth hands out the access tokens of auth.json "oauth" entries,
	// refreshed when due (oauth.Refresher); nil means none. It is used
	// when the provider has no API key.
	OAuth OAuthSource
}

// OAuthSource gives access tokens for providers logged in with OAuth.
type OAuthSource interface {
	Has(providerID string) bool
	Access(ctx context.Context, providerID string) (token string, ok bool, err error)
}

// Resolved is a model ready to call.
type Resolved struct {
	Info  Info
	Model Model
	// LM streams one step per Stream call; tools are not executed by it.
	LM llm.LanguageModel
	// wire is the protocol LM speaks (see Prepare).
	wire wire
}

// Registry is the provider database. It is safe for concurrent use; it
// builds its database once, on first use, and changes nothing after.
type Registry struct {
	src      Source
	log      *slog.Logger
	db       map[string]Info
	options  map[string]map[string]any // config provider options (may hold secrets)
	custom   map[string]bool           // providers declared by config only
	disabled map[string]bool
	retry    RetryPolicy
	client   *http.Client

	once sync.Once // guards the lazy load of db, info, options, custom
	info CatalogInfo

	vertex vertexTokens // Google credentials, loaded on first use
}

// NewRegistry returns a registry over src. It reads nothing yet: the
// catalog is parsed and merged with src.Config on first use.
func NewRegistry(src Source, logger *slog.Logger) (*Registry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if src.Env == nil {
		src.Env = func(string) string { return "" }
	}
	if src.Auth == nil {
		src.Auth = func(string) (string, bool) { return "", false }
	}
	if src.Catalog == nil {
		src.Catalog = NewCatalog(CatalogOptions{Logger: logger})
	}
	r := &Registry{
		src:      src,
		log:      logger.With("component", "provider"),
		options:  map[string]map[string]any{},
		custom:   map[string]bool{},
		disabled: map[string]bool{},
		retry:    DefaultRetryPolicy(),
		client:   src.HTTPClient,
	}
	if src.Retry != nil {
		r.retry = *src.Retry
	}
	if r.client == nil {
		r.client = &http.Client{}
	}
	for _, id := range src.Disabled {
		r.disabled[id] = true
	}
	return r, nil
}

// load builds the provider database once: the catalog merged with the
// config's provider blocks.
func (r *Registry) load() {
	r.once.Do(func() {
		db, info := r.src.Catalog.Load()
		r.info = info
		for id, cp := range r.src.Config {
			p, known := db[id]
			if !known {
				r.custom[id] = true
				p = Info{ID: id, Name: id, Env: []string{}, Models: map[string]Model{}}
			}
			p.Name = cmp.Or(cp.Name, p.Name)
			p.NPM = cmp.Or(cp.NPM, p.NPM)
			p.API = cmp.Or(cp.API, p.API)
			if cp.Env != nil {
				p.Env = append([]string{}, cp.Env...)
			}
			for mid, cm := range cp.Models {
				var base *Model
				if m, ok := p.Models[mid]; ok {
					base = &m
				}
				p.Models[mid] = mergeModel(mid, base, cm)
			}
			db[id] = p
			if cp.Options != nil {
				r.options[id] = cp.Options
			}
		}
		// opencode filters these two models out of the list.
		for id, p := range db {
			delete(p.Models, "gpt-5-chat-latest")
			delete(p.Models, "openrouter/openai/gpt-5-chat")
			if id == "openrouter" {
				delete(p.Models, "openai/gpt-5-chat")
			}
		}
		r.db = db
	})
}

// CatalogInfo says where the model catalog came from and how old it is.
func (r *Registry) CatalogInfo() CatalogInfo {
	r.load()
	return r.info
}

// optString returns a string provider option from config.
func (r *Registry) optString(id, key string) string {
	s, _ := r.options[id][key].(string)
	return s
}

// apiKey finds the key for a provider: config options.apiKey, then
// auth.json, then the provider's env vars (first one set).
func (r *Registry) apiKey(id string) (key, from string) {
	if k := r.optString(id, "apiKey"); k != "" {
		return k, "config"
	}
	if k, ok := r.src.Auth(id); ok && k != "" {
		return k, "auth"
	}
	env := r.db[id].Env
	for _, e := range env {
		// With several variables (Azure: AZURE_RESOURCE_NAME and
		// AZURE_API_KEY) only a key or token is the key, as the provider
		// SDKs opencode uses read them.
		if len(env) > 1 && !strings.Contains(e, "KEY") && !strings.Contains(e, "TOKEN") {
			continue
		}
		if v := r.src.Env(e); v != "" {
			return v, "env"
		}
	}
	return "", ""
}

// active reports whether a provider can be used: not disabled, has models,
// and has a key or an explicit endpoint from config.
func (r *Registry) active(id string) bool {
	p, ok := r.db[id]
	if !ok || r.disabled[id] || len(p.Models) == 0 {
		return false
	}
	if k, _ := r.apiKey(id); k != "" {
		return true
	}
	if r.src.OAuth != nil && r.src.OAuth.Has(id) {
		return true
	}
	if isVertex(p) && r.vertexProject(id) != "" {
		return true
	}
	if r.optString(id, "baseURL") != "" {
		return true
	}
	return r.custom[id] && p.API != ""
}

// List returns the active providers sorted by id, without any secret.
func (r *Registry) List() []Info {
	r.load()
	ids := make([]string, 0, len(r.db))
	for id := range r.db {
		if r.active(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.db[id].clone())
	}
	return out
}

var modelPriority = []string{"gemini-2.5-pro-preview", "gpt-5", "claude-sonnet-4"}

// SortModels orders model ids as opencode's Provider.sort does: priority
// list index (matched by substring, higher first), ids containing "latest"
// first, then id descending.
func SortModels(ids []string) {
	prio := func(id string) int {
		return slices.IndexFunc(modelPriority, func(p string) bool { return strings.Contains(id, p) })
	}
	slices.SortStableFunc(ids, func(a, b string) int {
		if c := cmp.Compare(prio(b), prio(a)); c != 0 {
			return c
		}
		la, lb := strings.Contains(a, "latest"), strings.Contains(b, "latest")
		if la != lb {
			if la {
				return -1
			}
			return 1
		}
		return cmp.Compare(b, a)
	})
}

func defaultModel(p Info) string {
	ids := make([]string, 0, len(p.Models))
	for id := range p.Models {
		ids = append(ids, id)
	}
	SortModels(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// Defaults maps each active provider to its default model id.
func (r *Registry) Defaults() map[string]string {
	out := map[string]string{}
	for _, p := range r.List() {
		out[p.ID] = defaultModel(p)
	}
	return out
}

var providerPreference = []string{"anthropic", "openai", "google", "openrouter"}

// Default picks a provider and model when config `model` is not set: a
// provider declared in config first, else anthropic, openai, google,
// openrouter, else the first by id. ErrNoProvider when none is active.
func (r *Registry) Default() (providerID, modelID string, err error) {
	r.load()
	list := r.List()
	if len(list) == 0 {
		return "", "", ErrNoProvider
	}
	rank := func(p Info) int {
		if _, ok := r.src.Config[p.ID]; ok {
			return 0
		}
		if i := slices.Index(providerPreference, p.ID); i >= 0 {
			return 1 + i
		}
		return 1 + len(providerPreference)
	}
	best := slices.MinFunc(list, func(a, b Info) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.ID, b.ID))
	})
	return best.ID, defaultModel(best), nil
}

var smallPriority = []string{"3-5-haiku", "3.5-haiku", "gemini-2.5-flash", "gpt-5-nano"}

// SmallModel returns the provider's model for cheap tasks such as titles
// (first id matching 3-5-haiku, 3.5-haiku, gemini-2.5-flash, gpt-5-nano, in
// that order), or "" when none matches (use the main model then).
func (r *Registry) SmallModel(providerID string) string {
	r.load()
	p, ok := r.db[providerID]
	if !ok {
		return ""
	}
	ids := make([]string, 0, len(p.Models))
	for id := range p.Models {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, want := range smallPriority {
		for _, id := range ids {
			if strings.Contains(id, want) {
				return id
			}
		}
	}
	return ""
}

type wire int

const (
	wireCompat wire = iota
	wireAnthropic
	wireOpenAI
	// wireResponses is OpenAI's Responses API, which opencode uses for
	// the openai and azure providers (its custom loaders switch them).
	wireResponses
)

func wireOf(p Info) wire {
	if p.ID == "openai" || p.ID == "azure" || p.NPM == "@ai-sdk/azure" {
		return wireResponses
	}
	switch p.NPM {
	case "@ai-sdk/anthropic":
		return wireAnthropic
	case "@ai-sdk/openai":
		return wireOpenAI
	case "":
		if p.ID == "anthropic" {
			return wireAnthropic
		}
	}
	return wireCompat
}

// CopilotHeaders are what GitHub Copilot's API expects from an editor
// integration (the values opencode's Copilot plugin sends).
var CopilotHeaders = map[string]string{
	"User-Agent": "GitHubCopilotChat/0.26.7", "Editor-Version": "vscode/1.99.3",
	"Editor-Plugin-Version": "copilot-chat/0.26.7", "Copilot-Integration-Id": "vscode-chat",
}

// compatBaseURLs are the OpenAI-compatible endpoints of catalog providers
// whose models.dev entry has no `api` field.
var compatBaseURLs = map[string]string{
	"@ai-sdk/groq":                "https://api.groq.com/openai/v1",
	"@ai-sdk/deepseek":            "https://api.deepseek.com/v1",
	"@ai-sdk/google":              "https://generativelanguage.googleapis.com/v1beta/openai",
	"@ai-sdk/mistral":             "https://api.mistral.ai/v1",
	"@ai-sdk/xai":                 "https://api.x.ai/v1",
	"@ai-sdk/cerebras":            "https://api.cerebras.ai/v1",
	"@ai-sdk/togetherai":          "https://api.together.xyz/v1",
	"@ai-sdk/fireworks":           "https://api.fireworks.ai/inference/v1",
	"@openrouter/ai-sdk-provider": "https://openrouter.ai/api/v1",
}

// Model resolves a provider/model pair into a callable model.
// Errors: ErrModelNotFound (unknown or disabled provider, unknown model),
// ErrAuth (no credentials), ErrNoProvider (OpenAI-compatible provider
// without any base URL).
func (r *Registry) Model(ctx context.Context, providerID, modelID string) (*Resolved, error) {
	r.load()
	p, ok := r.db[providerID]
	if !ok || r.disabled[providerID] {
		return nil, &ModelNotFoundError{providerID, modelID}
	}
	m, ok := p.Models[modelID]
	if !ok {
		return nil, &ModelNotFoundError{providerID, modelID}
	}
	if !r.active(providerID) {
		how := "PUT /auth/" + providerID
		if len(p.Env) > 0 {
			how = "set " + p.Env[0] + " or " + how
		}
		return nil, &providerError{id: providerID, err: fmt.Errorf("%w: no API key for provider %s (%s)", ErrAuth, providerID, how)}
	}
	key, from := r.apiKey(providerID)
	bearer := ""
	if key == "" && r.src.OAuth != nil {
		tok, ok, err := r.src.OAuth.Access(ctx, providerID)
		if err != nil {
			return nil, &providerError{id: providerID, err: fmt.Errorf("%w: %w", ErrAuth, err)}
		}
		if ok {
			bearer, from = tok, "oauth"
		}
	}
	headers := map[string]string{}
	if h, ok := r.options[providerID]["headers"].(map[string]any); ok {
		for k, v := range h {
			if s, ok := v.(string); ok {
				headers[k] = s
			}
		}
	}
	if h, ok := r.options[providerID]["headers"].(map[string]string); ok {
		for k, v := range h {
			headers[k] = v
		}
	}
	switch {
	case bearer != "" && wireOf(p) == wireAnthropic:
		headers["anthropic-beta"] = cmp.Or(headers["anthropic-beta"], "oauth-2025-04-20")
	case bearer != "":
		key = bearer // the OpenAI wires send the key as a Bearer token
		if providerID == "github-copilot" {
			for k, v := range CopilotHeaders {
				if !hasFold(headers, k) {
					headers[k] = v
				}
			}
		}
	}
	baseURL := r.optString(providerID, "baseURL")

	var lm wireModel
	w := wireOf(p)
	secret := cmp.Or(key, bearer) // scrubbed from the model's errors
	if isVertex(p) {
		var err error
		if lm, w, secret, err = r.vertexModel(ctx, p, modelID, headers); err != nil {
			return nil, &providerError{id: providerID, err: err}
		}
		from = "google credentials"
	} else {
		var err error
		if lm, err = r.wireModel(w, p, providerID, modelID, m, baseURL, key, bearer, headers); err != nil {
			return nil, err
		}
	}
	r.log.Debug("model resolved", "provider", providerID, "model", modelID, "wire", w, "key_source", from, "base_url", baseURL)
	return &Resolved{
		Info:  p.clone(),
		Model: m,
		LM:    &retryModel{inner: lm, providerID: providerID, policy: r.retry, log: r.log, secret: secret},
		wire:  w,
	}, nil
}

// hasFold reports whether m has key, compared case-insensitively.
func hasFold(m map[string]string, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

func (w wire) String() string {
	switch w {
	case wireAnthropic:
		return "anthropic"
	case wireOpenAI:
		return "openai"
	case wireResponses:
		return "openai-responses"
	}
	return "openai-compatible"
}

// azureBaseURL is where an Azure OpenAI resource answers, as the AI SDK's
// Azure provider builds it: options.baseURL, else
// https://<resourceName>.openai.azure.com/openai (options.resourceName or
// AZURE_RESOURCE_NAME), then /v1, or /deployments/<model> with
// options.useDeploymentBasedUrls (the request path follows). The model id
// is the deployment name.
func (r *Registry) azureBaseURL(providerID, modelID string) (string, error) {
	base := strings.TrimRight(r.optString(providerID, "baseURL"), "/")
	if base == "" {
		name := cmp.Or(r.optString(providerID, "resourceName"), r.src.Env("AZURE_RESOURCE_NAME"))
		if name == "" {
			return "", fmt.Errorf("%w: provider %s needs a resource name: set AZURE_RESOURCE_NAME, or options.resourceName or options.baseURL in opencode.json", ErrAuth, providerID)
		}
		base = "https://" + url.PathEscape(name) + ".openai.azure.com/openai"
	}
	if legacy, _ := r.options[providerID]["useDeploymentBasedUrls"].(bool); legacy {
		return base + "/deployments/" + url.PathEscape(modelID), nil
	}
	return base + "/v1", nil
}

// wireModel builds the language model of a non-Vertex provider for its
// wire.
func (r *Registry) wireModel(w wire, p Info, providerID, modelID string, m Model, baseURL, key, bearer string,
	headers map[string]string) (wireModel, error) {
	var lm wireModel
	switch w {
	case wireAnthropic:
		if baseURL = cmp.Or(baseURL, p.API); baseURL != "" {
			// opencode (AI SDK) base URLs end in /v1; the Anthropic SDK adds it.
			baseURL = strings.TrimSuffix(strings.TrimRight(baseURL, "/"), "/v1")
		}
		lm = newAnthropicModel(anthropicConfig{providerID: providerID, modelID: modelID, baseURL: baseURL,
			apiKey: key, authToken: bearer, headers: headers, client: r.client})
	case wireResponses:
		rc := responsesConfig{providerID: providerID, modelID: modelID, reasoning: m.Reasoning,
			baseURL: cmp.Or(baseURL, p.API), apiKey: key, headers: headers, client: r.client}
		if p.ID == "azure" || p.NPM == "@ai-sdk/azure" {
			var err error
			if rc.baseURL, err = r.azureBaseURL(providerID, modelID); err != nil {
				return nil, &providerError{id: providerID, err: err}
			}
			rc.azure, rc.apiVersion = true, r.optString(providerID, "apiVersion")
		}
		lm = newResponsesModel(rc)
	case wireOpenAI:
		lm = newChatModel(chatConfig{providerID: providerID, modelID: modelID, baseURL: cmp.Or(baseURL, p.API),
			apiKey: key, headers: headers, client: r.client})
	default:
		if baseURL = cmp.Or(baseURL, p.API, compatBaseURLs[p.NPM]); baseURL == "" {
			return nil, fmt.Errorf("%w (provider %s has no options.baseURL)", ErrNoProvider, providerID)
		}
		lm = newChatModel(chatConfig{providerID: providerID, modelID: modelID, baseURL: baseURL,
			apiKey: key, headers: headers, client: r.client, compat: true,
			strict: p.NPM == "@ai-sdk/groq" || p.NPM == "@ai-sdk/mistral", noStreamOptions: p.NPM == "@ai-sdk/mistral"})
	}
	return lm, nil
}
