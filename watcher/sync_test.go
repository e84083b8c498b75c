package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// syncWatcher starts a watcher whose debounce is far longer than the test,
// so only Sync can make a change visible.
func syncWatcher(t *testing.T, root string) (*Watcher, *recorder) {
	t.Helper()
	rec := &recorder{changes: map[string]string{}}
	w, err := New(Options{Env: os.LookupEnv, Root: root, Debounce: time.Hour, RescanInterval: time.Hour, OnChange: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Version() // the first walk is done: what follows is a change
	return w, rec
}

// TestSyncSeesWritesAtOnce: a file written (in a new directory, deleted,
// renamed) right before Sync is in the index when Sync returns, though the
// debounce would hold it back for an hour; OnChange has been told too.
func TestSyncSeesWritesAtOnce(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".gitignore", "*.log\n")
	w, rec := syncWatcher(t, root)
	ctx := context.Background()
	want := []string{".gitignore"}
	for i := range 50 {
		rel := fmt.Sprintf("d%d/e%d/f%d.txt", i%7, i, i)
		write(t, root, rel, "x")
		write(t, root, fmt.Sprintf("d%d/x%d.log", i%7, i), "ignored")
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		want = append(want, rel)
		slices.Sort(want)
		if got := w.RegularFiles(""); !slices.Equal(got, want) {
			t.Fatalf("after writing %s: %v", rel, got)
		}
		rec.mu.Lock()
		told := rec.changes[rel]
		rec.mu.Unlock()
		if told != EventChange {
			t.Fatalf("OnChange not told of %s before Sync returned", rel)
		}
		if i%5 == 4 { // remove one and rename another
			gone := want[1]
			if err := os.Remove(filepath.Join(root, gone)); err != nil {
				t.Fatal(err)
			}
			moved := want[2]
			to := moved + ".moved"
			if err := os.Rename(filepath.Join(root, moved), filepath.Join(root, to)); err != nil {
				t.Fatal(err)
			}
			if err := w.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			want = append(slices.DeleteFunc(want, func(s string) bool { return s == gone || s == moved }), to)
			slices.Sort(want)
			if got := w.RegularFiles(""); !slices.Equal(got, want) {
				t.Fatalf("after removing %s and renaming %s: %v", gone, moved, got)
			}
		}
	}
	if got := w.RegularFiles("d3"); len(got) == 0 || !slices.IsSorted(got) || got[0][:3] != "d3/" {
		t.Errorf("RegularFiles(d3) = %v", got)
	}
}

// TestSyncConcurrent: many goroutines writing and syncing each see their
// own file at once.
func TestSyncConcurrent(t *testing.T) {
	root := t.TempDir()
	w, _ := syncWatcher(t, root)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				rel := fmt.Sprintf("g%d/f%d", g, i)
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					errs <- err
					return
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					errs <- err
					return
				}
				if err := w.Sync(context.Background()); err != nil {
					errs <- err
					return
				}
				if !slices.Contains(w.RegularFiles(fmt.Sprintf("g%d", g)), rel) {
					errs <- fmt.Errorf("%s missing right after Sync", rel)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSyncWithoutInotify: degraded (watch limit) and never-started
// watchers rescan on Sync.
func TestSyncWithoutInotify(t *testing.T) {
	root := t.TempDir()
	w, _ := syncWatcher(t, root)
	w.mu.Lock()
	w.degraded = true
	for d := range w.dirs {
		_ = w.fsw.Remove(w.abs(d))
		w.dirs[d] = false
	}
	w.mu.Unlock()
	write(t, root, "a/b.txt", "x")
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.RegularFiles(""); !slices.Equal(got, []string{"a/b.txt"}) {
		t.Errorf("degraded: %v", got)
	}

	root2 := t.TempDir()
	w2, err := New(Options{Env: os.LookupEnv, Root: root2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w2.Close() }()
	w2.Files()
	write(t, root2, "c.txt", "y")
	if err := w2.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w2.RegularFiles(""); !slices.Equal(got, []string{"c.txt"}) {
		t.Errorf("not started: %v", got)
	}
}

// TestRegularFilesLeaveOutSymlinks: symlinks are files for git (Files) but
// not for the tools (RegularFiles).
func TestRegularFilesLeaveOutSymlinks(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "x")
	if err := os.Symlink("a.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	w, _ := syncWatcher(t, root)
	if got := w.Files(); !slices.Equal(got, []string{"a.txt", "link"}) {
		t.Errorf("Files = %v", got)
	}
	if got := w.RegularFiles(""); !slices.Equal(got, []string{"a.txt"}) {
		t.Errorf("RegularFiles = %v", got)
	}
	// A regular file replaced by a symlink (and back) changes the lists.
	must(t, os.Remove(filepath.Join(root, "a.txt")))
	must(t, os.Symlink("link", filepath.Join(root, "a.txt")))
	must(t, w.Sync(context.Background()))
	if got := w.RegularFiles(""); len(got) != 0 {
		t.Errorf("RegularFiles after swap = %v", got)
	}
}

// BenchmarkFirstWalkMonorepo is the watcher's first walk (every directory
// read and watched, the ignore rules applied) of the tree named by
// OCGO_MONOREPO (bench/monorepo.sh).
func BenchmarkFirstWalkMonorepo(b *testing.B) {
	dir := os.Getenv("OCGO_MONOREPO")
	if dir == "" {
		b.Skip("OCGO_MONOREPO not set (bench/monorepo.sh sets it)")
	}
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		w, err := New(Options{Env: os.LookupEnv, Root: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(w.Files())), "files")
		cpu += cpuTime() - c0
		_ = w.Close()
	}
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// BenchmarkSync is one Sync of a started watcher with nothing pending.
func BenchmarkSync(b *testing.B) {
	root := b.TempDir()
	w, err := New(Options{Env: os.LookupEnv, Root: root})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	if err := w.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	w.Files()
	for b.Loop() {
		if err := w.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSyncSeesDotDotNames: a top-level name that starts with ".." is in
// the root, not above it: its events are kept.
func TestSyncSeesDotDotNames(t *testing.T) {
	root := t.TempDir()
	w, _ := syncWatcher(t, root)
	write(t, root, "..foo", "x")
	write(t, root, "..d/f", "y")
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Files(), []string{"..d/f", "..foo"}; !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
}
