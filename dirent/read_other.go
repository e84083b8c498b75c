//go:build !linux

package dirent

import (
	"io/fs"
	"os"
	"syscall"
)

// Read lists the open directory fd (a duplicate is read, fd stays open).
func Read(fd int, _ []byte) ([]Entry, error) {
	d, err := syscall.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(d), "")
	defer f.Close()
	return list(f)
}

func list(f *os.File) ([]Entry, error) {
	ents, err := f.ReadDir(-1)
	out := make([]Entry, 0, len(ents))
	for _, e := range ents {
		t := e.Type()
		out = append(out, Entry{Name: e.Name(), IsDir: e.IsDir(), IsFile: t.IsRegular() || t&fs.ModeSymlink != 0, IsLink: t&fs.ModeSymlink != 0})
	}
	return out, err
}
