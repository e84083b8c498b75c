//go:build !linux

package snapshot

import (
	"io/fs"
	"path/filepath"
)

// syncFileSystem fsyncs every file and directory below dir (no syncfs
// outside Linux).
func syncFileSystem(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fsyncAll(paths)
}
