package gitrepo

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// IndexEntry is one entry of the index with the stat data git compares.
type IndexEntry struct {
	Name  string
	Mtime int64 // ns; 0 when git left it unset
	Ino   uint32
	Size  uint32 // truncated to 32 bits, as git stores it
	Mode  filemode.FileMode
	Hash  plumbing.Hash
	Stage int
	Skip  bool // skip-worktree or intent-to-add
}

// CacheTree is a valid entry of the index's cache-tree extension: the tree
// object the index entries below Path would be written as.
type CacheTree struct {
	Entries  int // index entries covered, recursively
	Subtrees int
	Hash     plumbing.Hash
}

// Index is a decoded index file.
type Index struct {
	Entries []IndexEntry
	// Trees maps a directory's slash path ("" for the top) to its cache-tree
	// entry; directories whose entry git invalidated are absent.
	Trees   map[string]CacheTree
	ModTime time.Time // of the index file, for the racy-git check
	Size    int64
}

var errIndexFormat = errors.New("gitrepo: index format not handled")

// ReadIndex reads the index of the work tree (an error when there is none).
func (r *Repo) ReadIndex() (*Index, error) {
	return ReadIndexFile(r.IndexPath())
}

// ReadIndexFile reads and decodes an index file.
func ReadIndexFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	idx, err := ParseIndex(b)
	if err != nil {
		return nil, err
	}
	idx.ModTime, idx.Size = fi.ModTime(), fi.Size()
	return idx, nil
}

// ParseIndex decodes an index: versions 2 and 3 by parseIndex, others by
// go-git's decoder.
func ParseIndex(b []byte) (*Index, error) {
	if idx, err := parseIndex(b); err == nil {
		return idx, nil
	}
	var gi index.Index
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(&gi); err != nil {
		return nil, err
	}
	idx := &Index{Entries: make([]IndexEntry, 0, len(gi.Entries)), Trees: map[string]CacheTree{}}
	for _, e := range gi.Entries {
		mt := int64(0) // go-git leaves a zero mtime as the zero time
		if !e.ModifiedAt.IsZero() {
			mt = e.ModifiedAt.UnixNano()
		}
		idx.Entries = append(idx.Entries, IndexEntry{
			Name: e.Name, Mtime: mt, Ino: e.Inode, Size: e.Size, Mode: e.Mode,
			Hash: e.Hash, Stage: int(e.Stage), Skip: e.SkipWorktree || e.IntentToAdd,
		})
	}
	if gi.Cache != nil {
		var w treeWalk
		for _, t := range gi.Cache.Entries {
			w.add(idx.Trees, t.Path, t.Entries, t.Trees, t.Hash)
		}
	}
	return idx, nil
}

// parseIndex decodes the entries and cache-tree of a version 2 or 3 index,
// checking its trailing checksum; other versions return errIndexFormat.
func parseIndex(b []byte) (*Index, error) {
	if len(b) < 12+20 || string(b[:4]) != "DIRC" {
		return nil, errIndexFormat
	}
	ver := binary.BigEndian.Uint32(b[4:8])
	if ver != 2 && ver != 3 {
		return nil, errIndexFormat
	}
	body, sum := b[:len(b)-20], b[len(b)-20:]
	// index.skipHash writes a zero checksum.
	if !bytes.Equal(sum, make([]byte, 20)) {
		if h := sha1.Sum(body); !bytes.Equal(h[:], sum) {
			return nil, errIndexFormat
		}
	}
	n := int(binary.BigEndian.Uint32(b[8:12]))
	if n > len(body)/62 {
		return nil, errIndexFormat
	}
	out := make([]IndexEntry, 0, n)
	p := 12
	for range n {
		if p+62 > len(body) {
			return nil, errIndexFormat
		}
		e := body[p:]
		flags := binary.BigEndian.Uint16(e[60:62])
		hdr := 62
		var ext uint16
		if flags&0x4000 != 0 {
			if ver < 3 || p+64 > len(body) {
				return nil, errIndexFormat
			}
			ext = binary.BigEndian.Uint16(e[62:64])
			hdr = 64
		}
		nameLen := int(flags & 0xfff)
		if nameLen == 0xfff {
			i := bytes.IndexByte(e[hdr:], 0)
			if i < 0 {
				return nil, errIndexFormat
			}
			nameLen = i
		}
		// Entry padded with 1 to 8 NULs to a multiple of 8 bytes.
		size := (hdr + nameLen + 8) &^ 7
		if p+size > len(body) {
			return nil, errIndexFormat
		}
		ie := IndexEntry{
			Name:  string(e[hdr : hdr+nameLen]),
			Mtime: int64(binary.BigEndian.Uint32(e[8:12]))*1e9 + int64(binary.BigEndian.Uint32(e[12:16])),
			Ino:   binary.BigEndian.Uint32(e[20:24]),
			Mode:  filemode.FileMode(binary.BigEndian.Uint32(e[24:28])),
			Size:  binary.BigEndian.Uint32(e[36:40]),
			Stage: int(flags>>12) & 3,
			Skip:  ext&(0x4000|0x2000) != 0,
		}
		copy(ie.Hash[:], e[40:60])
		out = append(out, ie)
		p += size
	}
	idx := &Index{Entries: out, Trees: map[string]CacheTree{}}
	// Extensions: a 4-byte signature, a 4-byte size, the data.
	for p+8 <= len(body) {
		sig := string(body[p : p+4])
		sz := int(binary.BigEndian.Uint32(body[p+4 : p+8]))
		p += 8
		if sz < 0 || p+sz > len(body) {
			return nil, errIndexFormat
		}
		if sig == "TREE" {
			if err := parseCacheTree(body[p:p+sz], idx.Trees); err != nil {
				return nil, err
			}
		}
		p += sz
	}
	return idx, nil
}

// parseCacheTree decodes the TREE extension: nodes in pre-order, each a
// NUL-terminated name (relative to its parent), an entry count (-1:
// invalidated), a subtree count and, when valid, the tree hash.
func parseCacheTree(b []byte, out map[string]CacheTree) error {
	var w treeWalk
	for len(b) > 0 {
		nul := bytes.IndexByte(b, 0)
		if nul < 0 {
			return errIndexFormat
		}
		name := string(b[:nul])
		b = b[nul+1:]
		sp := bytes.IndexByte(b, ' ')
		nl := bytes.IndexByte(b, '\n')
		if sp < 0 || nl < sp {
			return errIndexFormat
		}
		ents, err1 := strconv.Atoi(string(b[:sp]))
		subs, err2 := strconv.Atoi(string(b[sp+1 : nl]))
		if err1 != nil || err2 != nil || subs < 0 {
			return errIndexFormat
		}
		b = b[nl+1:]
		var h plumbing.Hash
		if ents >= 0 {
			if len(b) < 20 {
				return errIndexFormat
			}
			copy(h[:], b[:20])
			b = b[20:]
		}
		w.add(out, name, ents, subs, h)
	}
	return nil
}

// treeWalk turns the cache-tree's pre-order names into full paths.
type treeWalk struct {
	stack []treeFrame
}

type treeFrame struct {
	path string
	left int // subtrees still to come
}

func (w *treeWalk) add(out map[string]CacheTree, name string, ents, subs int, h plumbing.Hash) {
	for len(w.stack) > 0 && w.stack[len(w.stack)-1].left == 0 {
		w.stack = w.stack[:len(w.stack)-1]
	}
	path := name
	if len(w.stack) > 0 {
		top := &w.stack[len(w.stack)-1]
		top.left--
		if top.path != "" {
			path = top.path + "/" + name
		}
	}
	if ents >= 0 {
		out[path] = CacheTree{Entries: ents, Subtrees: subs, Hash: h}
	}
	w.stack = append(w.stack, treeFrame{path: path, left: subs})
}
