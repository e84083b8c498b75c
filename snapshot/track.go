package snapshot

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/dirent"
	"ocgo/gitrepo"
	"ocgo/ignore"
)

// scan is the state of one Track call.
type scan struct {
	mu       sync.Mutex // guards jobs, skips, suspect during the parallel walk, objs while hashing
	s        *Snapshotter
	ctx      context.Context
	racyFrom int64
	jobs     []hashJob
	objs     []pendingObject
	suspect  []*dirNode
	skips    map[string]string
	walker   *dirent.Walker[*visit] // the one walk of the tree, built on first use
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
	sc := &scan{s: s, ctx: ctx, racyFrom: start.Truncate(time.Second).Add(-time.Second).UnixNano()}
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
		s.seeds, s.seedTrees = nil, nil
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

// build computes tree hashes bottom-up for dirty nodes, queueing new trees.
func (sc *scan) build(n *dirNode) plumbing.Hash {
	if !n.dirty && !n.tree.IsZero() {
		if !n.fromIndex {
			return n.tree
		}
		// A tree from the index's cache-tree: its subtrees exist if it does.
		if sc.s.store.has(n.tree) {
			clearFromIndex(n)
			return n.tree
		}
		n.fromIndex = false
	}
	entries := make([]treeEntry, 0, len(n.files)+len(n.dirs))
	for name, c := range n.dirs {
		h := sc.build(c)
		if h == gitrepo.EmptyTree {
			delete(n.dirs, name)
			continue
		}
		entries = append(entries, treeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	for name, f := range n.files {
		entries = append(entries, treeEntry{Name: name, Mode: f.mode, Hash: f.hash})
	}
	slices.SortFunc(entries, gitrepo.TreeOrder)
	h, raw := gitrepo.HashObject("tree", gitrepo.EncodeTree(entries))
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

// clearFromIndex marks the trees below n as checked.
func clearFromIndex(n *dirNode) {
	n.fromIndex = false
	for _, c := range n.dirs {
		if c.fromIndex {
			clearFromIndex(c)
		}
	}
}
