package confine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPath: whatever name a caller passes, a read never returns the content
// of a file outside the project or under .git, and never panics.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"ok.txt", "../secret.txt", "/etc/passwd", "up/secret.txt", ".git/config", "gitlink/config",
		"a/../../secret.txt", "%2e%2e/secret.txt", "ok.txt\x00", "./././ok.txt", "sub/../ok.txt", "//secret.txt", "..\\secret.txt"} {
		f.Add(s)
	}
	dir, _ := filepath.EvalSymlinks(f.TempDir())
	proj := filepath.Join(dir, "proj")
	if err := os.MkdirAll(filepath.Join(proj, ".git"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(proj, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("OUTSIDE-SECRET"), 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, ".git", "config"), []byte("GIT-SECRET"), 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "ok.txt"), []byte("fine"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(proj, "up")); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(".git", filepath.Join(proj, "gitlink")); err != nil {
		f.Fatal(err)
	}
	r, err := Open(proj, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := r.Close(); err != nil {
			f.Error(err)
		}
	})
	f.Fuzz(func(t *testing.T, name string) {
		b, err := r.ReadFileLimit(name, 1<<20)
		if err == nil && (strings.Contains(string(b), "SECRET")) {
			t.Fatalf("ReadFile(%q) escaped: %q", name, b)
		}
		if err := r.WriteFile(name, []byte("x"), 0o644); err == nil {
			if s, _ := os.ReadFile(filepath.Join(dir, "secret.txt")); string(s) != "OUTSIDE-SECRET" {
				t.Fatalf("WriteFile(%q) wrote outside", name)
			}
			if s, _ := os.ReadFile(filepath.Join(proj, ".git", "config")); string(s) != "GIT-SECRET" {
				t.Fatalf("WriteFile(%q) wrote into .git", name)
			}
		}
	})
}
