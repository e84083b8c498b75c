package snapshot

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"ocgo/ignore"
)

// rehashIndexSeeds drops index-derived hashes below dirs whose
// .gitattributes may rewrite content on `git add`.
func (sc *scan) rehashIndexSeeds() {
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		for name, e := range n.files {
			if e.fromIndex {
				e.fromIndex = false
				sc.jobs = append(sc.jobs, hashJob{node: n, name: name, rel: joinRel(n.rel, name), e: e})
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
// tracked files are not rehashed on the first snapshot.
func (s *Snapshotter) seedFromIndex() {
	p := filepath.Join(s.proj.GitDir, "index")
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	idxTime := fi.ModTime().UnixNano()
	if v, ok := ignore.CoreOption(s.proj.CommonDir, "autocrlf"); ok && v != "false" {
		return // add would convert line endings; hashes would not match raw bytes
	}
	ents, err := readIndexEntries(f, fi.Size())
	if err != nil {
		s.log.Debug("Project index not usable for seeding", slog.Any("err", err))
		return
	}
	prefix := ""
	if s.proj.Prefix != "" {
		prefix = s.proj.Prefix + "/"
	}
	seeds := make(map[string]*fileEntry, len(ents))
	for _, e := range ents {
		if e.stage != 0 || e.skip {
			continue
		}
		if e.mode != filemode.Regular && e.mode != filemode.Executable && e.mode != filemode.Symlink {
			continue
		}
		if !strings.HasPrefix(e.name, prefix) {
			continue
		}
		seeds[e.name[len(prefix):]] = &fileEntry{
			size: int64(e.size), mtime: e.mtime, ino: uint64(e.ino), mode: e.mode, hash: e.hash,
			racy: e.mtime >= idxTime || e.mtime == 0, fromIndex: true,
		}
	}
	s.seeds = seeds
}

func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// readIndexEntries reads the index with parseIndex, or go-git's decoder for
// the versions parseIndex leaves out.
func readIndexEntries(f *os.File, size int64) ([]indexEntry, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	ents, err := parseIndex(b)
	if err == nil {
		return ents, nil
	}
	var idx index.Index
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(&idx); err != nil {
		return nil, err
	}
	ents = make([]indexEntry, 0, len(idx.Entries))
	for _, e := range idx.Entries {
		ents = append(ents, indexEntry{
			name: e.Name, mtime: unixNanoOrZero(e.ModifiedAt), ino: e.Inode, size: e.Size, mode: e.Mode,
			hash: e.Hash, stage: int(e.Stage), skip: e.SkipWorktree || e.IntentToAdd,
		})
	}
	return ents, nil
}
