//go:build linux

package trace

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_AARCH64

// arm64 has no x32-style ABI; no number has this bit.
const x32Bit = 0x40000000

// arm64 lacks the legacy path calls; -1 never matches a system call number.
const (
	sysOpen     = -1
	sysCreat    = -1
	sysMkdir    = -1
	sysRmdir    = -1
	sysUnlink   = -1
	sysRename   = -1
	sysLink     = -1
	sysSymlink  = -1
	sysMknod    = -1
	sysChmod    = -1
	sysRenameat = unix.SYS_RENAMEAT
)
