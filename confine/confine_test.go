package confine

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// project builds proj/ with a secret next to it and returns both paths.
func project(t *testing.T) (proj, secret string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proj = filepath.Join(dir, "proj")
	secret = filepath.Join(dir, "secret.txt")
	must(t, os.MkdirAll(filepath.Join(proj, ".git", "hooks"), 0o755))
	must(t, os.WriteFile(filepath.Join(proj, ".git", "config"), []byte("[remote]\nurl=https://user:tok@host\n"), 0o644))
	must(t, os.WriteFile(secret, []byte("SECRET-CANARY"), 0o600))
	must(t, os.WriteFile(filepath.Join(proj, "ok.txt"), []byte("fine"), 0o644))
	return proj, secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, proj string, deny ...string) *Root {
	t.Helper()
	r, err := Open(proj, Options{Deny: deny})
	must(t, err)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func TestReadsInsideProject(t *testing.T) {
	proj, _ := project(t)
	must(t, os.Symlink("ok.txt", filepath.Join(proj, "inner-link")))
	r := open(t, proj)
	for _, name := range []string{"ok.txt", "inner-link", filepath.Join(proj, "ok.txt"), "./sub/../ok.txt"} {
		b, err := r.ReadFile(name)
		if err != nil || string(b) != "fine" {
			t.Errorf("ReadFile(%q) = %q, %v", name, b, err)
		}
	}
}

// Hole 1: a symlinked AGENTS.md (to /proc/self/environ or any outside file)
// is refused.
func TestHole1SymlinkOutOfProjectRefused(t *testing.T) {
	proj, secret := project(t)
	must(t, os.Symlink("/proc/self/environ", filepath.Join(proj, "AGENTS.md")))
	must(t, os.Symlink(secret, filepath.Join(proj, "CLAUDE.md")))
	must(t, os.Symlink(filepath.Dir(secret), filepath.Join(proj, "up")))
	r := open(t, proj)
	for _, name := range []string{"AGENTS.md", "CLAUDE.md", "up/secret.txt", "../secret.txt", secret, "a/../../secret.txt"} {
		b, err := r.ReadFile(name)
		if err == nil || !errors.Is(err, ErrOutside) {
			t.Errorf("ReadFile(%q) = %q, %v; want ErrOutside", name, b, err)
		}
	}
	if err := r.WriteFile("up/secret.txt", []byte("x"), 0o644); !errors.Is(err, ErrOutside) {
		t.Errorf("write through an outside symlink: %v", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "SECRET-CANARY" {
		t.Errorf("secret changed: %q", b)
	}
}

// Hole 3: a FIFO, a socket or a device never blocks a read.
func TestHole3SpecialFilesRefusedWithoutBlocking(t *testing.T) {
	proj, _ := project(t)
	must(t, syscall.Mkfifo(filepath.Join(proj, "p"), 0o644))
	ln, err := net.Listen("unix", filepath.Join(proj, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	names := []string{"p", "sock"}
	if os.Geteuid() == 0 {
		// /dev/zero's numbers: an endless device inside the project.
		if err := syscall.Mknod(filepath.Join(proj, "zero"), syscall.S_IFCHR|0o644, 1<<8|5); err == nil {
			names = append(names, "zero")
		}
	}
	r := open(t, proj)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, name := range names {
			if _, err := r.ReadFile(name); !errors.Is(err, ErrSpecial) {
				t.Errorf("ReadFile(%q): %v, want ErrSpecial", name, err)
			}
			if err := r.WriteFile(name, []byte("x"), 0o644); !errors.Is(err, ErrSpecial) {
				t.Errorf("WriteFile(%q): %v, want ErrSpecial", name, err)
			}
		}
		if _, err := ReadRegular(filepath.Join(proj, "p"), 100); !errors.Is(err, ErrSpecial) {
			t.Errorf("ReadRegular(fifo): %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a special file blocked")
	}
}

// Hole 6: a hard link to an outside file is neither read nor written.
func TestHole6HardLinkRefused(t *testing.T) {
	proj, secret := project(t)
	must(t, os.Link(secret, filepath.Join(proj, "hl")))
	r := open(t, proj)
	if _, err := r.ReadFile("hl"); !errors.Is(err, ErrHardLink) {
		t.Errorf("read: %v, want ErrHardLink", err)
	}
	if err := r.WriteFile("hl", []byte("pwned"), 0o644); !errors.Is(err, ErrHardLink) {
		t.Errorf("write: %v, want ErrHardLink", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "SECRET-CANARY" {
		t.Errorf("secret changed: %q", b)
	}
}

// Hole 6: .git is off-limits, also through a symlink to it, for reads and
// writes (hooks, core.fsmonitor).
func TestHole6GitOffLimits(t *testing.T) {
	proj, _ := project(t)
	must(t, os.Symlink(".git", filepath.Join(proj, "gitlink")))
	must(t, os.Symlink(".git/hooks", filepath.Join(proj, "hooks")))
	must(t, os.Symlink(".git/hooks/pre-commit", filepath.Join(proj, "dangling")))
	must(t, os.Symlink(".git/config", filepath.Join(proj, "cfg")))
	r := open(t, proj)
	for _, name := range []string{".git/config", "gitlink/config", "cfg", "sub/../.git/config"} {
		if _, err := r.ReadFile(name); !errors.Is(err, ErrDenied) {
			t.Errorf("ReadFile(%q): %v, want ErrDenied", name, err)
		}
	}
	for _, name := range []string{".git/config", ".git/hooks/pre-commit", "gitlink/hooks/post-checkout", "hooks/pre-commit", "cfg"} {
		if err := r.WriteFile(name, []byte("#!/bin/sh\nid\n"), 0o755); !errors.Is(err, ErrDenied) {
			t.Errorf("WriteFile(%q): %v, want ErrDenied", name, err)
		}
	}
	if err := r.WriteFile("dangling", []byte("x"), 0o755); err == nil {
		t.Error("write through a dangling symlink into .git succeeded")
	}
	if _, err := r.MkdirAll("gitlink/hooks/x", 0o755); !errors.Is(err, ErrDenied) {
		t.Errorf("MkdirAll through gitlink: %v", err)
	}
	if err := r.Remove("gitlink/config"); !errors.Is(err, ErrDenied) {
		t.Errorf("Remove through gitlink: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(proj, ".git", "hooks"))
	if len(ents) != 0 {
		t.Errorf("hooks written: %v", ents)
	}
	if _, err := r.Stat("gitlink"); !errors.Is(err, ErrDenied) {
		t.Errorf("Stat(gitlink): %v", err)
	}
	allowed, err := Open(proj, Options{AllowGit: true})
	must(t, err)
	defer allowed.Close()
	if _, err := allowed.ReadFile(".git/config"); err != nil {
		t.Errorf("AllowGit: %v", err)
	}
}

// Hole 4: ocgo's data folder inside the served directory is off-limits.
func TestHole4DataFolderInsideProjectOffLimits(t *testing.T) {
	proj, _ := project(t)
	data := filepath.Join(proj, "x", "data")
	must(t, os.MkdirAll(data, 0o700))
	must(t, os.WriteFile(filepath.Join(data, "auth.json"), []byte(`{"k":"sk-CANARY"}`), 0o600))
	must(t, os.Symlink("x/data", filepath.Join(proj, "d")))
	r := open(t, proj, data, "/somewhere/else")
	for _, name := range []string{"x/data/auth.json", "d/auth.json", filepath.Join(data, "auth.json")} {
		if _, err := r.ReadFile(name); !errors.Is(err, ErrDenied) {
			t.Errorf("ReadFile(%q): %v, want ErrDenied", name, err)
		}
	}
	if err := r.WriteFile("d/evil.json", []byte("{}"), 0o644); !errors.Is(err, ErrDenied) {
		t.Errorf("write: %v", err)
	}
	if !r.Denied("x/data") || !r.Denied("x/data/a") || r.Denied("x") || r.Denied("x/database") {
		t.Error("Denied is wrong")
	}
}

func TestReadBounded(t *testing.T) {
	proj, _ := project(t)
	must(t, os.WriteFile(filepath.Join(proj, "big"), make([]byte, 1000), 0o644))
	r := open(t, proj)
	if _, err := r.ReadFileLimit("big", 999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v", err)
	}
	if b, err := r.ReadFileLimit("big", 1000); err != nil || len(b) != 1000 {
		t.Errorf("got %d, %v", len(b), err)
	}
}
