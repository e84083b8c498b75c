package watcher

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ocgo/gittest"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIgnoreMatchesGit compares the index with git ls-files -co --exclude-standard.
func TestIgnoreMatchesGit(t *testing.T) {
	gittest.Env(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := t.TempDir()
	git(t, root, "init", "-q")
	home := os.Getenv("HOME")
	write(t, home, ".config/git/ignore", "*.globalxdg\n")
	files := map[string]string{
		".gitignore":              "*.log\n!keep.log\n/rootonly.txt\nbuild/\n!build/keep.txt\nlogs/\ndocs/**/*.tmp\nvendor/**\n# comment\n\n*.swp\n",
		"a.log":                   "",
		"keep.log":                "",
		"rootonly.txt":            "",
		"sub/rootonly.txt":        "",
		"build/x.o":               "",
		"build/keep.txt":          "",
		"logs":                    "a file named logs",
		"sub/logs/x":              "",
		"docs/a/b/c.tmp":          "",
		"docs/a/b/c.md":           "",
		"vendor/m/x.go":           "",
		"sub/.gitignore":          "*.txt\n!important.txt\n!a.log\n",
		"sub/a.log":               "",
		"sub/b.log":               "",
		"sub/important.txt":       "",
		"sub/other.txt":           "",
		"sub/deep/other.txt":      "",
		"sub/deep/important.txt":  "",
		"excluded.priv":           "",
		"sub/x.priv":              "",
		"z.globalxdg":             "",
		".hidden/file":            "",
		".github/workflows/a.yml": "",
		"main.go":                 "",
		".x.swp":                  "",
		"neg/.gitignore":          "*\n!.gitignore\n!keep/\n!keep/**\n",
		"neg/drop":                "",
		"neg/keep/k":              "",
	}
	for rel, c := range files {
		write(t, root, rel, c)
	}
	write(t, root, ".git/info/exclude", "*.priv\n")

	want := strings.Fields(git(t, root, "ls-files", "-co", "--exclude-standard"))
	slices.Sort(want)

	w, err := New(Options{Env: os.LookupEnv, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := w.Files()
	if !slices.Equal(got, want) {
		t.Errorf("index differs from git\n got: %v\nwant: %v", got, want)
	}
	for rel := range files {
		inGit := slices.Contains(want, rel)
		if ig := w.Ignored(rel, false); ig == inGit {
			t.Errorf("Ignored(%q) = %v, git lists it: %v", rel, ig, inGit)
		}
	}
	if !w.Ignored("build", true) || w.Ignored("sub", true) || !w.Ignored(".git", true) {
		t.Errorf("directory decisions wrong")
	}
	if slices.Contains(w.Dirs(), "build") || !slices.Contains(w.Dirs(), "sub/deep") {
		t.Errorf("dirs: %v", w.Dirs())
	}
}

type recorder struct {
	mu      sync.Mutex
	changes map[string]string
	batches int
}

func (r *recorder) on(cs []Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	for _, c := range cs {
		r.changes[c.Path] = c.Event
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.changes = map[string]string{}
	r.mu.Unlock()
}

// waitFor polls until cond holds on the recorded changes or fails after 5s.
func (r *recorder) waitFor(t *testing.T, what string, cond func(map[string]string) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		ok := cond(r.changes)
		r.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("timed out waiting for %s; got %d changes: %v", what, len(r.changes), r.changes)
}

func startWatcher(t *testing.T, root string) (*Watcher, *recorder) {
	t.Helper()
	rec := &recorder{changes: map[string]string{}}
	w, err := New(Options{Env: os.LookupEnv, Root: root, Debounce: 20 * time.Millisecond, OnChange: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Version() // the first walk runs in the background: edits from now on are changes
	return w, rec
}

// TestFirstWalkWithoutStart: a watcher that was never started still
// answers from a full walk of the tree.
func TestFirstWalkWithoutStart(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a/b.txt", "x")
	write(t, root, "c.txt", "y")
	w, err := New(Options{Env: os.LookupEnv, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Files(); len(got) != 2 || got[0] != "a/b.txt" || got[1] != "c.txt" {
		t.Fatalf("Files() = %v", got)
	}
}

// TestStartDoesNotWaitForFirstWalk: the server starts the watcher while
// another part may already be waiting for the first walk, which holds the
// index lock (on a 100,000-file tree for about 400 ms): Start must not
// wait for it, and the watcher works once the walk is done.
func TestStartDoesNotWaitForFirstWalk(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "x")
	w, err := New(Options{Env: os.LookupEnv, Root: root, Debounce: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.mu.Lock() // a first walk in progress
	started := make(chan error, 1)
	go func() { started <- w.Start(context.Background()) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		w.mu.Unlock()
		t.Fatal("Start waited for the index lock")
	}
	w.mu.Unlock()
	write(t, root, "b.txt", "y")
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.Files(); !slices.Equal(got, []string{"a.txt", "b.txt"}) {
		t.Fatalf("Files() = %v", got)
	}
}

func TestAtomicSave(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "one")
	w, rec := startWatcher(t, root)
	tmp := filepath.Join(root, ".a.txt.tmp123")
	if err := os.WriteFile(tmp, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "a.txt")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "change of a.txt", func(m map[string]string) bool { return m["a.txt"] == EventChange })
	// A second atomic save must be seen too: the directory watch survives.
	rec.reset()
	if err := os.WriteFile(tmp, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "a.txt")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "second change of a.txt", func(m map[string]string) bool { return m["a.txt"] == EventChange })
	if got := w.Files(); !slices.Equal(got, []string{"a.txt"}) {
		t.Errorf("files after atomic saves: %v", got)
	}
}

func TestNewNestedDirectories(t *testing.T) {
	root := t.TempDir()
	w, rec := startWatcher(t, root)
	var want []string
	for i := range 20 {
		dir := filepath.Join(root, fmt.Sprintf("x%d", i), "b", "c")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			rel := fmt.Sprintf("x%d/b/c/f%d.go", i, j)
			write(t, root, rel, "package c\n")
			want = append(want, rel)
		}
	}
	rec.waitFor(t, "200 files in new dirs", func(m map[string]string) bool { return len(m) == 200 })
	slices.Sort(want)
	if got := w.Files(); !slices.Equal(got, want) {
		t.Errorf("index has %d files, want %d", len(got), len(want))
	}
	if !slices.Contains(w.Dirs(), "x19/b/c") {
		t.Errorf("nested dir not indexed: %v", w.Dirs()[:3])
	}
	// Later writes inside the new directories are seen: they are watched.
	rec.reset()
	write(t, root, "x7/b/c/late.go", "package c\n")
	rec.waitFor(t, "late file", func(m map[string]string) bool { return m["x7/b/c/late.go"] == EventChange })
}

func TestMassChangesAndDeletion(t *testing.T) {
	root := t.TempDir()
	for i := range 300 {
		write(t, root, fmt.Sprintf("d%d/f%d.txt", i%7, i), "v1")
	}
	w, rec := startWatcher(t, root)
	if n := len(w.Files()); n != 300 {
		t.Fatalf("initial index: %d files", n)
	}
	for i := range 300 {
		write(t, root, fmt.Sprintf("d%d/f%d.txt", i%7, i), "v2")
	}
	rec.waitFor(t, "300 modifications", func(m map[string]string) bool { return len(m) == 300 })
	rec.reset()
	// Delete one directory and a few single files; rename one file.
	if err := os.RemoveAll(filepath.Join(root, "d3")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "d0/f0.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "d1/f1.txt"), filepath.Join(root, "d1/renamed.txt")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "deletions", func(m map[string]string) bool {
		return m["d3/f3.txt"] == EventRename && m["d0/f0.txt"] == EventRename &&
			m["d1/f1.txt"] == EventRename && m["d1/renamed.txt"] == EventChange
	})
	for _, f := range w.Files() {
		if strings.HasPrefix(f, "d3/") || f == "d0/f0.txt" || f == "d1/f1.txt" {
			t.Errorf("deleted file still indexed: %s", f)
		}
	}
	if slices.Contains(w.Dirs(), "d3") {
		t.Errorf("deleted dir still indexed")
	}
	// Renaming a directory moves its files.
	rec.reset()
	if err := os.Rename(filepath.Join(root, "d2"), filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "dir rename", func(m map[string]string) bool {
		return m["d2/f2.txt"] == EventRename && m["moved/f2.txt"] == EventChange
	})
	rec.reset()
	write(t, root, "moved/new.txt", "x")
	rec.waitFor(t, "write in moved dir", func(m map[string]string) bool { return m["moved/new.txt"] == EventChange })
}

func TestGitignoreEditRescans(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.log", "x")
	write(t, root, "b.txt", "x")
	w, rec := startWatcher(t, root)
	write(t, root, ".gitignore", "*.log\n")
	rec.waitFor(t, "a.log dropped", func(m map[string]string) bool { return m["a.log"] == EventRename })
	if got := w.Files(); !slices.Equal(got, []string{".gitignore", "b.txt"}) {
		t.Errorf("files: %v", got)
	}
	// New files that are ignored produce no change.
	rec.reset()
	write(t, root, "c.log", "x")
	write(t, root, "d.txt", "x")
	rec.waitFor(t, "d.txt", func(m map[string]string) bool { return m["d.txt"] == EventChange })
	if _, ok := rec.changes["c.log"]; ok {
		t.Errorf("ignored file reported")
	}
}

func TestDegradedRescan(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "x")
	rec := &recorder{changes: map[string]string{}}
	w, err := New(Options{Env: os.LookupEnv, Root: root, Debounce: 10 * time.Millisecond, RescanInterval: 30 * time.Millisecond, OnChange: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Simulate the watch limit: drop all watches and mark degraded.
	w.mu.Lock()
	w.degraded = true
	for d := range w.dirs {
		if err := w.fsw.Remove(w.abs(d)); err != nil {
			t.Error(err) // not Fatal: w.mu is held
		}
		w.dirs[d] = false
	}
	w.mu.Unlock()
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	write(t, root, "sub/new.txt", "y")
	rec.waitFor(t, "rescan finds new file", func(m map[string]string) bool { return m["sub/new.txt"] == EventChange })
	rec.reset()
	time.Sleep(10 * time.Millisecond)
	write(t, root, "a.txt", "changed content")
	rec.waitFor(t, "rescan sees modification", func(m map[string]string) bool { return m["a.txt"] == EventChange })
}

// BenchmarkSetupGOROOT: New, the first walk (every directory watched) and
// Close on Go's src tree.
func BenchmarkSetupGOROOT(b *testing.B) {
	if testing.Short() {
		b.Skip("short")
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skip("no go env")
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "src")
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		w, err := New(Options{Env: os.LookupEnv, Root: src})
		if err != nil {
			b.Fatal(err)
		}
		w.Version() // the walk runs on first use (or on Start's goroutine); no sort
		cpu += cpuTime() - c0
		b.ReportMetric(float64(len(w.files)), "files")
		b.ReportMetric(float64(len(w.dirs)), "dirs")
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user and system CPU time so far: load on the
// shared machine moves it far less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
