package snapshot

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/gofrs/flock"

	"ocgo/atomicfile"
	"ocgo/gitrepo"
	"ocgo/ignore"
)

// projectRepo describes the project's own git repository (read only):
// GitDir holds the index, CommonDir objects, info/exclude and config.
type projectRepo = ignore.Repo

// findProjectRepo looks for a .git dir or gitdir file at the work tree or
// above it. It returns nil when the project is not a git repository.
func findProjectRepo(work string) *projectRepo {
	r, ok := ignore.FindRepo(work)
	if !ok {
		return nil
	}
	return &r
}

// initGitDir creates the shadow git dir layout the git CLI expects. Existing
// dirs are left as they are, except that alternates follow the project.
func initGitDir(gitDir, work string, proj *projectRepo) error {
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags", "info"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o755); err != nil {
			return fmt.Errorf("snapshot: create git dir: %w", err)
		}
	}
	head := filepath.Join(gitDir, "HEAD")
	if _, err := os.Stat(head); err != nil {
		if err := atomicfile.WriteFile(head, []byte("ref: refs/heads/main\n"), 0o644); err != nil {
			return fmt.Errorf("snapshot: init git dir: %w", err)
		}
	}
	cfg := filepath.Join(gitDir, "config")
	if _, err := os.Stat(cfg); err != nil {
		body := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n" +
			"\tworktree = " + strconv.Quote(work) + "\n\tautocrlf = false\n" +
			"[gc]\n\tauto = 0\n"
		if err := atomicfile.WriteFile(cfg, []byte(body), 0o644); err != nil {
			return fmt.Errorf("snapshot: init git dir: %w", err)
		}
	}
	alt := filepath.Join(gitDir, "objects", "info", "alternates")
	want := ""
	if proj != nil {
		want = filepath.Join(proj.CommonDir, "objects") + "\n"
	}
	old, _ := os.ReadFile(alt)
	if string(old) != want {
		if want == "" {
			// A project that stopped being a git repository: keep the
			// alternates so earlier snapshots stay readable.
			return nil
		}
		if err := atomicfile.WriteFile(alt, []byte(want), 0o644); err != nil {
			return fmt.Errorf("snapshot: write alternates: %w", err)
		}
	}
	return nil
}

// fileLock is an flock (gofrs/flock, ocgo's one file lock) on a file that
// is never unlinked. The kernel releases it when the holder dies, so a stale
// lock file cannot wedge anything.
type fileLock struct {
	fl *flock.Flock
}

// newLock makes the lock on path; the file is opened (and created) on the
// first acquire.
func newLock(path string) *fileLock {
	return &fileLock{fl: flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))}
}

// acquire waits for the lock until ctx ends.
func (l *fileLock) acquire(ctx context.Context) error {
	ok, err := l.fl.TryLockContext(ctx, 2*time.Millisecond)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("snapshot: lock: %w", err)
	}
	if !ok {
		return ctx.Err()
	}
	return nil
}

func (l *fileLock) release() { _ = l.fl.Unlock() }
func (l *fileLock) close()   { _ = l.fl.Close() }

// treeEntry is one decoded tree entry.
type treeEntry = gitrepo.TreeEntry

// objectStore reads and writes objects: pending (written behind), own loose
// objects, then the project's object database (packs included) through
// gitrepo.
type objectStore struct {
	dir string
	log *slog.Logger

	pmu     sync.Mutex
	pending map[plumbing.Hash][]byte // raw "type size\0content"
	wg      sync.WaitGroup
	werr    error

	dirMu sync.Mutex
	fan   map[byte]bool // fan-out dirs known to exist

	proj *gitrepo.Repo // nil for non-git projects

	tmu   sync.Mutex
	trees map[plumbing.Hash][]treeEntry

	zpool sync.Pool

	unsynced unsynced // written, not yet fsynced (durable.go)
}

func newObjectStore(dir string, proj *projectRepo, log *slog.Logger) *objectStore {
	s := &objectStore{
		dir:     dir,
		log:     log,
		pending: map[plumbing.Hash][]byte{},
		fan:     map[byte]bool{},
		trees:   map[plumbing.Hash][]treeEntry{},
	}
	s.zpool.New = func() any {
		w, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
		return w
	}
	if proj != nil {
		s.proj = gitrepo.Open(*proj)
	}
	return s
}

func (s *objectStore) close() {
	if s.proj != nil {
		_ = s.proj.Close()
	}
}

func (s *objectStore) loosePath(h plumbing.Hash) string {
	x := h.String()
	return filepath.Join(s.dir, x[:2], x[2:])
}

// has reports whether the object is stored (pending, loose or in the project).
func (s *objectStore) has(h plumbing.Hash) bool {
	s.pmu.Lock()
	_, ok := s.pending[h]
	s.pmu.Unlock()
	if ok {
		return true
	}
	if _, err := os.Lstat(s.loosePath(h)); err == nil {
		return true
	}
	return s.proj != nil && s.proj.Has(h)
}

// writeLoose writes one raw object as a loose file unless it exists. It is
// an atomic replace of its own rather than atomicfile.WriteNoSync because
// it streams the zlib output into the temp file, names it tmp_obj_* as git
// does (so git's gc and Prune sweep a crash's leftovers), creates each
// fan-out directory once, and leaves the fsyncs to Flush, which batches
// them for every object a snapshot wrote.
func (s *objectStore) writeLoose(h plumbing.Hash, raw []byte) error {
	p := s.loosePath(h)
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	dir := filepath.Dir(p)
	s.dirMu.Lock()
	known := s.fan[h[0]]
	s.dirMu.Unlock()
	if !known {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		s.dirMu.Lock()
		s.fan[h[0]] = true
		s.dirMu.Unlock()
	}
	f, err := os.CreateTemp(dir, "tmp_obj_")
	if err != nil {
		return err
	}
	tmp := f.Name()
	zw := s.zpool.Get().(*zlib.Writer)
	zw.Reset(f)
	_, err = zw.Write(raw)
	if e := zw.Close(); err == nil {
		err = e
	}
	s.zpool.Put(zw)
	if e := f.Chmod(0o444); err == nil {
		err = e
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	s.noteWritten(p, !known)
	return nil
}

// read returns the type and content of an object.
func (s *objectStore) read(h plumbing.Hash) (string, []byte, error) {
	s.pmu.Lock()
	raw, ok := s.pending[h]
	s.pmu.Unlock()
	if ok {
		return splitRaw(raw)
	}
	if f, err := os.Open(s.loosePath(h)); err == nil {
		defer f.Close()
		zr, err := zlib.NewReader(f)
		if err != nil {
			return "", nil, fmt.Errorf("snapshot: corrupt object %s: %w", h, err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return "", nil, fmt.Errorf("snapshot: corrupt object %s: %w", h, err)
		}
		return splitRaw(raw)
	}
	if s.proj == nil {
		return "", nil, fmt.Errorf("%w: %s", ErrNotFound, h)
	}
	typ, data, err := s.proj.Read(h)
	if err != nil {
		if errors.Is(err, gitrepo.ErrNotFound) {
			return "", nil, fmt.Errorf("%w: %s", ErrNotFound, h)
		}
		return "", nil, fmt.Errorf("snapshot: read object: %w", err)
	}
	return typ.String(), data, nil
}

func splitRaw(raw []byte) (string, []byte, error) {
	i := bytes.IndexByte(raw, 0)
	sp := bytes.IndexByte(raw, ' ')
	if i < 0 || sp < 0 || sp > i {
		return "", nil, errors.New("snapshot: corrupt object header")
	}
	return string(raw[:sp]), raw[i+1:], nil
}

// readTree returns the decoded entries of a tree (cached; trees are
// immutable). The zero hash is the empty tree.
func (s *objectStore) readTree(h plumbing.Hash) ([]treeEntry, error) {
	if h.IsZero() || h == gitrepo.EmptyTree {
		return nil, nil
	}
	s.tmu.Lock()
	t, ok := s.trees[h]
	s.tmu.Unlock()
	if ok {
		return t, nil
	}
	typ, data, err := s.read(h)
	if err != nil {
		return nil, err
	}
	if typ != "tree" {
		return nil, fmt.Errorf("%w: %s is a %s", ErrInvalidHash, h, typ)
	}
	t, err = gitrepo.DecodeTree(data)
	if err != nil {
		return nil, err
	}
	s.cacheTree(h, t)
	return t, nil
}

func (s *objectStore) cacheTree(h plumbing.Hash, t []treeEntry) {
	s.tmu.Lock()
	if len(s.trees) > 200000 {
		clear(s.trees)
	}
	s.trees[h] = t
	s.tmu.Unlock()
}

func (s *objectStore) forgetTrees() {
	s.tmu.Lock()
	clear(s.trees)
	s.tmu.Unlock()
}
