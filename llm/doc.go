// Package llm is the provider-neutral conversation: what a model is sent (a
// Call: the prompt's messages and their parts, tools, sampling settings,
// provider options) and what it streams back (StreamParts: text, reasoning,
// tool calls, usage, the finish reason, errors), the LanguageModel interface
// of the models package provider resolves (a wire adapter behind the
// retries), and the one ProviderError those adapters fail with, which says
// whether a retry may succeed.
//
// ocgo owns these types instead of taking them from an SDK because an SDK
// brings more than its types: charm.land/fantasy, whose names and meanings
// these follow, links its agent loop, structured-object generation, a JSON
// repairer and a JSON Schema library with their dependencies, about 4 MB of
// binary and 1.5 MB of resident memory at idle, for a session core that
// needs only the conversation itself. The package holds only what ocgo
// uses, imports only the standard library, and does no work at start.
//
// Provider data (ProviderOptions on the way in, ProviderMetadata on the way
// out) is opaque here: each adapter defines its own ProviderOptionsData
// types, keyed by its provider's name, and reads back what it stored with a
// session's parts (the Anthropic adapter keeps the shape fantasy wrote, so
// parts written before still read back).
package llm
