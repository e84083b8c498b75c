//go:build unix

package dirent

import (
	"context"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"ocgo/relpath"
)

// Walker is the one recursion over the project tree, shared by the
// watcher's index and the snapshotter's stat scan (docs/architecture.md,
// One walk of the tree). It lives here, beside the directory reader, because
// walking is listing applied recursively and both walks must hold the same
// guarantees: a walk starts from the Root's top, and every directory
// below it, the start's own components included, is opened relative to its
// already open parent with O_NOFOLLOW, so no component at any depth is
// followed through a symlink and nothing outside the root is listed,
// whatever is swapped on disk meanwhile.
// What a walk does at each directory is the caller's, through three hooks;
// T is the state the caller keeps per directory.
type Walker[T any] struct {
	// Enter is called for each directory once it is open and before it is
	// listed (also when it is there but cannot be opened, for lack of
	// permission; not when it is gone or is no directory, a link
	// included): the watcher adds its inotify watch here, so a file
	// created while the directory is listed is reported by the watch if
	// the listing misses it, and a directory swapped for a link before the
	// open is never watched through it. May be nil.
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
func (w *Walker[T]) Walk(ctx context.Context, root *Root, rel string, val T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// A descriptor of its own, even for the top: a listing reads from the
	// descriptor's offset.
	fd, err := openBelow(root.fd, rel)
	w.enter(err, rel, val)
	if err != nil {
		return nil
	}
	defer func() { _ = unix.Close(fd) }() // after the subdirectories, opened relative to it
	var sem chan struct{}
	if w.Parallel > 0 {
		sem = make(chan struct{}, w.Parallel)
	}
	return w.dir(ctx, sem, fd, rel, val)
}

// openBelow opens the directory rel below the open directory dirfd, one
// component at a time without following a symlink, and returns its new
// descriptor ("" and "." components are skipped, ".." refused; an empty rel
// opens dirfd's directory again, with an offset of its own).
func openBelow(dirfd int, rel string) (int, error) {
	cur := dirfd
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." {
			continue
		}
		var next int
		err := error(unix.EINVAL)
		if c != ".." {
			next, err = openDirAt(cur, c)
		}
		if cur != dirfd {
			_ = unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = next
	}
	if cur == dirfd {
		return openDirAt(dirfd, ".")
	}
	return cur, nil
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
	rel := relpath.Join(d.Rel, name)
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
	fd, err := openDirAt(pfd, name)
	w.enter(err, rel, val)
	if err != nil {
		return nil
	}
	defer func() { _ = unix.Close(fd) }()
	return w.dir(ctx, sem, fd, rel, val)
}

// enter calls Enter for a directory whose open returned err: when it
// opened, or is there but unreadable; not when it is gone or not a
// directory (a link among them: ELOOP or ENOTDIR with O_NOFOLLOW).
func (w *Walker[T]) enter(err error, rel string, val T) {
	if w.Enter != nil && err != unix.ENOENT && err != unix.ELOOP && err != unix.ENOTDIR {
		w.Enter(rel, val)
	}
}

// Open opens the entry name of d for reading, non-blocking, without
// following a link (a link there fails with ELOOP): a file of the directory
// the walk listed, whatever is swapped above it meanwhile.
func (d *Dir[T]) Open(name string) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var e error
		fd, e = unix.Openat(d.Fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		return e
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: relpath.Join(d.Rel, name), Err: err}
	}
	return os.NewFile(uintptr(fd), relpath.Join(d.Rel, name)), nil
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
