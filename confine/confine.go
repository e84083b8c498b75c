// Package confine is the one way ocgo opens a file on the project's behalf:
// the rules files (AGENTS.md, CLAUDE.md, CONTEXT.md), the config's
// instructions, attachments, the agent's tools and the file routes all read
// and write through a Root.
//
// Guarantees, for every path a caller passes:
//   - Nothing outside the project directory is opened: lookups go through
//     os.Root, which opens every component with O_NOFOLLOW and refuses ".."
//     and symlinks that lead out of the directory (ErrOutside).
//   - Special files are refused before a byte is read: files are opened with
//     O_NONBLOCK and checked with fstat, so a FIFO, socket or device never
//     blocks a request or a tool (ErrSpecial).
//   - A regular file with more than one hard link is refused (ErrHardLink):
//     the other name may lie outside the project (a link to ~/.ssh/id_ed25519
//     or ~/.bashrc), and nothing on disk says where.
//   - Repository internals (any ".git" component) and the denied directories
//     (ocgo's data folder when it lies inside the project) are refused
//     (ErrDenied), also when reached through a symlink inside the project:
//     the check runs on the path the kernel actually opened.
//   - Reads are bounded (ReadFile: DefaultMaxRead, or the caller's limit).
//
// Writes (WriteFile, MkdirAll, Remove) pass the same checks on the target and
// on its nearest existing directory, and never write through a hard-linked
// file or a dangling symlink.
package confine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"ocgo/relpath"
)

// Errors returned by a Root; test with errors.Is.
var (
	ErrOutside  = errors.New("path is outside the project")
	ErrSpecial  = errors.New("not a regular file (FIFO, socket or device)")
	ErrHardLink = errors.New("file has more than one hard link")
	ErrDenied   = errors.New("path is off-limits (.git or ocgo's data folder)")
	ErrTooLarge = errors.New("file too large")
)

// DefaultMaxRead bounds ReadFile.
const DefaultMaxRead = 64 << 20

// Options configures a Root.
type Options struct {
	// Deny lists absolute directories refused with everything below them
	// (ocgo's data folder). Directories outside the project are ignored.
	Deny []string
	// AllowGit lets paths through ".git" components.
	AllowGit bool
}

// Root is a project directory opened for confined access. It is safe for
// concurrent use.
type Root struct {
	r        *os.Root
	path     string   // absolute, as given (cleaned)
	real     string   // path with symlinks resolved
	deny     []string // root-relative slash paths (lexical)
	denyReal []string // absolute real paths
	allowGit bool
}

// Open opens dir for confined access.
func Open(dir string, opts Options) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		real = abs
	}
	c := &Root{r: r, path: abs, real: real, allowGit: opts.AllowGit}
	for _, d := range opts.Deny {
		if d == "" {
			continue
		}
		d = filepath.Clean(d)
		if rd, err := filepath.EvalSymlinks(d); err == nil {
			d = rd
		}
		rel, ok := relpath.Within(real, d)
		if !ok {
			if rel2, ok2 := relpath.Within(abs, d); ok2 {
				rel, ok = rel2, true
			}
		}
		if !ok {
			continue
		}
		c.deny = append(c.deny, filepath.ToSlash(rel))
		c.denyReal = append(c.denyReal, d)
	}
	return c, nil
}

// Close releases the directory handle.
func (c *Root) Close() error { return c.r.Close() }

// Name is the project directory's absolute path.
func (c *Root) Name() string { return c.path }

// OS is the underlying os.Root, for walks (its FS never follows symlinks).
// Walkers skip what Denied reports.
func (c *Root) OS() *os.Root { return c.r }

// FS is the directory as an fs.FS (symlinks are not followed by WalkDir).
func (c *Root) FS() fs.FS { return c.r.FS() }

// Denied reports whether the root-relative path rel is lexically off-limits
// (a ".git" component, or inside a denied directory). Walkers use it to skip
// directories.
func (c *Root) Denied(rel string) bool {
	rel = strings.Trim(filepath.ToSlash(filepath.Clean(rel)), "/")
	if rel == "." || rel == "" {
		return false
	}
	if !c.allowGit {
		for _, comp := range strings.Split(rel, "/") {
			if comp == ".git" {
				return true
			}
		}
	}
	for _, d := range c.deny {
		if relpath.Under(d, rel) {
			return true
		}
	}
	return false
}

// check is the lexical check every operation starts with.
func (c *Root) check(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: invalid path", ErrOutside)
	}
	if filepath.IsAbs(name) {
		rel, ok := relpath.Within(c.path, filepath.Clean(name))
		if !ok {
			return "", ErrOutside
		}
		name = rel
	}
	clean := path.Clean(filepath.ToSlash(name))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", ErrOutside
	}
	if c.Denied(clean) {
		return "", ErrDenied
	}
	return filepath.FromSlash(clean), nil
}

// checkOpened verifies the path the kernel opened for f: inside the project
// and not off-limits. Where the platform cannot tell, the lexical check and
// os.Root's own confinement stand.
func (c *Root) checkOpened(f *os.File) error {
	real, ok := openedPath(f)
	if !ok {
		return nil
	}
	rel, in := relpath.Within(c.real, real)
	if !in {
		return ErrOutside
	}
	if c.Denied(rel) {
		return ErrDenied
	}
	for _, d := range c.denyReal {
		if _, in := relpath.Within(d, real); in {
			return ErrDenied
		}
	}
	return nil
}

// classify refuses what a confined read must not read.
func classify(fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return nil
	case !fi.Mode().IsRegular():
		return ErrSpecial
	case links(fi) > 1:
		return ErrHardLink
	}
	return nil
}

// Open opens name for reading: a regular file or a directory. It never
// blocks on a special file.
func (c *Root) Open(name string) (*os.File, error) {
	rel, err := c.check(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := c.r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, mapRootErr(err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = classify(fi)
	}
	if err == nil {
		err = c.checkOpened(f)
	}
	if err != nil {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

// ReadFile reads a regular file of at most DefaultMaxRead bytes.
func (c *Root) ReadFile(name string) ([]byte, error) { return c.ReadFileLimit(name, DefaultMaxRead) }

// ReadFileLimit reads a regular file of at most max bytes (ErrTooLarge).
func (c *Root) ReadFileLimit(name string, max int64) ([]byte, error) {
	f, err := c.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: syscall.EISDIR}
	}
	if fi.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: name, Err: ErrTooLarge}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: name, Err: ErrTooLarge}
	}
	return b, nil
}

// Stat follows symlinks inside the project and reports what is there.
// Off-limits and outside paths fail as Open does.
func (c *Root) Stat(name string) (fs.FileInfo, error) {
	rel, err := c.check(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	fi, err := c.r.Stat(rel)
	if err != nil {
		return nil, mapRootErr(err)
	}
	if fi.Mode().Type() == 0 || fi.IsDir() {
		// A symlink may lead into .git: check the opened object.
		f, err := c.r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err == nil {
			err = c.checkOpened(f)
			_ = f.Close()
			if err != nil {
				return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
			}
		}
	}
	return fi, nil
}

// Lstat reports the entry itself, without following a final symlink.
func (c *Root) Lstat(name string) (fs.FileInfo, error) {
	rel, err := c.check(name)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	fi, err := c.r.Lstat(rel)
	return fi, mapRootErr(err)
}

// checkWrite refuses a write to name: off-limits or outside (also through
// symlinks), a dangling symlink, a special or hard-linked file.
func (c *Root) checkWrite(name string) (string, error) {
	rel, err := c.check(name)
	if err != nil {
		return "", err
	}
	if lfi, err := c.r.Lstat(rel); err == nil {
		f, err := c.r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != nil {
			if lfi.Mode()&fs.ModeSymlink != 0 {
				return "", ErrOutside // dangling or leading out
			}
			return "", mapRootErr(err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return "", err
		}
		if err := classify(fi); err != nil {
			return "", err
		}
		return rel, c.checkOpened(f)
	}
	// The target does not exist: check its nearest existing directory.
	for d := filepath.Dir(rel); ; d = filepath.Dir(d) {
		err := c.checkDir(d)
		if !errors.Is(err, fs.ErrNotExist) {
			return rel, err
		}
		if d == "." || d == string(filepath.Separator) {
			return rel, nil
		}
	}
}

// checkDir checks the directory the kernel opens for dir.
func (c *Root) checkDir(dir string) error {
	f, err := c.r.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return mapRootErr(err)
	}
	defer f.Close()
	return c.checkOpened(f)
}

// WriteFile writes data to name (created with perm if missing).
func (c *Root) WriteFile(name string, data []byte, perm fs.FileMode) error {
	rel, err := c.checkWrite(name)
	if err != nil {
		return &fs.PathError{Op: "write", Path: name, Err: err}
	}
	return mapRootErr(c.r.WriteFile(rel, data, perm))
}

// MkdirAll creates a directory and its parents. It returns the directories
// it created itself (OS paths relative to the root, parents first): one
// that someone else made in the meantime is not among them, so a caller can
// later remove exactly what it made.
func (c *Root) MkdirAll(name string, perm fs.FileMode) ([]string, error) {
	rel, err := c.checkWrite(name)
	if err != nil {
		return nil, &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	if fi, err := c.r.Stat(rel); err == nil && fi.IsDir() {
		return nil, nil
	}
	var missing []string
	for d := rel; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if fi, err := c.r.Stat(d); err == nil && fi.IsDir() {
			break
		}
		missing = append(missing, d)
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := c.r.Mkdir(missing[i], perm)
		switch {
		case err == nil:
			made = append(made, missing[i])
		case errors.Is(err, fs.ErrExist):
			if fi, serr := c.r.Stat(missing[i]); serr != nil || !fi.IsDir() {
				return made, mapRootErr(err) // a file in the way
			}
		default:
			return made, mapRootErr(err)
		}
	}
	return made, nil
}

// Remove removes a file or an empty directory (a symlink itself, never its
// target).
func (c *Root) Remove(name string) error {
	rel, err := c.check(name)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	if err := c.checkDir(filepath.Dir(rel)); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return mapRootErr(c.r.Remove(rel))
}

// mapRootErr turns os.Root's escape error into ErrOutside, keeping the rest.
func mapRootErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENXIO) { // a socket
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: ErrSpecial}
		}
		return ErrSpecial
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: ErrOutside}
		}
		return ErrOutside
	}
	return err
}

// ReadRegular reads a file the user owns outright (the global config's
// AGENTS.md, config files): symlinks are followed, but only a regular file
// is read, opened non-blocking, and at most max bytes. Only as many bytes as
// fstat reports are read, so pseudo-files that claim size 0
// (/proc/self/environ) read as empty.
func ReadRegular(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: ErrSpecial}
	}
	if fi.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: p, Err: ErrTooLarge}
	}
	return io.ReadAll(io.LimitReader(f, fi.Size()))
}
