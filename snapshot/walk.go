package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/dirent"
	"ocgo/ignore"
	"ocgo/relpath"
)

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

	// First scan of a git project only (see indexTree): index entries
	// matched below this directory, -1 when some file did not match; and
	// whether tree came from the index's cache-tree, its object not yet
	// checked.
	indexed   int
	fromIndex bool
}

func (n *dirNode) markDirty() {
	for x := n; x != nil; x = x.parent {
		x.dirty = true
	}
}

// visit is the walk's state of one directory (dirent.Walker): the node it
// builds and the previous scan's node it reuses cache entries from.
type visit struct {
	node, old *dirNode
}

func newVisit(parent *dirNode, name, rel string, comps []string, old *dirNode, pats []ignore.Pattern) *visit {
	node := &dirNode{parent: parent, name: name, rel: rel, comps: comps, pats: pats,
		files: map[string]*fileEntry{}, dirs: map[string]*dirNode{}}
	if old == nil {
		node.dirty = true
	} else {
		node.tree = old.tree
	}
	return &visit{node: node, old: old}
}

// walkDir builds the node for the directory rel and everything below it,
// reusing old's cache entries, through the one walk of the tree
// (dirent.Walker): from the work tree's dirent.Root, each directory
// relative to its open parent, every component with O_NOFOLLOW, so a
// directory swapped for a symlink never lets content from elsewhere into
// the shadow repository; files statted relative
// to their open directory (one fstatat each); subdirectories on up to three
// more goroutines. A directory that vanished, is unreadable or is no longer
// a directory is snapshotted as empty.
func (sc *scan) walkDir(parent *dirNode, name, rel string, comps []string, old *dirNode, pats []ignore.Pattern) (*dirNode, error) {
	if sc.walker == nil {
		sc.walker = &dirent.Walker[*visit]{List: sc.list, Leave: sc.leave, Parallel: 3}
	}
	v := newVisit(parent, name, rel, comps, old, pats)
	if err := sc.walker.Walk(sc.ctx, sc.s.root, rel, v); err != nil {
		return nil, err
	}
	return v.node, nil
}

// list records one directory's files and descends into its subdirectories
// (dirent.Walker.List).
func (sc *scan) list(d *dirent.Dir[*visit], v *visit) {
	s := sc.s
	node, old := v.node, v.old
	rel, comps, pats := node.rel, node.comps, node.pats
	full := filepath.Join(s.work, filepath.FromSlash(rel))
	ents := d.Entries
	if d.Err != nil {
		sc.addSkip(rel+"/", "directory unreadable")
	}
	if node.parent != nil && dirent.Nested(ents) {
		node.nested = true
		return
	}
	for _, e := range ents {
		if e.Name == ".gitignore" && e.IsFile && !e.IsLink {
			f, _ := d.Open(e.Name)
			own := ignore.ParseFile(f, comps)
			if f != nil {
				_ = f.Close()
			}
			if len(own) > 0 {
				node.pats = append(pats[:len(pats):len(pats)], own...)
			}
		}
		if e.Name == ".gitattributes" && s.seeds != nil && e.IsFile && !e.IsLink {
			if b, err := readPlain(d, e.Name, 1<<20); err == nil && attrsRewriteContent(b) {
				sc.mu.Lock()
				sc.suspect = append(sc.suspect, node)
				sc.mu.Unlock()
			}
		}
	}
	// The components of an entry, for ignore matching: one slice for all,
	// copied only for the subdirectories that keep it.
	ccomps := append(comps[:len(comps):len(comps)], "")
	for _, e := range ents {
		n := e.Name
		if n == ".git" {
			continue
		}
		ccomps[len(comps)] = n
		switch {
		case e.IsDir:
			if filepath.Join(full, n) == s.gitDir || ignore.Match(node.pats, ccomps, true) {
				continue
			}
			var oc *dirNode
			if old != nil {
				oc = old.dirs[n]
			}
			d.Descend(n, newVisit(node, n, relpath.Join(rel, n), slices.Clone(ccomps), oc, node.pats))
		case e.IsFile:
			if ignore.Match(node.pats, ccomps, false) {
				continue
			}
			in, err := d.Stat(n)
			if err != nil {
				continue
			}
			var oe *fileEntry
			if old != nil {
				oe = old.files[n]
			}
			sc.considerFile(node, n, relpath.Join(rel, n), statOfInfo(in), oe)
		}
	}
}

// leave takes in the subdirectories walked below one directory
// (dirent.Walker.Leave): nested repositories and empty directories are left
// out, as git leaves them.
func (sc *scan) leave(v *visit, subs []*visit) {
	node, old := v.node, v.old
	if node.nested {
		return
	}
	for _, sub := range subs {
		child := sub.node
		if child.nested {
			sc.addSkip(child.rel+"/", "nested git repository")
			continue
		}
		if len(child.files) == 0 && len(child.dirs) == 0 {
			continue
		}
		node.dirs[child.name] = child
		if sub.old == nil || child.dirty {
			node.dirty = true
		}
	}
	if old != nil && (len(old.files) != len(node.files) || len(old.dirs) != len(node.dirs)) {
		node.dirty = true
	}
	if old == nil && sc.s.seedTrees != nil {
		sc.indexTree(node)
	}
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

// fileStat is the part of an lstat the stat cache compares.
type fileStat struct {
	size  int64
	mtime int64 // ns
	ino   uint64
	mode  filemode.FileMode // 0: neither a regular file nor a symlink
}

func statOf(fi os.FileInfo) fileStat {
	mode, _ := gitModeOf(fi)
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inodeOf(fi), mode: mode}
}

// considerFile records a file in node, reusing the cached hash when the stat
// matches, queueing it for hashing otherwise.
func (sc *scan) considerFile(node *dirNode, name, rel string, st fileStat, old *fileEntry) {
	mode := st.mode
	if mode == 0 {
		return
	}
	if limit := sc.s.sizeLimit(rel); mode != filemode.Symlink && st.size > limit {
		sc.addSkip(rel, fmt.Sprintf("larger than %d bytes", limit))
		if old != nil {
			node.dirty = true
		}
		return
	}
	e := &fileEntry{size: st.size, mtime: st.mtime, ino: st.ino, mode: mode}
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
		fi, err := s.root.Lstat(n.rel)
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
	rel := relpath.Join(n.rel, name)
	full := filepath.Join(s.work, filepath.FromSlash(rel))
	for k := range sc.skips {
		if relpath.Under(rel, k) {
			delete(sc.skips, k)
		}
	}
	n.markDirty()
	fi, err := s.root.Lstat(rel)
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
		sc.considerFile(n, name, rel, statOf(fi), old)
	}
	return nil
}

// notPlain says why an opened file is not snapshotted ("" when it is a
// regular file with one link).
func notPlain(f *os.File) string {
	_, why := plainStat(f)
	return why
}

// plainStat is notPlain with the open file's stat.
func plainStat(f *os.File) (os.FileInfo, string) {
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, "unreadable"
	case !fi.Mode().IsRegular():
		return fi, "not a regular file"
	case linkCount(fi) > 1:
		return fi, "several hard links"
	}
	return fi, ""
}

// readPlain reads up to max bytes of the regular, single-link file name of
// the open directory d.
func readPlain(d *dirent.Dir[*visit], name string, max int64) ([]byte, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if why := notPlain(f); why != "" {
		return nil, errors.New(why)
	}
	return io.ReadAll(io.LimitReader(f, max))
}
