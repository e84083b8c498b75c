package snapshot

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/atomicfile"
	"ocgo/relpath"
)

// fileEntry is the stat cache record of one snapshotted file.
type fileEntry struct {
	size      int64
	mtime     int64 // ns
	ino       uint64
	mode      filemode.FileMode // git mode: regular, executable or symlink
	hash      plumbing.Hash
	racy      bool // mtime too close to the scan to trust the stat match
	fromIndex bool // hash taken from the project's index (size/ino truncated)
}

// sameInode reports whether ino is the entry's inode (only its low 32 bits
// when the entry came from the project's index, which truncates them).
func (e *fileEntry) sameInode(ino uint64) bool {
	if e.fromIndex {
		return uint32(e.ino) == uint32(ino)
	}
	return e.ino == ino
}

// matches reports whether a fresh stat equals the cached one.
func (e *fileEntry) matches(n *fileEntry) bool {
	if e.racy || e.mode != n.mode || e.mtime != n.mtime {
		return false
	}
	if e.fromIndex {
		return uint32(e.size) == uint32(n.size) && e.sameInode(n.ino)
	}
	return e.size == n.size && e.sameInode(n.ino)
}

// persistBehind persists the stat cache once the current operation has
// released the locks, unless Close got there first.
func (s *Snapshotter) persistBehind() {
	defer s.bg.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.persisting = false
	if s.closed || !s.dirtyCache {
		return
	}
	if err := s.lock.acquire(context.Background()); err != nil {
		s.log.Warn("Persist stat cache", slog.Any("err", err))
		return
	}
	defer s.lock.release()
	if err := s.persistCache(); err != nil {
		s.log.Warn("Persist stat cache", slog.Any("err", err))
	}
}

// cachePath is the stat cache file inside the shadow git dir.
func (s *Snapshotter) cachePath() string { return filepath.Join(s.gitDir, "ocgo-statcache") }

const cacheMagic = "ocgo-statcache 1\n"

// persistCache writes the stat cache so a restart does not rehash.
func (s *Snapshotter) persistCache() error {
	if s.tree == nil {
		return nil
	}
	var b []byte
	b = append(b, cacheMagic...)
	b = appendString(b, s.work)
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		for name, e := range n.files {
			b = appendString(b, relpath.Join(n.rel, name))
			b = appendVarint(b, e.size)
			b = appendVarint(b, e.mtime)
			b = appendVarint(b, int64(e.ino))
			b = appendVarint(b, int64(e.mode))
			b = append(b, e.hash[:]...)
			racy := byte(0)
			if e.racy {
				racy = 1
			}
			if e.fromIndex {
				racy |= 2
			}
			b = append(b, racy)
		}
		for _, c := range n.dirs {
			visit(c)
		}
	}
	visit(s.tree)
	if err := atomicfile.WriteFileNoSync(s.cachePath(), b, 0o644); err != nil {
		return err
	}
	s.dirtyCache = false
	s.lastPersist = time.Now()
	return nil
}

// loadCache reads the persisted stat cache as seeds for the first scan.
func (s *Snapshotter) loadCache() {
	// A process killed while persisting leaves atomicfile's temp file
	// (".ocgo-statcache.*.tmp"); the cross-process lock is held here, as
	// when persisting, so none is being written now.
	if tmps, _ := filepath.Glob(filepath.Join(s.gitDir, ".ocgo-statcache.*.tmp")); len(tmps) > 0 {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	b, err := os.ReadFile(s.cachePath())
	if err != nil || !strings.HasPrefix(string(b), cacheMagic) {
		return
	}
	r := &byteReader{b: b[len(cacheMagic):]}
	if r.string() != s.work {
		return
	}
	seeds := map[string]*fileEntry{}
	for !r.done() {
		p := r.string()
		e := &fileEntry{size: r.varint(), mtime: r.varint(), ino: uint64(r.varint()), mode: filemode.FileMode(r.varint())}
		copy(e.hash[:], r.bytes(20))
		fl := r.bytes(1)
		if r.err {
			return // truncated or corrupt: ignore the cache
		}
		e.racy = fl[0]&1 != 0
		e.fromIndex = fl[0]&2 != 0
		if clean, err := cleanRel(p); err == nil && clean == p {
			seeds[p] = e
		}
	}
	s.seeds = seeds
	// Objects of a cache written by a process that then died may never have
	// reached the disk: only trust hashes whose object exists.
	for p, e := range seeds {
		if !e.fromIndex && !s.store.has(e.hash) {
			delete(seeds, p)
		}
	}
}
