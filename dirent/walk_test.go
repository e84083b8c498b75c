//go:build unix

package dirent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"ocgo/dirent"
)

func mk(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openRoot(t *testing.T, dir string) *dirent.Root {
	t.Helper()
	r, err := dirent.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// record is a walk that descends everywhere and notes each hook call.
type record struct {
	mu      sync.Mutex
	events  []string
	files   []string
	onEnter func(rel string)
}

func (r *record) note(s string) { r.mu.Lock(); r.events = append(r.events, s); r.mu.Unlock() }

func (r *record) walker(parallel int, list func(d *dirent.Dir[string])) *dirent.Walker[string] {
	return &dirent.Walker[string]{
		Parallel: parallel,
		Enter: func(rel, val string) {
			r.note("enter " + rel)
			if r.onEnter != nil {
				r.onEnter(rel)
			}
		},
		List: func(d *dirent.Dir[string], val string) {
			if val != d.Rel {
				r.note("state " + val + " for " + d.Rel)
			}
			r.note("list " + d.Rel)
			if list != nil {
				list(d)
			}
			for _, e := range d.Entries {
				rel := strings.TrimPrefix(d.Rel+"/"+e.Name, "/")
				switch {
				case e.IsDir:
					d.Descend(e.Name, rel)
				case e.IsFile:
					if _, err := d.Stat(e.Name); err != nil {
						r.note("stat failed " + rel)
					}
					r.mu.Lock()
					r.files = append(r.files, rel)
					r.mu.Unlock()
				}
			}
		},
		Leave: func(val string, subs []string) { r.note("leave " + val + " [" + strings.Join(subs, " ") + "]") },
	}
}

// TestWalkOrderOfHooks: each directory is entered before it is read (a file
// created by the watcher's Enter, where it adds its watch, is in the
// listing), left after all of its subdirectories; every file is found,
// sequentially and in parallel.
func TestWalkOrderOfHooks(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, "a.txt", "x/b.txt", "x/y/c.txt", "x/y/z/d.txt", "w/e.txt", "v/f.txt")
	for _, parallel := range []int{0, 3} {
		r := record{onEnter: func(rel string) {
			if rel == "x/y" {
				mk(t, dir, "x/y/born.txt")
			}
		}}
		if err := r.walker(parallel, nil).Walk(context.Background(), openRoot(t, dir), "", ""); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "x/y/born.txt")); err != nil {
			t.Fatal(err)
		}
		slices.Sort(r.files)
		if want := []string{"a.txt", "v/f.txt", "w/e.txt", "x/b.txt", "x/y/born.txt", "x/y/c.txt", "x/y/z/d.txt"}; !slices.Equal(r.files, want) {
			t.Fatalf("parallel %d: files %v, want %v", parallel, r.files, want)
		}
		pos := map[string]int{}
		for i, e := range r.events {
			if strings.HasPrefix(e, "state ") || strings.HasPrefix(e, "stat failed") {
				t.Fatalf("parallel %d: %s", parallel, e)
			}
			pos[e] = i
		}
		for _, d := range []string{"", "x", "x/y", "x/y/z", "w", "v"} {
			enter, ok1 := pos["enter "+d]
			list, ok2 := pos["list "+d]
			if !ok1 || !ok2 || enter > list {
				t.Fatalf("parallel %d: %q entered at %d (%v), listed at %d (%v): %v", parallel, d, enter, ok1, list, ok2, r.events)
			}
		}
		leaveOf := func(prefix string) int {
			for e, i := range pos {
				if strings.HasPrefix(e, "leave "+prefix+" [") {
					return i
				}
			}
			t.Fatalf("parallel %d: no leave for %q: %v", parallel, prefix, r.events)
			return 0
		}
		if !(leaveOf("x/y/z") < leaveOf("x/y") && leaveOf("x/y") < leaveOf("x") && leaveOf("x") < leaveOf("")) {
			t.Fatalf("parallel %d: a directory left before its subdirectories: %v", parallel, r.events)
		}
	}
}

// TestWalkNeverFollowsASymlink: a directory replaced by a symlink to
// another directory between its listing and the descent into it (the race
// a walk of a live tree meets), and a symlink as the walk's start, are not
// listed, neither outside the root nor inside it.
func TestWalkNeverFollowsASymlink(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "proj")
	outside := filepath.Join(base, "outside")
	mk(t, dir, "d/inner.txt", "real/r.txt")
	mk(t, outside, "secret.txt")
	for _, target := range []string{outside, "real"} {
		var r record
		swap := func(d *dirent.Dir[string]) {
			if d.Rel != "" {
				return
			}
			// The listing said "d" is a directory; now it is a symlink.
			if err := os.RemoveAll(filepath.Join(dir, "d")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, "d")); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.walker(0, swap).Walk(context.Background(), openRoot(t, dir), "", ""); err != nil {
			t.Fatal(err)
		}
		slices.Sort(r.files)
		if !slices.Equal(r.files, []string{"real/r.txt"}) {
			t.Fatalf("symlink to %s: files %v, want only real/r.txt (no listing through d)", target, r.files)
		}
		if slices.Contains(r.events, "list d") || slices.Contains(r.events, "enter d") {
			t.Fatalf("symlink to %s: d must be neither entered (a watch would follow the link) nor listed: %v", target, r.events)
		}
		if err := os.Remove(filepath.Join(dir, "d")); err != nil {
			t.Fatal(err)
		}
		mk(t, dir, "d/inner.txt")
	}
	// A walk starting at a symlink, to a directory outside the root or
	// inside it.
	for i, target := range []string{outside, "real"} { // "real": relative, as os.Root follows
		link := "ld" + string(rune('0'+i))
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
		var r record
		if err := r.walker(0, nil).Walk(context.Background(), openRoot(t, dir), link, link); err != nil {
			t.Fatal(err)
		}
		if len(r.files) != 0 || slices.Contains(r.events, "list "+link) {
			t.Fatalf("walk from a symlink to %s listed %v: %v", target, r.files, r.events)
		}
	}
}

// TestWalkCancelled: a cancelled walk returns the context's error and does
// not leave the directories it did not finish.
func TestWalkCancelled(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, "x/y/a.txt", "x/b.txt")
	ctx, cancel := context.WithCancel(context.Background())
	var r record
	w := r.walker(0, func(d *dirent.Dir[string]) {
		if d.Rel == "x" {
			cancel()
		}
	})
	err := w.Walk(ctx, openRoot(t, dir), "", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, e := range r.events {
		if e == "list x/y" || strings.HasPrefix(e, "leave") {
			t.Fatalf("walk went on after cancel: %v", r.events)
		}
	}
}
