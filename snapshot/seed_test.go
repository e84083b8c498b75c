package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/gittest"
)

// An index entry whose stat data no longer match the file (same size, new
// content, new mtime) is not trusted: the file is re-hashed.
func TestIndexSeedStatMismatchRehashed(t *testing.T) {
	work := committedFixture(t)
	old, err := os.ReadFile(filepath.Join(work, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Same size, different bytes, mtime moved into the past so neither the
	// size nor the racy guard gives the change away.
	write(t, work, "a.txt", strings.Repeat("z", len(old)), 0o644)
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(work, "a.txt"), past, past); err != nil {
		t.Fatal(err)
	}
	s := openSnap(t, work)
	h := track(t, s)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	gd := filepath.Join(t.TempDir(), "cli")
	runGit(t, work, "--git-dir="+gd, "init", "-q")
	runGit(t, work, "--git-dir="+gd, "--work-tree=.", "add", "-A")
	want := strings.TrimSpace(runGit(t, work, "--git-dir="+gd, "write-tree"))
	if h != want {
		t.Fatalf("Track = %s, git add -A + write-tree = %s", h, want)
	}
	if head := strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD^{tree}")); head == h {
		t.Fatal("stale index hash reused")
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
}

// A version 4 index (path compression, read through go-git's decoder)
// seeds the first snapshot as well.
func TestIndexV4Seeds(t *testing.T) {
	work := committedFixture(t)
	runGit(t, work, "update-index", "--index-version", "4")
	s := openSnap(t, work)
	if h, head := track(t, s), strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD^{tree}")); h != head {
		t.Fatalf("Track = %s, HEAD tree = %s", h, head)
	}
}

// The first snapshot takes unchanged directories' trees from the index's
// cache-tree, and only those: each directory below differs from the index
// in one way git's tree for it would hide, and the snapshot must still be
// what `git add -A` + `git write-tree` gives on a fresh shadow repository.
func TestCacheTreeOnlyForUnchangedDirs(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	dirs := []string{"same", "same/deeper", "ignored", "untracked", "deleted", "chmod", "big", "nested", "racy", "sym"}
	for _, d := range dirs {
		write(t, work, d+"/f.txt", d+"\n", 0o644)
		write(t, work, d+"/g/h.txt", d+" h\n", 0o644)
	}
	if err := os.Symlink("f.txt", filepath.Join(work, "sym", "l")); err != nil {
		t.Fatal(err)
	}
	write(t, work, "big/large.bin", strings.Repeat("x", 2048), 0o644)
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
	// Tracked, then ignored: git add -A on a fresh index leaves it out.
	write(t, work, ".gitignore", "ignored/g/\n", 0o644)
	runGit(t, work, "add", ".gitignore")
	runGit(t, work, "commit", "-qm", "ignore")
	write(t, work, "untracked/g/new.txt", "new\n", 0o644)
	if err := os.Remove(filepath.Join(work, "deleted", "g", "h.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(work, "chmod", "g", "h.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "init", "-q", filepath.Join(work, "nested", "g"))
	// Same size and inode, new bytes, an mtime in the past: the mtime no
	// longer equals the index's.
	p := filepath.Join(work, "racy", "g", "h.txt")
	write(t, work, "racy/g/h.txt", "racy X\n", 0o644)
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	s := openSnap(t, work, func(o *Options) { o.MaxFileSize = 1024 })
	h := track(t, s)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	gd := filepath.Join(t.TempDir(), "cli")
	runGit(t, work, "--git-dir="+gd, "init", "-q")
	runGit(t, work, "--git-dir="+gd, "--work-tree=.", "add", "-A", "--", ".", ":!big/large.bin", ":!nested/g")
	want := strings.TrimSpace(runGit(t, work, "--git-dir="+gd, "write-tree"))
	if h != want {
		t.Fatalf("Track = %s, git add -A + write-tree = %s\nsnapshot:\n%s\ngit:\n%s", h, want,
			runGit(t, work, "--git-dir="+s.gitDir, "ls-tree", "-r", h), runGit(t, work, "--git-dir="+gd, "ls-tree", "-r", want))
	}
	// The unchanged directories' trees are the project's own.
	for _, d := range []string{"same", "same/deeper", "sym"} {
		if got, head := strings.TrimSpace(runGit(t, work, "--git-dir="+s.gitDir, "rev-parse", h+":"+d)), strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD:"+d)); got != head {
			t.Fatalf("%s: %s, HEAD %s", d, got, head)
		}
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
}
