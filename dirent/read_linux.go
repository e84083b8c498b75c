package dirent

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read lists the open directory fd from its current offset with raw
// getdents64 calls into buf (avoiding os.File's per-entry costs), falling
// back to an fstatat without following when the type is unknown.
func Read(fd int, buf []byte) ([]Entry, error) {
	var out []Entry
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
				st, err := StatAt(fd, name)
				if err != nil {
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
			out = append(out, Entry{Name: name, IsDir: typ == unix.DT_DIR, IsFile: typ == unix.DT_REG || typ == unix.DT_LNK, IsLink: typ == unix.DT_LNK})
		}
	}
}
