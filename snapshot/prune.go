package snapshot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"ocgo/gitrepo"
)

// handedOutTTL bounds how long PruneSince remembers a tree track built.
const handedOutTTL = time.Hour

// noteHandedOut remembers that tree h was built at t. Callers hold s.mu.
func (s *Snapshotter) noteHandedOut(h plumbing.Hash, t time.Time) {
	if s.handedOut == nil {
		s.handedOut = map[plumbing.Hash]time.Time{}
	}
	s.handedOut[h] = t
	if len(s.handedOut) > 256 {
		for k, at := range s.handedOut {
			if t.Sub(at) > handedOutTTL {
				delete(s.handedOut, k)
			}
		}
	}
}

// Prune deletes loose objects of the shadow repository that no tree in keep
// (nor the latest snapshot, whose objects the stat cache reuses) reaches.
// Objects borrowed from the project's repository are never touched. A keep
// tree absent from the repository is ignored; one that is present but cannot
// be read in full makes Prune fail without deleting anything.
func (s *Snapshotter) Prune(ctx context.Context, keep []string) error {
	return s.PruneSince(ctx, keep, time.Time{})
}

// PruneSince is Prune that also keeps every tree a snapshot (Track, or a
// Diff/Changed against the work tree) built at or after since, within the
// last hour. A caller that reads its keep list from storage passes the time
// it started reading, so a tree handed out meanwhile and not yet recorded
// is not lost. The zero time keeps nothing extra.
func (s *Snapshotter) PruneSince(ctx context.Context, keep []string, since time.Time) error {
	var roots []plumbing.Hash
	for _, k := range keep {
		h, err := parseHash(k)
		if err != nil {
			return err
		}
		roots = append(roots, h)
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	if err := s.store.flush(); err != nil {
		return err
	}
	live := map[plumbing.Hash]struct{}{gitrepo.EmptyTree: {}}
	if !s.lastTree.IsZero() {
		roots = append(roots, s.lastTree)
	}
	for h, at := range s.handedOut {
		if !since.IsZero() && !at.Before(since) {
			roots = append(roots, h)
		} else if time.Since(at) > handedOutTTL {
			delete(s.handedOut, h)
		}
	}
	var markNode func(n *dirNode)
	markNode = func(n *dirNode) {
		live[n.tree] = struct{}{}
		for _, e := range n.files {
			live[e.hash] = struct{}{}
		}
		for _, c := range n.dirs {
			markNode(c)
		}
	}
	if s.tree != nil {
		markNode(s.tree)
	}
	for _, e := range s.seeds {
		live[e.hash] = struct{}{}
	}
	var mark func(h plumbing.Hash) error
	mark = func(h plumbing.Hash) error {
		if _, ok := live[h]; ok {
			return nil
		}
		live[h] = struct{}{}
		ents, err := s.store.readTree(h)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsTree() {
				if err := mark(e.Hash); err != nil {
					return err
				}
			} else {
				live[e.Hash] = struct{}{}
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.store.has(r) {
			continue // a tree of another repository (e.g. imported sessions) protects nothing here
		}
		if err := mark(r); err != nil {
			// A keep tree we cannot read must not make us delete anything.
			return fmt.Errorf("snapshot: prune: %w", err)
		}
	}
	fans, err := os.ReadDir(s.objDir)
	if err != nil {
		return fmt.Errorf("snapshot: prune: %w", err)
	}
	removed := 0
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 {
			continue
		}
		dir := filepath.Join(s.objDir, fan.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, "tmp_obj_") {
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
					_ = os.Remove(filepath.Join(dir, name))
				}
				continue
			}
			h, err := parseHash(fan.Name() + name)
			if err != nil {
				continue
			}
			if _, ok := live[h]; ok {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				removed++
			}
		}
	}
	s.store.forgetTrees()
	s.log.Info("Pruned snapshot objects", slog.Int("removed", removed))
	return nil
}
