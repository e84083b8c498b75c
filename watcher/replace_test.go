package watcher

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDirectoryReplacedWithinOneBatch: a watched directory removed and made
// again (or replaced by another moved in) before the batch is handled gets
// a new watch, and the files of the old one leave the index.
func TestDirectoryReplacedWithinOneBatch(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a/b/old.go", "x")
	write(t, root, "y/moved.go", "x")
	w, _ := syncWatcher(t, root)
	sync := func() {
		if err := w.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Removed and made again in one batch.
	must(t, os.RemoveAll(filepath.Join(root, "a/b")))
	write(t, root, "a/b/c/new.go", "x")
	sync()
	// The new directories are watched: a later file in them is seen.
	write(t, root, "a/b/c/later.go", "x")
	sync()
	if got := w.Files(); !slices.Equal(got, []string{"a/b/c/later.go", "a/b/c/new.go", "y/moved.go"}) {
		t.Fatalf("after remove and re-create: %v", got)
	}
	// Moved away, another moved in, in one batch: no file of the old
	// one stays.
	must(t, os.Rename(filepath.Join(root, "a/b"), filepath.Join(root, "gone")))
	must(t, os.Rename(filepath.Join(root, "y"), filepath.Join(root, "a/b")))
	sync()
	write(t, root, "a/b/later2.go", "x")
	sync()
	if got := w.Files(); !slices.Equal(got, []string{"a/b/later2.go", "a/b/moved.go", "gone/c/later.go", "gone/c/new.go"}) {
		t.Fatalf("after replacing by a move: %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
