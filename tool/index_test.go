package tool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSearchToolsSeeFreshWrites: a file written (by the write tool, or by
// anyone) right before glob, grep or list is found at once, though the
// index's watcher would deliver it only after its debounce (an hour here).
func TestSearchToolsSeeFreshWrites(t *testing.T) {
	e := newEnv(t)
	e.file("old.go", "package old\n")
	mustRun(t, e, "glob", m{"pattern": "**/*.go"}) // the index is up
	for i := range 20 {
		rel := fmt.Sprintf("pkg%d/sub/new%d.go", i%3, i)
		word := fmt.Sprintf("Fresh%dWord", i)
		if i%2 == 0 {
			e.file(rel, "package x\n// "+word+"\n")
		} else {
			e.FileRead("ses_1", filepath.Join(e.path, rel))
			mustRun(t, e, "write", m{"filePath": filepath.Join(e.path, rel), "content": "package x\n// " + word + "\n"})
		}
		abs := filepath.Join(e.path, rel)
		if r := mustRun(t, e, "glob", m{"pattern": "**/new*.go"}); !slices.Contains(strings.Split(r.Output, "\n"), abs) {
			t.Fatalf("glob right after writing %s:\n%s", rel, r.Output)
		}
		if r := mustRun(t, e, "grep", m{"pattern": word}); !strings.Contains(r.Output, abs+":") {
			t.Fatalf("grep right after writing %s:\n%s", rel, r.Output)
		}
		if r := mustRun(t, e, "list", m{"path": filepath.Join(e.path, fmt.Sprintf("pkg%d", i%3))}); !strings.Contains(r.Output, fmt.Sprintf("new%d.go", i)) {
			t.Fatalf("list right after writing %s:\n%s", rel, r.Output)
		}
		if err := os.Remove(abs); err != nil {
			t.Fatal(err)
		}
		if r := mustRun(t, e, "glob", m{"pattern": "**/new*.go"}); strings.Contains(r.Output, abs) {
			t.Fatalf("glob right after removing %s:\n%s", rel, r.Output)
		}
	}
}

// TestIndexServedToolsMatchFreshWalk changes a tree at random (files and
// directories created, rewritten, renamed and removed, .gitignore files
// edited) and after every step compares what glob and grep answer from the
// index with a fresh walk of the disk by git itself (git ls-files -co
// --exclude-standard), with no wait between the change and the call.
func TestIndexServedToolsMatchFreshWalk(t *testing.T) {
	seed, rng := testRand(t)
	e := newEnv(t)
	gitRepo(t, e)
	dirs := []string{"", "a", "a/b", "a/b/c", "build", "d", "d/tmp", "logs", "x y"}
	names := []string{"f.go", "g.txt", "h.log", "keep.log", "top.txt", "n.bak", "i.go"}
	ignores := []string{"*.log", "!keep.log", "build/", "/top.txt", "tmp", "*.bak", "c/", "!n.bak", "x y/", "g.*"}
	randPath := func() string { return filepath.Join(dirs[rng.Intn(len(dirs))], names[rng.Intn(len(names))]) }
	var ops []string
	did := func(f string, a ...any) {
		ops = append(ops, fmt.Sprintf(f, a...))
		t.Logf(f, a...)
	}
	for step := range 150 {
		ops = ops[:0]
		for range 1 + rng.Intn(4) {
			switch op := rng.Intn(10); {
			case op < 4:
				p, c := randPath(), fmt.Sprintf("token%d\n", rng.Intn(5))
				e.file(p, c)
				did("write %s %q", p, c)
			case op < 5:
				var b strings.Builder
				for range 1 + rng.Intn(3) {
					b.WriteString(ignores[rng.Intn(len(ignores))] + "\n")
				}
				p := filepath.Join(dirs[rng.Intn(4)], ".gitignore")
				e.file(p, b.String())
				did("write %s %q", p, b.String())
			case op < 7:
				did("%s", e.removeAny(rng))
			case op < 8:
				did("%s", e.moveAny(rng, randPath()))
			case op < 9:
				d := dirs[1+rng.Intn(len(dirs)-1)]
				_ = os.RemoveAll(filepath.Join(e.path, d))
				did("rm -r %s", d)
			default:
				d := dirs[1+rng.Intn(len(dirs)-1)]
				to := dirs[1+rng.Intn(len(dirs)-1)]
				if !strings.HasPrefix(to, d) {
					_ = os.RemoveAll(filepath.Join(e.path, to))
					_ = os.MkdirAll(filepath.Dir(filepath.Join(e.path, to)), 0o755)
					_ = os.Rename(filepath.Join(e.path, d), filepath.Join(e.path, to))
					did("mv dir %s %s", d, to)
				}
			}
		}
		out, err := exec.Command("git", "-C", e.path, "ls-files", "-co", "--exclude-standard", "-z").Output()
		if err != nil {
			t.Fatal(err)
		}
		var want, wantGrep []string
		for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if rel == "" {
				continue
			}
			abs := filepath.Join(e.path, filepath.FromSlash(rel))
			want = append(want, abs)
			if b, err := os.ReadFile(abs); err == nil && strings.Contains(string(b), "token3") {
				wantGrep = append(wantGrep, abs)
			}
		}
		slices.Sort(want)
		r := mustRun(t, e, "glob", m{"pattern": "**/*"})
		got := globPaths(r.Output)
		if !slices.Equal(got, want) {
			_ = filepath.WalkDir(e.path, func(p string, d os.DirEntry, err error) error {
				if d != nil && d.Name() == ".gitignore" {
					b, _ := os.ReadFile(p)
					t.Logf("%s: %q", p, b)
				}
				if d != nil && d.IsDir() {
					t.Logf("dir %s", p)
				}
				return nil
			})
			t.Fatalf("step %d (seed %d) after %q: glob from the index\n%v\ngit ls-files\n%v", step, seed, ops, got, want)
		}
		r = mustRun(t, e, "grep", m{"pattern": `token3\b`})
		got = nil
		for _, l := range strings.Split(r.Output, "\n") {
			if strings.HasSuffix(l, ":") && strings.HasPrefix(l, "/") {
				got = append(got, strings.TrimSuffix(l, ":"))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, wantGrep) {
			t.Fatalf("step %d (seed %d) after %q: grep from the index\n%v\nwant\n%v", step, seed, ops, got, wantGrep)
		}
	}
}

func globPaths(out string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "/") {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	return got
}
