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
