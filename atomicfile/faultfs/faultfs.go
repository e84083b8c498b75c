// Package faultfs is an atomicfile.FS that fails on purpose, for tests: a
// fault names one step of a write (create the temp file, write, fsync,
// close, rename, fsync the directory, remove) and the paths it applies to,
// and that step then fails with the given error (ENOSPC, EIO, …) the way
// the operating system reports it, an *fs.PathError naming the path. A
// failed write first writes half of its bytes, as a disk that fills up
// mid-write does. Everything else goes to the wrapped file system.
package faultfs

import (
	"os"
	"strings"
	"sync"

	"ocgo/atomicfile"
)

// Op is one step of a write.
type Op string

// The steps a fault can be placed at.
const (
	Mkdir   Op = "mkdir"
	Create  Op = "create"
	Write   Op = "write"
	Sync    Op = "sync"
	Close   Op = "close"
	Rename  Op = "rename"
	SyncDir Op = "syncdir"
	Remove  Op = "remove"
)

// Steps are the steps of one atomic write, in order.
var Steps = []Op{Create, Write, Sync, Close, Rename, SyncDir}

// FS wraps a file system and fails the steps it is told to.
type FS struct {
	base atomicfile.FS

	mu     sync.Mutex
	faults []fault
	hits   int
}

type fault struct {
	op    Op
	match string // a substring of the path; "" matches every path
	err   error
}

// New wraps base (atomicfile.OS{} when nil).
func New(base atomicfile.FS) *FS {
	if base == nil {
		base = atomicfile.OS{}
	}
	return &FS{base: base}
}

// Fail makes every op on a path containing match fail with err, until
// Clear.
func (f *FS) Fail(op Op, match string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fault{op, match, err})
}

// Clear removes every fault: the disk has room again.
func (f *FS) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Hits is the number of failures injected so far.
func (f *FS) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// check returns the injected error for op on path, or nil.
func (f *FS) check(op Op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.op == op && strings.Contains(path, ft.match) {
			f.hits++
			return &os.PathError{Op: string(op), Path: path, Err: ft.err}
		}
	}
	return nil
}

func (f *FS) MkdirAll(path string, perm os.FileMode) error {
	if err := f.check(Mkdir, path); err != nil {
		return err
	}
	return f.base.MkdirAll(path, perm)
}

func (f *FS) CreateTemp(dir, pattern string) (atomicfile.File, error) {
	if err := f.check(Create, dir+"/"+pattern); err != nil {
		return nil, err
	}
	file, err := f.base.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &tempFile{File: file, fs: f}, nil
}

func (f *FS) Rename(oldpath, newpath string) error {
	if err := f.check(Rename, newpath); err != nil {
		return err
	}
	return f.base.Rename(oldpath, newpath)
}

func (f *FS) Remove(name string) error {
	if err := f.check(Remove, name); err != nil {
		return err
	}
	return f.base.Remove(name)
}

func (f *FS) RemoveAll(path string) error {
	if err := f.check(Remove, path); err != nil {
		return err
	}
	return f.base.RemoveAll(path)
}

func (f *FS) SyncDir(dir string) error {
	if err := f.check(SyncDir, dir); err != nil {
		return err
	}
	return f.base.SyncDir(dir)
}

// tempFile is a temp file whose write, fsync and close can fail. Faults
// on it match the final path's temp name (".<base>.<random>.tmp"), which
// contains the base name of the file being replaced.
type tempFile struct {
	atomicfile.File
	fs *FS
}

func (t *tempFile) Write(p []byte) (int, error) {
	if err := t.fs.check(Write, t.Name()); err != nil {
		n, _ := t.File.Write(p[:len(p)/2]) // the disk filled up half way
		return n, err
	}
	return t.File.Write(p)
}

func (t *tempFile) Sync() error {
	if err := t.fs.check(Sync, t.Name()); err != nil {
		return err
	}
	return t.File.Sync()
}

func (t *tempFile) Close() error {
	if err := t.fs.check(Close, t.Name()); err != nil {
		_ = t.File.Close() // the descriptor is gone either way
		return err
	}
	return t.File.Close()
}
