package snapshot

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// indexEntry is the part of a git index entry that seeding needs.
type indexEntry struct {
	name  string
	mtime int64 // ns
	ino   uint32
	size  uint32
	mode  filemode.FileMode
	hash  plumbing.Hash
	stage int
	skip  bool // skip-worktree or intent-to-add
}

var errIndexFormat = errors.New("snapshot: index format not handled")

// parseIndex decodes the entries of a version 2 or 3 git index, checking
// its trailing checksum. It is several times faster than go-git's decoder
// on large indexes; other versions return errIndexFormat so the caller can
// fall back to go-git.
func parseIndex(b []byte) ([]indexEntry, error) {
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
	out := make([]indexEntry, 0, n)
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
		ie := indexEntry{
			name:  string(e[hdr : hdr+nameLen]),
			mtime: int64(binary.BigEndian.Uint32(e[8:12]))*1e9 + int64(binary.BigEndian.Uint32(e[12:16])),
			ino:   binary.BigEndian.Uint32(e[20:24]),
			mode:  filemode.FileMode(binary.BigEndian.Uint32(e[24:28])),
			size:  binary.BigEndian.Uint32(e[36:40]),
			stage: int(flags>>12) & 3,
			skip:  ext&(0x4000|0x2000) != 0,
		}
		copy(ie.hash[:], e[40:60])
		out = append(out, ie)
		p += size
	}
	return out, nil
}
