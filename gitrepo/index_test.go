package gitrepo

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ocgo/gittest"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"ocgo/ignore"
)

func runGit(t *testing.T, dir string, args ...string) string {
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

// repoWithTrees commits a small tree of nested directories.
func repoWithTrees(t *testing.T) string {
	work := t.TempDir()
	for _, p := range []string{"a.txt", "b/c.txt", "b/d/e.txt", "b/d/f/g.txt", "b.txt", "b-x/h.txt", "z/y.txt"} {
		write(t, work, p, p+"\n")
	}
	if err := os.Symlink("a.txt", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
	return work
}

// parseIndex must agree with go-git's decoder entry for entry, on a v3
// index (intent-to-add, skip-worktree) with a long path.
func TestParseIndexMatchesGoGit(t *testing.T) {
	gittest.Env(t)
	work := repoWithTrees(t)
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 200) + ".txt"
	write(t, work, long, "long\n")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "long")
	write(t, work, "later.txt", "later\n")
	runGit(t, work, "add", "-N", "later.txt")
	runGit(t, work, "update-index", "--skip-worktree", "a.txt")
	b, err := os.ReadFile(filepath.Join(work, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseIndex(b)
	if err != nil {
		t.Fatalf("parseIndex: %v", err)
	}
	var gi index.Index
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(&gi); err != nil {
		t.Fatal(err)
	}
	if gi.Version != 3 || len(got.Entries) != len(gi.Entries) {
		t.Fatalf("version %d, %d entries, go-git %d", gi.Version, len(got.Entries), len(gi.Entries))
	}
	skips := 0
	for i, e := range gi.Entries {
		g := got.Entries[i]
		mt := int64(0)
		if !e.ModifiedAt.IsZero() {
			mt = e.ModifiedAt.UnixNano()
		}
		want := IndexEntry{Name: e.Name, Mtime: mt, Ino: e.Inode, Size: e.Size, Mode: e.Mode,
			Hash: e.Hash, Stage: int(e.Stage), Skip: e.SkipWorktree || e.IntentToAdd}
		if g != want {
			t.Fatalf("entry %d: %+v, go-git %+v", i, g, want)
		}
		if g.Skip {
			skips++
		}
	}
	if skips != 2 {
		t.Fatalf("%d skip-worktree/intent-to-add entries, want 2", skips)
	}
	// A damaged index is refused by both decoders.
	b[len(b)/2] ^= 0xff
	if _, err := parseIndex(b); err == nil {
		t.Fatal("corrupt index accepted")
	}
	if _, err := ParseIndex(b); err == nil {
		t.Fatal("corrupt index accepted through the fallback")
	}
}

// checkTrees compares every cache-tree entry with the tree git has for
// that directory in HEAD, and the entry count with ls-files.
func checkTrees(t *testing.T, work string, idx *Index, want int) {
	t.Helper()
	if len(idx.Trees) != want {
		t.Fatalf("%d valid cache-tree entries %v, want %d", len(idx.Trees), idx.Trees, want)
	}
	for p, ct := range idx.Trees {
		rev := "HEAD^{tree}"
		if p != "" {
			rev = "HEAD:" + p
		}
		if h := strings.TrimSpace(runGit(t, work, "rev-parse", rev)); h != ct.Hash.String() {
			t.Fatalf("cache-tree %q = %s, git %s", p, ct.Hash, h)
		}
		args := []string{"ls-files"}
		if p != "" {
			args = append(args, "--", p+"/")
		}
		files := strings.Count(runGit(t, work, args...), "\n")
		if ct.Entries != files {
			t.Fatalf("cache-tree %q covers %d entries, ls-files %d", p, ct.Entries, files)
		}
	}
}

// The cache-tree gives each directory's tree hash under its full path;
// a staged change invalidates its directory and those above, not others.
func TestCacheTree(t *testing.T) {
	gittest.Env(t)
	work := repoWithTrees(t)
	r := Open(mustRepo(t, work))
	t.Cleanup(func() { _ = r.Close() })
	idx, err := r.ReadIndex()
	if err != nil {
		t.Fatal(err)
	}
	// "", b, b/d, b/d/f, b-x, z
	checkTrees(t, work, idx, 6)
	write(t, work, "b/d/e.txt", "changed\n")
	runGit(t, work, "add", "b/d/e.txt")
	if idx, err = r.ReadIndex(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "b", "b/d"} {
		if _, ok := idx.Trees[p]; ok {
			t.Fatalf("cache-tree %q still valid after a staged change", p)
		}
	}
	checkTrees(t, work, idx, 3)
	// Version 4 goes through go-git's decoder and gives the same answer.
	runGit(t, work, "commit", "-qm", "e")
	runGit(t, work, "update-index", "--index-version", "4")
	if idx, err = r.ReadIndex(); err != nil {
		t.Fatal(err)
	}
	checkTrees(t, work, idx, 6)
	files := strings.Split(strings.TrimSuffix(runGit(t, work, "ls-files", "-z"), "\x00"), "\x00")
	if len(idx.Entries) != len(files) {
		t.Fatalf("%d entries, ls-files %d", len(idx.Entries), len(files))
	}
	for i, e := range idx.Entries {
		if e.Name != files[i] {
			t.Fatalf("entry %d = %q, ls-files %q", i, e.Name, files[i])
		}
	}
}

func mustRepo(t *testing.T, work string) ignore.Repo {
	t.Helper()
	r, ok := ignore.FindRepo(work)
	if !ok {
		t.Fatal("not a repository")
	}
	return r
}

// Objects, commits, trees and HEAD read back as git wrote them, packed or
// loose.
func TestReadObjects(t *testing.T) {
	gittest.Env(t)
	work := repoWithTrees(t)
	for _, pack := range []bool{false, true} {
		if pack {
			runGit(t, work, "gc", "-q")
		}
		r := Open(mustRepo(t, work))
		head, err := r.Head()
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD")); head.String() != want {
			t.Fatalf("Head = %s, git %s", head, want)
		}
		tree, err := r.CommitTree(head)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD^{tree}")); tree.String() != want {
			t.Fatalf("CommitTree = %s, git %s", tree, want)
		}
		ents, err := r.Tree(tree)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range ents {
			got = append(got, strconv.FormatUint(uint64(e.Mode), 8)+" "+e.Hash.String()+"\t"+e.Name)
		}
		ls := strings.Split(strings.TrimSpace(runGit(t, work, "ls-tree", "HEAD")), "\n")
		for i := range ls {
			f := strings.Fields(ls[i]) // mode type hash\tname
			ls[i] = strings.TrimPrefix(f[0], "0") + " " + f[2] + "\t" + f[3]
		}
		if strings.Join(got, "\n") != strings.Join(ls, "\n") {
			t.Fatalf("tree:\n%s\ngit:\n%s", strings.Join(got, "\n"), strings.Join(ls, "\n"))
		}
		// Encoding the decoded entries gives the same object back.
		if h, _ := HashObject("tree", EncodeTree(ents)); h != tree {
			t.Fatalf("re-encoded tree %s, want %s", h, tree)
		}
		for _, e := range ents {
			if e.Name == "a.txt" {
				b, err := r.ReadAs(plumbing.BlobObject, e.Hash)
				if err != nil || string(b) != "a.txt\n" || BlobHash(b) != e.Hash {
					t.Fatalf("blob a.txt: %q, %v", b, err)
				}
			}
		}
		if _, err := r.ReadAs(plumbing.BlobObject, tree); err == nil {
			t.Fatal("a tree read as a blob")
		}
		if _, _, err := r.Read(plumbing.NewHash(strings.Repeat("ab", 20))); err == nil || !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing object: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
