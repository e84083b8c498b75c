package config

import (
	"maps"
	"strings"
)

// Agent is exactly the wire shape of one element of GET /agent.
type Agent struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Mode        string          `json:"mode"` // subagent, primary or all
	BuiltIn     bool            `json:"builtIn"`
	TopP        *float64        `json:"topP,omitempty"`
	Temperature *float64        `json:"temperature,omitempty"`
	Permission  AgentPermission `json:"permission"`
	Model       *ModelRef       `json:"model,omitempty"`
	Prompt      string          `json:"prompt,omitempty"`
	Tools       map[string]bool `json:"tools"`
	Options     map[string]any  `json:"options"`
}

// AgentPermission is an agent's effective permissions: "ask", "allow" or
// "deny"; Bash maps wildcard patterns to an action (see EvalPermission).
type AgentPermission struct {
	Edit     string            `json:"edit"`
	Bash     map[string]string `json:"bash"`
	Webfetch string            `json:"webfetch,omitempty"`
}

// ModelRef names a model of a provider.
type ModelRef struct {
	ProviderID string `json:"providerID"`
	ModelID    string `json:"modelID"`
}

// ParseModel splits "provider/model" at the first slash (model IDs may
// contain slashes, e.g. "openrouter/anthropic/claude").
func ParseModel(s string) ModelRef {
	p, m, _ := strings.Cut(s, "/")
	return ModelRef{ProviderID: p, ModelID: m}
}

// Command is exactly the wire shape of one element of GET /command.
type Command struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Agent       string `json:"agent,omitempty"`
	Model       string `json:"model,omitempty"`
	Template    string `json:"template"`
}

const generalDescription = "General-purpose agent for researching complex questions, searching for code, and executing multi-step tasks. When you are searching for a keyword or file and are not confident that you will find the right match in the first few tries use this agent to perform the search for you."

// isAgentConfigKey reports whether k is one of AgentConfig's own keys; any
// other key of an agent block goes to the agent's options.
func isAgentConfigKey(k string) bool {
	switch k {
	case "name", "model", "prompt", "tools", "description", "temperature", "top_p", "mode", "permission", "disable":
		return true
	}
	return false
}

// overlay applies p on top of base: set actions replace, bash patterns
// merge. base is not modified.
func overlay(base AgentPermission, p Permission) AgentPermission {
	out := AgentPermission{Edit: base.Edit, Webfetch: base.Webfetch, Bash: maps.Clone(base.Bash)}
	if p.Edit != "" {
		out.Edit = p.Edit
	}
	if p.Webfetch != "" {
		out.Webfetch = p.Webfetch
	}
	if out.Bash == nil {
		out.Bash = map[string]string{}
	}
	maps.Copy(out.Bash, p.Bash)
	return out
}

// buildAgents computes the agent list: the built-ins general, build and plan
// (in the original's order) with the global permission applied, then every
// agent of the config "agent" block, deprecated "mode" block and markdown
// files, sorted by name. An entry with disable: true removes the agent,
// built-in or not. An agent's own permission is applied on top of the
// global one (the original dropped plan's "ask" defaults when an agent
// block for plan set any permission).
func buildAgents(c *Config) []Agent {
	def := overlay(AgentPermission{Edit: "allow", Webfetch: "allow", Bash: map[string]string{"*": "allow"}}, c.Permission)
	plan := overlay(AgentPermission{Edit: "ask", Webfetch: "allow", Bash: map[string]string{"*": "ask"}}, c.Permission)
	byName := map[string]*Agent{
		"general": {Name: "general", Description: generalDescription, Mode: "subagent", BuiltIn: true,
			Permission: def, Tools: map[string]bool{"todoread": false, "todowrite": false}, Options: map[string]any{}},
		"build": {Name: "build", Mode: "primary", BuiltIn: true, Permission: def, Tools: map[string]bool{}, Options: map[string]any{}},
		"plan":  {Name: "plan", Mode: "primary", BuiltIn: true, Permission: plan, Tools: map[string]bool{}, Options: map[string]any{}},
	}
	order := []string{"general", "build", "plan"}

	// Deprecated "mode" entries are primary agents; "agent" entries win.
	cfgAgents := map[string]any{}
	for name, v := range asMap(c.Raw["mode"]) {
		m := maps.Clone(asMap(v))
		m["mode"] = "primary"
		cfgAgents[name] = m
	}
	cfgAgents = mergeDeep(cfgAgents, asMap(c.Raw["agent"]))

	var custom []string
	for _, name := range sortedKeys(cfgAgents) {
		ac := asMap(cfgAgents[name])
		if ac["disable"] == true {
			delete(byName, name)
			continue
		}
		a := byName[name]
		if a == nil {
			a = &Agent{Name: name, Mode: "all", Permission: def, Tools: map[string]bool{}, Options: map[string]any{}}
			byName[name] = a
			custom = append(custom, name)
		}
		for k, v := range ac {
			if !isAgentConfigKey(k) {
				a.Options[k] = v
			}
		}
		if s, _ := ac["model"].(string); s != "" {
			ref := ParseModel(s)
			a.Model = &ref
		}
		if s, _ := ac["prompt"].(string); s != "" {
			a.Prompt = s
		}
		if s, _ := ac["description"].(string); s != "" {
			a.Description = s
		}
		if s, _ := ac["mode"].(string); s != "" {
			a.Mode = s
		}
		if f, ok := ac["temperature"].(float64); ok {
			a.Temperature = &f
		}
		if f, ok := ac["top_p"].(float64); ok {
			a.TopP = &f
		}
		for k, v := range asMap(ac["tools"]) {
			a.Tools[k], _ = v.(bool)
		}
		if p, ok := ac["permission"]; ok {
			a.Permission = overlay(a.Permission, parsePermission(p))
		}
	}
	// Global tools are the base every agent's own tools override.
	if len(c.Tools) > 0 {
		for _, a := range byName {
			t := maps.Clone(c.Tools)
			maps.Copy(t, a.Tools)
			a.Tools = t
		}
	}

	var out []Agent
	for _, name := range append(order, custom...) {
		if a := byName[name]; a != nil {
			out = append(out, *a)
		}
	}
	return out
}

func cloneAgent(a Agent) Agent {
	a.Tools = maps.Clone(a.Tools)
	a.Options = maps.Clone(a.Options)
	a.Permission.Bash = maps.Clone(a.Permission.Bash)
	if a.Model != nil {
		m := *a.Model
		a.Model = &m
	}
	return a
}

// Agents returns every enabled agent in GET /agent order.
func (c *Config) Agents() []Agent {
	out := make([]Agent, len(c.agents))
	for i, a := range c.agents {
		out[i] = cloneAgent(a)
	}
	return out
}

// Agent returns the agent with this name.
func (c *Config) Agent(name string) (Agent, bool) {
	for _, a := range c.agents {
		if a.Name == name {
			return cloneAgent(a), true
		}
	}
	return Agent{}, false
}

// buildCommands lists the "command" block (config and command/*.md files),
// sorted by name.
func buildCommands(raw map[string]any) []Command {
	cmds := asMap(raw["command"])
	out := make([]Command, 0, len(cmds))
	for _, name := range sortedKeys(cmds) {
		m := asMap(cmds[name])
		c := Command{Name: name}
		c.Template, _ = m["template"].(string)
		c.Description, _ = m["description"].(string)
		c.Agent, _ = m["agent"].(string)
		c.Model, _ = m["model"].(string)
		out = append(out, c)
	}
	return out
}

// Commands returns every configured slash command, sorted by name (never
// nil, so an empty list encodes as [] like the original).
func (c *Config) Commands() []Command {
	out := make([]Command, len(c.commands))
	copy(out, c.commands)
	return out
}

// Command returns the command with this name.
func (c *Config) Command(name string) (Command, bool) {
	for _, cmd := range c.commands {
		if cmd.Name == name {
			return cmd, true
		}
	}
	return Command{}, false
}

// actionRank orders actions by strictness, to break ties between patterns
// of equal length towards the safer answer; -1 marks an unknown action.
func actionRank(action string) int {
	switch action {
	case "allow":
		return 0
	case "ask":
		return 1
	case "deny":
		return 2
	}
	return -1
}

// EvalPermission returns the action ("ask", "allow" or "deny") of the
// longest pattern in rules that matches the whole command, as the original
// bash tool does. Patterns use '*' (any run of characters, newlines
// included) and '?' (one character); everything else is literal. Among
// equally long matching patterns the strictest action wins. With no match,
// or an unknown action, the answer is "ask". The caller must pass one simple
// command at a time: "git *" also matches "git x; rm -rf ~".
func EvalPermission(rules map[string]string, command string) string {
	command = strings.TrimSpace(command)
	best, bestLen := "", -1
	for pattern, action := range rules {
		if actionRank(action) < 0 || !wildcardMatch(pattern, command) {
			continue
		}
		if len(pattern) > bestLen || (len(pattern) == bestLen && actionRank(action) > actionRank(best)) {
			best, bestLen = action, len(pattern)
		}
	}
	if best == "" {
		return "ask"
	}
	return best
}

// wildcardMatch reports whether s matches pattern ('*' and '?' wildcards),
// in O(len(pattern)*len(s)) worst case by single-star backtracking.
func wildcardMatch(pattern, s string) bool {
	p := []rune(pattern)
	r := []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(r) {
		switch {
		case pi < len(p) && (p[pi] == '?' || (p[pi] != '*' && p[pi] == r[si])):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
