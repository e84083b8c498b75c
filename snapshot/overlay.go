package snapshot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/gitrepo"
)

// Overlay returns a tree that is base everywhere except at paths (files,
// root-relative), which hold what they hold in from: a file from has there
// replaces or adds base's, and where from has none the path is absent in
// the result (a directory base has at such a path is kept: paths name
// files). Revert uses it when the revert point moves back: the files that
// join the reverted set are saved as they are at that moment, the others
// as the first revert saved them.
func (s *Snapshotter) Overlay(ctx context.Context, base, from string, paths []string) (string, error) {
	bh, err := parseHash(base)
	if err != nil {
		return "", err
	}
	fh, err := parseHash(from)
	if err != nil {
		return "", err
	}
	rels := make([]string, 0, len(paths))
	for _, p := range paths {
		rel, err := cleanRel(p)
		if err != nil {
			return "", err
		}
		rels = append(rels, rel)
	}
	if err := s.begin(ctx); err != nil {
		return "", err
	}
	defer s.end()
	var objs []pendingObject
	var edit func(tree plumbing.Hash, prefix string, rels []string) (plumbing.Hash, error)
	edit = func(tree plumbing.Hash, prefix string, rels []string) (plumbing.Hash, error) {
		var ents []treeEntry
		if !tree.IsZero() {
			read, err := s.store.readTree(tree)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			ents = slices.Clone(read)
		}
		at := func(name string) int {
			return slices.IndexFunc(ents, func(e treeEntry) bool { return e.Name == name })
		}
		leaves := map[string]bool{}
		subs := map[string][]string{}
		for _, r := range rels {
			if first, rest, ok := strings.Cut(r, "/"); ok {
				subs[first] = append(subs[first], rest)
			} else {
				leaves[first] = true
			}
		}
		for name := range leaves {
			e, ok, err := s.lookup(fh, prefix+name)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			i := at(name)
			switch {
			case ok && !e.IsTree():
				e.Name = name
				if i >= 0 {
					ents[i] = e
				} else {
					ents = append(ents, e)
				}
			case i >= 0 && !ents[i].IsTree():
				ents = slices.Delete(ents, i, i+1)
			}
		}
		for name, sub := range subs {
			var child plumbing.Hash
			i := at(name)
			if i >= 0 && ents[i].IsTree() {
				child = ents[i].Hash
			}
			h, err := edit(child, prefix+name+"/", sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			switch {
			case h == gitrepo.EmptyTree && i >= 0 && ents[i].IsTree():
				ents = slices.Delete(ents, i, i+1)
			case h == gitrepo.EmptyTree:
			case i >= 0:
				ents[i] = treeEntry{Name: name, Mode: filemode.Dir, Hash: h}
			default:
				ents = append(ents, treeEntry{Name: name, Mode: filemode.Dir, Hash: h})
			}
		}
		slices.SortFunc(ents, gitrepo.TreeOrder)
		h, raw := gitrepo.HashObject("tree", gitrepo.EncodeTree(ents))
		if !s.store.has(h) {
			objs = append(objs, pendingObject{hash: h, raw: raw})
		}
		s.store.cacheTree(h, ents)
		return h, nil
	}
	h, err := edit(bh, "", rels)
	if err != nil {
		return "", fmt.Errorf("snapshot: overlay: %w", err)
	}
	if err := s.store.writeNow(objs); err != nil {
		return "", fmt.Errorf("snapshot: overlay: %w", err)
	}
	return h.String(), nil
}
