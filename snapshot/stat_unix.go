//go:build unix

package snapshot

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"golang.org/x/sys/unix"

	"ocgo/dirent"
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

// statOfInfo converts what the walk's fstatat said of a file (dirent.Info).
func statOfInfo(in dirent.Info) fileStat {
	out := fileStat{size: in.Size, mtime: in.Mtime, ino: in.Ino}
	switch in.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		out.mode = filemode.Symlink
	case unix.S_IFREG:
		out.mode = filemode.Regular
		if in.Mode&0o100 != 0 {
			out.mode = filemode.Executable
		}
	}
	return out
}
