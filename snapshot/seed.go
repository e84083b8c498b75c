package snapshot

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/gitrepo"
	"ocgo/ignore"
	"ocgo/relpath"
)

// rehashIndexSeeds drops index-derived hashes below dirs whose
// .gitattributes may rewrite content on `git add`.
func (sc *scan) rehashIndexSeeds() {
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		for name, e := range n.files {
			if e.fromIndex {
				e.fromIndex = false
				sc.jobs = append(sc.jobs, hashJob{node: n, name: name, rel: relpath.Join(n.rel, name), e: e})
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

// seedFromIndex fills the seeds from the project's index so unchanged
// tracked files are not rehashed on the first snapshot, and keeps the
// index's cache-tree so unchanged directories are not re-encoded either
// (see indexTree).
func (s *Snapshotter) seedFromIndex() {
	if v, ok := ignore.CoreOption(s.proj.CommonDir, "autocrlf", s.env); ok && v != "false" {
		return // add would convert line endings; hashes would not match raw bytes
	}
	idx, err := s.store.proj.ReadIndex()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Debug("Project index not usable for seeding", slog.Any("err", err))
		}
		return
	}
	idxTime := idx.ModTime.UnixNano()
	prefix := ""
	if s.proj.Prefix != "" {
		prefix = s.proj.Prefix + "/"
	}
	seeds := make(map[string]*fileEntry, len(idx.Entries))
	for _, e := range idx.Entries {
		if e.Stage != 0 || e.Skip {
			continue
		}
		if e.Mode != filemode.Regular && e.Mode != filemode.Executable && e.Mode != filemode.Symlink {
			continue
		}
		if !strings.HasPrefix(e.Name, prefix) {
			continue
		}
		seeds[e.Name[len(prefix):]] = &fileEntry{
			size: int64(e.Size), mtime: e.Mtime, ino: uint64(e.Ino), mode: e.Mode, hash: e.Hash,
			racy: e.Mtime >= idxTime || e.Mtime == 0, fromIndex: true,
		}
	}
	trees := make(map[string]gitrepo.CacheTree, len(idx.Trees))
	for p, ct := range idx.Trees {
		switch {
		case prefix == "":
			trees[p] = ct
		case p+"/" == prefix:
			trees[""] = ct
		case strings.HasPrefix(p, prefix):
			trees[p[len(prefix):]] = ct
		}
	}
	s.seeds, s.seedTrees = seeds, trees
}

// indexTree takes the tree of a directory just walked from the index's
// cache-tree when git's tree for it is known to equal the snapshot's: every
// file in it matched its index entry's stat data, every subdirectory did
// the same, and the count of such files equals the index entries git's
// tree covers (so no tracked file is missing, ignored, a submodule or
// skipped). Such a tree is marked clean; build then neither encodes it nor
// looks for its object, except that the top-most one taken is checked to
// exist in the project's object database (git writes a tree's subtrees
// before the tree).
func (sc *scan) indexTree(node *dirNode) {
	node.indexed = -1
	n := 0
	for _, e := range node.files {
		if !e.fromIndex {
			return
		}
		n++
	}
	for _, c := range node.dirs {
		if c.indexed < 0 {
			return
		}
		n += c.indexed
	}
	node.indexed = n
	if ct, ok := sc.s.seedTrees[node.rel]; ok && ct.Entries == n {
		node.tree = ct.Hash
		node.dirty = false
		node.fromIndex = true
	}
}
