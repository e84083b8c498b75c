package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/gittest"

	"ocgo/gitrepo"
)

// fixture builds a tree exercising nested ignore files and negations.
// committedFixture is the fixture in a fresh git repository, all of it
// committed, with git isolated from the machine (gittest.Env).
func committedFixture(t *testing.T) string {
	t.Helper()
	gittest.Env(t)
	work := t.TempDir()
	fixture(t, work)
	runGit(t, work, "init", "-q")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-qm", "init")
	return work
}

func fixture(t testing.TB, root string) {
	t.Helper()
	files := map[string]string{
		".gitignore":           "*.log\n!keep.log\n/rootonly.txt\nbuild/\nlogs/\ndocs/**/*.tmp\nvendor/**\n# comment\n\n",
		"a.txt":                "a\n",
		"keep.log":             "keep\n",
		"drop.log":             "drop\n",
		"rootonly.txt":         "x\n",
		"sub/rootonly.txt":     "kept: anchored only at root\n",
		"build/out.o":          "o",
		"build/keep.txt":       "cannot re-include inside excluded dir\n",
		"logs":                 "a file named logs is not a dir\n",
		"docs/a/b/c.tmp":       "tmp\n",
		"docs/a/b/c.md":        "md\n",
		"vendor/x/y.go":        "package y\n",
		"sub/.gitignore":       "*.txt\n!important.txt\n!a.log\n",
		"sub/notes.txt":        "ignored\n",
		"sub/important.txt":    "kept\n",
		"sub/a.log":            "re-included\n",
		"sub/deep/z.txt":       "ignored by sub\n",
		"sub/deep/z.md":        "kept\n",
		"excluded.secret":      "info/exclude\n",
		"global.bak":           "global excludes\n",
		"space name/ü file.go": "package x\n",
		"bin.dat":              "\x00\x01\x02binary",
	}
	for p, c := range files {
		write(t, root, p, c, 0o644)
	}
	write(t, root, "run.sh", "#!/bin/sh\necho hi\n", 0o755)
	if err := os.Symlink("a.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, os.Getenv("XDG_CONFIG_HOME"), "git/ignore", "*.bak\n", 0o644)
}

func TestIgnoreMatchesGitLsFiles(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	fixture(t, work)
	runGit(t, work, "init", "-q")
	write(t, work, ".git/info/exclude", "*.secret\n", 0o644)
	runGit(t, work, "add", "a.txt", "sub/important.txt")
	runGit(t, work, "commit", "-qm", "init")
	want := lines(runGit(t, work, "-c", "core.quotePath=false", "ls-files", "-co", "--exclude-standard"))

	s := openSnap(t, work)
	got := treePaths(t, s, track(t, s))
	if !slices.Equal(got, want) {
		t.Errorf("tree paths differ from git ls-files -co --exclude-standard\n got: %q\nwant: %q", got, want)
	}
}

func TestTreeHashEqualsGitWriteTree(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	fixture(t, work)
	s := openSnap(t, work)
	h := track(t, s)

	// A fresh shadow dir populated by the git CLI gives the same tree.
	other := filepath.Join(t.TempDir(), "cli")
	runGit(t, work, "--git-dir="+other, "init", "-q")
	runGit(t, work, "--git-dir="+other, "--work-tree="+work, "add", "-A")
	if cli := strings.TrimSpace(runGit(t, work, "--git-dir="+other, "write-tree")); cli != h {
		t.Fatalf("Track = %s, git write-tree = %s", h, cli)
	}
	// Our own shadow dir is readable by the CLI and agrees too.
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
	runGit(t, work, "--git-dir="+s.gitDir, "--work-tree="+work, "add", "-A")
	if cli := strings.TrimSpace(runGit(t, work, "--git-dir="+s.gitDir, "write-tree")); cli != h {
		t.Fatalf("Track = %s, write-tree in shadow dir = %s", h, cli)
	}
	if _, err := os.Lstat(filepath.Join(work, ".git")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a .git appeared in the work tree: %v", err)
	}
}

func TestGitProjectSeededAndUntouched(t *testing.T) {
	work := committedFixture(t)
	// Give the files an mtime well before the index so seeds are trusted.
	before := dirDigest(filepath.Join(work, ".git"))

	s := openSnap(t, work)
	h := track(t, s)
	if head := strings.TrimSpace(runGit(t, work, "rev-parse", "HEAD^{tree}")); head != h {
		t.Fatalf("Track = %s, HEAD tree = %s", h, head)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
	if after := dirDigest(filepath.Join(work, ".git")); after != before {
		t.Fatal("the project's .git changed")
	}
	// A blob that lives only in the project's pack is readable through the alternate.
	runGit(t, work, "gc", "-q")
	before = dirDigest(filepath.Join(work, ".git"))
	s2 := openSnap(t, work)
	h2 := track(t, s2)
	if h2 != h {
		t.Fatalf("second snapshotter: %s != %s", h2, h)
	}
	d, err := s2.Diff(context.Background(), gitrepo.EmptyTree.String(), h2)
	if err != nil || !strings.Contains(d, "+package y") && !strings.Contains(d, "+kept") {
		t.Fatalf("diff via packed alternate objects: %v\n%s", err, d)
	}
	if after := dirDigest(filepath.Join(work, ".git")); after != before {
		t.Fatal("the project's .git changed")
	}
}

// dirDigest summarises names, sizes and mtimes below dir.
func dirDigest(dir string) string {
	var b strings.Builder
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error { // never fails: errors are skipped
		if err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}

// edit applies create/modify/delete/rename/binary/exec/symlink/nested changes.
func edit(t testing.TB, w string) {
	t.Helper()
	write(t, w, "a.txt", "a changed\n", 0o644)
	write(t, w, "new/deep/dir/created.txt", "created\n", 0o644)
	if err := os.Remove(filepath.Join(w, "keep.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(w, "sub/important.txt"), filepath.Join(w, "sub/renamed.md")); err != nil {
		t.Fatal(err)
	}
	write(t, w, "bin.dat", "\x00\xff\xfe changed binary", 0o644)
	if err := os.Chmod(filepath.Join(w, "run.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, w, "tool.sh", "#!/bin/sh\n", 0o755)
	if err := os.Remove(filepath.Join(w, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("run.sh", filepath.Join(w, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing-target", filepath.Join(w, "new/dangling")); err != nil {
		t.Fatal(err)
	}
	// Ignored files are not snapshotted, so only the tracked one goes.
	if err := os.Remove(filepath.Join(w, "docs/a/b/c.md")); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	gittest.Env(t)
	for _, watched := range []bool{false, true} {
		t.Run(fmt.Sprintf("watched=%v", watched), func(t *testing.T) {
			work := t.TempDir()
			fixture(t, work)
			s := openSnap(t, work)
			t0 := track(t, s)
			st0 := state(t, work)
			edit(t, work)
			if watched {
				s.MarkChanged([]string{"a.txt", "new/deep/dir/created.txt", "keep.log", "sub/important.txt",
					"sub/renamed.md", "bin.dat", "run.sh", "tool.sh", "link", "new/dangling", "docs/a/b/c.md"})
			}
			t1 := track(t, s)
			st1 := state(t, work)
			fresh := openSnap(t, work)
			if h := track(t, fresh); h != t1 {
				t.Fatalf("incremental tree %s != fresh full scan %s", t1, h)
			}
			changed, err := s.Changed(context.Background(), t0, t1)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"a.txt", "bin.dat", "docs/a/b/c.md", "keep.log", "link", "new/dangling",
				"new/deep/dir/created.txt", "run.sh", "sub/important.txt", "sub/renamed.md", "tool.sh"}
			if !slices.Equal(changed, want) {
				t.Fatalf("Changed = %q, want %q", changed, want)
			}
			// A file the user edits that is not in the list stays as it is.
			write(t, work, "sub/a.log", "user edit\n", 0o644)
			if watched {
				s.MarkChanged([]string{"sub/a.log"})
			}
			userFi, _ := os.Stat(filepath.Join(work, "sub/a.log"))

			res, err := s.Restore(context.Background(), t0, changed)
			if err != nil {
				t.Fatal(err)
			}
			st0["sub/a.log"] = fileState{content: "user edit\n", mode: 0o644}
			if d := diffStates(st0, state(t, work)); len(d) > 0 {
				t.Fatalf("revert not byte-identical: %v (result %+v)", d, res)
			}
			if fi, _ := os.Stat(filepath.Join(work, "sub/a.log")); !fi.ModTime().Equal(userFi.ModTime()) {
				t.Fatal("unlisted user file was touched")
			}
			if !slices.Contains(res.Deleted, "new/deep/dir/created.txt") || !slices.Contains(res.Written, "keep.log") {
				t.Fatalf("result = %+v", res)
			}
			if _, err := os.Stat(filepath.Join(work, "new")); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("emptied new dirs were not removed")
			}
			// Unrevert: only the reverted files, back to t1.
			res2, err := s.Restore(context.Background(), t1, changed)
			if err != nil {
				t.Fatal(err)
			}
			st1["sub/a.log"] = fileState{content: "user edit\n", mode: 0o644}
			if d := diffStates(st1, state(t, work)); len(d) > 0 {
				t.Fatalf("unrevert not byte-identical: %v (result %+v)", d, res2)
			}
			// Restoring again writes nothing: identical files are not rewritten.
			res3, err := s.Restore(context.Background(), t1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res3.Written)+len(res3.Deleted) != 1 || res3.Written[0] != "sub/a.log" {
				t.Fatalf("full restore touched more than the user-edited file: %+v", res3)
			}
		})
	}
}

func TestRestoreNeverTouchesUnlisted(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "agent.txt", "v1\n", 0o644)
	write(t, work, "user.txt", "u1\n", 0o644)
	s := openSnap(t, work)
	t0 := track(t, s)
	write(t, work, "agent.txt", "v2\n", 0o644)
	write(t, work, "user.txt", "u2\n", 0o644)
	write(t, work, "untracked-new.txt", "user created\n", 0o644)
	res, err := s.Restore(context.Background(), t0, []string{"agent.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Written, []string{"agent.txt"}) || len(res.Deleted) != 0 {
		t.Fatalf("result %+v", res)
	}
	for p, want := range map[string]string{"agent.txt": "v1\n", "user.txt": "u2\n", "untracked-new.txt": "user created\n"} {
		if b, _ := os.ReadFile(filepath.Join(work, p)); string(b) != want {
			t.Errorf("%s = %q, want %q", p, b, want)
		}
	}
	// Conflict detection support: the user's edit is visible as a hash mismatch.
	th, ok, err := s.FileState(context.Background(), t0, "user.txt")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	cur, exists, err := s.CurrentState("user.txt")
	if err != nil || !exists || cur == th {
		t.Fatalf("CurrentState=%s exists=%v err=%v, tree has %s", cur, exists, err, th)
	}
	gitHash := strings.TrimSpace(runGit(t, work, "hash-object", "user.txt"))
	if cur != gitHash+" 0100644" {
		t.Fatalf("CurrentState %s != git hash-object %s and mode 0100644", cur, gitHash)
	}
	// A mode change alone is a different state.
	if err := os.Chmod(filepath.Join(work, "user.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if x, _, _ := s.CurrentState("user.txt"); x != gitHash+" 0100755" {
		t.Fatalf("CurrentState after chmod +x: %s", x)
	}
	if err := os.Chmod(filepath.Join(work, "user.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.FileState(context.Background(), t0, "untracked-new.txt"); ok {
		t.Fatal("FileState found a file absent from the tree")
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x", ".git/config", ""} {
		if _, err := s.Restore(context.Background(), t0, []string{bad}); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Restore(%q) err = %v, want ErrInvalidPath", bad, err)
		}
	}
	if _, err := s.Restore(context.Background(), "not-a-hash", nil); !errors.Is(err, ErrInvalidHash) {
		t.Errorf("bad hash err = %v", err)
	}
}

func TestDiffFormat(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "mod.txt", "one\ntwo\nthree\n", 0o644)
	write(t, work, "gone.txt", "bye\n", 0o644)
	write(t, work, "bin.dat", "\x00abc", 0o644)
	write(t, work, "x.sh", "x\n", 0o644)
	s := openSnap(t, work)
	t0 := track(t, s)
	write(t, work, "mod.txt", "one\n2\nthree\n", 0o644)
	if err := os.Remove(filepath.Join(work, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, work, "born.txt", "hello\n", 0o644)
	write(t, work, "bin.dat", "\x00abd", 0o644)
	if err := os.Chmod(filepath.Join(work, "x.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := s.Diff(context.Background(), t0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"diff --git a/born.txt b/born.txt\nnew file mode 100644\n",
		"--- /dev/null\n+++ b/born.txt\n@@ -0,0 +1 @@\n+hello\n",
		"deleted file mode 100644\n",
		"--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n",
		"Binary files a/bin.dat and b/bin.dat differ\n",
		"--- a/mod.txt\n+++ b/mod.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n",
		"diff --git a/x.sh b/x.sh\nold mode 100644\nnew mode 100755\n",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q\n%s", want, d)
		}
	}
	// git apply accepts it (binary hunks carry no data, as in git diff).
	cmd := exec.Command("git", "apply", "--check", "-R", "--exclude=bin.dat", "-")
	cmd.Dir = work
	cmd.Stdin = strings.NewReader(d)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply --check -R: %v\n%s\n%s", err, out, d)
	}
}

func TestWatcherFedMatchesFullScan(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	fixture(t, work)
	s := openSnap(t, work)
	track(t, s)
	s.MarkChanged(nil) // switch to watcher-fed mode
	steps := []struct {
		name  string
		do    func()
		paths []string
	}{
		{"modify", func() { write(t, work, "a.txt", "z\n", 0o644) }, []string{"a.txt"}},
		{"new nested dir", func() { write(t, work, "n1/n2/f.go", "package f\n", 0o644) }, []string{"n1"}},
		{"ignored file", func() { write(t, work, "n1/x.log", "log\n", 0o644) }, []string{"n1/x.log"}},
		{"gitignore change", func() { write(t, work, "sub/.gitignore", "*.md\n", 0o644) }, []string{"sub/.gitignore"}},
		{"dir removed", func() {
			if err := os.RemoveAll(filepath.Join(work, "n1")); err != nil {
				t.Error(err)
			}
		}, []string{"n1/n2/f.go", "n1/n2", "n1"}},
		{"file replaced by dir", func() {
			if err := os.Remove(filepath.Join(work, "a.txt")); err != nil {
				t.Error(err)
			}
			write(t, work, "a.txt/inner.txt", "i\n", 0o644)
		}, []string{"a.txt"}},
	}
	for _, st := range steps {
		st.do()
		s.MarkChanged(st.paths)
		got := track(t, s)
		if want := track(t, openSnap(t, work)); got != want {
			t.Fatalf("%s: watcher-fed %s != full scan %s", st.name, got, want)
		}
	}
}

func TestPersistedStatCacheAvoidsRehash(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "f.txt", "aaaa\n", 0o644)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(work, "f.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	gd := filepath.Join(t.TempDir(), "snap")
	s, err := Open(Options{Env: os.LookupEnv, GitDir: gd, WorkTree: work})
	if err != nil {
		t.Fatal(err)
	}
	h1 := track(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Same size, same mtime, same inode, different bytes: only a cache hit
	// can return the old hash, which proves the restart did not rehash.
	f, _ := os.OpenFile(filepath.Join(work, "f.txt"), os.O_WRONLY, 0)
	if _, err := f.WriteString("bbbb\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(work, "f.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	// A process killed while persisting the cache left its temp file.
	leftover := filepath.Join(gd, ".ocgo-statcache.12345.tmp")
	if err := os.WriteFile(leftover, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(Options{Env: os.LookupEnv, GitDir: gd, WorkTree: work})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if h2 := track(t, s2); h2 != h1 {
		t.Fatalf("restart rehashed: %s != %s", h2, h1)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the leftover temp file of a killed persist stays: %v", err)
	}
	// A touched file is rehashed.
	now := time.Now()
	if err := os.Chtimes(filepath.Join(work, "f.txt"), now, now); err != nil {
		t.Fatal(err)
	}
	if h3 := track(t, s2); h3 == h1 {
		t.Fatal("changed mtime did not trigger a rehash")
	}
}

func TestTooLargeFilesReportedAndKept(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "small.txt", "s\n", 0o644)
	s := openSnap(t, work, func(o *Options) { o.MaxFileSize = 100 })
	t0 := track(t, s)
	write(t, work, "big.bin", strings.Repeat("x", 1000), 0o644)
	t1 := track(t, s)
	if t1 != t0 {
		t.Fatal("big file entered the tree")
	}
	if sk := s.Skipped(); len(sk) != 1 || sk[0].Path != "big.bin" {
		t.Fatalf("Skipped = %+v", sk)
	}
	res, err := s.Restore(context.Background(), t0, []string{"big.bin", "small.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Path != "big.bin" || len(res.Deleted) != 0 {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(work, "big.bin")); err != nil {
		t.Fatal("big file was deleted")
	}
}

func TestPrune(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "f.txt", "one\n", 0o644)
	s := openSnap(t, work)
	t1 := track(t, s)
	write(t, work, "f.txt", "two\n", 0o644)
	write(t, work, "g/h.txt", "two\n", 0o644)
	t2 := track(t, s)
	write(t, work, "f.txt", "three\n", 0o644)
	t3 := track(t, s)
	if err := s.Prune(context.Background(), []string{t1}); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "--git-dir="+s.gitDir, "cat-file", "-e", t1)
	runGit(t, work, "--git-dir="+s.gitDir, "cat-file", "-e", t3) // current state kept
	if err := exec.Command("git", "--git-dir="+s.gitDir, "cat-file", "-e", t2).Run(); err == nil {
		t.Fatal("unreachable tree survived prune")
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
	if _, err := s.Restore(context.Background(), t1, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "f.txt")); string(b) != "one\n" {
		t.Fatalf("f.txt = %q", b)
	}
}

// TestHelperHoldLock is run as a child process by TestStaleLockRecovery.
func TestHelperHoldLock(t *testing.T) {
	gd, work := os.Getenv("SNAP_HELPER_GITDIR"), os.Getenv("SNAP_HELPER_WORK")
	if gd == "" {
		t.Skip("helper only")
	}
	s, err := Open(Options{Env: os.LookupEnv, GitDir: gd, WorkTree: work})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("SNAP_HELPER_READY"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
	runtime.KeepAlive(s) // the lock must not be released by a finalizer
}

func TestStaleLockRecovery(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "f.txt", "x\n", 0o644)
	gd := filepath.Join(t.TempDir(), "snap")
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "SNAP_HELPER_GITDIR="+gd, "SNAP_HELPER_WORK="+work, "SNAP_HELPER_READY="+ready)
	var cout strings.Builder
	cmd.Stdout, cmd.Stderr = &cout, &cout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }() // it may have gone already
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i > 1000 {
			t.Fatal("helper did not take the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := openSnap(t, work, func(o *Options) { o.GitDir = gd })
	// While the child holds the lock, Track waits (and honours ctx).
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Track(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Track while locked: %v; child output: %s", err, cout.String())
	}
	// The child dies mid-operation, leaving its lock file and a temp object.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // reaps it; its error is the kill
	write(t, gd, "objects/ab/tmp_obj_123", "junk", 0o444)
	done := make(chan error, 1)
	go func() { _, err := s.Track(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Track wedged after the lock holder died")
	}
}

func TestConcurrentAndIndependent(t *testing.T) {
	gittest.Env(t)
	w1, w2 := t.TempDir(), t.TempDir()
	write(t, w1, "a.txt", "1\n", 0o644)
	write(t, w2, "a.txt", "2\n", 0o644)
	s1, s2 := openSnap(t, w1), openSnap(t, w2)
	want1, want2 := track(t, s1), track(t, s2)
	if want1 == want2 {
		t.Fatal("different trees hashed equal")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 10 {
		for _, c := range []struct {
			s    *Snapshotter
			want string
		}{{s1, want1}, {s2, want2}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := c.s.Track(context.Background())
				if err == nil && h != c.want {
					err = fmt.Errorf("got %s want %s", h, c.want)
				}
				if i%3 == 0 {
					if _, e := c.s.Changed(context.Background(), c.want, ""); e != nil {
						err = e
					}
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(s2.gitDir, "objects", want1[:2], want1[2:])); err == nil {
		t.Fatal("objects leaked between shadow repos")
	}
}

func TestOpenRejects(t *testing.T) {
	gittest.Env(t)
	home := os.Getenv("HOME")
	for name, o := range map[string]Options{
		"relative": {GitDir: "snap", WorkTree: t.TempDir()},
		"root":     {GitDir: filepath.Join(t.TempDir(), "s"), WorkTree: "/"},
		"home":     {GitDir: filepath.Join(t.TempDir(), "s"), WorkTree: home, Env: os.LookupEnv},
	} {
		if s, err := Open(o); err == nil {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			t.Errorf("%s: Open succeeded", name)
		}
	}
	work := t.TempDir()
	runGit(t, work, "init", "-q")
	if s, err := Open(Options{Env: os.LookupEnv, GitDir: filepath.Join(work, ".git", "snap"), WorkTree: work}); err == nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Error("GitDir inside the project's .git accepted")
	}
}

func TestNestedRepositoryLeftOut(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "top.txt", "t\n", 0o644)
	write(t, work, "inner/f.txt", "f\n", 0o644)
	runGit(t, filepath.Join(work, "inner"), "init", "-q")
	s := openSnap(t, work)
	if got := treePaths(t, s, track(t, s)); !slices.Equal(got, []string{"top.txt"}) {
		t.Fatalf("paths = %q", got)
	}
	if sk := s.Skipped(); len(sk) != 1 || sk[0].Path != "inner/" {
		t.Fatalf("Skipped = %+v", sk)
	}
	if _, err := os.Lstat(filepath.Join(work, "inner", ".git", "index")); err == nil {
		t.Fatal("nested repository index written")
	}
}

func TestDiffPaths(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "a.txt", "a1\n", 0o644)
	write(t, work, "d/b.txt", "b1\n", 0o644)
	write(t, work, "c.txt", "c1\n", 0o644)
	s := openSnap(t, work)
	t1 := track(t, s)
	write(t, work, "a.txt", "a2\n", 0o644)
	write(t, work, "d/b.txt", "b2\n", 0o644)
	write(t, work, "c.txt", "c2\n", 0o644)
	t2 := track(t, s)
	for _, tc := range []struct {
		paths      []string
		want, none []string
	}{
		{[]string{"a.txt"}, []string{"a/a.txt", "+a2"}, []string{"b.txt", "c.txt"}},
		{[]string{"d"}, []string{"a/d/b.txt", "+b2"}, []string{"a.txt", "c.txt"}},
		{[]string{"c.txt", "d/b.txt"}, []string{"c.txt", "d/b.txt"}, []string{"a.txt"}},
		{nil, nil, []string{"a.txt", "b.txt", "c.txt"}},
	} {
		t.Run(strings.Join(tc.paths, ","), func(t *testing.T) {
			d, err := s.DiffPaths(context.Background(), t1, t2, tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(d, w) {
					t.Errorf("diff lacks %q:\n%s", w, d)
				}
			}
			for _, n := range tc.none {
				if strings.Contains(d, n) {
					t.Errorf("diff has %q:\n%s", n, d)
				}
			}
		})
	}
	full, _ := s.Diff(context.Background(), t1, t2)
	all, _ := s.DiffPaths(context.Background(), t1, t2, []string{"a.txt", "c.txt", "d"})
	if full != all {
		t.Errorf("DiffPaths over every changed path differs from Diff:\n%s\n---\n%s", all, full)
	}
	if _, err := s.DiffPaths(context.Background(), t1, t2, []string{"../x"}); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("escaping path: %v", err)
	}
}

func TestPruneSinceKeepsTreesHandedOutMeanwhile(t *testing.T) {
	gittest.Env(t)
	work := t.TempDir()
	write(t, work, "f.txt", "one\n", 0o644)
	s := openSnap(t, work)
	track(t, s)
	since := time.Now()
	write(t, work, "f.txt", "two\n", 0o644)
	t2 := track(t, s) // handed out after since, recorded nowhere yet
	write(t, work, "f.txt", "three\n", 0o644)
	t3 := track(t, s)
	foreign := strings.Repeat("ab", 20) // a tree of another repository
	if err := s.PruneSince(context.Background(), []string{foreign}, since); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "--git-dir="+s.gitDir, "cat-file", "-e", t2)
	runGit(t, work, "--git-dir="+s.gitDir, "cat-file", "-e", t3)
	// Without since, t2 is unreachable and goes.
	if err := s.Prune(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "--git-dir="+s.gitDir, "cat-file", "-e", t2).Run(); err == nil {
		t.Fatal("unreachable tree survived prune")
	}
	runGit(t, work, "--git-dir="+s.gitDir, "fsck", "--full", "--no-dangling")
}
