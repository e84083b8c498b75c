//go:build linux && (amd64 || arm64)

package trace

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether this build can trace commands at all.
const Supported = true

// pathArg is a path argument: the index of its dirfd argument (-1 for none,
// meaning AT_FDCWD) and of the string.
type pathArg struct{ dirfd, path int }

// call describes a traced system call.
type call struct {
	name  string
	paths []pathArg
	// follow: the last component is followed if it is a symbolic link.
	follow bool
	// flags is the index of a flags argument (-1: none); the call stops
	// only if one of mask's bits is set (open: writing, creating or
	// truncating; clone and unshare: a new mount namespace).
	flags int
	mask  uint32
	// atFlags is the index of an AT_* flags argument (-1: none):
	// AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
	atFlags int
	// byFD: the file is named by the descriptor in the first argument.
	byFD bool
	// widen: the tracer cannot see what the call does.
	widen bool
	// openHow: openat2, flags are in struct open_how.
	openHow bool
	// tree: the paths may be directories whose contents move (rename).
	tree bool
	// unlink: the call removes a file (unlinkat: unless AT_REMOVEDIR).
	unlink bool
	// mkdir: the call creates a directory; rmdir: it removes one.
	mkdir, rmdir bool
}

// writeFlags are the open flags that may change a file or create one.
const writeFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC

func p(path int) []pathArg         { return []pathArg{{-1, path}} }
func at(dirfd, path int) []pathArg { return []pathArg{{dirfd, path}} }

// calls maps system call numbers to what they change. Numbers below zero
// (calls this architecture lacks) are left out.
var calls = func() map[int]call {
	none := func(c call) call {
		if c.mask == 0 {
			c.flags = -1
		}
		if c.atFlags == 0 {
			c.atFlags = -1
		}
		return c
	}
	list := []struct {
		nr int
		c  call
	}{
		{sysOpen, call{name: "open", paths: p(0), follow: true, flags: 1, mask: writeFlags}},
		{unix.SYS_OPENAT, call{name: "openat", paths: at(0, 1), follow: true, flags: 2, mask: writeFlags}},
		{unix.SYS_OPENAT2, call{name: "openat2", paths: at(0, 1), follow: true, openHow: true}},
		{sysCreat, call{name: "creat", paths: p(0), follow: true}},
		{unix.SYS_TRUNCATE, call{name: "truncate", paths: p(0), follow: true}},
		{sysMkdir, call{name: "mkdir", paths: p(0), mkdir: true}},
		{unix.SYS_MKDIRAT, call{name: "mkdirat", paths: at(0, 1), mkdir: true}},
		{sysRmdir, call{name: "rmdir", paths: p(0), rmdir: true}},
		{sysUnlink, call{name: "unlink", paths: p(0), unlink: true}},
		{unix.SYS_UNLINKAT, call{name: "unlinkat", paths: at(0, 1), unlink: true}},
		{sysRename, call{name: "rename", paths: []pathArg{{-1, 0}, {-1, 1}}, tree: true}},
		{sysRenameat, call{name: "renameat", paths: []pathArg{{0, 1}, {2, 3}}, tree: true}},
		{unix.SYS_RENAMEAT2, call{name: "renameat2", paths: []pathArg{{0, 1}, {2, 3}}, tree: true}},
		{sysLink, call{name: "link", paths: p(1)}},
		{unix.SYS_LINKAT, call{name: "linkat", paths: at(2, 3)}},
		{sysSymlink, call{name: "symlink", paths: p(1)}},
		{unix.SYS_SYMLINKAT, call{name: "symlinkat", paths: at(1, 2)}},
		{sysMknod, call{name: "mknod", paths: p(0)}},
		{unix.SYS_MKNODAT, call{name: "mknodat", paths: at(0, 1)}},
		{sysChmod, call{name: "chmod", paths: p(0), follow: true}},
		{unix.SYS_FCHMODAT, call{name: "fchmodat", paths: at(0, 1), follow: true}},
		{unix.SYS_FCHMODAT2, call{name: "fchmodat2", paths: at(0, 1), follow: true, atFlags: 3}},
		{unix.SYS_FCHMOD, call{name: "fchmod", byFD: true}},
		{unix.SYS_IO_URING_SETUP, call{name: "io_uring_setup", widen: true}},
		{unix.SYS_OPEN_BY_HANDLE_AT, call{name: "open_by_handle_at", widen: true}},
		// Paths keep their meaning only in ocgo's view of the file system:
		// a change of root or mount namespace, or a mount, widens.
		{unix.SYS_CLONE, call{name: "clone with a new mount namespace", widen: true, flags: 0, mask: unix.CLONE_NEWNS}},
		{unix.SYS_UNSHARE, call{name: "unshare of the mount namespace", widen: true, flags: 0, mask: unix.CLONE_NEWNS}},
		{unix.SYS_SETNS, call{name: "setns", widen: true}},
		{unix.SYS_CHROOT, call{name: "chroot", widen: true}},
		{unix.SYS_PIVOT_ROOT, call{name: "pivot_root", widen: true}},
		{unix.SYS_MOUNT, call{name: "mount", widen: true}},
		{unix.SYS_UMOUNT2, call{name: "umount", widen: true}},
		{unix.SYS_OPEN_TREE, call{name: "open_tree", widen: true}},
		{unix.SYS_MOVE_MOUNT, call{name: "move_mount", widen: true}},
		{unix.SYS_FSOPEN, call{name: "fsopen", widen: true}},
		{unix.SYS_FSMOUNT, call{name: "fsmount", widen: true}},
		{unix.SYS_MOUNT_SETATTR, call{name: "mount_setattr", widen: true}},
	}
	out := map[int]call{}
	for _, e := range list {
		if e.nr >= 0 {
			out[e.nr] = none(e.c)
		}
	}
	return out
}()

// Classic BPF opcodes and struct seccomp_data offsets.
const (
	bpfLdAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJset   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRet    = unix.BPF_RET | unix.BPF_K
	offNr     = 0
	offArch   = 4
	offArgs   = 16 // args[i] at 16+8i; the low 32 bits first (little endian)
)

// filter builds the BPF program: other architectures and x32 are sent to
// the supervisor (which widens), the calls above are sent to it (those with
// a mask only when a masked flag is set), clone3 fails with ENOSYS (its
// flags are out of the filter's reach; C libraries and Go then use clone),
// everything else is allowed.
func filter() []unix.SockFilter {
	var always, byFlags []int
	for nr, c := range calls {
		if c.flags >= 0 {
			byFlags = append(byFlags, nr)
		} else {
			always = append(always, nr)
		}
	}
	slices.Sort(always)
	slices.Sort(byFlags)
	// Layout: header, the clone3 test, one JEQ per "always" call (to
	// notify), one JEQ per flags call (to its flags check), allow, the
	// flags checks, notify, allow again (BPF jumps only forward), ENOSYS.
	var prog []unix.SockFilter
	ins := func(code uint16, jt, jf uint8, k uint32) {
		prog = append(prog, unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k})
	}
	n := len(always) + len(byFlags)
	// Index of the final notify instruction, computed from the layout.
	const head = 6
	notify := head + n + 1 + 2*len(byFlags)
	enosys := notify + 2
	ins(bpfLdAbsW, 0, 0, offArch)                    // 0
	ins(bpfJeq, 1, 0, auditArch)                     // 1
	ins(bpfRet, 0, 0, unix.SECCOMP_RET_USER_NOTIF)   // 2: foreign ABI
	ins(bpfLdAbsW, 0, 0, offNr)                      // 3
	ins(bpfJge, uint8(notify-5), 0, x32Bit)          // 4
	ins(bpfJeq, uint8(enosys-6), 0, unix.SYS_CLONE3) // 5
	for _, nr := range always {
		pc := len(prog)
		ins(bpfJeq, uint8(notify-pc-1), 0, uint32(nr))
	}
	allow := head + n
	for i, nr := range byFlags {
		pc := len(prog)
		check := allow + 1 + 2*i
		ins(bpfJeq, uint8(check-pc-1), 0, uint32(nr))
	}
	ins(bpfRet, 0, 0, unix.SECCOMP_RET_ALLOW) // allow
	for _, nr := range byFlags {
		pc := len(prog)
		ins(bpfLdAbsW, 0, 0, uint32(offArgs+8*calls[nr].flags))
		ins(bpfJset, uint8(notify-pc-2), uint8(notify+1-pc-2), calls[nr].mask)
	}
	ins(bpfRet, 0, 0, unix.SECCOMP_RET_USER_NOTIF)                // notify
	ins(bpfRet, 0, 0, unix.SECCOMP_RET_ALLOW)                     // allow (after a flags check)
	ins(bpfRet, 0, 0, unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)) // clone3
	if len(prog)-3 != notify || enosys > 255 {
		panic("trace: bad filter layout")
	}
	return prog
}

var program = filter()

// install puts the filter on the calling thread and returns the listener.
// Without CAP_SYS_ADMIN the kernel requires no_new_privs first.
func install() (int, error) {
	prog := unix.SockFprog{Len: uint16(len(program)), Filter: &program[0]}
	set := func() (int, error) {
		fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
	fd, err := set()
	if errors.Is(err, unix.EACCES) {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("no_new_privs: %w", err)
		}
		fd, err = set()
	}
	if err != nil {
		return -1, fmt.Errorf("seccomp filter: %w", err)
	}
	return fd, nil
}

func (t *Tracer) start(cmd *exec.Cmd, r *Run) error {
	done := make(chan error, 1)
	go func() {
		// The filter goes on this thread only, and the child forked from it
		// inherits it. The thread is never unlocked: it ends with this
		// goroutine, so no other goroutine ever runs filtered. (The runtime
		// does not clone new threads from a locked one.)
		runtime.LockOSThread()
		fd, err := install()
		if err != nil {
			t.unavailable(err)
			r.widen("tracing unavailable: " + err.Error())
			done <- cmd.Start()
			return
		}
		s := newSupervisor(t, r, fd)
		go s.loop()
		done <- cmd.Start()
	}()
	return <-done
}
