package session

import (
	"context"
	"sync"

	"ocgo/relpath"
)

// largeFiles saves, for one shell command (the bash tool, /shell), the
// files over the snapshot size cap that the command is about to change.
// The before-snapshot leaves them out, so without this a revert of the
// command could not put them back, and would delete what it took for a
// file the command created. The tracer calls before while the command's
// first change to the path waits (trace.Tracer.StartHook); an untraced
// command calls nothing, and recordPatch then leaves such a file out of
// the patch (a revert leaves it as the command made it).
type largeFiles struct {
	s     *Service
	ctx   context.Context
	large map[string]bool // left out of the before-snapshot for their size
	mu    sync.Mutex
	saved map[string]string // path → a tree holding it as it was
}

func (s *Service) newLargeFiles(ctx context.Context, large map[string]bool) *largeFiles {
	return &largeFiles{s: s, ctx: context.WithoutCancel(ctx), large: large, saved: map[string]string{}}
}

// before stores the large files at or below rel (root-relative) that are
// not saved yet.
func (l *largeFiles) before(rel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rels []string
	for p := range l.large {
		if _, done := l.saved[p]; !done && relpath.Under(rel, p) {
			rels = append(rels, p)
		}
	}
	if len(rels) == 0 {
		return
	}
	tree, err := l.s.opts.Snapshots.TrackPaths(l.ctx, rels)
	if err != nil {
		l.s.log.Warn("Could not save a large file before a command changed it", "err", err)
		return
	}
	for _, p := range rels {
		l.saved[p] = tree
	}
}

// apply returns before with the saved files as they were, and the large
// files still missing from it.
func (l *largeFiles) apply(before string) (string, map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	missing := map[string]bool{}
	for p := range l.large {
		if _, ok := l.saved[p]; !ok {
			missing[p] = true
		}
	}
	byTree := map[string][]string{}
	for p, tree := range l.saved {
		byTree[tree] = append(byTree[tree], p)
	}
	for tree, paths := range byTree {
		h, err := l.s.opts.Snapshots.Overlay(l.ctx, before, tree, paths)
		if err != nil {
			l.s.log.Warn("Could not add saved large files to the before-snapshot", "err", err)
			for _, p := range paths {
				missing[p] = true
			}
			continue
		}
		before = h
	}
	return before, missing
}
