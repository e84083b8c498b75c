package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/gitrepo"
	"ocgo/relpath"
)

// lookup finds the entry at rel inside tree.
func (s *Snapshotter) lookup(tree plumbing.Hash, rel string) (treeEntry, bool, error) {
	cur := tree
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		ents, err := s.store.readTree(cur)
		if err != nil {
			return treeEntry{}, false, err
		}
		var found *treeEntry
		for k := range ents {
			if ents[k].Name == p {
				found = &ents[k]
				break
			}
		}
		if found == nil {
			return treeEntry{}, false, nil
		}
		if i == len(parts)-1 {
			return *found, true, nil
		}
		if !found.IsTree() {
			return treeEntry{}, false, nil
		}
		cur = found.Hash
	}
	return treeEntry{}, false, nil
}

// FileState returns the file at path in tree as one comparable value, its
// blob hash and git mode ("<hash> <mode>"): two states are equal exactly
// when content and mode (executable bit, symlink) are, so a conflict check
// built on it sees a chmod as an edit. ok is false when the tree has no
// file there; a tree naming a blob the repository lacks is ErrNotFound.
func (s *Snapshotter) FileState(ctx context.Context, tree, p string) (string, bool, error) {
	th, err := parseHash(tree)
	if err != nil {
		return "", false, err
	}
	rel, err := cleanRel(p)
	if err != nil {
		return "", false, err
	}
	if err := s.begin(ctx); err != nil {
		return "", false, err
	}
	defer s.end()
	e, ok, err := s.lookup(th, rel)
	if err != nil || !ok || e.IsTree() {
		return "", false, err
	}
	// The blob must be there too: a revert checks every file before it
	// touches any, so a lost object stops it before the first write.
	if !s.store.has(e.Hash) {
		return "", false, fmt.Errorf("%w: %s (%s)", ErrNotFound, e.Hash, rel)
	}
	return stateOf(e.Hash, e.Mode), true, nil
}

func stateOf(h plumbing.Hash, m filemode.FileMode) string { return h.String() + " " + m.String() }

// IsDir reports whether the root-relative path names a directory now (not
// through a symbolic link).
func (s *Snapshotter) IsDir(p string) bool {
	rel, err := cleanRel(p)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	fi, err := s.root.Lstat(rel)
	return err == nil && fi.IsDir()
}

// CurrentState returns FileState's value for the file at path now (the
// blob of the link target for a symlink). exists is false when nothing is
// there.
func (s *Snapshotter) CurrentState(p string) (string, bool, error) {
	rel, err := cleanRel(p)
	if err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", false, ErrClosed
	}
	fi, err := s.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("snapshot: stat: %w", err)
	}
	mode, ok := gitModeOf(fi)
	if !ok {
		return "", true, ErrNotAFile
	}
	h, err := s.currentBlob(rel, fi)
	if err != nil {
		return "", true, err
	}
	return stateOf(h, mode), true, nil
}

// currentBlob hashes the file at rel (already lstat'ed as fi). No link is
// followed on the way (dirent.Root), and a file that is no longer the one
// the lstat saw (swapped since; a FIFO would read as empty) is not a state
// to compare with: ErrNotAFile.
func (s *Snapshotter) currentBlob(rel string, fi os.FileInfo) (plumbing.Hash, error) {
	var content []byte
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		t, err := s.root.Readlink(rel)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("snapshot: readlink: %w", err)
		}
		content = []byte(t)
	case fi.Mode().IsRegular():
		f, err := s.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("snapshot: open: %w", err)
		}
		defer func() { _ = f.Close() }()
		if ofi, err := f.Stat(); err != nil || !ofi.Mode().IsRegular() || inodeOf(ofi) != inodeOf(fi) {
			return plumbing.ZeroHash, ErrNotAFile
		}
		if content, err = io.ReadAll(f); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("snapshot: read: %w", err)
		}
	default:
		return plumbing.ZeroHash, ErrNotAFile
	}
	h, _ := gitrepo.HashObject("blob", content)
	return h, nil
}

// change is one path differing between two trees; nil means absent.
type change struct {
	path     string
	from, to *treeEntry
}

// diffTrees appends the file-level differences between trees a and b.
func (s *Snapshotter) diffTrees(a, b plumbing.Hash, prefix string, out *[]change) error {
	if a == b {
		return nil
	}
	ea, err := s.store.readTree(a)
	if err != nil {
		return err
	}
	eb, err := s.store.readTree(b)
	if err != nil {
		return err
	}
	mb := make(map[string]*treeEntry, len(eb))
	for i := range eb {
		mb[eb[i].Name] = &eb[i]
	}
	seen := make(map[string]bool, len(ea))
	visit := func(x, y *treeEntry, name string) error {
		p := relpath.Join(prefix, name)
		xt := x != nil && x.IsTree()
		yt := y != nil && y.IsTree()
		if xt || yt {
			var ha, hb plumbing.Hash
			if xt {
				ha = x.Hash
			}
			if yt {
				hb = y.Hash
			}
			if err := s.diffTrees(ha, hb, p, out); err != nil {
				return err
			}
			if x != nil && !xt {
				*out = append(*out, change{path: p, from: x})
			}
			if y != nil && !yt {
				*out = append(*out, change{path: p, to: y})
			}
			return nil
		}
		if x != nil && y != nil && x.Hash == y.Hash && x.Mode == y.Mode {
			return nil
		}
		*out = append(*out, change{path: p, from: x, to: y})
		return nil
	}
	for i := range ea {
		x := &ea[i]
		seen[x.Name] = true
		if err := visit(x, mb[x.Name], x.Name); err != nil {
			return err
		}
	}
	for i := range eb {
		if !seen[eb[i].Name] {
			if err := visit(nil, &eb[i], eb[i].Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolve parses from/to; to == "" snapshots the work tree first.
func (s *Snapshotter) resolve(ctx context.Context, from, to string) (plumbing.Hash, plumbing.Hash, error) {
	fh, err := parseHash(from)
	if err != nil {
		return fh, fh, err
	}
	if to == "" {
		th, err := s.track(ctx)
		return fh, th, err
	}
	th, err := parseHash(to)
	return fh, th, err
}

func (s *Snapshotter) changes(a, b plumbing.Hash) ([]change, error) {
	var out []change
	if err := s.diffTrees(a, b, "", &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// Changed lists the paths that differ between trees from and to (to == ""
// means the current work tree, snapshotted first), sorted.
func (s *Snapshotter) Changed(ctx context.Context, from, to string) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	ch, err := s.changesBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ch))
	for _, c := range ch {
		if len(out) == 0 || out[len(out)-1] != c.path {
			out = append(out, c.path)
		}
	}
	return out, nil
}

// Restore makes each listed path (nil: every path differing between the
// current work tree and tree) match tree: files are written only when
// content or mode differ, files absent from tree are deleted, directories
// emptied by a deletion and absent from tree are removed. No other file is
// touched. Files too large to be snapshotted are never deleted or
// overwritten; they are reported in Result.Skipped.
func (s *Snapshotter) Restore(ctx context.Context, tree string, paths []string) (Result, error) {
	return s.restore(ctx, tree, paths, false, nil)
}

// RestoreFiles makes each listed file path match tree, like Restore, for a
// caller that has checked the files' current content against what it
// expects (a revert): directories are not expanded and the size cap does not
// apply, so a large file stored with TrackPaths is written or deleted too.
// A directory emptied by a deletion is removed only if made lists it
// (root-relative: the directories the reverted calls created); any other,
// such as one that was there before, empty and so absent from every tree,
// stays.
func (s *Snapshotter) RestoreFiles(ctx context.Context, tree string, paths, made []string) (Result, error) {
	if paths == nil {
		paths = []string{}
	}
	set := map[string]bool{}
	for _, d := range made {
		if rel, err := cleanRel(d); err == nil {
			set[rel] = true
		}
	}
	return s.restore(ctx, tree, paths, true, set)
}

// restore is Restore, or with exact RestoreFiles (made: the directories it
// may remove once emptied).
func (s *Snapshotter) restore(ctx context.Context, tree string, paths []string, exact bool, made map[string]bool) (Result, error) {
	var res Result
	th, err := parseHash(tree)
	if err != nil {
		return res, err
	}
	var list []string
	for _, p := range paths {
		rel, err := cleanRel(p)
		if err != nil {
			return res, err
		}
		list = append(list, rel)
	}
	if err := s.begin(ctx); err != nil {
		return res, err
	}
	defer s.end()
	if _, err := s.readTreeChecked(th); err != nil {
		return res, err
	}
	if paths == nil {
		cur, err := s.track(ctx)
		if err != nil {
			return res, err
		}
		ch, err := s.changes(cur, th)
		if err != nil {
			return res, err
		}
		for _, c := range ch {
			list = append(list, c.path)
		}
	} else if !exact {
		list, err = s.expandDirs(ctx, th, list)
		if err != nil {
			return res, err
		}
	}
	set := map[string]struct{}{}
	for _, p := range list {
		set[p] = struct{}{}
	}
	list = sortedKeys(set)

	type want struct {
		rel string
		e   treeEntry
	}
	var dels []string
	var writes []want
	for _, rel := range list {
		e, ok, err := s.lookup(th, rel)
		if err != nil {
			return res, err
		}
		if !ok || e.IsTree() {
			if !ok {
				dels = append(dels, rel)
			}
			continue
		}
		writes = append(writes, want{rel, e})
	}
	// Deletions first (deepest first) so a file can replace a directory.
	sort.Sort(sort.Reverse(sort.StringSlice(dels)))
	emptied := map[string]struct{}{}
	for _, rel := range dels {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		fi, err := s.root.Lstat(rel)
		if err != nil {
			if exact {
				// Already absent: deleted before (by the run of this
				// revert a crash cut short, say), so its directory may
				// be one the revert empties.
				emptied[path.Dir(rel)] = struct{}{}
			}
			continue
		}
		if fi.IsDir() {
			continue // its files are listed on their own; emptied dirs go below
		}
		if !exact && fi.Mode().IsRegular() && fi.Size() > s.maxSize {
			res.Skipped = append(res.Skipped, Skip{Path: rel, Reason: "too large to snapshot; left in place"})
			continue
		}
		s.at("delete", rel)
		if err := s.root.Remove(rel); err != nil {
			res.Skipped = append(res.Skipped, Skip{Path: rel, Reason: "cannot delete"})
			s.log.Warn("Restore: delete failed", slog.String("path", rel), slog.Any("err", err))
			continue
		}
		res.Deleted = append(res.Deleted, rel)
		s.marked[rel] = struct{}{}
		emptied[path.Dir(rel)] = struct{}{}
	}
	s.removeEmptied(th, emptied, exact, made)
	for _, w := range writes {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		wrote, reason, err := s.restoreFile(w.rel, w.e, exact)
		if err != nil {
			return res, err
		}
		if reason != "" {
			res.Skipped = append(res.Skipped, Skip{Path: w.rel, Reason: reason})
			continue
		}
		if wrote {
			res.Written = append(res.Written, w.rel)
			s.marked[w.rel] = struct{}{}
		}
	}
	sort.Strings(res.Deleted)
	if len(res.Written)+len(res.Deleted) > 0 {
		s.log.Info("Restored files", slog.Int("written", len(res.Written)), slog.Int("deleted", len(res.Deleted)))
	}
	return res, nil
}

func (s *Snapshotter) readTreeChecked(h plumbing.Hash) ([]treeEntry, error) {
	ents, err := s.store.readTree(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return ents, nil
}

// expandDirs replaces listed directories by the files below them, both in
// tree and in the current snapshot of the work tree.
func (s *Snapshotter) expandDirs(ctx context.Context, th plumbing.Hash, list []string) ([]string, error) {
	var out []string
	tracked := false
	for _, rel := range list {
		e, ok, err := s.lookup(th, rel)
		if err != nil {
			return nil, err
		}
		fi, ferr := s.root.Lstat(rel)
		isDir := ok && e.IsTree() || ferr == nil && fi.IsDir()
		if !isDir {
			out = append(out, rel)
			continue
		}
		if ok && e.IsTree() {
			var ch []change
			if err := s.diffTrees(plumbing.ZeroHash, e.Hash, rel, &ch); err != nil {
				return nil, err
			}
			for _, c := range ch {
				out = append(out, c.path)
			}
		}
		if !tracked {
			if _, err := s.track(ctx); err != nil {
				return nil, err
			}
			tracked = true
		}
		if n := s.nodeAt(rel); n != nil {
			var walk func(n *dirNode)
			walk = func(n *dirNode) {
				for name := range n.files {
					out = append(out, relpath.Join(n.rel, name))
				}
				for _, c := range n.dirs {
					walk(c)
				}
			}
			walk(n)
		}
	}
	return out, nil
}

func (s *Snapshotter) nodeAt(rel string) *dirNode {
	n := s.tree
	for _, p := range strings.Split(rel, "/") {
		if n == nil {
			return nil
		}
		n = n.dirs[p]
	}
	return n
}

// removeEmptied removes now-empty directories that tree does not have
// (with exact, only those listed in made, whatever tree holds).
func (s *Snapshotter) removeEmptied(th plumbing.Hash, dirs map[string]struct{}, exact bool, made map[string]bool) {
	for _, d := range sortedKeys(dirs) {
		for d != "." && d != "" {
			// With exact (a revert) the record of what the calls made
			// decides: the tree may have the directory for files another
			// tree of the same revert deletes (each file goes back to the
			// tree before its earliest change), and an empty directory the
			// agent made goes; one it did not make stays.
			if exact && !made[d] {
				break
			}
			if e, ok, _ := s.lookup(th, d); !exact && ok && e.IsTree() {
				break
			}
			s.at("remove directory", d)
			// Not empty (or not a dir): stop climbing. Already gone
			// (removed by the run of this revert a crash cut short): its
			// parent may be emptied too.
			if err := s.root.Remove(d); err != nil && !(exact && errors.Is(err, fs.ErrNotExist)) {
				break
			}
			s.marked[d] = struct{}{}
			d = path.Dir(d)
		}
	}
}

// tempName is the file restoreFile writes rel's content to before renaming
// it over rel (so no one ever sees a half-written file): one name per file,
// so that what a restore killed before the rename left is known
// (RemoveTemps).
func tempName(rel string) string {
	sum := sha256.Sum256([]byte(path.Base(rel)))
	return path.Join(path.Dir(rel), ".ocgo-tmp-"+hex.EncodeToString(sum[:6]))
}

// RemoveTemps removes the temp files a restore of paths killed mid-way
// (SIGKILL, power loss) may have left beside them; a revert's recovery calls
// it before it finishes the journal.
func (s *Snapshotter) RemoveTemps(paths []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, p := range paths {
		rel, err := cleanRel(p)
		if err != nil {
			return err
		}
		tmp := tempName(rel)
		fi, err := s.root.Lstat(tmp)
		if err != nil || fi.IsDir() {
			continue
		}
		if err := s.root.Remove(tmp); err != nil {
			return fmt.Errorf("snapshot: remove a temp file: %w", err)
		}
		s.marked[tmp] = struct{}{}
	}
	return nil
}

// at calls the checkpoint (Options.Checkpoint) before a change to rel.
func (s *Snapshotter) at(step, rel string) {
	if s.checkpoint != nil {
		s.checkpoint(step + " " + rel)
	}
}

// restoreFile makes rel match e. It returns whether it wrote, or a reason
// for leaving the path alone.
func (s *Snapshotter) restoreFile(rel string, e treeEntry, exact bool) (bool, string, error) {
	perm := os.FileMode(0o666)
	if e.Mode == filemode.Executable {
		perm = 0o777
	}
	explicitPerm := false
	typ, content, err := s.store.read(e.Hash)
	if err != nil {
		return false, "", err
	}
	if typ != "blob" {
		return false, "", fmt.Errorf("%w: not a blob", ErrInvalidHash)
	}
	fi, err := s.root.Lstat(rel)
	if err == nil {
		switch {
		case fi.IsDir():
			s.at("remove directory", rel)
			if err := s.root.Remove(rel); err != nil {
				return false, "a non-empty directory is in the way", nil
			}
		case !exact && fi.Mode().IsRegular() && fi.Size() > s.maxSize:
			return false, "too large to snapshot; left in place", nil
		default:
			// A size difference proves a content difference without reading.
			cur, err := plumbing.ZeroHash, error(nil)
			if fi.Size() == int64(len(content)) {
				cur, err = s.currentBlob(rel, fi)
			}
			if err != nil && !errors.Is(err, ErrNotAFile) {
				return false, "unreadable", nil
			}
			curMode, _ := gitModeOf(fi)
			if err == nil && cur == e.Hash && curMode == e.Mode {
				return false, "", nil
			}
			if fi.Mode().IsRegular() && e.Mode != filemode.Symlink {
				perm = fi.Mode().Perm()
				if e.Mode == filemode.Executable {
					perm |= 0o100 | (perm&0o044)>>2
				} else {
					perm &^= 0o111
				}
				explicitPerm = true
				if err == nil && cur == e.Hash {
					s.at("chmod", rel)
					if err := s.root.Chmod(rel, perm); err != nil {
						return false, "", fmt.Errorf("snapshot: chmod: %w", err)
					}
					return true, "", nil
				}
			}
		}
	}
	if dir := path.Dir(rel); dir != "." {
		if s.checkpoint != nil {
			if _, err := s.root.Lstat(dir); err != nil {
				s.at("make directories", dir)
			}
		}
		if err := s.root.MkdirAll(dir, 0o777); err != nil {
			return false, "parent is not a directory", nil
		}
	}
	tmp := tempName(rel)
	_ = s.root.Remove(tmp) // left by a restore killed before its rename
	s.at("create the temp file", rel)
	if e.Mode == filemode.Symlink {
		if err := s.root.Symlink(string(content), tmp); err != nil {
			return false, "", fmt.Errorf("snapshot: symlink: %w", err)
		}
	} else {
		f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return false, "", fmt.Errorf("snapshot: create: %w", err)
		}
		s.at("write the temp file", rel)
		_, err = f.Write(content)
		if err == nil && explicitPerm {
			err = f.Chmod(perm)
		}
		if e := f.Close(); err == nil {
			err = e
		}
		if err != nil {
			_ = s.root.Remove(tmp)
			return false, "", fmt.Errorf("snapshot: write: %w", err)
		}
	}
	s.at("rename the temp file", rel)
	if err := s.root.Rename(tmp, rel); err != nil {
		_ = s.root.Remove(tmp)
		return false, "", fmt.Errorf("snapshot: rename: %w", err)
	}
	return true, "", nil
}

// changesBetween lists what differs between trees from and to (to == "":
// the work tree, snapshotted first). The caller holds begin.
func (s *Snapshotter) changesBetween(ctx context.Context, from, to string) ([]change, error) {
	fh, th, err := s.resolve(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return s.changes(fh, th)
}
