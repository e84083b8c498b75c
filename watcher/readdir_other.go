//go:build !linux

package watcher

import (
	"io/fs"
	"os"
)

type dirent struct {
	name   string
	isDir  bool
	isFile bool
	isLink bool
}

func readDir(dir string, _ []byte) ([]dirent, error) {
	ents, err := os.ReadDir(dir)
	out := make([]dirent, 0, len(ents))
	for _, e := range ents {
		t := e.Type()
		out = append(out, dirent{name: e.Name(), isDir: e.IsDir(), isFile: t.IsRegular() || t&fs.ModeSymlink != 0, isLink: t&fs.ModeSymlink != 0})
	}
	return out, err
}
