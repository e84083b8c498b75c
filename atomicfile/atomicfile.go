// Package atomicfile replaces files so that a reader or a crash sees either
// the old or the new content, never a mix, and so that the new content
// survives a power cut once WriteFile returns. It is ocgo's one atomic-write
// function: session files, auth.json and the shadow repository's metadata
// all go through it, and files that can be rebuilt (the snapshotter's stat
// cache) through its no-fsync form, WriteFileNoSync.
//
// The file system calls go through FS, so a caller (storage) can be given a
// file system that fails on purpose: tests inject ENOSPC and EIO at every
// step of a write (package faultfs) and check that nothing acknowledged is
// lost and no temp file stays. OS is the real file system and the default.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// FS is what an atomic write needs from a file system. Every step of a
// write (create the temp file, write, fsync, rename, fsync the directory)
// is one call here or on the File it returns, so a fault can be placed at
// any of them. Implementations must be safe for concurrent use.
type FS interface {
	MkdirAll(path string, perm os.FileMode) error
	// CreateTemp creates a new file in dir as os.CreateTemp does (mode
	// 0600, a unique name from pattern).
	CreateTemp(dir, pattern string) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	RemoveAll(path string) error
	// SyncDir fsyncs a directory, making the entries created, renamed or
	// removed in it durable.
	SyncDir(dir string) error
}

// File is an open temp file of an FS.
type File interface {
	Name() string
	Chmod(mode os.FileMode) error
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// OS is the operating system's file system.
type OS struct{}

// MkdirAll is os.MkdirAll.
func (OS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }

// CreateTemp is os.CreateTemp.
func (OS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }

// Rename is os.Rename.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove is os.Remove.
func (OS) Remove(name string) error { return os.Remove(name) }

// RemoveAll is os.RemoveAll.
func (OS) RemoveAll(path string) error { return os.RemoveAll(path) }

// SyncDir opens dir and fsyncs it.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }() // read-only: nothing to lose
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// WriteFile replaces path with data on the OS file system (see Write).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(OS{}, path, data, perm)
}

// WriteFileNoSync replaces path with data on the OS file system as
// WriteFile does, without either fsync: a reader still sees the old content
// or the new, never a mix, but a power cut may leave the old content, the
// new, or an empty file. It is for files that can be rebuilt (the
// snapshotter's stat cache), where two fsyncs per write would cost more
// than rebuilding after a crash.
func WriteFileNoSync(path string, data []byte, perm os.FileMode) error {
	return WriteNoSync(OS{}, path, data, perm)
}

// WriteNoSync is Write without either fsync (see WriteFileNoSync).
func WriteNoSync(fsys FS, path string, data []byte, perm os.FileMode) error {
	return write(fsys, path, data, perm, false)
}

// SyncDir fsyncs a directory of the OS file system so that entries
// created, renamed or removed in it are durable.
func SyncDir(dir string) error { return OS{}.SyncDir(dir) }

// Write replaces path with data: a temporary file in the same directory
// gets mode perm before its first byte (so a 0600 secret is never readable
// by others, whatever the umask), is written, fsynced, renamed over path,
// and the directory is fsynced so the rename itself is durable. The
// directory is created if missing (0700 when perm gives nothing to group
// and others, else 0755).
//
// On any error the temp file is removed and path is untouched, except when
// the directory fsync fails: the new content is then whole in place but may
// not survive a crash, and the error says so. A failed fsync is never
// retried: the next write starts again with a new temp file and its own
// fsyncs, so no write is reported durable on the strength of a failed one.
func Write(fsys FS, path string, data []byte, perm os.FileMode) error {
	return write(fsys, path, data, perm, true)
}

// write is Write; durable false skips both fsyncs (WriteFileNoSync).
func write(fsys FS, path string, data []byte, perm os.FileMode, durable bool) (err error) {
	dir := filepath.Dir(path)
	dirPerm := os.FileMode(0o755)
	if perm&0o077 == 0 {
		dirPerm = 0o700 // a private file gets private new directories
	}
	if err := fsys.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	f, err := fsys.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil && tmp != "" {
			_ = f.Close()        // may already be closed
			_ = fsys.Remove(tmp) // best effort; a crash's leftovers are swept at start
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if durable {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return err
	}
	tmp = "" // renamed: nothing left to remove
	if !durable {
		return nil
	}
	return fsys.SyncDir(dir)
}
