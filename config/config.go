package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Config is the merged, validated configuration. It is immutable after Load
// and safe for concurrent use; accessors return copies.
type Config struct {
	// Raw is the merged document (including the injected agent, mode,
	// command, plugin and username fields). It may hold secrets: serve
	// Public() to clients, never Raw.
	Raw map[string]any

	Model             string // "provider/model"
	SmallModel        string
	Share             string // "manual", "auto", "disabled" or ""
	Username          string
	Theme             string
	Snapshot          *bool
	Autoupdate        *bool
	Instructions      []string
	DisabledProviders []string
	Plugin            []string
	Provider          map[string]ProviderConfig
	MCP               map[string]MCPConfig
	Formatter         map[string]FormatterConfig
	LSP               map[string]LSPConfig
	Permission        Permission
	Tools             map[string]bool
	Experimental      Experimental

	agents   []Agent
	commands []Command
	secrets  []string
	envNames []string
}

// Permission is the global "permission" block; Bash is always a pattern map
// (a plain string s in the file becomes {"*": s}). Empty means unset.
type Permission struct {
	Edit     string            `json:"edit,omitempty"`
	Bash     map[string]string `json:"bash,omitempty"`
	Webfetch string            `json:"webfetch,omitempty"`
}

// ProviderConfig is one entry of the "provider" block.
type ProviderConfig struct {
	ID      string                 `json:"id,omitempty"`
	Name    string                 `json:"name,omitempty"`
	API     string                 `json:"api,omitempty"`
	NPM     string                 `json:"npm,omitempty"`
	Env     []string               `json:"env,omitempty"`
	Models  map[string]ModelConfig `json:"models,omitempty"`
	Options map[string]any         `json:"options,omitempty"` // apiKey, baseURL, anything else
}

// APIKey returns options.apiKey, or "".
func (p ProviderConfig) APIKey() string { s, _ := p.Options["apiKey"].(string); return s }

// BaseURL returns options.baseURL, or "".
func (p ProviderConfig) BaseURL() string { s, _ := p.Options["baseURL"].(string); return s }

// ModelConfig is a partial model definition or override.
type ModelConfig struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name,omitempty"`
	ReleaseDate string         `json:"release_date,omitempty"`
	Attachment  *bool          `json:"attachment,omitempty"`
	Reasoning   *bool          `json:"reasoning,omitempty"`
	Temperature *bool          `json:"temperature,omitempty"`
	ToolCall    *bool          `json:"tool_call,omitempty"`
	Cost        *ModelCost     `json:"cost,omitempty"`
	Limit       *ModelLimit    `json:"limit,omitempty"`
	Options     map[string]any `json:"options,omitempty"`
}

// ModelCost is the price per million tokens.
type ModelCost struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheRead  float64 `json:"cache_read,omitempty"`
	CacheWrite float64 `json:"cache_write,omitempty"`
}

// ModelLimit holds the context and output token limits.
type ModelLimit struct {
	Context float64 `json:"context"`
	Output  float64 `json:"output"`
}

// MCPConfig is one MCP server: Type "local" (Command, Environment) or
// "remote" (URL, Headers).
type MCPConfig struct {
	Type        string            `json:"type"`
	Command     []string          `json:"command,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	URL         string            `json:"url,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Enabled     *bool             `json:"enabled,omitempty"`
}

// FormatterConfig is one entry of the "formatter" block: a built-in
// formatter's override (or Disabled), or a custom formatter.
type FormatterConfig struct {
	Disabled    bool              `json:"disabled,omitempty"`
	Command     []string          `json:"command,omitempty"` // "$FILE" is the file's path
	Environment map[string]string `json:"environment,omitempty"`
	Extensions  []string          `json:"extensions,omitempty"` // ".go"
}

// LSPConfig is one entry of the "lsp" block: a language server's override
// (or Disabled), or a custom server.
type LSPConfig struct {
	Disabled       bool              `json:"disabled,omitempty"`
	Command        []string          `json:"command,omitempty"`
	Extensions     []string          `json:"extensions,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Initialization map[string]any    `json:"initialization,omitempty"`
}

// Hook is a command run on an experimental hook event.
type Hook struct {
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment,omitempty"`
}

// Experimental holds the experimental.hook block.
type Experimental struct {
	FileEdited       map[string][]Hook // by file extension
	SessionCompleted []Hook
}

// typed is the subset of the document decoded into Go types.
type typed struct {
	Model             string                     `json:"model"`
	SmallModel        string                     `json:"small_model"`
	Share             string                     `json:"share"`
	Username          string                     `json:"username"`
	Theme             string                     `json:"theme"`
	Snapshot          *bool                      `json:"snapshot"`
	Autoupdate        *bool                      `json:"autoupdate"`
	Instructions      []string                   `json:"instructions"`
	DisabledProviders []string                   `json:"disabled_providers"`
	Plugin            []string                   `json:"plugin"`
	Provider          map[string]ProviderConfig  `json:"provider"`
	MCP               map[string]MCPConfig       `json:"mcp"`
	Formatter         map[string]FormatterConfig `json:"formatter"`
	LSP               map[string]LSPConfig       `json:"lsp"`
	Tools             map[string]bool            `json:"tools"`
	Experimental      struct {
		Hook struct {
			FileEdited       map[string][]Hook `json:"file_edited"`
			SessionCompleted []Hook            `json:"session_completed"`
		} `json:"hook"`
	} `json:"experimental"`
}

// newConfig derives the typed view, agents and commands from a validated,
// merged document.
func newConfig(raw map[string]any, secrets map[string]struct{}) (*Config, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfigInvalid, err)
	}
	var t typed
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfigInvalid, err)
	}
	c := &Config{
		Raw:               raw,
		Model:             t.Model,
		SmallModel:        t.SmallModel,
		Share:             t.Share,
		Username:          t.Username,
		Theme:             t.Theme,
		Snapshot:          t.Snapshot,
		Autoupdate:        t.Autoupdate,
		Instructions:      t.Instructions,
		DisabledProviders: t.DisabledProviders,
		Plugin:            t.Plugin,
		Provider:          t.Provider,
		MCP:               t.MCP,
		Formatter:         t.Formatter,
		LSP:               t.LSP,
		Tools:             t.Tools,
		Permission:        parsePermission(raw["permission"]),
		Experimental: Experimental{
			FileEdited:       t.Experimental.Hook.FileEdited,
			SessionCompleted: t.Experimental.Hook.SessionCompleted,
		},
	}
	collectSecrets(raw, false, secrets)
	for s := range secrets {
		c.secrets = append(c.secrets, s)
	}
	c.agents = buildAgents(c)
	c.commands = buildCommands(raw)
	return c, nil
}

// parsePermission reads a validated permission object.
func parsePermission(v any) Permission {
	m, _ := v.(map[string]any)
	var p Permission
	p.Edit, _ = m["edit"].(string)
	p.Webfetch, _ = m["webfetch"].(string)
	switch b := m["bash"].(type) {
	case string:
		p.Bash = map[string]string{"*": b}
	case map[string]any:
		p.Bash = make(map[string]string, len(b))
		for k, v := range b {
			p.Bash[k], _ = v.(string)
		}
	}
	return p
}

// Redacted replaces every secret value in Public().
const Redacted = "[redacted]"

// sensitiveName matches option names that hold credentials.
var sensitiveName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)key|token|secret|password|passwd|credential|auth`)
})

// Public returns what GET /config serves: a deep copy of the merged document
// with secrets replaced by "[redacted]". Redacted are string values whose
// name looks like a credential (apiKey, *token*, *secret*, *password*, …),
// every value of "headers", "environment" and "env" maps (MCP servers,
// formatters, LSP servers, experimental hooks), and any string containing a
// value that came from {env:VAR} substitution.
func (c *Config) Public() Document {
	return c.redact(c.Raw, false).(map[string]any)
}

// Document is the merged configuration as GET /config serves it (Public):
// opencode's Config object, secrets redacted.
type Document map[string]any

// OpenAPISchema describes a Document for GET /doc with the very schema the
// loader validates config files against, so the two cannot drift.
func (Document) OpenAPISchema() map[string]any { return configSchema().jsonSchema() }

// Redact returns a deep copy of v (a decoded JSON value) with secrets
// replaced as Public does; /config/providers passes model options through it.
func (c *Config) Redact(v any) any { return c.redact(v, false) }

// tokenShape matches well-known credential formats wherever they appear
// (OpenAI/Anthropic sk-…, GitHub, GitLab, Slack, AWS access key ids,
// Google API keys, bearer tokens).
var tokenShape = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(sk-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,})|(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}`)
})

// secretFlag matches a command-line flag that takes a credential.
var secretFlag = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^--?[a-z0-9_-]*(key|token|secret|password|passwd|credential|auth)[a-z0-9_-]*$`)
})

func (c *Config) redact(v any, all bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			sub := all
			if _, isMap := e.(map[string]any); isMap && (k == "headers" || k == "environment" || k == "env") {
				sub = true
			}
			if s, isStr := e.(string); isStr && sensitiveName().MatchString(k) && s != "" {
				out[k] = Redacted
				continue
			}
			if arr, isArr := e.([]any); isArr && k == "command" {
				out[k] = c.redactArgs(arr, sub)
				continue
			}
			out[k] = c.redact(e, sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.redact(e, all)
		}
		return out
	case string:
		if all || c.containsSecret(x) || tokenShape().MatchString(x) {
			return Redacted
		}
		return redactURL(x)
	}
	return v
}

// redactArgs redacts a command line (an MCP server's "command" array): the
// value after a credential flag (--token X), the value of --token=X, and any
// argument redact would redact on its own.
func (c *Config) redactArgs(args []any, all bool) []any {
	out := make([]any, len(args))
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			out[i] = c.redact(a, all)
			continue
		}
		if i > 0 {
			if prev, ok := args[i-1].(string); ok && secretFlag().MatchString(prev) {
				out[i] = Redacted
				continue
			}
		}
		if flag, _, ok := strings.Cut(s, "="); ok && secretFlag().MatchString(flag) {
			out[i] = flag + "=" + Redacted
			continue
		}
		if k, _, ok := strings.Cut(s, "="); ok && sensitiveName().MatchString(k) && !strings.HasPrefix(k, "-") {
			out[i] = k + "=" + Redacted // KEY=value environment assignments
			continue
		}
		out[i] = c.redact(s, all)
	}
	return out
}

// redactURL hides the password of a URL's user info and the values of
// credential-named query parameters.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
		} else {
			u.User = url.User("redacted")
		}
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if sensitiveName().MatchString(k) {
				q.Set(k, "redacted")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

// Secrets returns every secret value the config holds: values substituted
// from {env:} and {file:} references, and string values of credential-named
// keys, headers and environment maps. Processes the agent runs must not see
// them (childenv scrubs by value).
func (c *Config) Secrets() []string { return append([]string(nil), c.secrets...) }

// EnvNames returns the environment variable names the config reads through
// {env:NAME}; they are kept from the agent's processes.
func (c *Config) EnvNames() []string { return append([]string(nil), c.envNames...) }

// collectSecrets adds the string values Public would redact by name.
func collectSecrets(v any, all bool, into map[string]struct{}) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			sub := all || k == "headers" || k == "environment" || k == "env"
			if s, ok := e.(string); ok && (sub || sensitiveName().MatchString(k)) {
				if len(s) >= minSecretLen && !strings.Contains(s, "{env:") {
					into[s] = struct{}{}
				}
				continue
			}
			collectSecrets(e, sub, into)
		}
	case []any:
		for _, e := range x {
			collectSecrets(e, all, into)
		}
	}
}

func (c *Config) containsSecret(s string) bool {
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			return true
		}
	}
	return false
}
