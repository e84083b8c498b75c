//go:build !unix

package search

import (
	"io"

	"ocgo/relpath"
)

type dirHandle struct{ dir string }

func (g *grepper) openDir(rel string) (dirHandle, error) { return dirHandle{rel}, nil }
func (g *grepper) closeDir(dirHandle)                    {}

func (g *grepper) read(d dirHandle, name string) ([]byte, bool) {
	f, err := g.s.osroot.Open(relpath.OS(relpath.Join(d.dir, name)))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxGrepFileSize {
		return nil, false
	}
	g.mod = fi.ModTime().UnixNano()
	b, err := io.ReadAll(f)
	return b, err == nil
}
