package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRefusesHomeFromOptions: the home directory comes from Options.Home
// (the server's injected $HOME), and serving it is refused.
func TestRefusesHomeFromOptions(t *testing.T) {
	home := t.TempDir()
	_, err := Open(Options{Env: os.LookupEnv, GitDir: filepath.Join(t.TempDir(), "s"), WorkTree: home, Home: home})
	if !errors.Is(err, ErrUnsafeRoot) {
		t.Fatalf("Open on Options.Home: %v, want ErrUnsafeRoot", err)
	}
	s, err := Open(Options{Env: os.LookupEnv, GitDir: filepath.Join(t.TempDir(), "s"), WorkTree: home, Home: t.TempDir()})
	if err != nil {
		t.Fatalf("Open on another directory: %v", err)
	}
	_ = s.Close()
}
