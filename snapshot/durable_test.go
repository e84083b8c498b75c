package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// Every object file written is listed for the next Flush, which fsyncs it
// and empties the list; past maxUnsyncedFiles one file-system sync stands
// for the list.
func TestFlushSyncsWhatWasWritten(t *testing.T) {
	work := t.TempDir()
	write(t, work, "d/a.txt", "a\n", 0o644)
	s := openSnap(t, work)
	tree := track(t, s)
	if err := s.store.flush(); err != nil { // written, not synced
		t.Fatal(err)
	}
	u := &s.store.unsynced
	listed := map[string]bool{}
	for _, p := range u.files {
		listed[p] = true
	}
	if p := s.store.loosePath(mustHash(t, tree)); !listed[p] {
		t.Fatalf("the tree's object %s is not listed for the next sync (%v)", p, u.files)
	}
	if len(u.dirs) == 0 {
		t.Fatal("no directory listed for the next sync")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(u.files) != 0 || len(u.dirs) != 0 || u.all {
		t.Fatalf("Flush left %d files, %d dirs, all=%v unsynced", len(u.files), len(u.dirs), u.all)
	}

	for i := range maxUnsyncedFiles + 1 {
		write(t, work, fmt.Sprintf("many/f%d.txt", i), fmt.Sprintf("%d\n", i), 0o644)
	}
	track(t, s)
	if err := s.store.flush(); err != nil {
		t.Fatal(err)
	}
	if !u.all || len(u.files) != 0 {
		t.Fatalf("past %d objects: all=%v, %d listed", maxUnsyncedFiles, u.all, len(u.files))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if u.all {
		t.Fatal("Flush did not sync the file system")
	}
	// A listed object pruned before the sync is not an error.
	write(t, work, "gone.txt", "soon gone\n", 0o644)
	track(t, s)
	if err := s.store.flush(); err != nil {
		t.Fatal(err)
	}
	for _, p := range u.files {
		_ = os.Remove(p)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush with a vanished object: %v", err)
	}
}

func mustHash(t *testing.T, h string) plumbing.Hash {
	t.Helper()
	x, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// BenchmarkTrack3FilesDurable: what a file-changing tool call now pays for
// its snapshot: Track after a 3-file edit (watcher-fed), then Flush, which
// fsyncs the new objects before the patch part names them.
func BenchmarkTrack3FilesDurable(b *testing.B) {
	work := benchCorpus(b)
	ctx := context.Background()
	s := benchOpen(b, work, filepath.Join(scratch(b), "snap"))
	defer s.Close()
	if _, err := s.Track(ctx); err != nil {
		b.Fatal(err)
	}
	s.MarkChanged(nil)
	if _, err := s.Track(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	ed := newEditor(b, work)
	for b.Loop() {
		b.StopTimer()
		ed.edit(b)
		s.MarkChanged(benchFiles)
		b.StartTimer()
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms/op")
}
