package search

import (
	"context"
	"regexp/syntax"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"ocgo/relpath"
	"ocgo/watcher"
)

// The trigram index narrows /find to the files that can match, in the way
// of Google's codesearch, tuned to stay small in memory:
//
//   - Bytes are folded to a 64-letter alphabet (ASCII case folded, digits,
//     '_', the rest in 27 buckets), so there are 64³ = 262,144 trigrams and
//     the posting table is one flat array.
//   - Postings name blocks of consecutive files (in path order), at most
//     maxBlocks of them, not files. A trigram's postings are a list of
//     block numbers while short and a bitmap of all blocks once the list
//     would be as large, so no trigram costs more than 128 bytes.
//   - The index only narrows. A file changed since it was built (the
//     watcher says so), a file it does not list and a file it could not read
//     are always searched; a pattern without a literal of three bytes or more
//     searches everything. So an answer with the index is the answer without
//     it, as fresh as the watcher's knowledge of the disk.
//   - It is built in the background after start, and again when the changed
//     files pass rebuildFraction of the tree; /find never waits for it.
//   - A tree of fewer than Options.IndexMinFiles files gets no index: reading
//     it whole is as quick as a look-up, and the index's fixed tables (1 MB
//     kept, several transient) would be most of a small project's memory.
//     Once minRebuildDirty files have changed, the size is checked again.
const (
	// DefaultIndexMinFiles is Options.IndexMinFiles when unset.
	DefaultIndexMinFiles = 2000

	triAlphabet     = 64
	triCount        = triAlphabet * triAlphabet * triAlphabet
	minBlockFiles   = 32
	maxBlocks       = 1024           // block numbers and bitmaps fit 64 uint16 words
	denseLen        = maxBlocks / 16 // a bitmap in uint16 words
	rebuildFraction = 50             // rebuild when more than 1/50 of the files changed
	minRebuildDirty = 500
)

// triFold maps a byte to the index alphabet.
var triFold = func() (t [256]byte) {
	for b := range 256 {
		switch {
		case b >= 'a' && b <= 'z':
			t[b] = byte(b - 'a')
		case b >= 'A' && b <= 'Z':
			t[b] = byte(b - 'A')
		case b >= '0' && b <= '9':
			t[b] = byte(26 + b - '0')
		case b == '_':
			t[b] = 36
		default:
			t[b] = byte(37 + b%27)
		}
	}
	return t
}()

func trigram(a, b, c byte) uint32 {
	return uint32(triFold[a])<<12 | uint32(triFold[b])<<6 | uint32(triFold[c])
}

// triIndex is one immutable build.
type triIndex struct {
	files  []string        // indexed files, sorted; block i is files[i*block:(i+1)*block]
	block  int             // files per block
	always map[string]bool // files that could not be read when it was built
	off    []uint32        // postings of trigram t: post[off[t]:off[t+1]]
	post   []uint16        // block numbers ascending, or a bitmap (dense)
	dense  []uint64        // bit t: trigram t's postings are a bitmap
}

// trigrams is the Service's index state.
type trigrams struct {
	mu       sync.Mutex
	cur      *triIndex
	dirty    map[string]struct{} // changed since cur's build began: always searched
	since    map[string]struct{} // changed since the running build began
	building bool
	closed   bool
	minDirty int           // rebuild threshold's floor; 0: minRebuildDirty (tests lower it)
	minFiles int           // no index below this many files (Options.IndexMinFiles)
	small    bool          // the last build found the tree too small to index
	hold     chan struct{} // tests: a rebuild waits for it to close before reading files
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// start builds the first index in the background.
func (t *trigrams) start(s *Service) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirty = map[string]struct{}{}
	t.rebuildLocked(s)
}

// rebuildLocked starts a background build unless one runs (t.mu held).
func (t *trigrams) rebuildLocked(s *Service) {
	if t.building || t.closed {
		return
	}
	t.building = true
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	// Changes from now on are not known to be in the new build; until it
	// is installed, the old index still needs every change since its own.
	t.since = map[string]struct{}{}
	hold := t.hold
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		files := s.w.Files()
		if len(files) < t.minFiles {
			t.mu.Lock()
			// No index: nothing needs the changes seen so far.
			t.building, t.small, t.since, t.dirty = false, true, nil, map[string]struct{}{}
			t.mu.Unlock()
			return
		}
		idx := buildTrigrams(ctx, s, files)
		t.mu.Lock()
		t.building, t.small = false, false
		if idx == nil { // cancelled: keep the old index and its changes
			t.since = nil
			t.mu.Unlock()
			return
		}
		t.cur, t.dirty, t.since = idx, t.since, nil
		t.mu.Unlock()
		// The build's per-trigram lists are garbage now: return them to
		// the OS at once (they are several times the index's size).
		debug.FreeOSMemory()
	}()
}

func (t *trigrams) close() {
	t.mu.Lock()
	t.closed = true
	if t.cancel != nil {
		t.cancel()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// notify records changed paths; a build is started when many have changed.
func (t *trigrams) notify(s *Service, changes []watcher.Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirty == nil {
		return // not started
	}
	for _, c := range changes {
		t.dirty[c.Path] = struct{}{}
		if t.since != nil {
			t.since[c.Path] = struct{}{}
		}
	}
	floor := minRebuildDirty
	if t.minDirty > 0 {
		floor = t.minDirty
	}
	switch {
	case t.cur != nil && len(t.dirty) > max(floor, len(t.cur.files)/rebuildFraction):
		t.rebuildLocked(s)
	case t.cur == nil && t.small && len(t.dirty) > floor:
		t.rebuildLocked(s) // the tree may have grown enough
	}
}

// buildTrigrams reads every file of the watcher's index once. It returns
// nil when ctx is cancelled.
func buildTrigrams(ctx context.Context, s *Service, files []string) *triIndex {
	block := max(minBlockFiles, (len(files)+maxBlocks-1)/maxBlocks)
	nblocks := (len(files) + block - 1) / block
	lists := make([][]uint16, triCount)
	dense := make([]uint64, triCount/64)
	seen := make([]uint64, triCount/64)
	always := map[string]bool{}
	g := grepper{s: s, buf: make([]byte, 0, 256<<10)}
	for b := range nblocks {
		if ctx.Err() != nil {
			return nil
		}
		clear(seen)
		lo, hi := b*block, min((b+1)*block, len(files))
		var dir dirHandle
		dirName, open := "", false
		for _, f := range files[lo:hi] {
			d := relpath.Dir(f)
			if !open || d != dirName {
				if open {
					g.closeDir(dir)
				}
				var err error
				dir, err = g.openDir(d)
				dirName, open = d, err == nil
			}
			if !open {
				always[f] = true
				continue
			}
			data, ok := g.read(dir, relpath.Base(f))
			if !ok {
				always[f] = true
				continue
			}
			for i := 0; i+2 < len(data); i++ {
				tg := trigram(data[i], data[i+1], data[i+2])
				if seen[tg/64]&(1<<(tg%64)) != 0 {
					continue
				}
				seen[tg/64] |= 1 << (tg % 64)
				l := lists[tg]
				switch {
				case dense[tg/64]&(1<<(tg%64)) != 0:
					l[b/16] |= 1 << (b % 16)
				case len(l) == denseLen: // as large as a bitmap: become one
					bm := make([]uint16, denseLen)
					for _, x := range l {
						bm[x/16] |= 1 << (x % 16)
					}
					bm[b/16] |= 1 << (b % 16)
					lists[tg] = bm
					dense[tg/64] |= 1 << (tg % 64)
				default:
					lists[tg] = append(l, uint16(b))
				}
			}
		}
		if open {
			g.closeDir(dir)
		}
	}
	// Flatten into one array.
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	idx := &triIndex{files: files, block: block, always: always, off: make([]uint32, triCount+1), post: make([]uint16, 0, n), dense: dense}
	for tg, l := range lists {
		idx.off[tg] = uint32(len(idx.post))
		idx.post = append(idx.post, l...)
		lists[tg] = nil
	}
	idx.off[triCount] = uint32(len(idx.post))
	return idx
}

// filter narrows files (sorted, root-relative) to those that can hold a
// match of re. ok is false when the index cannot help (no index yet, or no
// usable literal); files is then to be searched whole.
func (t *trigrams) filter(re *syntax.Regexp, files []string) (out []string, ok bool) {
	lits := requiredLiterals(re)
	if len(lits) == 0 {
		return nil, false
	}
	t.mu.Lock()
	idx := t.cur
	dirty := make(map[string]struct{}, len(t.dirty))
	for p := range t.dirty {
		dirty[p] = struct{}{}
	}
	t.mu.Unlock()
	if idx == nil {
		return nil, false
	}
	// The candidate blocks, as a bitmap: the AND of every trigram's set.
	var blocks [denseLen]uint16
	for i := range blocks {
		blocks[i] = 0xffff
	}
	for _, lit := range lits {
		for i := 0; i+2 < len(lit); i++ {
			tg := trigram(lit[i], lit[i+1], lit[i+2])
			p := idx.post[idx.off[tg]:idx.off[tg+1]]
			var set [denseLen]uint16
			if idx.dense[tg/64]&(1<<(tg%64)) != 0 {
				copy(set[:], p)
			} else {
				for _, b := range p {
					set[b/16] |= 1 << (b % 16)
				}
			}
			for w := range blocks {
				blocks[w] &= set[w]
			}
		}
	}
	hit := map[string]struct{}{}
	for b := range maxBlocks {
		if blocks[b/16]&(1<<(b%16)) == 0 {
			continue
		}
		lo, hi := min(b*idx.block, len(idx.files)), min((b+1)*idx.block, len(idx.files))
		for _, f := range idx.files[lo:hi] {
			hit[f] = struct{}{}
		}
	}
	// Both lists are sorted: a file the index does not list is kept.
	j := 0
	for _, f := range files {
		for j < len(idx.files) && idx.files[j] < f {
			j++
		}
		_, h := hit[f]
		_, d := dirty[f]
		if h || d || idx.always[f] || j == len(idx.files) || idx.files[j] != f {
			out = append(out, f)
		}
	}
	return out, true
}

// requiredLiterals returns byte strings of three bytes or more that every
// match of re contains (an empty list when there is none to rely on). A
// case-folded literal is kept only when it is ASCII, where the index's
// folding covers every spelling.
func requiredLiterals(re *syntax.Regexp) [][]byte {
	var out [][]byte
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			s := string(re.Rune)
			if len(s) < 3 || strings.ContainsRune(s, utf8.RuneError) {
				return
			}
			if re.Flags&syntax.FoldCase != 0 {
				for _, r := range re.Rune {
					if r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S' {
						return // Unicode folds k→K (Kelvin) and s→ſ outside ASCII
					}
				}
			}
			out = append(out, []byte(s))
		case syntax.OpCapture, syntax.OpPlus:
			walk(re.Sub[0])
		case syntax.OpRepeat:
			if re.Min >= 1 {
				walk(re.Sub[0])
			}
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub)
			}
		}
	}
	walk(re)
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
