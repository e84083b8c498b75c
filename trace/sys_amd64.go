//go:build linux

package trace

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_X86_64

// x32Bit marks x32 system calls, which use other argument layouts.
const x32Bit = 0x40000000

// Legacy path calls that arm64 lacks (it has only the *at forms).
const (
	sysOpen     = unix.SYS_OPEN
	sysCreat    = unix.SYS_CREAT
	sysMkdir    = unix.SYS_MKDIR
	sysRmdir    = unix.SYS_RMDIR
	sysUnlink   = unix.SYS_UNLINK
	sysRename   = unix.SYS_RENAME
	sysLink     = unix.SYS_LINK
	sysSymlink  = unix.SYS_SYMLINK
	sysMknod    = unix.SYS_MKNOD
	sysChmod    = unix.SYS_CHMOD
	sysRenameat = unix.SYS_RENAMEAT
)
