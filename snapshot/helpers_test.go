package snapshot

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"ocgo/gitrepo"
)

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

func write(t testing.TB, root, rel, content string, perm os.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func openSnap(t testing.TB, work string, opts ...func(*Options)) *Snapshotter {
	t.Helper()
	o := Options{Env: os.LookupEnv, GitDir: filepath.Join(t.TempDir(), "snapshots"), WorkTree: work}
	for _, f := range opts {
		f(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func track(t testing.TB, s *Snapshotter) string {
	t.Helper()
	h, err := s.Track(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fileState is what a path looks like on disk.
type fileState struct {
	content string
	mode    os.FileMode // type bits + perm
}

// state captures every file and symlink under root except .git.
func state(t testing.TB, root string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[rel] = fileState{content: l, mode: fi.Mode()}
		case fi.IsDir():
			if rel != "." {
				m[rel+"/"] = fileState{mode: os.ModeDir}
			}
		default:
			b, _ := os.ReadFile(p)
			m[rel] = fileState{content: string(b), mode: fi.Mode()}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffStates(a, b map[string]fileState) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "only before: "+k)
		} else if v != w {
			out = append(out, "differs: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "only after: "+k)
		}
	}
	sort.Strings(out)
	return out
}

// treePaths lists every file path in a tree.
func treePaths(t testing.TB, s *Snapshotter, tree string) []string {
	t.Helper()
	paths, err := s.Changed(context.Background(), gitrepo.EmptyTree.String(), tree)
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
