//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// lockTakeover bounds how long lockDir waits for a lock whose recorded
// holder is gone: the kernel releases a killed process's flock while it
// exits, a moment after the SIGKILL, and a child caught between fork and
// exec holds the descriptor until its exec closes it (O_CLOEXEC).
const lockTakeover = 5 * time.Second

var holderPID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`ocgo pid (\d+)`) })

// lockDir takes an exclusive flock on <dir>/ocgo.lock and records the
// holder's pid in it. The file is never unlinked: removing a lock file that
// another process is about to open would let two owners in. The kernel
// drops the lock when the process dies, so a crash never wedges the data;
// when the recorded holder is dead (or a zombie) and the lock is still
// held for a moment, lockDir waits for the release instead of reporting a
// false "in use". The descriptor is close-on-exec, so processes ocgo
// starts never inherit the lock.
func lockDir(dir string) (*dataLock, error) {
	path := filepath.Join(dir, "ocgo.lock")
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	deadline := time.Now().Add(lockTakeover)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		holder, _ := os.ReadFile(path)
		if holderGone(string(holder)) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(holder)), "\n")
		return nil, fmt.Errorf("%w (held by %s)", ErrLocked, first)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		_ = fl.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("ocgo pid %d on %s\n", os.Getpid(), host)), 0)
	return &dataLock{File: f, fl: fl}, nil
}

// dataLock is the project's data lock: the flock (gofrs/flock, the one
// file lock of ocgo) and the lock file opened to record the holder in.
type dataLock struct {
	*os.File
	fl *flock.Flock
}

// Close releases the lock.
func (l *dataLock) Close() error {
	err := l.fl.Close()
	_ = l.File.Close()
	return err
}

// holderGone reports whether the lock file names a process of this machine
// that no longer runs (or is a zombie whose files are being released).
func holderGone(holder string) bool {
	m := holderPID().FindStringSubmatch(holder)
	if m == nil {
		return false
	}
	if host, _ := os.Hostname(); !strings.Contains(holder, " on "+host) {
		return false
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	if b, err := os.ReadFile("/proc/" + m[1] + "/stat"); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] == 'Z' || s[i+2] == 'X'
		}
	}
	return false
}
