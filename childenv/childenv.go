// Package childenv keeps ocgo's secrets away from the processes the agent
// runs (the bash tool, POST /session/:id/shell, !`cmd` in command
// templates).
//
// Guarantees:
//   - Environ is the server's environment without the variables that hold
//     a secret ocgo knows of: by name (the server password, *_API_KEY, and
//     every variable the config reads through {env:NAME}) and by value (any
//     variable whose value contains a secret value: {env:}/{file:}
//     substitutions, credential-named config values, auth.json keys and
//     tokens, the server password), whatever the variable is called.
//   - Harden (Linux) removes the secrets from the server's own /proc entry:
//     the initial environment block that /proc/<pid>/environ shows is
//     overwritten with zero bytes after the environment was copied to the
//     Go heap, so a child reading /proc/$PPID/environ finds nothing, even as
//     root; and the process is made non-dumpable, so a child of the same
//     (non-root) user cannot read the server's memory through
//     /proc/<pid>/mem or ptrace. A root child keeps CAP_SYS_PTRACE and can
//     read any memory: run ocgo as an ordinary user.
package childenv

import (
	"os"
	"strings"
)

// MinSecretLen is the shortest value treated as a secret when scrubbing by
// value; shorter values ("1", "yes") would remove unrelated variables.
const MinSecretLen = 6

// Scrubber computes the agent processes' environment.
type Scrubber struct {
	base   []string
	names  map[string]bool
	values func() []string
}

// New returns a Scrubber over base (the server's environment); names are
// extra variable names to drop ({env:} references), values returns the
// current secret values (read on every call, so a key stored later through
// PUT /auth is scrubbed too).
func New(base []string, names []string, values func() []string) *Scrubber {
	s := &Scrubber{base: append([]string(nil), base...), names: map[string]bool{}, values: values}
	for _, n := range names {
		s.names[n] = true
	}
	return s
}

// Default is the agent processes' environment where no Scrubber is wired
// in (a package used on its own, in tests): the server's environment
// without the variables whose names always hold a credential. app wires
// a Scrubber that also drops the config's and auth.json's secrets.
func Default() []string { return New(os.Environ(), nil, nil).Environ() }

// SecretName reports whether a variable name always holds a credential.
func SecretName(name string) bool {
	u := strings.ToUpper(name)
	return u == "OPENCODE_SERVER_PASSWORD" || strings.HasSuffix(u, "_API_KEY")
}

// Environ is the environment for an agent process.
func (s *Scrubber) Environ() []string {
	var vals []string
	if s.values != nil {
		for _, v := range s.values() {
			if len(v) >= MinSecretLen {
				vals = append(vals, v)
			}
		}
	}
	// A variable dropped by name gives its value up too: the same key
	// copied under a harmless name is dropped as well.
	for _, kv := range s.base {
		if name, val, _ := strings.Cut(kv, "="); (SecretName(name) || s.names[name]) && len(val) >= MinSecretLen {
			vals = append(vals, val)
		}
	}
	out := make([]string, 0, len(s.base))
	for _, kv := range s.base {
		name, val, _ := strings.Cut(kv, "=")
		if SecretName(name) || s.names[name] || containsAny(val, vals) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
