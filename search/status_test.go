package search

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ocgo/gittest"
)

// expectedStatus asks git: `git diff --numstat HEAD` plus untracked files,
// paths rewritten relative to cwd.
func expectedStatus(t *testing.T, root, cwdRel string) []File {
	t.Helper()
	head := map[string]bool{}
	for _, p := range strings.Split(strings.TrimSpace(git(t, root, "ls-tree", "-r", "--name-only", "HEAD")), "\n") {
		head[p] = true
	}
	rel := func(p string) string {
		if cwdRel == "" {
			return p
		}
		r, _ := filepath.Rel(cwdRel, p)
		return filepath.ToSlash(r)
	}
	num := func(s string) int {
		n, _ := strconv.Atoi(s) // "-" (binary) counts as 0
		return n
	}
	out := []File{}
	for _, l := range strings.Split(strings.TrimSpace(git(t, root, "diff", "--numstat", "--no-renames", "HEAD")), "\n") {
		if l == "" {
			continue
		}
		f := strings.SplitN(l, "\t", 3)
		st := "modified"
		if !head[f[2]] {
			st = "added"
		} else if _, err := os.Lstat(filepath.Join(root, f[2])); err != nil {
			st = "deleted"
		}
		out = append(out, File{Path: f[2], Added: num(f[0]), Removed: num(f[1]), Status: st})
	}
	for _, p := range strings.Split(strings.TrimSpace(git(t, root, "ls-files", "--others", "--exclude-standard")), "\n") {
		if p == "" {
			continue
		}
		ns := strings.Fields(git(t, root, "diff", "--no-index", "--numstat", "/dev/null", p))
		added := 0
		if len(ns) > 0 {
			added = num(ns[0])
		}
		out = append(out, File{Path: p, Added: added, Status: "added"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	for i := range out {
		out[i].Path = rel(out[i].Path)
	}
	return out
}

func waitStatus(t *testing.T, svc *Service, want func() []File) {
	t.Helper()
	w := want()
	var got []File
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, err = svc.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(got, w) {
			return
		}
	}
	t.Fatalf("status differs from git\n got: %+v\nwant: %+v", got, w)
}

func TestStatusMatchesGit(t *testing.T) {
	needGit(t)
	for _, cwdRel := range []string{"", "pkg"} {
		t.Run("cwd="+cwdRel, func(t *testing.T) {
			gittest.Env(t)
			root := t.TempDir()
			git(t, root, "init", "-q")
			var big strings.Builder
			for i := range 300 {
				fmt.Fprintf(&big, "line %d\n", i)
			}
			write(t, root, "big.txt", big.String())
			write(t, root, "pkg/a.go", "package pkg\n\nfunc A() {}\n")
			write(t, root, "pkg/gone.go", "package pkg\n// one\n// two\n")
			write(t, root, "move_me.txt", "stay\nthe\nsame\n")
			write(t, root, "bin.dat", "\x00\x01\x02binary")
			write(t, root, "nonl.txt", "no newline")
			write(t, root, "script.sh", "#!/bin/sh\n")
			write(t, root, ".gitignore", "*.log\n")
			git(t, root, "add", "-A")
			git(t, root, "commit", "-qm", "init")

			svc := open(t, root, filepath.Join(root, cwdRel))
			want := func() []File { return expectedStatus(t, root, cwdRel) }
			waitStatus(t, svc, want) // clean tree: empty
			if got, _ := svc.Status(context.Background()); len(got) != 0 {
				t.Fatalf("clean tree reported %v", got)
			}
			// GET /file/status answers [] for a clean tree, as opencode does, not null.
			if got, _ := svc.Status(context.Background()); got == nil {
				t.Fatal("clean tree status is a nil slice (JSON null)")
			}

			// Scripted edits.
			b := strings.Replace(big.String(), "line 10\n", "line ten\nextra\n", 1)
			b = strings.Replace(b, "line 200\n", "", 1)
			write(t, root, "big.txt", b)
			write(t, root, "pkg/a.go", "package pkg\n\nfunc A() { println() }\n")
			if err := os.Remove(filepath.Join(root, "pkg/gone.go")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(root, "move_me.txt"), filepath.Join(root, "pkg/moved.txt")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "bin.dat", "\x00\x01\x03binary changed")
			write(t, root, "nonl.txt", "no newline\n")
			if err := os.Chmod(filepath.Join(root, "script.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, root, "new/deep/file.go", "package deep\n\nvar X = 1\n")
			write(t, root, "pkg/untracked.txt", "a\nb")
			write(t, root, "ignored.log", "nope\n")
			write(t, root, "staged.txt", "s1\ns2\n")
			git(t, root, "add", "staged.txt")
			waitStatus(t, svc, want)

			// Further edits after the first answer are picked up incrementally.
			write(t, root, "pkg/a.go", "package pkg\n\nfunc A() {}\n") // back to HEAD
			if err := os.Remove(filepath.Join(root, "pkg/untracked.txt")); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(root, "new")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "big.txt", big.String()+"tail\n")
			waitStatus(t, svc, want)

			// A commit moves HEAD: the state is recomputed.
			git(t, root, "add", "-A")
			git(t, root, "commit", "-qm", "second")
			waitStatus(t, svc, want)
			if got, _ := svc.Status(context.Background()); len(got) != 0 {
				t.Fatalf("after commit: %v", got)
			}
		})
	}
}

func TestStatusNotGit(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "x")
	svc := open(t, root, root)
	got, err := svc.Status(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want empty list", got, err)
	}
}
