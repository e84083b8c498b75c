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

// statAt lstats name inside the open directory dirfd (fstatat, no symlink
// followed): confined to that directory whatever happens to the path above.
func statAt(dirfd int, name string) (fileStat, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return fileStat{}, err
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

// openDirAt opens the directory name inside the open directory dirfd
// without following a symlink; path is only the returned file's name.
func openDirAt(dirfd int, name, path string) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var e error
		fd, e = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return e
	})
	if err != nil {
		return nil, err
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
