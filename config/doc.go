// Package config loads opencode 0.5.29's configuration and credentials.
//
// Load merges the global and project opencode.json / opencode.jsonc files,
// OPENCODE_CONFIG, markdown agents and commands, and OPENCODE_PERMISSION in
// the original's precedence, expanding {env:VAR} and {file:path}. Every file
// is validated strictly against the original schema; the first problem is
// an *Error naming the file (never by absolute path) and the dotted key, so
// the server can refuse to start with a message the user can act on. User
// files are only read, never rewritten.
//
// Config exposes the typed settings, the agent list and the slash commands in
// the exact wire shapes of GET /agent and GET /command. Public is the only
// view meant for clients: credentials are redacted in it, including values
// that arrived through {env:} substitution.
//
// AuthStore owns auth.json: validated writes under a cross-process lock,
// atomically replaced, mode 0600 from the first byte, and reads that notice
// changes without a restart. Auth values never print their secrets.
//
// The package is a leaf: it imports nothing else from this module and keeps
// no package-level mutable state.
package config
