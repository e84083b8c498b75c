package snapshot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	linediff "ocgo/diff"
	"ocgo/gitrepo"
	"ocgo/relpath"
)

// Object is one git object as it travels in a session export: its id, its
// type ("tree" or "blob") and its content (without the git header).
type Object struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data []byte `json:"data"` // base64 in JSON
}

// Objects returns what another shadow repository needs to diff and restore
// the given paths between the given trees: every tree object reachable
// from them (trees are small and diffing walks them) and, for each tree,
// the blobs at the given paths (a directory path takes every file below
// it). The list is sorted by id, so the same input always gives the same
// output. Unknown or invalid trees are an error.
func (s *Snapshotter) Objects(ctx context.Context, trees, paths []string) ([]Object, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	keep := pathFilter(paths)
	out := map[plumbing.Hash]Object{}
	visited := map[string]bool{} // tree hash + path: the same subtree may sit at several paths
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := h.String() + "\x00" + prefix
		if visited[key] {
			return nil
		}
		visited[key] = true
		if _, ok := out[h]; !ok {
			typ, data, err := s.store.read(h)
			if err != nil {
				return err
			}
			if typ != "tree" {
				return fmt.Errorf("%w: %s is a %s", ErrInvalidHash, h, typ)
			}
			out[h] = Object{ID: h.String(), Type: typ, Data: data}
		}
		ents, err := s.store.readTree(h)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := relpath.Join(prefix, e.Name)
			switch {
			case e.IsTree():
				if err := walk(e.Hash, p); err != nil {
					return err
				}
			case e.Mode == filemode.Submodule:
			case keep(p):
				if _, ok := out[e.Hash]; ok {
					continue
				}
				b, err := s.blob(e.Hash)
				if err != nil {
					return err
				}
				out[e.Hash] = Object{ID: e.Hash.String(), Type: "blob", Data: b}
			}
		}
		return nil
	}
	for _, t := range trees {
		h, err := parseHash(t)
		if err != nil {
			return nil, err
		}
		if h == gitrepo.EmptyTree {
			continue
		}
		if err := walk(h, ""); err != nil {
			return nil, err
		}
	}
	list := make([]Object, 0, len(out))
	for _, o := range out {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// AddObjects stores objects (from Objects, usually of another project's
// shadow repository). Each id is checked against its content, so a
// tampered or truncated export is refused before anything is written.
func (s *Snapshotter) AddObjects(ctx context.Context, objs []Object) error {
	pend := make([]pendingObject, 0, len(objs))
	for _, o := range objs {
		if o.Type != "tree" && o.Type != "blob" {
			return fmt.Errorf("%w: object %s has type %q", ErrInvalidHash, o.ID, o.Type)
		}
		h, raw := gitrepo.HashObject(o.Type, o.Data)
		if h.String() != o.ID {
			return fmt.Errorf("%w: object %s does not match its content", ErrInvalidHash, o.ID)
		}
		if o.Type == "tree" {
			if _, err := gitrepo.DecodeTree(o.Data); err != nil {
				return err
			}
		}
		pend = append(pend, pendingObject{hash: h, raw: raw})
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	return s.store.writeNow(pend)
}

// FileDiff is one file changed between two trees, in the shape of later
// opencode versions' FileDiff: the whole text before and after (empty for
// an absent or binary file) and the number of added and removed lines.
type FileDiff struct {
	File      string `json:"file"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
}

// FileDiffs compares trees from and to at the given paths (a directory
// stands for every file below it; no paths means every file), sorted by path.
func (s *Snapshotter) FileDiffs(ctx context.Context, from, to string, paths []string) ([]FileDiff, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	ch, err := s.changesBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	listed := pathFilter(paths)
	if len(paths) == 0 {
		listed = func(string) bool { return true }
	}
	out := []FileDiff{}
	for _, c := range ch {
		if !listed(c.path) {
			continue
		}
		var a, b []byte
		if c.from != nil && c.from.Mode != filemode.Submodule {
			if a, err = s.blob(c.from.Hash); err != nil {
				return nil, err
			}
		}
		if c.to != nil && c.to.Mode != filemode.Submodule {
			if b, err = s.blob(c.to.Hash); err != nil {
				return nil, err
			}
		}
		d := FileDiff{File: c.path}
		if linediff.IsBinary(a) || linediff.IsBinary(b) {
			out = append(out, d)
			continue
		}
		d.Before, d.After = string(a), string(b)
		d.Additions, d.Deletions = linediff.Numstat(a, b)
		out = append(out, d)
	}
	return out, nil
}

// pathFilter reports whether a work-tree path is one of paths or lies
// below one of them (invalid paths are ignored).
func pathFilter(paths []string) func(string) bool {
	want := map[string]bool{}
	for _, p := range paths {
		if rel, err := cleanRel(p); err == nil {
			want[rel] = true
		}
	}
	return func(p string) bool {
		for q := range relpath.Up(p) {
			if want[q] {
				return true
			}
		}
		return false
	}
}
