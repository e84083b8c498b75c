//go:build unix

package search

import (
	"golang.org/x/sys/unix"

	"ocgo/relpath"
)

// dirHandle is a directory opened through the project's os.Root.
type dirHandle struct{ fd int }

func (g *grepper) openDir(rel string) (dirHandle, error) {
	f, err := g.s.osroot.Open(relpath.OS(rel))
	if err != nil {
		return dirHandle{}, err
	}
	// Keep a plain descriptor; files are opened relative to it below.
	fd, err := unix.Dup(int(f.Fd()))
	_ = f.Close()
	if err != nil {
		return dirHandle{}, err
	}
	return dirHandle{fd}, nil
}

func (g *grepper) closeDir(d dirHandle) { _ = unix.Close(d.fd) }

// read loads one regular file named by a single path component of the
// directory, never following a symlink (as rg without --follow).
func (g *grepper) read(d dirHandle, name string) ([]byte, bool) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1 || st.Size > maxGrepFileSize {
		return nil, false
	}
	g.mod = st.Mtim.Nano()
	need := int(st.Size) + 1
	if cap(g.buf) < need {
		g.buf = make([]byte, 0, need+need/4)
	}
	buf := g.buf[:cap(g.buf)]
	n := 0
	for {
		k, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if k == 0 {
			break
		}
		n += k
		if n == len(buf) { // the file grew
			g.buf = append(buf, 0)[:n]
			buf = g.buf[:cap(g.buf)]
		}
	}
	g.buf = buf
	return buf[:n], true
}
