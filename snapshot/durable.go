package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// unsynced lists what the object store has written since its last sync:
// object files renamed into place and the directories that gained them. A
// patch part or a revert journal may only name a tree once its objects are
// durable (a crash or a power loss must not leave a record pointing at
// objects that never reached the disk), so the session core calls Flush,
// which syncs them, before it writes one. Syncing at write time instead
// would make the first snapshot of a large project pay one fsync per file.
type unsynced struct {
	run   sync.Mutex // held for a whole sync, so a caller returns only once its objects are durable
	mu    sync.Mutex // guards the fields below
	files []string
	dirs  map[string]struct{}
	all   bool // too many to list: sync the whole file system
}

// maxUnsyncedFiles bounds the list (a first snapshot writes every file);
// past it one syncfs replaces the per-file fsyncs.
const maxUnsyncedFiles = 512

// noteWritten records an object file p, renamed into place; newDir says
// its fan-out directory was just created (its parent changed too).
func (s *objectStore) noteWritten(p string, newDir bool) {
	u := &s.unsynced
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.all {
		return
	}
	if len(u.files) >= maxUnsyncedFiles {
		u.all, u.files, u.dirs = true, nil, nil
		return
	}
	if u.dirs == nil {
		u.dirs = map[string]struct{}{}
	}
	u.files = append(u.files, p)
	u.dirs[filepath.Dir(p)] = struct{}{}
	if newDir {
		u.dirs[s.dir] = struct{}{}
	}
}

// syncWritten makes every object written so far durable: each file and
// directory is fsynced (a few at a time), or, after many writes, the file
// system holding the repository is synced at once.
func (s *objectStore) syncWritten() error {
	u := &s.unsynced
	u.run.Lock()
	defer u.run.Unlock()
	u.mu.Lock()
	files, dirs, all := u.files, u.dirs, u.all
	u.files, u.dirs, u.all = nil, nil, false
	u.mu.Unlock()
	var err error
	if all {
		err = syncFileSystem(s.dir)
	} else if len(files) > 0 {
		paths := files
		for d := range dirs {
			paths = append(paths, d)
		}
		err = fsyncAll(paths)
	}
	if err != nil {
		// Try again, everything, next time.
		u.mu.Lock()
		u.all, u.files, u.dirs = true, nil, nil
		u.mu.Unlock()
		return fmt.Errorf("snapshot: sync objects: %w", err)
	}
	return nil
}

// fsyncAll fsyncs files and directories, many at once: the calls wait on
// the disk, not the CPU, and concurrent ones share journal commits (on this
// project's ext4 machine 30 fsyncs took 100–250 ms one by one, 8–18 ms 32
// at a time). A path gone since (pruned) is fine.
func fsyncAll(paths []string) error {
	return eachParallel(len(paths), 32, func() func(int) error {
		return func(i int) error { return fsyncPath(paths[i]) }
	})
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}
