// Package trace tells which project files a command's process tree changed.
//
// A bash tool call or a /shell command may write anywhere, and while it runs
// the user's editor, another session or a build daemon may write too.
// Comparing snapshots before and after the call cannot tell these apart;
// the kernel can. On Linux (amd64, arm64) Start installs a seccomp filter on
// the command before it executes. The filter lets every system call run at
// full speed except the ones that change the file system: open/openat with a
// write, create or truncate flag, creat, truncate, mkdir, rmdir, unlink,
// rename (both names), link, symlink, mknod and chmod (by path or fd). Each
// of those stops the calling thread and notifies a supervisor goroutine
// (SECCOMP_RET_USER_NOTIF), which reads the path from the thread's memory,
// resolves it against the thread's working directory or dirfd and the
// symbolic links on the way, records it if it lies in the project, and lets
// the call continue unchanged. The filter is inherited by every fork, clone,
// thread and exec of the tree, and cannot be removed by it.
//
// Guarantees. A file the tree changed through one of those calls before
// Result is read is in the Set, except one whose last change by the tree
// was to unlink it and that exists again when Result is read: someone else
// wrote it since, and its content is theirs. The Set may hold more than what changed
// (a write that then failed, a path written with the same bytes); it never
// holds less unless All is set. Whatever the supervisor cannot account for
// widens the answer to All ("every file changed during the call"), never
// narrows it: a path it cannot read or resolve, a change of root or mount
// namespace (chroot, unshare, setns, clone with CLONE_NEWNS, pivot_root) or
// a mount, io_uring, open_by_handle_at, a 32-bit or x32 system call. The
// filter fails clone3 with ENOSYS, since its flags are out of a filter's
// reach; C libraries and Go fall back to clone, as under Docker's default
// profile. A write through a descriptor opened before the command started is
// not seen; the command inherits only its standard streams (pipes and
// /dev/null), so within ocgo none exists. A process outside the tree that
// the command asks to write (a daemon, a server) is not seen either. The
// answer is meant for honest commands: seccomp user notification is not a
// security boundary, and a program that changes a path in memory between
// the supervisor's read and the kernel's can hide a write.
//
// Where tracing is unavailable (another OS or architecture, a kernel or a
// container that refuses seccomp filters, a tracer already attached to ocgo),
// Start runs the command untraced and Result answers All, which is the old
// "every file changed in the window" attribution.
//
// Cost: calls that do not change files never leave the kernel's filter; each
// file-changing call costs one round trip to the supervisor (README,
// Performance). Processes the command leaves running stay supervised until
// they exit; if ocgo exits first their file-changing calls fail with ENOSYS.
// Without CAP_SYS_ADMIN the filter needs no_new_privs, so a set-user-ID
// program (sudo) run by the command does not gain privileges.
package trace

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"ocgo/relpath"
)

// Set is what a traced command changed.
type Set struct {
	// Paths are the paths the command created, wrote, truncated, removed,
	// linked or chmod'ed: slash-separated, relative to the project root,
	// sorted and unique.
	Paths []string
	// Trees are the paths it renamed (both names): each also covers
	// everything below it, for a renamed directory. Sorted and unique.
	Trees []string
	// Except are paths below a tree that ocgo restored (Tracer.Restored)
	// after the rename: not covered. Sorted.
	Except []string
	// Dirs are the directories the command created (mkdir of a path that
	// did not exist, the new name of a directory it renamed and the
	// directories below it) that are still directories when Result is
	// read, minus those it removed or renamed away since. Sorted. Empty
	// with All: then nothing is known.
	Dirs []string
	// All says the tracer could not account for everything the command did:
	// treat every file changed during the call as the command's.
	All bool
	// Reason says why All is set.
	Reason string
}

// Covers reports whether rel (slash-separated, relative to the root) may have
// been changed by the command.
func (s Set) Covers(rel string) bool {
	if s.All {
		return true
	}
	if _, ok := slices.BinarySearch(s.Paths, rel); ok {
		return true
	}
	if _, ok := slices.BinarySearch(s.Except, rel); ok {
		return false
	}
	for p := range relpath.Up(rel) {
		if _, ok := slices.BinarySearch(s.Trees, p); ok {
			return true
		}
	}
	return false
}

// Filter keeps the files the command may have changed.
func (s Set) Filter(files []string) []string {
	if s.All {
		return files
	}
	out := make([]string, 0, len(files))
	for _, f := range files {
		if s.Covers(f) {
			out = append(out, f)
		}
	}
	return out
}

// Tracer starts commands whose file changes under one project root are
// recorded. A nil *Tracer starts commands untraced.
type Tracer struct {
	root string // absolute, symbolic links resolved
	log  *slog.Logger
	once sync.Once

	// clock orders the traced trees' changes against the restores ocgo
	// makes itself (Restored): a path whose last change was a restore is
	// not the command's, even if the command wrote it earlier.
	clock    atomic.Uint64
	mu       sync.Mutex
	restored map[string]uint64 // project-relative path → clock of its last restore
}

// New returns a tracer for the project at root.
func New(root string, log *slog.Logger) *Tracer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(root)
	if err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
	}
	return &Tracer{root: abs, log: log.With("component", "trace")}
}

// Restored records that ocgo itself has just written or deleted these
// project-relative paths (a revert or unrevert, possibly of another
// session, while a command runs). A command whose last change to such a
// path came before the restore does not own what the path holds now, so
// its Result leaves the path out. Safe on a nil *Tracer.
func (t *Tracer) Restored(paths ...string) {
	if t == nil || len(paths) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.restored == nil || len(t.restored) > maxRestored {
		// Bounded: forgetting old restores only widens attribution back
		// to "changed between the before and after trees".
		t.restored = map[string]uint64{}
	}
	for _, p := range paths {
		t.restored[p] = t.clock.Add(1)
	}
}

// maxRestored bounds the restore log.
const maxRestored = 1 << 16

// restoredBelow lists the paths ocgo restored below one of trees after the
// tree's rename (its clock in paths), sorted.
func (t *Tracer) restoredBelow(trees []string, paths map[string]entry) []string {
	if t == nil || len(trees) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for q, c := range t.restored {
		for up := range relpath.Up(q) {
			if e, ok := paths[up]; ok && e.tree && up != q && c > e.at {
				out = append(out, q)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// restoredSince reports whether ocgo restored rel after clock tick at.
func (t *Tracer) restoredSince(rel string, at uint64) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.restored[rel] > at
}

// Run is one traced command.
type Run struct {
	t      *Tracer
	root   string
	mu     sync.Mutex
	paths  map[string]entry
	dirs   map[string]bool // directories the tree made (see Set.Dirs)
	all    bool
	reason string
	before func(abs string)
}

// Start starts cmd (as cmd.Start does) with its process tree traced. The
// caller waits for cmd as usual. If tracing is unavailable the command runs
// untraced and the Run's Result says All.
func (t *Tracer) Start(cmd *exec.Cmd) (*Run, error) {
	return t.StartHook(cmd, nil)
}

// StartHook is Start with a hook called before the tree's first change to
// each project path (absolute; a directory renamed stands for what lies
// below), while the changing call waits: the hook can still read what the
// path holds. The session core uses it to save a file too large for the
// before-snapshot just before the command changes it. Untraced, it is never
// called.
func (t *Tracer) StartHook(cmd *exec.Cmd, before func(abs string)) (*Run, error) {
	r := &Run{paths: map[string]entry{}, dirs: map[string]bool{}, before: before, t: t}
	if t == nil {
		r.widen("tracing is off")
		return r, cmd.Start()
	}
	r.root = t.root
	return r, t.start(cmd, r)
}

// entry is what the tree did to a path.
type entry struct {
	tree     bool   // renamed: covers what lies below
	unlinked bool   // its last act on the path was to unlink the file
	at       uint64 // the tracer's clock at its last change to the path
}

// Result returns what the tree changed so far: once the command has
// returned, everything it did before returning. (A background process it
// left running may add more later.)
func (r *Run) Result() Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.all {
		return Set{All: true, Reason: r.reason}
	}
	set := Set{Paths: []string{}, Trees: []string{}}
	for p, e := range r.paths {
		if r.t.restoredSince(p, e.at) {
			// ocgo restored the path after the command last changed
			// it: what it holds is the restore's, not the command's.
			// (A restore writes or deletes files: a renamed path it
			// restored is no directory with more to cover.)
			continue
		}
		if e.unlinked {
			// The tree's last act removed the file. If it exists now,
			// someone else made it since: its content is not the
			// command's, and a revert must not put the old one over it.
			if _, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(p))); err == nil {
				continue
			}
		}
		if e.tree {
			set.Trees = append(set.Trees, p)
		} else {
			set.Paths = append(set.Paths, p)
		}
	}
	for d := range r.dirs {
		if fi, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(d))); err == nil && fi.IsDir() {
			set.Dirs = append(set.Dirs, d)
		}
	}
	set.Except = r.t.restoredBelow(set.Trees, r.paths)
	slices.Sort(set.Paths)
	slices.Sort(set.Trees)
	slices.Sort(set.Dirs)
	return set
}

// madeDir records that the tree is creating directory rel (it did not exist
// when the creating call was stopped).
func (r *Run) madeDir(rel string) {
	r.mu.Lock()
	if len(r.dirs) < maxDirs {
		r.dirs[rel] = true
	}
	r.mu.Unlock()
}

// maxDirs bounds the directories a Run records: past it, the directories a
// command made stay after a revert empties them.
const maxDirs = 1 << 16

// removedDir records that the tree is removing (or renaming away) directory
// rel: it and what lies below it are no longer directories the tree made.
func (r *Run) removedDir(rel string) {
	r.mu.Lock()
	for d := range r.dirs {
		for up := range relpath.Up(d) {
			if up == rel {
				delete(r.dirs, d)
				break
			}
		}
	}
	r.mu.Unlock()
}

func (r *Run) add(rel string, tree, unlinked bool) {
	r.mu.Lock()
	_, seen := r.paths[rel]
	r.mu.Unlock()
	if !seen && r.before != nil {
		r.before(filepath.Join(r.root, filepath.FromSlash(rel))) // the call waits: the path is as it was
	}
	var at uint64
	if r.t != nil {
		at = r.t.clock.Add(1)
	}
	r.mu.Lock()
	r.paths[rel] = entry{tree: r.paths[rel].tree || tree, unlinked: unlinked, at: at}
	r.mu.Unlock()
}

func (r *Run) widen(reason string) {
	r.mu.Lock()
	if !r.all {
		r.all, r.reason = true, reason
	}
	r.mu.Unlock()
}

// unavailable records, once per tracer, that commands run untraced.
func (t *Tracer) unavailable(err error) {
	t.once.Do(func() {
		t.log.Warn("Exact attribution of shell commands is unavailable; every file changed during a command is attributed to it", "err", err)
	})
}
