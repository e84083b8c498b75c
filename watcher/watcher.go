// Package watcher keeps an in-memory index of the project's non-ignored files
// and directories current through fsnotify, without spawning any process.
//
// Guarantees: ignore decisions follow git (nested .gitignore files with
// negations, .git/info/exclude, the global excludes file; .git is always
// skipped; an excluded directory hides everything below it). Only directories
// are watched, never files, so atomic saves (write a temporary file, rename it
// over the target) are seen as a change of the target. New directories are
// watched first and then scanned, so files created inside them right away are
// not missed; removed directories are dropped with everything below them. A
// kernel queue overflow triggers a full rescan. When the inotify watch limit
// is reached the watcher logs once and degrades to periodic rescans instead of
// failing. Changes are batched: OnChange is called after the tree has been
// quiet for the debounce interval (or at once for Sync), never for two
// batches at a time, each path at most once per batch.
//
// Sync is a barrier against that debounce: when it returns, every change
// made to the tree before it was called is in the index. The index therefore
// serves readers that must not miss a file just written (the agent's glob,
// grep and list tools) as well as those that may lag (/find, snapshots).
package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"ocgo/dirent"
	"ocgo/ignore"
	"ocgo/relpath"
)

// Event names used in Change.Event, as in opencode's file.watcher.updated.
const (
	EventChange = "change" // created or modified
	EventRename = "rename" // removed or moved away
)

// ErrClosed is returned by Start after Close.
var (
	ErrClosed         = errors.New("watcher: closed")
	ErrAlreadyStarted = errors.New("watcher: already started")
	ErrNoRoot         = errors.New("watcher: root is not a directory")
)

// Options configures a Watcher.
type Options struct {
	Root     string        // project root (absolute or relative to the process cwd)
	Logger   *slog.Logger  // nil: discard
	Debounce time.Duration // quiet period before a batch is delivered; default 75ms
	// OnChange receives each batch of file changes, from a single goroutine.
	OnChange func([]Change)
	// RescanInterval is the period of full rescans used when the inotify
	// watch limit is reached; default 10s.
	RescanInterval time.Duration
	// Env answers git's variables for the ignore rules (see ignore.Env);
	// nil is an empty environment.
	Env ignore.Env
}

// Change is one file-level change, with a root-relative slash-separated path.
type Change struct {
	Path  string `json:"file"`
	Event string `json:"event"` // "change" | "rename"
}

type fileInfo struct {
	size  int64
	mtime int64
	known bool // size/mtime were taken (rescans only)
	link  bool // a symlink, not a regular file
}

// Watcher watches a project tree and keeps its file index.
type Watcher struct {
	root     string
	log      *slog.Logger
	debounce time.Duration
	rescanIv time.Duration
	onChange func([]Change)
	fsw      *fsnotify.Watcher

	mu       sync.RWMutex
	rules    *ignore.Tree
	env      ignore.Env
	files    map[string]fileInfo
	dirs     map[string]bool // true: has an inotify watch
	sorted   []string        // cached sorted Files(), nil when stale
	regular  []string        // sorted regular files (no symlinks), built with sorted
	sortedD  []string
	version  uint64
	degraded bool                 // watch limit hit: periodic rescans
	walker   *dirent.Walker[wdir] // the one walk of the tree, sequential

	scanOnce  sync.Once // the first walk of the tree
	startOnce sync.Once
	started   atomic.Bool   // Start has run (set after syncDir; no w.mu: the first walk may hold it)
	loopExit  chan struct{} // closed when the event loop has returned
	flushMu   sync.Mutex    // one batch at a time, whoever flushes
	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup

	// Sync's barrier: a marker file created in syncDir (watched by the same
	// inotify instance as the tree) wakes the waiter of its name.
	syncDir string
	syncMu  sync.Mutex
	syncSeq uint64
	waiters map[string]chan struct{}
	syncReq chan chan struct{} // Sync without a marker: rescan on the loop
}

// syncTimeout bounds the wait for a marker's event; past it (the event was
// lost, say the private directory was removed) Sync rescans instead.
const syncTimeout = 2 * time.Second

// New prepares a watcher for the tree under opts.Root. The tree is walked
// (and every non-ignored directory watched) on the watcher's goroutine once
// Start is called, so a server starts without waiting for a large tree;
// the first query (Files, Dirs, HasFile, Version, Ignored) waits for that
// walk, or does it when Start has not been called. Events are delivered
// only after Start.
func New(opts Options) (*Watcher, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("watcher: root: %w", err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, ErrNoRoot
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		root:     root,
		log:      lg.With("component", "watcher"),
		debounce: opts.Debounce,
		rescanIv: opts.RescanInterval,
		onChange: opts.OnChange,
		rules:    ignore.NewTree(root, opts.Env),
		env:      opts.Env,
		files:    map[string]fileInfo{},
		dirs:     map[string]bool{},
		done:     make(chan struct{}),
		loopExit: make(chan struct{}),
		waiters:  map[string]chan struct{}{},
		syncReq:  make(chan chan struct{}),
	}
	w.walker = &dirent.Walker[wdir]{Enter: w.enterDir, List: w.listDir}
	if w.debounce <= 0 {
		w.debounce = 75 * time.Millisecond
	}
	if w.rescanIv <= 0 {
		w.rescanIv = 10 * time.Second
	}
	w.fsw, err = fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		// No inotify instance left: run on periodic rescans only.
		w.log.Warn("file watching unavailable, using periodic rescans", "err", err)
		w.degraded = true
	}
	return w, nil
}

// scanned makes sure the first walk of the tree has been done.
func (w *Watcher) scanned() {
	w.scanOnce.Do(func() {
		w.mu.Lock()
		w.scanDir("", &scan{})
		w.mu.Unlock()
	})
}

// Root returns the absolute project root.
func (w *Watcher) Root() string { return w.root }

// Files returns the non-ignored files (relative, slash-separated, sorted).
func (w *Watcher) Files() []string {
	w.scanned()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sortLocked()
	return append([]string(nil), w.sorted...)
}

// RegularFiles returns the non-ignored regular files (symlinks left out)
// at or below the directory dir (root-relative, slash-separated; "" or "."
// for the whole tree), sorted. Call Sync first to include every change made
// so far.
func (w *Watcher) RegularFiles(dir string) []string {
	w.scanned()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sortLocked()
	all := w.regular
	if dir = strings.Trim(dir, "/"); dir != "" && dir != "." {
		prefix := dir + "/"
		i := sort.SearchStrings(all, prefix)
		j := i
		for j < len(all) && strings.HasPrefix(all[j], prefix) {
			j++
		}
		all = all[i:j]
	}
	return append([]string(nil), all...)
}

// sortLocked rebuilds the sorted file lists when stale (w.mu held).
func (w *Watcher) sortLocked() {
	if w.sorted != nil {
		return
	}
	w.sorted = sortedKeys(w.files)
	w.regular = make([]string, 0, len(w.sorted))
	for _, f := range w.sorted {
		if !w.files[f].link {
			w.regular = append(w.regular, f)
		}
	}
}

// Dirs returns the non-ignored directories below the root (sorted).
func (w *Watcher) Dirs() []string {
	w.scanned()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sortedD == nil {
		w.sortedD = make([]string, 0, len(w.dirs))
		for d := range w.dirs {
			if d != "" {
				w.sortedD = append(w.sortedD, d)
			}
		}
		sort.Strings(w.sortedD)
	}
	return append([]string(nil), w.sortedD...)
}

// HasFile reports whether rel is in the file index.
func (w *Watcher) HasFile(rel string) bool {
	w.scanned()
	w.mu.RLock()
	defer w.mu.RUnlock()
	_, ok := w.files[rel]
	return ok
}

// Version increases whenever the file or directory index changes.
func (w *Watcher) Version() uint64 {
	w.scanned()
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.version
}

// Ignored reports whether rel (root-relative, slash-separated) is ignored
// under git's rules, including by an ignored ancestor directory.
func (w *Watcher) Ignored(rel string, isDir bool) bool {
	w.scanned()
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.rules.Ignored(rel, isDir)
}

// Start delivers events until ctx is cancelled or Close is called. It returns
// at once; the work runs on the watcher's own goroutines.
func (w *Watcher) Start(ctx context.Context) error {
	select {
	case <-w.done:
		return ErrClosed
	default:
	}
	err := ErrAlreadyStarted
	w.startOnce.Do(func() {
		err = nil
		w.startSync()
		w.started.Store(true)
		w.wg.Add(1)
		go func() {
			w.scanned()
			w.loop(ctx)
		}()
	})
	return err
}

// Close stops watching and waits for the event goroutine to end.
func (w *Watcher) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.done)
		if w.fsw != nil {
			err = w.fsw.Close()
		}
		w.wg.Wait()
		if w.syncDir != "" {
			_ = os.RemoveAll(w.syncDir)
		}
	})
	return err
}

// startSync makes the private directory of Sync's markers and watches it.
// Without it (no inotify, or the temporary directory lies inside the tree)
// Sync rescans.
func (w *Watcher) startSync() {
	if w.fsw == nil {
		return
	}
	d, err := os.MkdirTemp("", "ocgo-sync-")
	if err != nil {
		w.log.Debug("no sync directory, Sync will rescan", "err", err)
		return
	}
	if _, in := w.rel(d); in || d == w.root {
		_ = os.Remove(d)
		return
	}
	if err := w.fsw.Add(d); err != nil {
		_ = os.Remove(d)
		w.log.Debug("cannot watch the sync directory, Sync will rescan", "err", err)
		return
	}
	w.syncDir = d
}

// Sync returns once every change made to the tree before the call is in the
// index and has been handed to OnChange. With inotify it creates a marker
// file in its private watched directory: events of one inotify instance are
// read in the order they happened, so when the marker's event arrives every
// earlier change is among the pending events, which are then handled at once
// instead of after the debounce (about 0.2 ms in all). Without that (no
// inotify, the watch limit reached, Start not called) it walks the tree again.
func (w *Watcher) Sync(ctx context.Context) error {
	w.scanned()
	select {
	case <-w.done:
		return ErrClosed
	default:
	}
	started := w.started.Load()
	w.mu.RLock()
	degraded := w.degraded
	w.mu.RUnlock()
	if !started {
		w.flush(nil, true)
		return nil
	}
	if degraded || w.syncDir == "" {
		return w.syncRescan(ctx)
	}
	w.syncMu.Lock()
	w.syncSeq++
	name := strconv.FormatUint(w.syncSeq, 10)
	ch := make(chan struct{})
	w.waiters[name] = ch
	w.syncMu.Unlock()
	marker := filepath.Join(w.syncDir, name)
	defer func() {
		w.syncMu.Lock()
		delete(w.waiters, name)
		w.syncMu.Unlock()
		_ = os.Remove(marker)
	}()
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return w.syncRescan(ctx)
	}
	_ = f.Close()
	timer := time.NewTimer(syncTimeout)
	defer timer.Stop()
	select {
	case <-ch:
		return nil
	case <-timer.C:
		w.log.Warn("sync marker event lost, rescanning")
		return w.syncRescan(ctx)
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return ErrClosed
	case <-w.loopExit:
		w.flush(nil, true)
		return nil
	}
}

// syncRescan has the event loop handle its pending events with a full rescan.
func (w *Watcher) syncRescan(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case w.syncReq <- done:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return ErrClosed
	case <-w.loopExit:
		w.flush(nil, true)
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return ErrClosed
	}
}

// release wakes the Sync calls waiting for the named markers.
func (w *Watcher) release(names []string) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	for _, n := range names {
		if ch, ok := w.waiters[n]; ok {
			close(ch)
			delete(w.waiters, n)
		}
	}
}

// waiting names the Sync calls waiting now.
func (w *Watcher) waiting() []string {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	out := make([]string, 0, len(w.waiters))
	for n := range w.waiters {
		out = append(out, n)
	}
	return out
}

func sortedKeys(m map[string]fileInfo) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (w *Watcher) abs(rel string) string {
	if rel == "" {
		return w.root
	}
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// addWatch watches one directory; on the inotify limit it switches to
// periodic rescans (logged once).
func (w *Watcher) addWatch(rel string) bool {
	if w.fsw == nil || w.degraded {
		return false
	}
	if err := w.fsw.Add(w.abs(rel)); err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
			w.degraded = true
			w.log.Warn("inotify watch limit reached, degrading to periodic rescans",
				"watches", len(w.fsw.WatchList()), "interval", w.rescanIv)
			return false
		}
		w.log.Debug("watch failed", "dir", rel, "err", err)
		return false
	}
	return true
}

// scan carries the state of one walk.
type scan struct {
	changes map[string]string   // nil: do not report
	stat    bool                // take size/mtime of files
	old     map[string]fileInfo // rescans: the index before the walk
}

// wdir is the walk's state of one directory (dirent.Walker): the scan it
// belongs to and the directory's path components, with one spare slot at
// the end for an entry's name.
type wdir struct {
	sc    *scan
	comps []string
}

// scanDir indexes the directory rel and everything below it (w.mu held),
// through the one walk of the tree (dirent.Walker): every directory is
// opened relative to its open parent from the project's dirent.Root with
// O_NOFOLLOW, so no component at any depth is followed through a symlink.
// Sequential: the index and the rules are not safe for concurrent
// mutation, and w.mu is held.
func (w *Watcher) scanDir(rel string, sc *scan) {
	var comps []string
	if rel != "" {
		comps = strings.Split(rel, "/")
	}
	v := wdir{sc: sc, comps: append(comps, "")}
	root, err := dirent.OpenRoot(w.root)
	if err != nil {
		w.enterDir(rel, v) // the root vanished: the directory is known, not listed
		return
	}
	defer func() { _ = root.Close() }()
	_ = w.walker.Walk(context.Background(), root, rel, v) // never cancelled
}

// enterDir watches a directory before it is listed (dirent.Walker.Enter),
// so a file created in it meanwhile is reported by the watch.
func (w *Watcher) enterDir(rel string, _ wdir) {
	if !w.dirs[rel] {
		w.dirs[rel] = w.addWatch(rel)
		w.sortedD = nil
		w.version++
	}
}

// listDir indexes one directory's files and descends into its
// subdirectories that the rules keep (dirent.Walker.List). Nested
// repositories stay in the index; only .git is left out.
func (w *Watcher) listDir(d *dirent.Dir[wdir], v wdir) {
	rel, sc := d.Rel, v.sc
	if d.Err != nil && len(d.Entries) == 0 {
		return
	}
	w.rules.Forget(rel)
	for _, e := range d.Entries {
		if e.Name == ".gitignore" && !e.IsDir {
			f, _ := d.Open(e.Name) // nil when it is a link or unreadable: no rules
			w.rules.Load(rel, f)
			if f != nil {
				_ = f.Close()
			}
			break
		}
	}
	comps := v.comps
	for _, e := range d.Entries {
		name := e.Name
		if name == ".git" {
			continue
		}
		crel := relpath.Join(rel, name)
		comps[len(comps)-1] = name
		isDir := e.IsDir
		if w.rules.Match(crel, comps, isDir) {
			continue
		}
		if isDir {
			d.Descend(name, wdir{sc: sc, comps: append(comps[:len(comps):len(comps)], "")})
			continue
		}
		if !e.IsFile {
			continue // sockets, fifos, devices: not files git tracks
		}
		fi := fileInfo{}
		if sc.stat {
			if in, err := d.Stat(name); err == nil {
				fi = fileInfo{size: in.Size, mtime: in.Mtime, known: true}
			}
		}
		fi.link = e.IsLink
		var old fileInfo
		var had bool
		if sc.old != nil {
			old, had = sc.old[crel]
		} else {
			old, had = w.files[crel]
		}
		w.setFile(crel, fi)
		if sc.changes != nil && (!had || !old.known || !fi.known || old != fi) {
			sc.changes[crel] = EventChange
		}
	}
}

// dropDir removes rel and everything below it from the index (w.mu held).
func (w *Watcher) dropDir(rel string, changes map[string]string) {
	prefix := rel + "/"
	for d, watched := range w.dirs {
		if d == rel || strings.HasPrefix(d, prefix) {
			if watched && w.fsw != nil {
				_ = w.fsw.Remove(w.abs(d)) // may already be gone with the inode
			}
			delete(w.dirs, d)
			w.rules.Forget(d)
			w.sortedD = nil
			w.version++
		}
	}
	for f := range w.files {
		if strings.HasPrefix(f, prefix) {
			delete(w.files, f)
			changes[f] = EventRename
			w.sorted = nil
			w.version++
		}
	}
}

// rescan walks the whole tree again and reports every difference (w.mu held).
func (w *Watcher) rescan(changes map[string]string) {
	old, oldDirs := w.files, w.dirs
	w.files = make(map[string]fileInfo, len(old))
	// Every directory is watched again: one replaced since it was watched
	// is a new inode without a watch.
	w.dirs = make(map[string]bool, len(oldDirs))
	w.rules = ignore.NewTree(w.root, w.env)
	sc := &scan{changes: changes, stat: true, old: old}
	w.scanDir("", sc)
	for d, watched := range oldDirs {
		if _, still := w.dirs[d]; !still && watched && w.fsw != nil {
			_ = w.fsw.Remove(w.abs(d))
		}
	}
	for f := range old {
		if _, ok := w.files[f]; !ok {
			changes[f] = EventRename
		}
	}
	w.sorted, w.sortedD = nil, nil
	w.version++
}

// handle classifies one path that had events (w.mu held).
func (w *Watcher) handle(rel string, changes map[string]string) (rescan bool) {
	fi, err := os.Lstat(w.abs(rel))
	if err != nil {
		if _, ok := w.files[rel]; ok {
			delete(w.files, rel)
			changes[rel] = EventRename
			w.sorted = nil
			w.version++
		}
		if _, ok := w.dirs[rel]; ok {
			w.dropDir(rel, changes)
		}
		return path.Base(rel) == ".gitignore"
	}
	if path.Base(rel) == ".gitignore" {
		return true // the ignore set changed: walk again
	}
	// Ancestors are watched, so they are not ignored; only rel itself matters.
	if w.rules.Ignored(rel, fi.IsDir()) {
		return false
	}
	if fi.IsDir() {
		if _, ok := w.files[rel]; ok { // a file was replaced by a directory
			delete(w.files, rel)
			changes[rel] = EventRename
			w.sorted = nil
		}
		w.scanDir(rel, &scan{changes: changes})
		return false
	}
	if _, ok := w.dirs[rel]; ok { // a directory was replaced by a file
		w.dropDir(rel, changes)
	}
	if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
		return false
	}
	w.setFile(rel, fileInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), known: true, link: fi.Mode()&fs.ModeSymlink != 0})
	changes[rel] = EventChange
	return false
}

// setFile records one file (w.mu held).
func (w *Watcher) setFile(rel string, fi fileInfo) {
	if old, in := w.files[rel]; !in || old.link != fi.link {
		w.sorted = nil
		w.version++
	}
	w.files[rel] = fi
}

func (w *Watcher) loop(ctx context.Context) {
	defer w.wg.Done()
	defer close(w.loopExit)
	var events chan fsnotify.Event
	var errs chan error
	if w.fsw != nil {
		events, errs = w.fsw.Events, w.fsw.Errors
	}
	pending := map[string]struct{}{}
	needRescan := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // first event of the pending batch
	ticker := time.NewTicker(w.rescanIv)
	defer ticker.Stop()
	// now handles the pending batch at once (Sync).
	now := func(rescan bool) {
		timer.Stop()
		first = time.Time{}
		w.flush(pending, needRescan || rescan)
		pending = map[string]struct{}{}
		needRescan = false
	}
	arm := func() {
		if first.IsZero() {
			first = time.Now()
		}
		wait := w.debounce
		// Under a constant stream of events still deliver every 4 intervals.
		if limit := 4*w.debounce - time.Since(first); limit < wait {
			wait = limit
		}
		timer.Reset(max(wait, 0))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if w.syncDir != "" && filepath.Dir(ev.Name) == w.syncDir {
				if ev.Has(fsnotify.Create) {
					now(false)
					w.release([]string{filepath.Base(ev.Name)})
				}
				continue
			}
			rel, ok := w.rel(ev.Name)
			if !ok {
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			pending[rel] = struct{}{}
			arm()
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("event queue overflow, rescanning")
			} else {
				w.log.Warn("watch error, rescanning", "err", err)
			}
			needRescan = true
			if waiting := w.waiting(); len(waiting) > 0 {
				// Their markers' events may be lost: a rescan started
				// now covers every change made before they were called.
				now(true)
				w.release(waiting)
				continue
			}
			arm()
		case done := <-w.syncReq:
			now(true)
			close(done)
		case <-ticker.C:
			w.mu.RLock()
			deg := w.degraded
			w.mu.RUnlock()
			if deg {
				needRescan = true
				arm()
			}
		case <-timer.C:
			now(false)
		}
	}
}

func (w *Watcher) flush(pending map[string]struct{}, rescan bool) {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	changes := map[string]string{}
	w.mu.Lock()
	if !rescan {
		// What is gone first, so the watches of a directory moved away are
		// dropped before the place it moved to is watched; then parents
		// before children, so a new directory is scanned once.
		var gone, here []string
		for p := range pending {
			if _, err := os.Lstat(w.abs(p)); err != nil {
				gone = append(gone, p)
			} else {
				here = append(here, p)
			}
		}
		sort.Strings(gone)
		sort.Strings(here)
		// A known directory with an event of its own was removed, moved
		// away or replaced: drop its watches (they may now watch a
		// directory moved elsewhere in the tree) before anything is
		// watched again, then scan what is there now.
		for _, p := range append(gone, here...) {
			if _, ok := w.dirs[p]; ok {
				w.dropDir(p, changes)
			}
		}
		for _, p := range append(gone, here...) {
			if w.handle(p, changes) {
				rescan = true
				break
			}
		}
	}
	if rescan {
		w.rescan(changes)
	}
	w.mu.Unlock()
	if len(changes) == 0 || w.onChange == nil {
		return
	}
	out := make([]Change, 0, len(changes))
	for p, ev := range changes {
		out = append(out, Change{Path: p, Event: ev})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	w.onChange(out)
}

// rel converts an absolute event path to a root-relative slash path; paths
// inside .git or outside the root are dropped.
func (w *Watcher) rel(abs string) (string, bool) {
	r, ok := relpath.Rel(w.root, abs)
	if !ok || r == "" { // outside, or the root itself
		return "", false
	}
	if r == ".git" || strings.HasPrefix(r, ".git/") || strings.Contains(r, "/.git/") || strings.HasSuffix(r, "/.git") {
		return "", false
	}
	return r, true
}
