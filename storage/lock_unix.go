//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockDir takes an exclusive flock on <dir>/ocgo.lock and records the
// holder's pid in it. The file is never unlinked: removing a lock file that
// another process is about to open would let two owners in. The kernel
// drops the lock when the process dies, so a crash never wedges the data.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "ocgo.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (held by %s)", ErrLocked, strings.TrimSpace(string(holder)))
		}
		return nil, err
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("ocgo pid %d on %s\n", os.Getpid(), host)), 0)
	return f, nil
}
