//go:build unix

package dirent

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Root is a directory tree whose paths are reached without following any
// symlink: every component of a path, the last one included, is opened or
// acted on relative to its already open parent with O_NOFOLLOW (or the *at
// call's no-follow form), so an operation on a path acts on what is at that
// path now, never on what a link there, or in place of a directory above
// it, leads to, inside the tree or out of it. A link where a directory is
// needed fails the operation (ELOOP or ENOTDIR).
//
// os.Root confines too, but it resolves a symlink that stays inside the
// root, even the last component's with O_NOFOLLOW: for the snapshotter that
// would read another project file's content under a path's name, or write a
// revert into a directory the user swapped for a link. Root has the methods
// of os.Root the snapshotter uses, with those semantics changed; paths are
// slash-separated and relative ("" and "." name the top).
type Root struct {
	fd   int
	name string
}

// OpenRoot opens the directory dir (a link in dir itself is followed: it is
// the tree's own name).
func OpenRoot(dir string) (*Root, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var e error
		fd, e = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return e
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Root{fd: fd, name: dir}, nil
}

// Name is the directory OpenRoot opened.
func (r *Root) Name() string { return r.name }

// Close closes the tree's top.
func (r *Root) Close() error { return unix.Close(r.fd) }

// at opens rel's parent directory below the top without following a link
// and calls fn with it and rel's last name ("." for the top itself).
func (r *Root) at(op, rel string, fn func(dirfd int, name string) error) error {
	dir, name := path.Split(strings.TrimSuffix(rel, "/"))
	if name == "" {
		name = "."
	}
	if name == ".." || strings.HasPrefix(rel, "/") {
		return &fs.PathError{Op: op, Path: rel, Err: unix.EINVAL}
	}
	dirfd := r.fd
	if dir = strings.Trim(dir, "/"); dir != "" && dir != "." {
		var err error
		if dirfd, err = openBelow(r.fd, dir); err != nil {
			return &fs.PathError{Op: op, Path: rel, Err: err}
		}
		defer func() { _ = unix.Close(dirfd) }()
	}
	if err := ignoringEINTR(func() error { return fn(dirfd, name) }); err != nil {
		return &fs.PathError{Op: op, Path: rel, Err: err}
	}
	return nil
}

// OpenFile opens rel with flag (O_NOFOLLOW and O_CLOEXEC added) and perm.
func (r *Root) OpenFile(rel string, flag int, perm fs.FileMode) (*os.File, error) {
	var f *os.File
	err := r.at("open", rel, func(dirfd int, name string) error {
		fd, err := unix.Openat(dirfd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			f = os.NewFile(uintptr(fd), rel)
		}
		return err
	})
	return f, err
}

// Readlink reads the symlink rel.
func (r *Root) Readlink(rel string) (string, error) {
	var target string
	err := r.at("readlink", rel, func(dirfd int, name string) error {
		for size := 256; ; size *= 2 {
			buf := make([]byte, size)
			n, err := unix.Readlinkat(dirfd, name, buf)
			if err != nil {
				return err
			}
			if n < size {
				target = string(buf[:n])
				return nil
			}
		}
	})
	return target, err
}

// Lstat reports the entry rel itself (a symlink as a symlink).
func (r *Root) Lstat(rel string) (fs.FileInfo, error) {
	fi := &fileInfo{name: path.Base(rel)}
	err := r.at("lstat", rel, func(dirfd int, name string) error {
		return unix.Fstatat(dirfd, name, &fi.st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return nil, err
	}
	return fi, nil
}

// Remove removes the file, symlink or empty directory rel.
func (r *Root) Remove(rel string) error {
	return r.at("remove", rel, func(dirfd int, name string) error {
		err := unix.Unlinkat(dirfd, name, 0)
		if err == nil {
			return nil
		}
		if derr := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); derr == nil {
			return nil
		} else if derr != unix.ENOTDIR {
			return derr
		}
		return err
	})
}

// Chmod sets the permission bits of the file rel, never of what a link
// there leads to: the file is opened without following and changed through
// its descriptor (when it cannot be opened for reading, it is changed by
// name after an lstat that shows it is not a link).
func (r *Root) Chmod(rel string, mode fs.FileMode) error {
	return r.at("chmod", rel, func(dirfd int, name string) error {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Fchmod(fd, uint32(mode.Perm()))
			_ = unix.Close(fd)
			return err
		}
		if err != unix.EACCES {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return unix.ELOOP
		}
		return unix.Fchmodat(dirfd, name, uint32(mode.Perm()), 0)
	})
}

// MkdirAll makes the directory rel and its missing parents with perm; a
// component that is a link or not a directory fails it.
func (r *Root) MkdirAll(rel string, perm fs.FileMode) error {
	cur := r.fd
	defer func() {
		if cur != r.fd {
			_ = unix.Close(cur)
		}
	}()
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			return &fs.PathError{Op: "mkdir", Path: rel, Err: unix.EINVAL}
		}
		next, err := openDirAt(cur, c)
		if err == unix.ENOENT {
			if err = ignoringEINTR(func() error { return unix.Mkdirat(cur, c, uint32(perm.Perm())) }); err == nil || err == unix.EEXIST {
				next, err = openDirAt(cur, c)
			}
		}
		if err != nil {
			return &fs.PathError{Op: "mkdir", Path: rel, Err: err}
		}
		if cur != r.fd {
			_ = unix.Close(cur)
		}
		cur = next
	}
	return nil
}

// Symlink makes rel a symlink to target.
func (r *Root) Symlink(target, rel string) error {
	return r.at("symlink", rel, func(dirfd int, name string) error {
		return unix.Symlinkat(target, dirfd, name)
	})
}

// Rename renames oldrel to newrel (a link at either is renamed or
// replaced itself, never followed).
func (r *Root) Rename(oldrel, newrel string) error {
	return r.at("rename", oldrel, func(ofd int, oname string) error {
		return r.at("rename", newrel, func(nfd int, nname string) error {
			return unix.Renameat(ofd, oname, nfd, nname)
		})
	})
}

// fileInfo is an fstatat's answer as an fs.FileInfo; Sys is *unix.Stat_t.
type fileInfo struct {
	name string
	st   unix.Stat_t
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() any           { return &fi.st }

func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	if fi.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
