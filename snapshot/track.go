package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"ocgo/ignore"
)

// fileEntry is the stat cache record of one snapshotted file.
type fileEntry struct {
	size      int64
	mtime     int64 // ns
	ino       uint64
	mode      filemode.FileMode // git mode: regular, executable or symlink
	hash      plumbing.Hash
	racy      bool // mtime too close to the scan to trust the stat match
	fromIndex bool // hash taken from the project's index (size/ino truncated)
}

// matches reports whether a fresh stat equals the cached one.
func (e *fileEntry) matches(n *fileEntry) bool {
	if e.racy || e.mode != n.mode || e.mtime != n.mtime {
		return false
	}
	if e.fromIndex {
		return uint32(e.size) == uint32(n.size) && uint32(e.ino) == uint32(n.ino)
	}
	return e.size == n.size && e.ino == n.ino
}

// dirNode is one directory of the snapshotted work tree.
type dirNode struct {
	parent *dirNode
	name   string
	rel    string   // slash path from the work tree, "" for the root
	comps  []string // path components from the repository top
	pats   []ignore.Pattern
	files  map[string]*fileEntry
	dirs   map[string]*dirNode
	tree   plumbing.Hash
	dirty  bool
	nested bool // holds a .git: a nested repository, left out
}

func (n *dirNode) markDirty() {
	for x := n; x != nil; x = x.parent {
		x.dirty = true
	}
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// scan is the state of one Track call.
type scan struct {
	mu       sync.Mutex // guards jobs, skips, suspect during the parallel walk
	sem      chan struct{}
	s        *Snapshotter
	ctx      context.Context
	racyFrom int64
	jobs     []hashJob
	objs     []pendingObject
	suspect  []*dirNode
	skips    map[string]string
}

type hashJob struct {
	node *dirNode
	name string
	rel  string
	e    *fileEntry
	skip string
}

// Track snapshots the work tree and returns the tree hash.
func (s *Snapshotter) Track(ctx context.Context) (string, error) {
	return s.TrackPaths(ctx, nil)
}

// TrackPaths is Track that first re-stats the given work-tree paths
// (whatever the watcher has reported) and stores them whatever their size:
// the size cap does not apply to files a caller names, so a large file the
// agent wrote can still be restored. Other files follow the usual rules.
func (s *Snapshotter) TrackPaths(ctx context.Context, paths []string) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", err
	}
	defer s.end()
	var force map[string]struct{}
	for _, p := range paths {
		rel, err := cleanRel(p)
		if err != nil {
			return "", err
		}
		if force == nil {
			force = map[string]struct{}{}
		}
		force[rel] = struct{}{}
		s.marked[rel] = struct{}{}
	}
	s.force = force
	defer func() { s.force = nil }()
	h, err := s.track(ctx)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// sizeLimit is the largest file Track stores at rel.
func (s *Snapshotter) sizeLimit(rel string) int64 {
	if _, ok := s.force[rel]; ok {
		return forcedMaxFileSize
	}
	return s.maxSize
}

func (s *Snapshotter) rootPatterns() ([]ignore.Pattern, []string) {
	pats := slices.Clone(s.globalPats)
	var comps []string
	if s.proj != nil {
		// The work tree may be a subdirectory: .gitignore files above it apply.
		pats = append(pats, s.proj.Above()...)
		comps = s.proj.PrefixComps()
	}
	return pats, comps
}

func (s *Snapshotter) track(ctx context.Context) (plumbing.Hash, error) {
	start := time.Now()
	// Timestamps may be coarse (down to seconds on some filesystems): an
	// mtime in the last two seconds is not trusted by the next scan.
	sc := &scan{s: s, ctx: ctx, sem: make(chan struct{}, 3), racyFrom: start.Truncate(time.Second).Add(-time.Second).UnixNano()}
	full := s.tree == nil || !s.watched || s.markAll || start.Sub(s.lastFull) >= s.rescan
	if !s.loaded {
		s.loaded = true
		s.loadCache()
	}
	if s.tree == nil && s.seeds == nil && s.proj != nil {
		s.seedFromIndex()
	}
	if full {
		sc.skips = map[string]string{}
		pats, comps := s.rootPatterns()
		root, err := sc.walkDir(nil, "", "", comps, s.tree, pats)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if len(sc.suspect) > 0 {
			sc.rehashIndexSeeds()
		}
		s.tree = root
		s.seeds = nil
		s.markAll = false
		s.lastFull = start
	} else {
		sc.skips = s.skipMap()
		for _, p := range sortedKeys(s.marked) {
			if err := sc.updatePath(p); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	}
	clear(s.marked)
	if err := sc.hashAll(); err != nil {
		return plumbing.ZeroHash, err
	}
	h := sc.build(s.tree)
	if err := sc.store(); err != nil {
		return plumbing.ZeroHash, err
	}
	s.lastTree = h
	s.noteHandedOut(h, time.Now())
	s.setSkips(sc.skips)
	s.dirtyCache = true
	if !s.persisting && (s.lastPersist.IsZero() || time.Since(s.lastPersist) > 30*time.Second) {
		// Written behind the call: encoding and writing the whole cache
		// costs tens of milliseconds on a large tree. Close persists too.
		s.persisting = true
		s.bg.Add(1)
		go s.persistBehind()
	}
	return h, nil
}

// persistBehind persists the stat cache once the current operation has
// released the locks, unless Close got there first.
func (s *Snapshotter) persistBehind() {
	defer s.bg.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.persisting = false
	if s.closed || !s.dirtyCache {
		return
	}
	if err := s.lock.acquire(context.Background()); err != nil {
		s.log.Warn("Persist stat cache", slog.Any("err", err))
		return
	}
	defer s.lock.release()
	if err := s.persistCache(); err != nil {
		s.log.Warn("Persist stat cache", slog.Any("err", err))
	}
}

func (s *Snapshotter) skipMap() map[string]string {
	m := make(map[string]string, len(s.skipped))
	for _, sk := range s.skipped {
		m[sk.Path] = sk.Reason
	}
	return m
}

func (s *Snapshotter) setSkips(m map[string]string) {
	s.skipped = s.skipped[:0]
	for _, p := range sortedKeys(setOf(m)) {
		s.skipped = append(s.skipped, Skip{Path: p, Reason: m[p]})
	}
	if len(m) > 0 {
		s.log.Debug("Files left out of snapshot", slog.Int("count", len(m)))
	}
}

func setOf(m map[string]string) map[string]struct{} {
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

// walkDir builds the node for one directory, reusing old's cache entries.
func (sc *scan) walkDir(parent *dirNode, name, rel string, comps []string, old *dirNode, pats []ignore.Pattern) (*dirNode, error) {
	if err := sc.ctx.Err(); err != nil {
		return nil, err
	}
	s := sc.s
	full := filepath.Join(s.work, filepath.FromSlash(rel))
	node := &dirNode{parent: parent, name: name, rel: rel, comps: comps, pats: pats,
		files: map[string]*fileEntry{}, dirs: map[string]*dirNode{}}
	if old == nil {
		node.dirty = true
	} else {
		node.tree = old.tree
	}
	// Through the work tree's os.Root, every component opened with
	// O_NOFOLLOW: a directory swapped for a symlink never lets content from
	// outside the project into the shadow repository.
	f, err := s.root.OpenFile(rootName(rel), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return node, nil // vanished, unreadable or no longer a directory: snapshot as empty
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		sc.addSkip(rel+"/", "directory unreadable")
	}
	if parent != nil {
		for _, e := range ents {
			if e.Name() == ".git" {
				node.nested = true
				return node, nil
			}
		}
	}
	for _, e := range ents {
		if e.Name() == ".gitignore" && e.Type().IsRegular() {
			own := ignore.ReadGitignore(full, comps)
			if len(own) > 0 {
				node.pats = append(pats[:len(pats):len(pats)], own...)
			}
		}
		if e.Name() == ".gitattributes" && s.seeds != nil && e.Type().IsRegular() {
			if b, err := s.readRegular(joinRel(rel, ".gitattributes"), 1<<20); err == nil && attrsRewriteContent(b) {
				sc.mu.Lock()
				sc.suspect = append(sc.suspect, node)
				sc.mu.Unlock()
			}
		}
	}
	var wg sync.WaitGroup
	subs := make(chan subdir, len(ents))
	var done []subdir
	for _, e := range ents {
		n := e.Name()
		if n == ".git" {
			continue
		}
		crel := joinRel(rel, n)
		ccomps := append(comps[:len(comps):len(comps)], n)
		t := e.Type()
		switch {
		case t.IsDir():
			cfull := filepath.Join(full, n)
			if cfull == s.gitDir || ignore.Match(node.pats, ccomps, true) {
				continue
			}
			var oc *dirNode
			if old != nil {
				oc = old.dirs[n]
			}
			sub := subdir{name: n, rel: crel, comps: ccomps, old: oc}
			select {
			case sc.sem <- struct{}{}:
				wg.Add(1)
				go func() {
					defer func() { <-sc.sem; wg.Done() }()
					sub.node, sub.err = sc.walkDir(node, sub.name, sub.rel, sub.comps, sub.old, node.pats)
					subs <- sub
				}()
			default:
				sub.node, sub.err = sc.walkDir(node, sub.name, sub.rel, sub.comps, sub.old, node.pats)
				done = append(done, sub)
			}
		case t.IsRegular() || t&os.ModeSymlink != 0:
			if ignore.Match(node.pats, ccomps, false) {
				continue
			}
			fi, err := s.root.Lstat(rootName(crel))
			if err != nil {
				continue
			}
			var oe *fileEntry
			if old != nil {
				oe = old.files[n]
			}
			sc.considerFile(node, n, crel, fi, oe)
		}
	}
	wg.Wait()
	close(subs)
	for sub := range subs {
		done = append(done, sub)
	}
	for _, sub := range done {
		if sub.err != nil {
			return nil, sub.err
		}
		child := sub.node
		if child.nested {
			sc.addSkip(sub.rel+"/", "nested git repository")
			continue
		}
		if len(child.files) == 0 && len(child.dirs) == 0 {
			continue
		}
		node.dirs[sub.name] = child
		if sub.old == nil || child.dirty {
			node.dirty = true
		}
	}
	if old != nil && (len(old.files) != len(node.files) || len(old.dirs) != len(node.dirs)) {
		node.dirty = true
	}
	return node, nil
}

type subdir struct {
	name, rel string
	comps     []string
	old       *dirNode
	node      *dirNode
	err       error
}

func (sc *scan) addSkip(p, reason string) {
	sc.mu.Lock()
	sc.skips[p] = reason
	sc.mu.Unlock()
}

func gitModeOf(fi os.FileInfo) (filemode.FileMode, bool) {
	m := fi.Mode()
	switch {
	case m&os.ModeSymlink != 0:
		return filemode.Symlink, true
	case m.IsRegular():
		if m.Perm()&0o100 != 0 {
			return filemode.Executable, true
		}
		return filemode.Regular, true
	}
	return 0, false
}

// considerFile records a file in node, reusing the cached hash when the stat
// matches, queueing it for hashing otherwise.
func (sc *scan) considerFile(node *dirNode, name, rel string, fi os.FileInfo, old *fileEntry) {
	mode, ok := gitModeOf(fi)
	if !ok {
		return
	}
	if limit := sc.s.sizeLimit(rel); mode != filemode.Symlink && fi.Size() > limit {
		sc.addSkip(rel, fmt.Sprintf("larger than %d bytes", limit))
		if old != nil {
			node.dirty = true
		}
		return
	}
	e := &fileEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inodeOf(fi), mode: mode}
	e.racy = e.mtime >= sc.racyFrom
	prev := old
	if prev == nil && sc.s.seeds != nil {
		prev = sc.s.seeds[rel]
	}
	// A zero hash is an entry queued earlier in this same scan (a directory
	// and a file in it both reported), not hashed yet: hash this one too.
	if prev != nil && !prev.hash.IsZero() && prev.matches(e) {
		e.hash = prev.hash
		e.fromIndex = prev.fromIndex
		if old == nil {
			node.dirty = true
		}
	} else {
		sc.mu.Lock()
		sc.jobs = append(sc.jobs, hashJob{node: node, name: name, rel: rel, e: e})
		sc.mu.Unlock()
		node.dirty = true
	}
	node.files[name] = e
}

// rehashIndexSeeds drops index-derived hashes below dirs whose
// .gitattributes may rewrite content on `git add`.
func (sc *scan) rehashIndexSeeds() {
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		for name, e := range n.files {
			if e.fromIndex {
				e.fromIndex = false
				sc.jobs = append(sc.jobs, hashJob{node: n, name: name, rel: joinRel(n.rel, name), e: e})
				n.markDirty()
			}
		}
		for _, c := range n.dirs {
			visit(c)
		}
	}
	for _, n := range sc.suspect {
		visit(n)
	}
}

// updatePath reconciles one watcher-reported path.
func (sc *scan) updatePath(p string) error {
	s := sc.s
	comps := strings.Split(p, "/")
	n := s.tree
	i := 0
	for i < len(comps)-1 {
		c := n.dirs[comps[i]]
		if c == nil {
			break
		}
		n = c
		i++
	}
	if comps[i] == ".gitignore" && i == len(comps)-1 {
		// Ignore rules changed: rescan the whole directory.
		return sc.rewalk(n)
	}
	// Make sure n is still a real directory (not replaced by a symlink).
	if n.parent != nil {
		fi, err := s.root.Lstat(rootName(n.rel))
		if err != nil || !fi.IsDir() {
			return sc.reconcile(n.parent, n.name)
		}
	}
	return sc.reconcile(n, comps[i])
}

func (sc *scan) rewalk(n *dirNode) error {
	if n.parent == nil {
		pats, comps := sc.s.rootPatterns()
		root, err := sc.walkDir(nil, "", "", comps, n, pats)
		if err != nil {
			return err
		}
		sc.s.tree = root
		root.dirty = true
		return nil
	}
	return sc.reconcile(n.parent, n.name)
}

// reconcile re-examines the entry name inside node n.
func (sc *scan) reconcile(n *dirNode, name string) error {
	s := sc.s
	rel := joinRel(n.rel, name)
	full := filepath.Join(s.work, filepath.FromSlash(rel))
	for k := range sc.skips {
		if k == rel || strings.HasPrefix(k, rel+"/") {
			delete(sc.skips, k)
		}
	}
	n.markDirty()
	fi, err := s.root.Lstat(rootName(rel))
	if err != nil || name == ".git" {
		delete(n.files, name)
		delete(n.dirs, name)
		return nil
	}
	ccomps := append(n.comps[:len(n.comps):len(n.comps)], name)
	switch {
	case fi.IsDir():
		delete(n.files, name)
		if full == s.gitDir || ignore.Match(n.pats, ccomps, true) {
			delete(n.dirs, name)
			return nil
		}
		child, err := sc.walkDir(n, name, rel, ccomps, n.dirs[name], n.pats)
		if err != nil {
			return err
		}
		if child.nested {
			sc.skips[rel+"/"] = "nested git repository"
			delete(n.dirs, name)
		} else if len(child.files) == 0 && len(child.dirs) == 0 {
			delete(n.dirs, name)
		} else {
			n.dirs[name] = child
		}
	default:
		delete(n.dirs, name)
		old := n.files[name]
		delete(n.files, name)
		if ignore.Match(n.pats, ccomps, false) {
			return nil
		}
		sc.considerFile(n, name, rel, fi, old)
	}
	return nil
}

// hashAll reads and hashes queued files with a few workers.
func (sc *scan) hashAll() error {
	if len(sc.jobs) == 0 {
		return nil
	}
	s := sc.s
	bulk := len(sc.jobs) > 64
	workers := min(4, len(sc.jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ch := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			for i := range ch {
				j := &sc.jobs[i]
				content, skip := s.readForHash(j.rel, j.e, &buf)
				if skip != "" {
					j.skip = skip
					continue
				}
				h, raw := encodeObject("blob", content)
				j.e.hash = h
				if s.store.has(h) {
					continue
				}
				if bulk {
					if err := s.store.writeLoose(h, raw); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("snapshot: write object: %w", err)
						}
						mu.Unlock()
					}
					continue
				}
				mu.Lock()
				sc.objs = append(sc.objs, pendingObject{hash: h, raw: raw})
				mu.Unlock()
			}
		}()
	}
	for i := range sc.jobs {
		ch <- i
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for _, j := range sc.jobs {
		if j.skip != "" {
			sc.skips[j.rel] = j.skip
			if j.node.files[j.name] == j.e {
				delete(j.node.files, j.name)
				j.node.markDirty()
			}
		}
	}
	return nil
}

// readForHash returns a file's content as git would store it (the link
// target for symlinks) or a reason to leave it out.
func (s *Snapshotter) readForHash(rel string, e *fileEntry, buf *[]byte) ([]byte, string) {
	full := filepath.Join(s.work, filepath.FromSlash(rel))
	if e.mode == filemode.Symlink {
		t, err := os.Readlink(full)
		if err != nil {
			return nil, "unreadable"
		}
		return []byte(t), ""
	}
	// Every component with O_NOFOLLOW (os.Root), non-blocking, and only a
	// regular file with a single link: a FIFO never stalls a snapshot and a
	// hard link to an outside file is not copied into the shadow repository.
	f, err := s.root.OpenFile(rootName(rel), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, "unreadable"
	}
	defer f.Close()
	if why := notPlain(f); why != "" {
		return nil, why
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, max(cap(b), 64<<10))
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if limit := s.sizeLimit(rel); int64(len(b)) > limit {
			return nil, fmt.Sprintf("larger than %d bytes", limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "unreadable"
		}
	}
	*buf = b
	if int64(len(b)) != e.size {
		e.racy = true // changed while we read it: look again next time
	}
	return b, ""
}

// build computes tree hashes bottom-up for dirty nodes, queueing new trees.
func (sc *scan) build(n *dirNode) plumbing.Hash {
	if !n.dirty && !n.tree.IsZero() {
		return n.tree
	}
	entries := make([]treeEntry, 0, len(n.files)+len(n.dirs))
	for name, c := range n.dirs {
		h := sc.build(c)
		if h == emptyTree {
			delete(n.dirs, name)
			continue
		}
		entries = append(entries, treeEntry{name: name, mode: filemode.Dir, hash: h})
	}
	for name, f := range n.files {
		entries = append(entries, treeEntry{name: name, mode: f.mode, hash: f.hash})
	}
	slices.SortFunc(entries, gitLess)
	h, raw := encodeObject("tree", encodeTree(entries))
	if h != n.tree || n.tree.IsZero() {
		if !sc.s.store.has(h) {
			sc.objs = append(sc.objs, pendingObject{hash: h, raw: raw})
		}
	}
	sc.s.store.cacheTree(h, entries)
	n.tree = h
	n.dirty = false
	return h
}

// store persists the objects of this scan: written behind when few.
func (sc *scan) store() error {
	size := 0
	for _, o := range sc.objs {
		size += len(o.raw)
	}
	if len(sc.objs) > 64 || size > 8<<20 {
		if err := sc.s.store.writeNow(sc.objs); err != nil {
			return fmt.Errorf("snapshot: write objects: %w", err)
		}
		return nil
	}
	sc.s.store.writeBehind(sc.objs)
	return nil
}

// seedFromIndex fills the seeds from the project's index so unchanged
// tracked files are not rehashed on the first snapshot.
func (s *Snapshotter) seedFromIndex() {
	p := filepath.Join(s.proj.GitDir, "index")
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	idxTime := fi.ModTime().UnixNano()
	if v, ok := ignore.CoreOption(s.proj.CommonDir, "autocrlf"); ok && v != "false" {
		return // add would convert line endings; hashes would not match raw bytes
	}
	ents, err := readIndexEntries(f, fi.Size())
	if err != nil {
		s.log.Debug("Project index not usable for seeding", slog.Any("err", err))
		return
	}
	prefix := ""
	if s.proj.Prefix != "" {
		prefix = s.proj.Prefix + "/"
	}
	seeds := make(map[string]*fileEntry, len(ents))
	for _, e := range ents {
		if e.stage != 0 || e.skip {
			continue
		}
		if e.mode != filemode.Regular && e.mode != filemode.Executable && e.mode != filemode.Symlink {
			continue
		}
		if !strings.HasPrefix(e.name, prefix) {
			continue
		}
		seeds[e.name[len(prefix):]] = &fileEntry{
			size: int64(e.size), mtime: e.mtime, ino: uint64(e.ino), mode: e.mode, hash: e.hash,
			racy: e.mtime >= idxTime || e.mtime == 0, fromIndex: true,
		}
	}
	s.seeds = seeds
}

func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// readIndexEntries reads the index with parseIndex, or go-git's decoder for
// the versions parseIndex leaves out.
func readIndexEntries(f *os.File, size int64) ([]indexEntry, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	ents, err := parseIndex(b)
	if err == nil {
		return ents, nil
	}
	var idx index.Index
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(&idx); err != nil {
		return nil, err
	}
	ents = make([]indexEntry, 0, len(idx.Entries))
	for _, e := range idx.Entries {
		ents = append(ents, indexEntry{
			name: e.Name, mtime: unixNanoOrZero(e.ModifiedAt), ino: e.Inode, size: e.Size, mode: e.Mode,
			hash: e.Hash, stage: int(e.Stage), skip: e.SkipWorktree || e.IntentToAdd,
		})
	}
	return ents, nil
}

// cachePath is the stat cache file inside the shadow git dir.
func (s *Snapshotter) cachePath() string { return filepath.Join(s.gitDir, "ocgo-statcache") }

const cacheMagic = "ocgo-statcache 1\n"

// persistCache writes the stat cache so a restart does not rehash.
func (s *Snapshotter) persistCache() error {
	if s.tree == nil {
		return nil
	}
	var b []byte
	b = append(b, cacheMagic...)
	b = appendString(b, s.work)
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		for name, e := range n.files {
			b = appendString(b, joinRel(n.rel, name))
			b = appendVarint(b, e.size)
			b = appendVarint(b, e.mtime)
			b = appendVarint(b, int64(e.ino))
			b = appendVarint(b, int64(e.mode))
			b = append(b, e.hash[:]...)
			racy := byte(0)
			if e.racy {
				racy = 1
			}
			if e.fromIndex {
				racy |= 2
			}
			b = append(b, racy)
		}
		for _, c := range n.dirs {
			visit(c)
		}
	}
	visit(s.tree)
	if err := writeFileAtomicNoSync(s.cachePath(), b); err != nil {
		return err
	}
	s.dirtyCache = false
	s.lastPersist = time.Now()
	return nil
}

// loadCache reads the persisted stat cache as seeds for the first scan.
func (s *Snapshotter) loadCache() {
	b, err := os.ReadFile(s.cachePath())
	if err != nil || !strings.HasPrefix(string(b), cacheMagic) {
		return
	}
	r := &byteReader{b: b[len(cacheMagic):]}
	if r.string() != s.work {
		return
	}
	seeds := map[string]*fileEntry{}
	for !r.done() {
		p := r.string()
		e := &fileEntry{size: r.varint(), mtime: r.varint(), ino: uint64(r.varint()), mode: filemode.FileMode(r.varint())}
		copy(e.hash[:], r.bytes(20))
		fl := r.bytes(1)
		if r.err {
			return // truncated or corrupt: ignore the cache
		}
		e.racy = fl[0]&1 != 0
		e.fromIndex = fl[0]&2 != 0
		if clean, err := cleanRel(p); err == nil && clean == p {
			seeds[p] = e
		}
	}
	s.seeds = seeds
	// Objects of a cache written by a process that then died may never have
	// reached the disk: only trust hashes whose object exists.
	for p, e := range seeds {
		if !e.fromIndex && !s.store.has(e.hash) {
			delete(seeds, p)
		}
	}
}

func writeFileAtomicNoSync(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+path.Base(filepath.ToSlash(p))+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// rootName is a slash path relative to the work tree as an os.Root name.
func rootName(rel string) string {
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}

// notPlain says why an opened file is not snapshotted ("" when it is a
// regular file with one link).
func notPlain(f *os.File) string {
	fi, err := f.Stat()
	switch {
	case err != nil:
		return "unreadable"
	case !fi.Mode().IsRegular():
		return "not a regular file"
	case linkCount(fi) > 1:
		return "several hard links"
	}
	return ""
}

// readRegular reads a small regular file of the work tree, confined.
func (s *Snapshotter) readRegular(rel string, max int64) ([]byte, error) {
	f, err := s.root.OpenFile(rootName(rel), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if why := notPlain(f); why != "" {
		return nil, errors.New(why)
	}
	return io.ReadAll(io.LimitReader(f, max))
}
