package search

import (
	"context"
	"sort"
	"strings"
	"sync"
)

// DefaultFindLimit is the number of /find/file results when none is asked.
const DefaultFindLimit = 10

// Scores follow fzf's scheme (match, gap, boundary and camel-case bonuses).
const (
	scoreMatch         = 16
	scoreGapStart      = -3
	scoreGapExtension  = -1
	bonusBoundary      = scoreMatch / 2
	bonusNonWord       = scoreMatch / 2
	bonusCamel123      = bonusBoundary + scoreGapExtension
	bonusConsecutive   = -(scoreGapStart + scoreGapExtension)
	bonusFirstCharX    = 2
	bonusBoundaryWhite = bonusBoundary + 2
	bonusBoundaryDelim = bonusBoundary + 1
)

type charClass uint8

const (
	cWhite charClass = iota
	cNonWord
	cDelim
	cLower
	cUpper
	cNumber
)

func classOf(c byte) charClass {
	switch {
	case c >= 'a' && c <= 'z':
		return cLower
	case c >= 'A' && c <= 'Z':
		return cUpper
	case c >= '0' && c <= '9':
		return cNumber
	case c == ' ' || c == '\t' || c == '\n':
		return cWhite
	case c == '/' || c == ',' || c == ':' || c == ';' || c == '|':
		return cDelim
	case c >= 0x80:
		return cLower // treat non-ASCII bytes as letters
	}
	return cNonWord
}

func bonusFor(prev, cur charClass) int {
	if cur >= cLower {
		switch prev {
		case cWhite:
			return bonusBoundaryWhite
		case cDelim:
			return bonusBoundaryDelim
		case cNonWord:
			return bonusBoundary
		}
	}
	if (prev == cLower && cur == cUpper) || (prev != cNumber && cur == cNumber) {
		return bonusCamel123
	}
	switch cur {
	case cNonWord, cDelim:
		return bonusNonWord
	case cWhite:
		return bonusBoundaryWhite
	}
	return 0
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// scorer holds reusable rows for the fzf-like dynamic programme.
type scorer struct {
	h, c, prevH, prevC []int
	bonus              []int
}

const negInf = -1 << 30

// score returns the best alignment score of term in text (0, false when the
// term is not a subsequence). caseSensitive compares bytes exactly.
func (sc *scorer) score(text, term string, caseSensitive bool) (int, bool) {
	n, m := len(text), len(term)
	if m == 0 {
		return 0, true
	}
	// Quick subsequence check.
	j := 0
	for i := 0; i < n && j < m; i++ {
		c := text[i]
		if !caseSensitive {
			c = lowerASCII(c)
		}
		if c == term[j] {
			j++
		}
	}
	if j < m {
		return 0, false
	}
	if cap(sc.h) < n {
		sc.h, sc.c = make([]int, n), make([]int, n)
		sc.prevH, sc.prevC = make([]int, n), make([]int, n)
		sc.bonus = make([]int, n)
	}
	h, c, ph, pc, bonus := sc.h[:n], sc.c[:n], sc.prevH[:n], sc.prevC[:n], sc.bonus[:n]
	prev := cDelim // the start of a path acts like a delimiter
	for i := 0; i < n; i++ {
		cur := classOf(text[i])
		bonus[i] = bonusFor(prev, cur)
		prev = cur
	}
	best := negInf
	for qi := 0; qi < m; qi++ {
		q := term[qi]
		run := negInf // best H[qi-1][j'] + gap penalty for j' <= j-2
		for i := 0; i < n; i++ {
			if qi > 0 && i >= 2 {
				cand := ph[i-2] + scoreGapStart
				if run != negInf {
					run += scoreGapExtension
				}
				if cand > run && ph[i-2] != negInf {
					run = cand
				}
			}
			ch := text[i]
			if !caseSensitive {
				ch = lowerASCII(ch)
			}
			h[i], c[i] = negInf, 0
			if ch != q {
				continue
			}
			b := bonus[i]
			if qi == 0 {
				h[i], c[i] = scoreMatch+b*bonusFirstCharX, b
				continue
			}
			s := negInf
			if run != negInf {
				s = run + scoreMatch + b
				c[i] = b
			}
			if i > 0 && ph[i-1] != negInf {
				cb := max(b, pc[i-1], bonusConsecutive)
				if v := ph[i-1] + scoreMatch + cb; v > s {
					s, c[i] = v, cb
				}
			}
			h[i] = s
		}
		if qi == m-1 {
			for i := 0; i < n; i++ {
				best = max(best, h[i])
			}
		}
		h, ph = ph, h
		c, pc = pc, c
	}
	if best == negInf {
		return 0, false
	}
	return best, true
}

type fuzzyCache struct {
	mu      sync.Mutex
	version uint64
	dirs    bool
	built   bool
	items   []string // Cwd-relative; directories end in "/"
}

func (s *Service) candidates(includeDirs bool) []string {
	fc := &s.find
	v := s.w.Version()
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.built && fc.version == v && fc.dirs == includeDirs {
		return fc.items
	}
	var items []string
	for _, f := range s.w.Files() {
		if s.underCwd(f) {
			items = append(items, s.display(f))
		}
	}
	if includeDirs {
		for _, d := range s.w.Dirs() {
			if s.underCwd(d) && d != s.cwdRel {
				items = append(items, s.display(d)+"/")
			}
		}
	}
	fc.items, fc.version, fc.dirs, fc.built = items, v, includeDirs, true
	return items
}

// FindFiles ranks the indexed files under Cwd (and directories, with a
// trailing "/", when includeDirs) against a fuzzy query, fzf-style:
// space-separated terms must all match; smart case; ties go to the shorter
// path. limit <= 0 means DefaultFindLimit.
func (s *Service) FindFiles(ctx context.Context, query string, limit int, includeDirs bool) ([]string, error) {
	if limit <= 0 {
		limit = DefaultFindLimit
	}
	items := s.candidates(includeDirs)
	terms := strings.Fields(query)
	if len(terms) == 0 {
		return append([]string(nil), items[:min(limit, len(items))]...), nil
	}
	cs := make([]bool, len(terms))
	for i, t := range terms {
		cs[i] = strings.ToLower(t) != t
		if !cs[i] {
			terms[i] = t
		}
	}
	type hit struct {
		score, idx int
	}
	var hits []hit
	var sc scorer
	for idx, it := range items {
		if idx&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		total := 0
		ok := true
		for ti, t := range terms {
			sv, m := sc.score(it, t, cs[ti])
			if !m {
				ok = false
				break
			}
			total += sv
		}
		if ok {
			hits = append(hits, hit{total, idx})
		}
	}
	sort.Slice(hits, func(a, b int) bool {
		x, y := hits[a], hits[b]
		if x.score != y.score {
			return x.score > y.score
		}
		if lx, ly := len(items[x.idx]), len(items[y.idx]); lx != ly {
			return lx < ly
		}
		return x.idx < y.idx
	})
	out := make([]string, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, items[h.idx])
	}
	return out, nil
}
