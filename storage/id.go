package storage

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ID prefixes of opencode 0.5.x.
const (
	PrefixSession    = "ses"
	PrefixMessage    = "msg"
	PrefixPart       = "prt"
	PrefixPermission = "per"
)

// idLen is the length of every generated ID: prefix, '_', 12 hex, 14 base62.
const idLen = 30

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// IDs generates opencode-compatible identifiers. Session IDs sort newest
// first, every other kind oldest first, so file listings come out in the
// order clients expect. The counter is shared by all prefixes, as in
// opencode, so two IDs made in the same millisecond still order.
type IDs struct {
	mu      sync.Mutex
	now     func() time.Time
	lastMS  int64
	counter int64
}

// NewIDs returns a generator using clock (time.Now when nil).
func NewIDs(clock func() time.Time) *IDs {
	if clock == nil {
		clock = time.Now
	}
	return &IDs{now: clock}
}

// Ascending returns a new ID that sorts after every earlier one.
func (g *IDs) Ascending(prefix string) string { return g.make(prefix, false) }

// Descending returns a new ID that sorts before every earlier one.
func (g *IDs) Descending(prefix string) string { return g.make(prefix, true) }

func (g *IDs) make(prefix string, descending bool) string {
	g.mu.Lock()
	ms := g.now().UnixMilli()
	if ms != g.lastMS {
		g.lastMS = ms
		g.counter = 0
	}
	g.counter++
	v := uint64(ms)*0x1000 + uint64(g.counter)
	g.mu.Unlock()
	if descending {
		v = ^v
	}
	var b [6]byte
	for i := range 6 {
		b[i] = byte(v >> (8 * (5 - i)))
	}
	var rnd [14]byte
	_, _ = rand.Read(rnd[:])
	var sb strings.Builder
	sb.Grow(idLen)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.WriteString(hex.EncodeToString(b[:]))
	for _, r := range rnd {
		sb.WriteByte(base62[int(r)%62])
	}
	return sb.String()
}

// ValidID reports whether id is safe to use as a file name for prefix:
// it must start with prefix + "_" and hold only [A-Za-z0-9_-], at most 64
// bytes. Every ID taken from a request goes through this check before it
// reaches the disk, so "..", "/" and encoded variants can never form a path.
func ValidID(prefix, id string) bool {
	return len(id) > len(prefix)+1 && strings.HasPrefix(id, prefix+"_") && ValidPartID(id)
}

// ValidPartID reports whether id may name a part file. Parts are the one
// kind of ID a client may choose freely: opencode 0.5 stores whatever the
// prompt's part carries (opencode.nvim sends a UUID) as
// part/<session>/<message>/<id>.json, so ocgo keeps such IDs too, but only
// when they are 1-64 bytes of [A-Za-z0-9_-]: no dot, no separator, nothing
// that could form a path. ocgo's own part IDs start with "prt_".
func ValidPartID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckID returns an ErrInvalid error naming field when id is not valid.
func CheckID(field, prefix, id string) error {
	if !ValidID(prefix, id) {
		return fmt.Errorf("%w: %s must be an id starting with %q", ErrInvalid, field, prefix+"_")
	}
	return nil
}
