//go:build unix

package snapshot

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"golang.org/x/sys/unix"
)

func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// statAt lstats name inside the open directory dir (fstatat, no symlink
// followed): confined to dir whatever happens to the path above it.
func statAt(dir *os.File, name string) (fileStat, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return fileStat{}, err
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = ignoringEINTR(func() error { return unix.Fstatat(int(fd), name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	}); err != nil {
		return fileStat{}, err
	}
	if serr != nil {
		return fileStat{}, serr
	}
	out := fileStat{size: st.Size, mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, ino: st.Ino}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		out.mode = filemode.Symlink
	case unix.S_IFREG:
		out.mode = filemode.Regular
		if st.Mode&0o100 != 0 {
			out.mode = filemode.Executable
		}
	}
	return out, nil
}

// openDirAt opens the directory name inside the open directory dir without
// following a symlink; path is only the returned file's name.
func openDirAt(dir *os.File, name, path string) (*os.File, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var oerr error
	if err := rc.Control(func(pfd uintptr) {
		oerr = ignoringEINTR(func() error {
			var e error
			fd, e = unix.Openat(int(pfd), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			return e
		})
	}); err != nil {
		return nil, err
	}
	if oerr != nil {
		return nil, oerr
	}
	return os.NewFile(uintptr(fd), path), nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
