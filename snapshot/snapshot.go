// Package snapshot keeps a shadow git repository of a project's work tree so
// that every file an agent changes can be recovered.
//
// Guarantees:
//
//   - Snapshots are git tree objects in a separate git dir (Options.GitDir),
//     readable by the git CLI with --git-dir/--work-tree. The project's own
//     .git is only ever read (index, objects via alternates, excludes), never
//     written, and no .git file is created in the work tree. Non-git projects
//     work the same way.
//   - Track hashes exactly the files git would add with `git add -A`
//     (.gitignore at every level, .git/info/exclude, the global excludes
//     file), storing them byte-exact, so its tree hash equals
//     `git write-tree` after `git add -A` on the same shadow repo. Files above
//     Options.MaxFileSize are left out and reported (Skipped, Result.Skipped).
//   - Track is incremental: a stat cache (size, mtime, inode, mode) persisted
//     in GitDir means only changed files are read; once a watcher feeds
//     MarkChanged, Track re-stats only the marked paths (plus a periodic or
//     MarkAll-triggered full rescan).
//   - Restore changes only the listed paths, writes a file only when its
//     content or mode differ, and never removes a file it could not snapshot.
//   - Operations are serialised by an in-process mutex plus an flock on
//     GitDir/ocgo.lock; the kernel drops the flock when a process dies, so a
//     crash never leaves a lock that wedges later snapshots.
//
// Objects are written as loose objects (zlib level 1) without fsync. Small
// batches are written behind the call (kept in memory and readable until on
// disk); Flush and Close wait for them, so a hash returned by Track is only
// guaranteed on disk after Flush. A persisted stat cache whose objects never
// reached the disk is detected and rehashed. A git project's first snapshot
// reuses the hashes in its index (racy-git guard applied, skipped when
// .gitattributes or core.autocrlf may rewrite content) and, for directories
// whose every file matched, the tree hashes of its cache-tree; it reads the
// project's objects through package gitrepo and lets git read them through
// objects/info/alternates. This is the go-git plumbing approach
// measured in the project's dependencies notes; go-git's Worktree API is far
// slower. Nested git repositories are left out (reported in Skipped); content
// is stored byte-exact (no eol or filter conversion). Every path of the work
// tree is read, and a restore writes, through dirent.Root: no link is
// followed at any component, so what is stored or written under a path is
// never another file's. Unix only (flock, O_NOFOLLOW, inode numbers).
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"ocgo/dirent"
	"ocgo/gitrepo"
	"ocgo/ignore"
	"ocgo/relpath"
)

// Errors returned by the package. They carry no absolute paths.
var (
	ErrInvalidOptions = errors.New("snapshot: invalid options")
	ErrUnsafeRoot     = errors.New("snapshot: refusing to snapshot this directory")
	ErrInvalidPath    = errors.New("snapshot: invalid path")
	ErrInvalidHash    = errors.New("snapshot: invalid tree hash")
	ErrNotFound       = errors.New("snapshot: object not found")
	ErrNotAFile       = errors.New("snapshot: not a file")
	ErrClosed         = errors.New("snapshot: closed")
)

// DefaultMaxFileSize is used when Options.MaxFileSize is zero.
const DefaultMaxFileSize = 4 << 20

// forcedMaxFileSize bounds files stored by TrackPaths despite the size cap;
// they are read into memory whole.
const forcedMaxFileSize = 512 << 20

// DefaultRescanInterval is the full-rescan period in watcher-fed mode.
const DefaultRescanInterval = 2 * time.Minute

// Options configure a Snapshotter.
type Options struct {
	// GitDir is the shadow git dir (e.g. <data>/project/<slug>/snapshots).
	// Created if missing.
	GitDir string
	// WorkTree is the absolute project root.
	WorkTree string
	// MaxFileSize: larger files are not snapshotted (default 4 MiB); they are
	// reported by Skipped and never deleted or overwritten by Restore.
	MaxFileSize int64
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// RescanInterval bounds how long watcher-fed mode trusts the watcher
	// before a full rescan (default DefaultRescanInterval).
	RescanInterval time.Duration
	// Home is the user's home directory, never snapshotted ("" = Env's
	// HOME; ocgo passes the $HOME of its injected environment).
	Home string
	// Checkpoint, when set, is called before each change a restore makes
	// to the work tree (a file's deletion, a directory's removal or
	// creation, a chmod, a temp file's creation, its write, its rename
	// over the file), naming it. Tests kill the process there to check
	// that an interrupted revert is finished on the next start
	// (revertcrash_test.go). nil in production.
	Checkpoint func(step string)
	// Env answers git's variables for the ignore rules (see ignore.Env);
	// nil is an empty environment.
	Env ignore.Env
}

// Skip is a path that was not snapshotted or restored, with the reason.
type Skip struct {
	Path   string
	Reason string
}

// Result reports what Restore changed. Paths are slash-separated and
// relative to the work tree.
type Result struct {
	Written []string
	Deleted []string
	Skipped []Skip
}

// Snapshotter owns one shadow repository. Its methods are safe for
// concurrent use; they are serialised internally.
type Snapshotter struct {
	gitDir  string
	objDir  string
	work    string
	maxSize int64
	rescan  time.Duration
	log     *slog.Logger
	// checkpoint is Options.Checkpoint (nil: none).
	checkpoint func(step string)

	// root is the work tree, every path reached without following a
	// symlink (dirent.Root): reads, lstats and a restore's writes act on
	// what is at a path, never on another file a link leads to.
	root *dirent.Root
	lock *fileLock

	proj *projectRepo // nil for non-git projects
	env  ignore.Env   // git's variables, for the ignore rules and core.autocrlf

	// mu serialises operations and guards everything below.
	mu          sync.Mutex
	closed      bool
	tree        *dirNode // current view of the work tree
	seeds       map[string]*fileEntry
	seedTrees   map[string]gitrepo.CacheTree // the index's cache-tree, with seeds from it
	loaded      bool                         // persisted stat cache consulted
	watched     bool                         // a watcher feeds MarkChanged
	markAll     bool
	marked      map[string]struct{}
	force       map[string]struct{} // paths TrackPaths stores whatever their size
	lastFull    time.Time
	lastTree    plumbing.Hash
	handedOut   map[plumbing.Hash]time.Time // trees track built, for PruneSince
	skipped     []Skip
	dirtyCache  bool
	persisting  bool // a persistBehind goroutine is queued
	lastPersist time.Time
	globalPats  []ignore.Pattern

	store *objectStore

	bg sync.WaitGroup // persistBehind goroutines; Close waits for them
}

// Open prepares (creating if needed) the shadow repository and loads the
// persisted stat cache. It never writes inside the work tree.
func Open(opts Options) (*Snapshotter, error) {
	if opts.GitDir == "" || opts.WorkTree == "" || !filepath.IsAbs(opts.GitDir) || !filepath.IsAbs(opts.WorkTree) {
		return nil, fmt.Errorf("%w: GitDir and WorkTree must be absolute paths", ErrInvalidOptions)
	}
	work := filepath.Clean(opts.WorkTree)
	gitDir := filepath.Clean(opts.GitDir)
	if ev, err := filepath.EvalSymlinks(work); err == nil {
		work = ev
	}
	fi, err := os.Stat(work)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: work tree is not a directory", ErrInvalidOptions)
	}
	if work == "/" {
		return nil, ErrUnsafeRoot
	}
	home := opts.Home
	if home == "" && opts.Env != nil {
		home, _ = opts.Env("HOME")
	}
	if home != "" && filepath.Clean(home) == work {
		return nil, ErrUnsafeRoot
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("component", "snapshot"))
	maxSize := opts.MaxFileSize
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	rescan := opts.RescanInterval
	if rescan <= 0 {
		rescan = DefaultRescanInterval
	}

	proj := findProjectRepo(work)
	if proj != nil {
		if relpath.In(proj.GitDir, gitDir) || relpath.In(proj.CommonDir, gitDir) {
			return nil, fmt.Errorf("%w: GitDir must not be inside the project's .git", ErrInvalidOptions)
		}
	}
	if err := initGitDir(gitDir, work, proj); err != nil {
		return nil, err
	}
	lk := newLock(filepath.Join(gitDir, "ocgo.lock"))
	root, err := dirent.OpenRoot(work)
	if err != nil {
		lk.close()
		return nil, fmt.Errorf("snapshot: open work tree: %w", err)
	}
	s := &Snapshotter{
		gitDir:  gitDir,
		objDir:  filepath.Join(gitDir, "objects"),
		work:    work,
		maxSize: maxSize,
		rescan:  rescan,
		log:     log,
		root:    root,
		lock:    lk,
		proj:    proj,
		env:     opts.Env,
		marked:  map[string]struct{}{},

		checkpoint: opts.Checkpoint,
	}
	s.store = newObjectStore(s.objDir, proj, log)
	commonDir := ""
	if proj != nil {
		commonDir = proj.CommonDir
	}
	s.globalPats = ignore.Base(commonDir, opts.Env)
	// The stat cache is loaded by the first Track, under the lock and its
	// context, so Open never waits for another process.
	return s, nil
}

// begin takes the in-process mutex and the cross-process flock.
func (s *Snapshotter) begin(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if err := s.lock.acquire(ctx); err != nil {
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Snapshotter) end() {
	s.lock.release()
	s.mu.Unlock()
}

// MarkChanged records work-tree paths (relative, slash or OS separated) that
// a watcher saw change. From the first call on, Track re-stats only marked
// paths, plus a full rescan every RescanInterval or after MarkAll.
func (s *Snapshotter) MarkChanged(paths []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.watched {
		// Changes made before the watcher covered the whole tree were never
		// reported: the first Track in watcher-fed mode looks at everything.
		s.markAll = true
	}
	s.watched = true
	for _, p := range paths {
		rel, err := cleanRel(p)
		if err != nil {
			if p == "" || p == "." {
				s.markAll = true
			}
			continue
		}
		s.marked[rel] = struct{}{}
	}
}

// MarkAll forces a full rescan on the next Track (watcher overflow).
func (s *Snapshotter) MarkAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watched = true
	s.markAll = true
}

// Skipped lists the files the last Track left out (too large, unreadable).
func (s *Snapshotter) Skipped() []Skip {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Skip(nil), s.skipped...)
}

// Flush waits until every object written so far, behind a call or not, is
// on disk and durable (fsynced, with the directories naming it): a record
// that names a tree (a patch part, a revert journal) is written only after
// it, so neither a crash nor a power loss leaves it pointing at objects
// that are gone. Reading GitDir with another tool needs it too.
func (s *Snapshotter) Flush() error {
	if err := s.store.flush(); err != nil {
		return err
	}
	return s.store.syncWritten()
}

// Close flushes pending objects, persists the stat cache and releases files.
func (s *Snapshotter) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	err := s.closeLocked()
	s.mu.Unlock()
	// A queued persistBehind sees closed and returns; wait so that nothing
	// touches GitDir after Close.
	s.bg.Wait()
	return err
}

func (s *Snapshotter) closeLocked() error {
	s.closed = true
	err := s.store.flush()
	if s.dirtyCache {
		if e := s.lock.acquire(context.Background()); e == nil {
			if e := s.persistCache(); e != nil && err == nil {
				err = e
			}
			s.lock.release()
		}
	}
	s.store.close()
	if e := s.root.Close(); e != nil && err == nil {
		err = e
	}
	s.lock.close()
	return err
}

// cleanRel validates a work-tree-relative path and returns it in slash form.
func cleanRel(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return "", ErrInvalidPath
	}
	p = filepath.ToSlash(p)
	if strings.HasPrefix(p, "/") {
		return "", ErrInvalidPath
	}
	c := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	if c == "." || !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", ErrInvalidPath
	}
	for _, part := range strings.Split(c, "/") {
		if part == ".git" {
			return "", ErrInvalidPath
		}
	}
	return c, nil
}

// parseHash validates a hex tree or blob hash.
func parseHash(h string) (plumbing.Hash, error) {
	if len(h) != 40 {
		return plumbing.ZeroHash, ErrInvalidHash
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return plumbing.ZeroHash, ErrInvalidHash
		}
	}
	return plumbing.NewHash(h), nil
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
