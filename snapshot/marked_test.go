package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/gitrepo"
)

// A directory and a file inside it reported together (the watcher reports
// a directory whose content changed; a restore marks the directories it
// emptied), the file changed long enough ago that its stat is trusted: the
// file's entry must get its own hash. It once copied the hash of the entry
// the directory's rescan had just queued, still zero, so the tree named
// blob 0000… (a revert of a 6 MB file from a subdirectory server deleted
// the file, then failed with "object not found: 0000…").
func TestDirectoryAndFileMarkedTogether(t *testing.T) {
	for _, big := range []bool{false, true} {
		name := "small"
		if big {
			name = "over the cap, named by TrackPaths"
		}
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			old := time.Now().Add(-time.Hour)
			write(t, work, "sub/f.txt", "one\n", 0o644)
			write(t, work, "sub/g.txt", "g\n", 0o644)
			if err := os.Chtimes(filepath.Join(work, "sub", "f.txt"), old, old); err != nil {
				t.Fatal(err)
			}
			s := openSnap(t, work, func(o *Options) { o.MaxFileSize = 64 })
			track(t, s)
			s.MarkChanged(nil) // watcher-fed from now on
			track(t, s)

			content := "two two\n"
			if big {
				content = strings.Repeat("big line\n", 20) // over the 64-byte cap
			}
			write(t, work, "sub/f.txt", content, 0o644)
			if err := os.Chtimes(filepath.Join(work, "sub", "f.txt"), old, old); err != nil {
				t.Fatal(err)
			}
			s.MarkChanged([]string{"sub", "sub/f.txt"})
			var named []string
			if big {
				named = []string{"sub/f.txt"}
			}
			tree, err := s.TrackPaths(context.Background(), named)
			if err != nil {
				t.Fatal(err)
			}
			st, ok, err := s.FileState(context.Background(), tree, "sub/f.txt")
			if err != nil || !ok {
				t.Fatalf("sub/f.txt not in the tree: %v", err)
			}
			if strings.HasPrefix(st, strings.Repeat("0", 40)) {
				t.Fatalf("sub/f.txt stored with a zero hash: %s", st)
			}
			d, err := s.Diff(context.Background(), gitrepo.EmptyTree.String(), tree)
			if err != nil {
				t.Fatalf("diff of the new tree: %v", err)
			}
			if !strings.Contains(d, "+"+strings.SplitN(content, "\n", 2)[0]) {
				t.Fatalf("diff lacks the new content:\n%s", d)
			}
		})
	}
}
