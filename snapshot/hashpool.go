package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/gitrepo"
)

type hashJob struct {
	node *dirNode
	name string
	rel  string
	e    *fileEntry
	skip string
}

// hashAll reads and hashes queued files with a few workers.
func (sc *scan) hashAll() error {
	if len(sc.jobs) == 0 {
		return nil
	}
	s := sc.s
	bulk := len(sc.jobs) > 64
	err := eachParallel(len(sc.jobs), 4, func() func(int) error {
		buf := make([]byte, 0, 64<<10)
		return func(i int) error {
			j := &sc.jobs[i]
			content, skip := s.readForHash(j.rel, j.e, &buf)
			if skip != "" {
				j.skip = skip
				return nil
			}
			h, raw := gitrepo.HashObject("blob", content)
			j.e.hash = h
			if s.store.has(h) {
				return nil
			}
			if bulk {
				if err := s.store.writeLoose(h, raw); err != nil {
					return fmt.Errorf("snapshot: write object: %w", err)
				}
				return nil
			}
			sc.mu.Lock()
			sc.objs = append(sc.objs, pendingObject{hash: h, raw: raw})
			sc.mu.Unlock()
			return nil
		}
	})
	if err != nil {
		return err
	}
	for _, j := range sc.jobs {
		if j.skip != "" {
			sc.skips[j.rel] = j.skip
			if j.node.files[j.name] == j.e {
				delete(j.node.files, j.name)
				j.node.markDirty()
			}
		}
	}
	return nil
}

// readForHash returns a file's content as git would store it (the link
// target for symlinks) or a reason to leave it out.
func (s *Snapshotter) readForHash(rel string, e *fileEntry, buf *[]byte) ([]byte, string) {
	if e.mode == filemode.Symlink {
		t, err := s.root.Readlink(rel)
		if err != nil {
			return nil, "unreadable"
		}
		return []byte(t), ""
	}
	// No link followed at any component (dirent.Root), non-blocking, and
	// only a regular file with a single link: a FIFO never stalls a
	// snapshot and a hard link to an outside file is not copied into the
	// shadow repository.
	f, err := s.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		// Swapped for a link since the walk: record the link.
		t, err := s.root.Readlink(rel)
		if err != nil {
			return nil, "unreadable"
		}
		e.mode, e.racy = filemode.Symlink, true
		return []byte(t), ""
	}
	if err != nil {
		return nil, "unreadable"
	}
	defer func() { _ = f.Close() }()
	fi, why := plainStat(f)
	if why != "" {
		return nil, why
	}
	if !e.sameInode(inodeOf(fi)) {
		e.racy = true // another file since the walk: look again next time
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, max(cap(b), 64<<10))
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if limit := s.sizeLimit(rel); int64(len(b)) > limit {
			return nil, fmt.Sprintf("larger than %d bytes", limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "unreadable"
		}
	}
	*buf = b
	if int64(len(b)) != e.size {
		e.racy = true // changed while we read it: look again next time
	}
	return b, ""
}
