//go:build unix

package snapshot

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"golang.org/x/sys/unix"

	"ocgo/dirent"
)

// inodeOf is the inode number of an os stat (*syscall.Stat_t) or a
// dirent.Root one (*unix.Stat_t); 0 when unknown.
func inodeOf(fi os.FileInfo) uint64 {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return uint64(st.Ino)
	case *unix.Stat_t:
		return uint64(st.Ino)
	}
	return 0
}

// linkCount is the number of hard links of an os or dirent.Root stat.
func linkCount(fi os.FileInfo) uint64 {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return uint64(st.Nlink)
	case *unix.Stat_t:
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
