package search

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/diff"
	"ocgo/gitrepo"
	"ocgo/ignore"
	"ocgo/relpath"
	"ocgo/watcher"
)

type headEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// status keeps the working tree's difference to HEAD. It is computed in full
// once (and again when HEAD or the index change), then per changed path.
type status struct {
	s *Service

	mu        sync.Mutex
	repo      *gitrepo.Repo // nil: not a git project
	gitDir    string
	valid     bool
	headHash  plumbing.Hash
	indexStat [2]int64 // size, mtime of the index file
	indexTime time.Time
	head      map[string]headEntry
	index     map[string]gitrepo.IndexEntry
	entries   map[string]File // root-relative path → entry (path root-relative)
	cached    []File          // last answer, nil when stale

	dmu       sync.Mutex // guards dirty only, so Notify never waits for a computation
	dirty     map[string]struct{}
	blobs     map[plumbing.Hash][]byte
	blobBytes int
}

func (st *status) init(s *Service) {
	st.s = s
	st.dirty = map[string]struct{}{}
	r, ok := ignore.FindRepo(s.root)
	if !ok {
		return
	}
	st.repo = gitrepo.Open(r)
	st.gitDir = r.GitDir
}

func (st *status) close() {
	if st.repo != nil {
		_ = st.repo.Close()
	}
}

func (st *status) notify(changes []watcher.Change) {
	st.dmu.Lock()
	defer st.dmu.Unlock()
	for _, c := range changes {
		st.dirty[c.Path] = struct{}{}
	}
}

func (st *status) takeDirty() map[string]struct{} {
	st.dmu.Lock()
	defer st.dmu.Unlock()
	d := st.dirty
	st.dirty = map[string]struct{}{}
	return d
}

// stale reports whether HEAD or the index moved since the last full compute.
func (st *status) stale() bool {
	if !st.valid {
		return true
	}
	fi, err := os.Stat(filepath.Join(st.gitDir, "index"))
	var is [2]int64
	if err == nil {
		is = [2]int64{fi.Size(), fi.ModTime().UnixNano()}
	}
	if is != st.indexStat {
		return true
	}
	h, _ := st.repo.Head() // zero on an unborn branch
	return h != st.headHash
}

func (st *status) loadGit() {
	st.head = map[string]headEntry{}
	st.index = map[string]gitrepo.IndexEntry{}
	st.headHash = plumbing.ZeroHash
	st.indexStat = [2]int64{}
	st.indexTime = time.Time{}
	if fi, err := os.Stat(filepath.Join(st.gitDir, "index")); err == nil {
		st.indexStat = [2]int64{fi.Size(), fi.ModTime().UnixNano()}
		st.indexTime = fi.ModTime()
	}
	var cacheTree plumbing.Hash // root of the index's valid cache-tree, if any
	if idx, err := st.repo.ReadIndex(); err == nil {
		if ct, ok := idx.Trees[""]; ok {
			cacheTree = ct.Hash
		}
		for _, e := range idx.Entries {
			if e.Stage == 0 {
				st.index[e.Name] = e
			}
		}
	}
	head, err := st.repo.Head()
	if err != nil {
		return // unborn branch: everything is untracked or staged
	}
	st.headHash = head
	treeHash, err := st.repo.CommitTree(head)
	if err != nil {
		return
	}
	if !cacheTree.IsZero() && cacheTree == treeHash {
		// The index is exactly HEAD's tree (fresh commit, nothing staged):
		// take HEAD from it instead of walking every tree object.
		for name, e := range st.index {
			if e.Mode != filemode.Submodule {
				st.head[name] = headEntry{hash: e.Hash, mode: e.Mode}
			}
		}
		return
	}
	st.walkTree(treeHash, "", 0)
}

// walkTree records every file of a tree (recursively) into st.head.
func (st *status) walkTree(h plumbing.Hash, prefix string, depth int) {
	ents, err := st.repo.Tree(h)
	if err != nil || depth > 256 {
		return
	}
	for _, e := range ents {
		name := prefix + e.Name
		switch e.Mode {
		case filemode.Dir:
			st.walkTree(e.Hash, name+"/", depth+1)
		case filemode.Submodule:
		default:
			st.head[name] = headEntry{hash: e.Hash, mode: e.Mode}
		}
	}
}

// Status lists changed files against HEAD, like `git diff --numstat HEAD`
// plus untracked files; each path appears once.
func (s *Service) Status(ctx context.Context) ([]File, error) {
	return s.st.get(ctx)
}

func (st *status) get(ctx context.Context) ([]File, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.repo == nil {
		return []File{}, nil
	}
	dirty := st.takeDirty()
	if st.stale() {
		st.loadGit()
		st.entries = map[string]File{}
		seen := map[string]struct{}{}
		for _, set := range []func(func(string)){
			func(f func(string)) {
				for p := range st.head {
					f(p)
				}
			},
			func(f func(string)) {
				for p := range st.index {
					f(p)
				}
			},
			func(f func(string)) {
				for _, p := range st.s.w.Files() {
					f(p)
				}
			},
		} {
			set(func(p string) {
				if _, ok := seen[p]; ok {
					return
				}
				seen[p] = struct{}{}
				st.compute(p)
			})
			if err := ctx.Err(); err != nil {
				st.valid = false
				return nil, err
			}
		}
		st.valid = true
		st.cached = nil
	} else if len(dirty) > 0 {
		for p := range dirty {
			st.compute(p)
		}
		st.cached = nil
	}
	if st.cached == nil {
		out := make([]File, 0, len(st.entries))
		for _, f := range st.entries {
			out = append(out, f)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
		for i := range out {
			out[i].Path = st.s.display(out[i].Path)
		}
		st.cached = out
	}
	return append([]File{}, st.cached...), nil // never nil: JSON [] when clean
}

func modeOf(fi os.FileInfo) filemode.FileMode {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return filemode.Symlink
	case fi.Mode()&0o100 != 0:
		return filemode.Executable
	default:
		return filemode.Regular
	}
}

// worktreeContent reads what git would hash for path: file bytes, or the
// link target of a symlink.
func (st *status) worktreeContent(rel string, fi os.FileInfo) ([]byte, bool) {
	if fi.Mode()&os.ModeSymlink != 0 {
		t, err := os.Readlink(filepath.Join(st.s.root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, false
		}
		return []byte(t), true
	}
	f, err := st.s.osroot.Open(relpath.OS(rel))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	size := fi.Size()
	if size < 0 || size > 1<<30 {
		return nil, false
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, true
		}
		if err != nil {
			return nil, false
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// blobCacheMax bounds the memory kept for HEAD blobs of edited files.
const blobCacheMax = 64 << 20

func (st *status) blob(h plumbing.Hash) ([]byte, bool) {
	if b, ok := st.blobs[h]; ok {
		return b, true
	}
	out, ok := st.readBlob(h)
	if ok {
		if st.blobBytes+len(out) > blobCacheMax {
			st.blobs, st.blobBytes = nil, 0
		}
		if st.blobs == nil {
			st.blobs = map[plumbing.Hash][]byte{}
		}
		st.blobs[h] = out
		st.blobBytes += len(out)
	}
	return out, ok
}

func (st *status) readBlob(h plumbing.Hash) ([]byte, bool) {
	b, err := st.repo.ReadAs(plumbing.BlobObject, h)
	return b, err == nil
}

// compute refreshes the entry of one root-relative path (st.mu held).
func (st *status) compute(p string) {
	delete(st.entries, p)
	he, inHead := st.head[p]
	ie, inIdx := st.index[p]
	fi, err := os.Lstat(filepath.Join(st.s.root, filepath.FromSlash(p)))
	exists := err == nil && (fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0)
	if !inHead {
		if !exists {
			return
		}
		if !inIdx && !st.s.w.HasFile(p) {
			return // ignored or unknown untracked path
		}
		b, ok := st.worktreeContent(p, fi)
		if !ok {
			return
		}
		added := 0
		if !diff.IsBinary(b) {
			added = diff.CountLines(b)
		}
		st.entries[p] = File{Path: p, Added: added, Status: "added"}
		return
	}
	if !exists {
		removed := 0
		if old, ok := st.blob(he.hash); ok && !diff.IsBinary(old) {
			removed = diff.CountLines(old)
		}
		st.entries[p] = File{Path: p, Removed: removed, Status: "deleted"}
		return
	}
	mode := modeOf(fi)
	if inIdx && ie.Hash == he.hash && ie.Mode == he.mode && mode == he.mode &&
		int64(ie.Size) == fi.Size()&0xffffffff && ie.Mtime != 0 && ie.Mtime == fi.ModTime().UnixNano() &&
		fi.ModTime().Before(st.indexTime) {
		return // stat matches a clean index entry (and is not racy)
	}
	cur, ok := st.worktreeContent(p, fi)
	if !ok {
		return
	}
	if gitrepo.BlobHash(cur) == he.hash {
		if mode != he.mode {
			st.entries[p] = File{Path: p, Status: "modified"}
		}
		return
	}
	old, ok := st.blob(he.hash)
	if !ok {
		return
	}
	a, r := diff.Numstat(old, cur)
	st.entries[p] = File{Path: p, Added: a, Removed: r, Status: "modified"}
}

// headContentIfModified returns the HEAD version of rel when cur differs
// from it; ok is false for untracked or unchanged files.
func (st *status) headContentIfModified(rel string, cur []byte) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.repo == nil {
		return nil, false
	}
	if st.stale() {
		st.valid = false // Status recomputes in full next time
		st.loadGit()
	}
	he, ok := st.head[rel]
	if !ok || gitrepo.BlobHash(cur) == he.hash {
		return nil, false
	}
	old, ok := st.blob(he.hash)
	if !ok || bytes.Equal(old, cur) {
		return nil, false
	}
	return old, true
}
