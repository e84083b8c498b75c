//go:build !linux

package childenv

// Harden is a no-op where /proc/<pid>/environ does not exist; Environ still
// scrubs what the agent's processes inherit.
func Harden() error { return nil }
