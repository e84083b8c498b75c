//go:build linux && (amd64 || arm64)

package trace

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// struct seccomp_notif and struct seccomp_notif_resp (linux/seccomp.h).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// supervisor answers one tree's notifications until every process holding
// the filter is gone.
type supervisor struct {
	t   *Tracer
	r   *Run
	fd  int
	buf [4096]byte // one page of the traced thread's memory
}

func newSupervisor(t *Tracer, r *Run, fd int) *supervisor {
	return &supervisor{t: t, r: r, fd: fd}
}

// loop serves notifications. The kernel reports POLLHUP once no task uses
// the filter any more (the whole tree has exited and been reaped).
func (s *supervisor) loop() {
	defer unix.Close(s.fd)
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	for {
		fds[0].Revents = 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			s.r.widen("poll: " + err.Error())
			return
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var n notif
			if err := ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
				if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
					continue // the caller died or was interrupted
				}
				s.r.widen("receive: " + err.Error())
				return
			}
			s.handle(&n)
			resp := notifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
			_ = ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
			continue
		}
		if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return
		}
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// errNoFile: the path names no file of any file system (a pipe, a socket, an
// unlinked file): nothing in the project changes.
var errNoFile = errors.New("not a file")

// handle records what one notified call may change.
func (s *supervisor) handle(n *notif) {
	widen := func(why string) {
		s.t.log.Debug("Attribution widened to every change in the window", "why", why, "pid", n.Pid)
		s.r.widen(why)
	}
	if n.Data.Arch != auditArch || uint32(n.Data.Nr)&x32Bit != 0 {
		widen("a system call of another ABI")
		return
	}
	c, ok := calls[int(n.Data.Nr)]
	if !ok {
		widen("unexpected system call " + strconv.Itoa(int(n.Data.Nr)))
		return
	}
	if c.widen {
		widen(c.name)
		return
	}
	tid := int(n.Pid)
	args := n.Data.Args
	follow := c.follow
	emptyPath := false
	if c.flags >= 0 {
		fl := args[c.flags]
		if fl&writeFlags == 0 {
			return
		}
		if fl&unix.O_NOFOLLOW != 0 || fl&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
			follow = false
		}
	}
	if c.openHow {
		var how [3]uint64 // flags, mode, resolve
		if err := readMem(tid, uintptr(args[2]), unsafe.Slice((*byte)(unsafe.Pointer(&how)), 24)); err != nil {
			widen("openat2: " + err.Error())
			return
		}
		if how[0]&writeFlags == 0 {
			return
		}
		if how[2]&(unix.RESOLVE_IN_ROOT) != 0 {
			widen("openat2 with RESOLVE_IN_ROOT")
			return
		}
		if how[0]&unix.O_NOFOLLOW != 0 || how[0]&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
			follow = false
		}
	}
	if c.atFlags >= 0 {
		fl := args[c.atFlags]
		if fl&unix.AT_SYMLINK_NOFOLLOW != 0 {
			follow = false
		}
		emptyPath = fl&unix.AT_EMPTY_PATH != 0
	}
	removeDir := c.name == "unlinkat" && args[2]&unix.AT_REMOVEDIR != 0
	unlinked := c.unlink && !removeDir
	removeDir = removeDir || c.rmdir
	var found []string
	named := make([]string, len(c.paths)) // each path argument resolved ("": none)
	if c.byFD {
		target, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(int(int32(args[0]))))
		switch {
		case err != nil:
			if !errors.Is(err, unix.ENOENT) { // ENOENT: a bad descriptor, the call fails
				widen(c.name + ": " + err.Error())
				return
			}
		case strings.HasPrefix(target, "/") && !strings.HasSuffix(target, " (deleted)"):
			found = append(found, target)
		}
	}
	for i, pa := range c.paths {
		path, err := readString(tid, uintptr(args[pa.path]), s.buf[:])
		if err != nil {
			widen(c.name + ": " + err.Error())
			return
		}
		dirfd := int32(unix.AT_FDCWD)
		if pa.dirfd >= 0 {
			dirfd = int32(args[pa.dirfd])
		}
		abs, err := resolve(tid, dirfd, path, follow, emptyPath, s.t.root)
		switch {
		case errors.Is(err, errNoFile):
		case err != nil:
			widen(c.name + " " + strconv.Quote(path) + ": " + err.Error())
			return
		default:
			found = append(found, abs)
			named[i] = abs
		}
	}
	// Had the thread died and its id been reused while we read, what we
	// read would only add a path: no need to check (NOTIF_ID_VALID).
	for _, abs := range found {
		if rel, ok := s.t.rel(abs); ok {
			s.r.add(rel, c.tree, unlinked)
		}
	}
	s.dirs(c, named, removeDir)
}

// dirs records the directories a call creates or removes (Set.Dirs). The
// call has not run yet: a directory is the tree's if it does not exist
// now. (Someone else making it between this check and the call, a window
// of microseconds, would make it counted as the tree's.)
func (s *supervisor) dirs(c call, named []string, removeDir bool) {
	missing := func(abs string) bool {
		_, err := os.Lstat(abs)
		return errors.Is(err, fs.ErrNotExist)
	}
	switch {
	case c.mkdir && named[0] != "":
		if rel, ok := s.t.rel(named[0]); ok && missing(named[0]) {
			s.r.madeDir(rel)
		}
	case removeDir && named[0] != "":
		if rel, ok := s.t.rel(named[0]); ok {
			s.r.removedDir(rel)
		}
	case c.tree && len(named) == 2 && named[0] != "" && named[1] != "":
		src, dst := named[0], named[1]
		fi, err := os.Lstat(src)
		if err != nil || !fi.IsDir() {
			return
		}
		if rel, ok := s.t.rel(src); ok {
			s.r.removedDir(rel)
		}
		rel, ok := s.t.rel(dst)
		if !ok || !missing(dst) {
			return // replacing a directory (or exchanging): not made here
		}
		s.r.madeDir(rel)
		// The directories below move with it; a source outside the
		// project brings them in (bounded: past the bound they stay
		// after a revert empties them).
		n := 0
		_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == src || !d.IsDir() {
				return nil
			}
			if n++; n > maxDirs {
				return filepath.SkipAll
			}
			sub, _ := filepath.Rel(src, p)
			s.r.madeDir(rel + "/" + filepath.ToSlash(sub))
			return nil
		})
	}
}

// rel maps an absolute resolved path into the project.
func (t *Tracer) rel(abs string) (string, bool) {
	if abs == t.root {
		return ".", true
	}
	if t.root == "/" {
		return abs[1:], true
	}
	rest, ok := strings.CutPrefix(abs, t.root+"/")
	if !ok || rest == "" {
		return "", false
	}
	return rest, true
}

// readMem reads len(buf) bytes at addr of the thread's memory.
func readMem(tid int, addr uintptr, buf []byte) error {
	n, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}},
		[]unix.RemoteIovec{{Base: addr, Len: len(buf)}}, 0)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return errors.New("short read of the process's memory")
	}
	return nil
}

// readString reads a NUL-terminated path, a page at a time (into buf) so
// an unmapped page after the string does not fail the read.
func readString(tid int, addr uintptr, buf []byte) (string, error) {
	page := len(buf)
	var out []byte
	for len(out) <= unix.PathMax {
		chunk := page - int(addr%uintptr(page))
		n, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &buf[0], Len: uint64(chunk)}},
			[]unix.RemoteIovec{{Base: addr, Len: chunk}}, 0)
		if err != nil {
			if errors.Is(err, unix.EFAULT) && len(out) == 0 {
				return "", errNoFile // a bad pointer: the call fails with EFAULT
			}
			return "", err
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:n]...)
		addr += uintptr(n)
	}
	return "", errNoFile // longer than PATH_MAX: the call fails
}

// resolve returns the absolute path the kernel reaches for (dirfd, path) in
// thread tid: relative to its working directory or dirfd, through every
// symbolic link (the last one only if follow), with /proc/self meaning the
// thread's process. A missing component ends the walk; the rest is taken as
// written. errNoFile: the path names no file (a pipe) or the call fails.
// real is a directory known to have no symbolic link in its path (the
// project root): a path below it is walked from there.
func resolve(tid int, dirfd int32, path string, follow, emptyPath bool, real string) (string, error) {
	proc := "/proc/" + strconv.Itoa(tid)
	if path == "" && !emptyPath {
		return "", errNoFile // ENOENT
	}
	if !strings.HasPrefix(path, "/") {
		link := proc + "/cwd"
		if dirfd != unix.AT_FDCWD {
			link = proc + "/fd/" + strconv.Itoa(int(dirfd))
		}
		base, err := os.Readlink(link)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return "", errNoFile // EBADF
			}
			return "", err
		}
		if !strings.HasPrefix(base, "/") || strings.HasSuffix(base, " (deleted)") {
			return "", errNoFile // not a directory, or a removed one
		}
		if path == "" {
			return base, nil
		}
		path = base + "/" + path
	}
	cur := "/"
	todo := path
	if rest, ok := strings.CutPrefix(path, real+"/"); ok && real != "/" {
		cur, todo = real, rest
	}
	links := 0
	for {
		todo = strings.TrimLeft(todo, "/")
		if todo == "" {
			return cur, nil
		}
		name, rest, _ := strings.Cut(todo, "/")
		last := strings.Trim(rest, "/") == ""
		todo = rest
		switch name {
		case ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		if cur == "/proc" && name == "self" {
			next = "/proc/" + tgidOf(tid)
		} else if cur == "/proc" && name == "thread-self" {
			next = "/proc/" + tgidOf(tid) + "/task/" + strconv.Itoa(tid)
		}
		if last && !follow {
			return next, nil
		}
		target, err := os.Readlink(next)
		switch {
		case errors.Is(err, unix.EINVAL):
			cur = next // not a symbolic link
			continue
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return filepath.Join(next, todo), nil // created from here on
		case err != nil:
			return "", err
		}
		if links++; links > 40 {
			return "", errNoFile // ELOOP
		}
		if strings.HasPrefix(next, "/proc/") && !strings.HasPrefix(target, "/") {
			return "", errNoFile // pipe:[…], socket:[…], anon_inode:…
		}
		if strings.HasPrefix(next, "/proc/") && strings.HasSuffix(target, " (deleted)") {
			if _, err := os.Lstat(target); err != nil {
				return "", errNoFile // an unlinked file
			}
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = target + "/" + todo
	}
}

// tgidOf returns the process id of thread tid (its /proc/self).
func tgidOf(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return strconv.Itoa(tid)
	}
	_, after, ok := strings.Cut(string(b), "\nTgid:")
	if !ok {
		return strconv.Itoa(tid)
	}
	line, _, _ := strings.Cut(after, "\n")
	return strings.TrimSpace(line)
}
