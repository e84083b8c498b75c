package snapshot

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFileSystem syncs the file system holding dir (syncfs(2)): one call
// for any number of written objects.
func syncFileSystem(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
