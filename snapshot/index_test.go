package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// parseIndex must agree with go-git's decoder entry for entry, on a v3
// index (intent-to-add, skip-worktree) with a long path and a conflict-free
// mix of modes.
func TestParseIndexMatchesGoGit(t *testing.T) {
	gitEnv(t)
	work := t.TempDir()
	fixture(t, work)
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 4000)[:200] + ".txt"
	write(t, work, long, "long\n", 0o644)
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
	write(t, work, "later.txt", "later\n", 0o644)
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
	var idx index.Index
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	if idx.Version != 3 || len(got) != len(idx.Entries) {
		t.Fatalf("version %d, %d entries, go-git %d", idx.Version, len(got), len(idx.Entries))
	}
	skips := 0
	for i, e := range idx.Entries {
		g := got[i]
		mt := int64(0) // go-git leaves a zero mtime as the zero time
		if !e.ModifiedAt.IsZero() {
			mt = e.ModifiedAt.UnixNano()
		}
		want := indexEntry{name: e.Name, mtime: mt, ino: e.Inode, size: e.Size, mode: e.Mode,
			hash: e.Hash, stage: int(e.Stage), skip: e.SkipWorktree || e.IntentToAdd}
		if g != want {
			t.Fatalf("entry %d: %+v, go-git %+v", i, g, want)
		}
		if g.skip {
			skips++
		}
	}
	if skips != 2 {
		t.Fatalf("%d skip-worktree/intent-to-add entries, want 2", skips)
	}
	// A damaged index is refused (the caller then uses go-git, which refuses too).
	b[len(b)/2] ^= 0xff
	if _, err := parseIndex(b); err == nil {
		t.Fatal("corrupt index accepted")
	}
}

// An index entry whose stat data no longer match the file (same size, new
// content, new mtime) is not trusted: the file is re-hashed.
func TestIndexSeedStatMismatchRehashed(t *testing.T) {
	gitEnv(t)
	work := t.TempDir()
	fixture(t, work)
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
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

// A version 4 index (path compression) is read through go-git's decoder.
func TestIndexV4FallsBackToGoGit(t *testing.T) {
	gitEnv(t)
	work := t.TempDir()
	fixture(t, work)
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
	runGit(t, work, "update-index", "--index-version", "4")
	f, err := os.Open(filepath.Join(work, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseIndex(b); err == nil {
		t.Fatal("parseIndex accepted a v4 index")
	}
	ents, err := readIndexEntries(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Split(strings.TrimSuffix(runGit(t, work, "ls-files", "-z"), "\x00"), "\x00")
	if len(ents) != len(files) || len(ents) == 0 {
		t.Fatalf("%d entries, ls-files %d", len(ents), len(files))
	}
	for i, e := range ents {
		if e.name != files[i] {
			t.Fatalf("entry %d = %q, ls-files %q", i, e.name, files[i])
		}
	}
	s := openSnap(t, work)
	if h, head := track(t, s), strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD^{tree}")); h != head {
		t.Fatalf("Track = %s, HEAD tree = %s", h, head)
	}
}
