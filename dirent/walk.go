//go:build unix

package dirent

import (
	"context"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Walker is the one recursion over the project tree, shared by the
// watcher's index and the snapshotter's stat scan (docs/architecture.md,
// One walk of the tree). It lives here, beside the directory reader, because
// walking is listing applied recursively and both walks must hold the same
// guarantees: a walk starts from the os.Root's top, and every directory
// below it, the start's own components included, is opened relative to its
// already open parent with O_NOFOLLOW, so no component at any depth is
// followed through a symlink and nothing outside the root is listed,
// whatever is swapped on disk meanwhile.
// What a walk does at each directory is the caller's, through three hooks;
// T is the state the caller keeps per directory.
type Walker[T any] struct {
	// Enter is called for each directory before it is opened and listed,
	// also when it then cannot be: the watcher adds its inotify watch here,
	// so a file created while the directory is listed is reported by the
	// watch if the listing misses it. May be nil.
	Enter func(rel string, val T)
	// List receives the listing of the open directory and decides what to
	// do with each entry: Dir.Descend walks a subdirectory ("descend into
	// this one?" is answered by calling it or not: ignore rules, nested
	// repositories, the .git directory), Dir.Stat reads a file's stat
	// relative to the open directory. It is not called for a directory that
	// cannot be opened (vanished, unreadable, replaced by a file or a
	// symlink).
	List func(d *Dir[T], val T)
	// Leave is called once every subdirectory List descended into has been
	// walked, with their states in the order Descend was called. It is not
	// called when List was not, or when the walk was cancelled. May be nil.
	Leave func(val T, subs []T)
	// Parallel is how many subdirectories may be walked at once on
	// goroutines of their own (0: everything on the caller's goroutine, in
	// listing order). With Parallel > 0 the hooks run concurrently for
	// different directories; a directory's List and Leave never overlap.
	Parallel int

	bufs sync.Pool // *[BufSize]byte: one per directory being read
}

// Dir is one open directory during List.
type Dir[T any] struct {
	Rel     string  // slash-separated path from the root ("" for the root)
	Fd      int     // the open directory, valid until List returns
	Entries []Entry // its listing
	Err     error   // the listing stopped early: Entries holds what was read

	w    *Walker[T]
	ctx  context.Context
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	subs []T
}

// Walk walks the directory rel (slash-separated, "" for the root) of root
// and what List descends into below it, with val the state of rel. It
// returns ctx's error when cancelled; a directory that cannot be opened or
// read is the hooks' business, not an error of the walk.
func (w *Walker[T]) Walk(ctx context.Context, root *os.Root, rel string, val T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.Enter != nil {
		w.Enter(rel, val)
	}
	top, err := root.Open(".")
	if err != nil {
		return nil
	}
	defer func() { _ = top.Close() }() // after the subdirectories, opened relative to it
	fd := int(top.Fd())
	if rel != "" {
		// Component by component with O_NOFOLLOW: os.Root would follow a
		// symlink that stays inside the root, also the last component's
		// with O_NOFOLLOW (it resolves the link itself).
		if fd, err = openBelow(fd, rel); err != nil {
			return nil
		}
		defer func() { _ = unix.Close(fd) }()
	}
	var sem chan struct{}
	if w.Parallel > 0 {
		sem = make(chan struct{}, w.Parallel)
	}
	return w.dir(ctx, sem, fd, rel, val)
}

// openBelow opens the directory rel below the open directory dirfd, one
// component at a time without following a symlink, and returns its new
// descriptor.
func openBelow(dirfd int, rel string) (int, error) {
	cur := dirfd
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			err := error(unix.EINVAL)
			if cur != dirfd {
				_ = unix.Close(cur)
			}
			return -1, err
		}
		next, err := openDirAt(cur, c)
		if cur != dirfd {
			_ = unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// OpenFile opens the file rel (slash-separated) below root for reading,
// non-blocking, without following a symlink in any component, the last
// one included (os.Root resolves a symlink that stays inside the root
// even with O_NOFOLLOW). A symlink where a component or the file should
// be fails with ELOOP or ENOTDIR.
func OpenFile(root *os.Root, rel string) (*os.File, error) {
	var f *os.File
	err := atParent(root, rel, func(dirfd int, name string) error {
		return ignoringEINTR(func() error {
			fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err == nil {
				f = os.NewFile(uintptr(fd), rel)
			}
			return err
		})
	})
	return f, err
}

// Readlink reads the symlink rel (slash-separated) below root, following
// no symlink on the way to it: a link's target is never read through a
// directory swapped for a link to somewhere else.
func Readlink(root *os.Root, rel string) (string, error) {
	var target string
	err := atParent(root, rel, func(dirfd int, name string) error {
		buf := make([]byte, 256)
		for {
			n, err := unix.Readlinkat(dirfd, name, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if n < len(buf) {
				target = string(buf[:n])
				return nil
			}
			buf = make([]byte, 2*len(buf))
		}
	})
	return target, err
}

// atParent opens rel's directory below root component by component
// without following a symlink and calls fn with it and rel's last name.
func atParent(root *os.Root, rel string, fn func(dirfd int, name string) error) error {
	dir, name := path.Split(rel)
	if name == "" || name == "." || name == ".." {
		return &os.PathError{Op: "open", Path: rel, Err: unix.EINVAL}
	}
	top, err := root.Open(".")
	if err != nil {
		return err
	}
	defer func() { _ = top.Close() }()
	dirfd := int(top.Fd())
	if dir = strings.TrimSuffix(dir, "/"); dir != "" {
		if dirfd, err = openBelow(dirfd, dir); err != nil {
			return &os.PathError{Op: "open", Path: rel, Err: err}
		}
		defer func() { _ = unix.Close(dirfd) }()
	}
	if err := fn(dirfd, name); err != nil {
		return &os.PathError{Op: "open", Path: rel, Err: err}
	}
	return nil
}

// openDirAt opens the directory name inside the open directory dirfd
// without following a symlink.
func openDirAt(dirfd int, name string) (int, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var e error
		fd, e = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return e
	})
	return fd, err
}

// dir lists the open directory fd and hands it to the hooks.
func (w *Walker[T]) dir(ctx context.Context, sem chan struct{}, fd int, rel string, val T) error {
	buf, _ := w.bufs.Get().(*[BufSize]byte)
	if buf == nil {
		buf = new([BufSize]byte)
	}
	ents, err := Read(fd, buf[:])
	w.bufs.Put(buf)
	d := &Dir[T]{Rel: rel, Fd: fd, Entries: ents, Err: err, w: w, ctx: ctx, sem: sem}
	w.List(d, val)
	d.wg.Wait()
	if d.err != nil {
		return d.err
	}
	if w.Leave != nil {
		w.Leave(val, d.subs)
	}
	return nil
}

// Descend walks the subdirectory name of d with state val: on a goroutine
// of its own when the walk is parallel and a slot is free, else at once.
// Call it only from List, for a name of d's listing.
func (d *Dir[T]) Descend(name string, val T) {
	if d.w.Leave != nil {
		d.subs = append(d.subs, val)
	}
	rel := name
	if d.Rel != "" {
		rel = d.Rel + "/" + name
	}
	select {
	case d.sem <- struct{}{}: // a nil sem (sequential walk) is never ready
		d.wg.Add(1)
		go func() {
			defer func() { <-d.sem; d.wg.Done() }()
			d.fail(d.w.child(d.ctx, d.sem, d.Fd, name, rel, val))
		}()
	default:
		d.fail(d.w.child(d.ctx, d.sem, d.Fd, name, rel, val))
	}
}

func (d *Dir[T]) fail(err error) {
	if err == nil {
		return
	}
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
}

// child opens the subdirectory name relative to its open parent, without
// following a symlink, and walks it.
func (w *Walker[T]) child(ctx context.Context, sem chan struct{}, pfd int, name, rel string, val T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.Enter != nil {
		w.Enter(rel, val)
	}
	fd, err := openDirAt(pfd, name)
	if err != nil {
		return nil
	}
	defer func() { _ = unix.Close(fd) }()
	return w.dir(ctx, sem, fd, rel, val)
}

// Info is what an lstat of one entry relative to its open directory says.
type Info struct {
	Size  int64
	Mtime int64  // nanoseconds since the epoch
	Ino   uint64 // inode number
	Mode  uint32 // st_mode: the file type (unix.S_IFMT) and permission bits
}

// Stat lstats the entry name of d (fstatat relative to the open directory,
// no symlink followed): confined to d whatever happens to the path above.
func (d *Dir[T]) Stat(name string) (Info, error) { return StatAt(d.Fd, name) }

// StatAt lstats name inside the open directory dirfd, as Dir.Stat does.
func StatAt(dirfd int, name string) (Info, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return Info{}, err
	}
	return Info{Size: int64(st.Size), Mtime: st.Mtim.Nano(), Ino: uint64(st.Ino), Mode: uint32(st.Mode)}, nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
