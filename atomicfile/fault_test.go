package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"ocgo/atomicfile"
	"ocgo/atomicfile/faultfs"
)

// TestFaultAtEveryStepKeepsTheOldFile injects ENOSPC and EIO at each step
// of a write: the error reaches the caller, the old content stays (or, when
// only the directory fsync failed, the new content is whole), and no temp
// file is left behind.
func TestFaultAtEveryStepKeepsTheOldFile(t *testing.T) {
	for _, step := range faultfs.Steps {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
			t.Run(string(step)+"/"+errno.Error(), func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, "a.json")
				if err := atomicfile.WriteFile(p, []byte(`{"v":"old"}`), 0o600); err != nil {
					t.Fatal(err)
				}
				fsys := faultfs.New(nil)
				fsys.Fail(step, "a.json", errno)
				if step == faultfs.SyncDir {
					fsys.Fail(step, dir, errno)
				}
				err := atomicfile.Write(fsys, p, []byte(`{"v":"new, and longer than the old"}`), 0o600)
				if !errors.Is(err, errno) {
					t.Fatalf("err = %v, want %v", err, errno)
				}
				got, _ := os.ReadFile(p)
				want := `{"v":"old"}`
				if step == faultfs.SyncDir {
					want = `{"v":"new, and longer than the old"}`
				}
				if string(got) != want {
					t.Errorf("content %q, want %q", got, want)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("left behind: %v", entries)
				}
				fsys.Clear() // space again: the next write works
				if err := atomicfile.Write(fsys, p, []byte(`{"v":"later"}`), 0o600); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(p); string(got) != `{"v":"later"}` {
					t.Errorf("after recovery: %q", got)
				}
			})
		}
	}
}

// TestNoSyncSkipsBothFsyncsOnly: the no-fsync form calls neither fsync (a
// fault placed on them is never hit) but is atomic all the same: a fault at
// any other step leaves the old content and no temp file.
func TestNoSyncSkipsBothFsyncsOnly(t *testing.T) {
	for _, step := range faultfs.Steps {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "cache")
			if err := atomicfile.WriteFileNoSync(p, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			fsys := faultfs.New(nil)
			fsys.Fail(step, "cache", syscall.EIO)
			fsys.Fail(step, dir, syscall.EIO)
			err := atomicfile.WriteNoSync(fsys, p, []byte("new"), 0o644)
			got, _ := os.ReadFile(p)
			switch step {
			case faultfs.Sync, faultfs.SyncDir:
				if err != nil || string(got) != "new" {
					t.Errorf("an fsync was called: err %v, content %q", err, got)
				}
			default:
				if !errors.Is(err, syscall.EIO) || string(got) != "old" {
					t.Errorf("err %v, content %q: want EIO and the old content", err, got)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}
