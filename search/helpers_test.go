package search

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ocgo/watcher"
)

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && len(args) > 1 && args[0] == "diff" {
			return string(out) // --no-index exits 1 when files differ
		}
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// open starts a real watcher wired to a Service, as the server does.
func open(t testing.TB, root, cwd string) *Service {
	t.Helper()
	var svc *Service
	ready := make(chan struct{})
	w, err := watcher.New(watcher.Options{Env: os.LookupEnv, Root: root, Debounce: 15 * time.Millisecond, OnChange: func(c []watcher.Change) {
		<-ready
		svc.Notify(c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err = New(Options{Env: os.LookupEnv, Root: root, Cwd: cwd, Watcher: w, IndexMinFiles: -1})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return svc
}

func sleep() { time.Sleep(20 * time.Millisecond) }
