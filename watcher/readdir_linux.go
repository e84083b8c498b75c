package watcher

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

type dirent struct {
	name   string
	isDir  bool
	isFile bool // regular file or symlink (what git can track)
	isLink bool // symlink
}

// readDir lists a directory with raw getdents64 calls into buf, avoiding
// os.File set-up costs; it falls back to lstat when the type is unknown.
func readDir(dir string, buf []byte) ([]dirent, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []dirent
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, nil
		}
		for off := 0; off < n; {
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			typ := buf[off+18]
			nameb := buf[off+19 : off+reclen]
			for i, c := range nameb {
				if c == 0 {
					nameb = nameb[:i]
					break
				}
			}
			off += reclen
			name := string(nameb)
			if name == "." || name == ".." {
				continue
			}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFDIR:
					typ = unix.DT_DIR
				case unix.S_IFREG:
					typ = unix.DT_REG
				case unix.S_IFLNK:
					typ = unix.DT_LNK
				}
			}
			out = append(out, dirent{name: name, isDir: typ == unix.DT_DIR, isFile: typ == unix.DT_REG || typ == unix.DT_LNK, isLink: typ == unix.DT_LNK})
		}
	}
}
