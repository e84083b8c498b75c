package search

import (
	"bytes"
	"fmt"
	"strings"
)

// binarySniff is how many leading bytes git and rg inspect for a NUL byte.
const binarySniff = 8000

func isBinary(b []byte) bool {
	if len(b) > binarySniff {
		b = b[:binarySniff]
	}
	return bytes.IndexByte(b, 0) >= 0
}

// splitLines splits b into lines that keep their "\n"; a last line without
// one is its own (different) line, as in git.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	out := make([]string, 0, bytes.Count(b, []byte{'\n'})+1)
	s := string(b)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func countLines(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := bytes.Count(b, []byte{'\n'})
	if b[len(b)-1] != '\n' {
		n++
	}
	return n
}

type opKind uint8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// maxEditDistance bounds the Myers search; beyond it the changed middle is
// reported as a whole replacement (not minimal, but bounded in time/memory).
const maxEditDistance = 2000

// diffLines returns an edit script turning a into b.
func diffLines(a, b []string) []opKind {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]opKind, 0, len(a)+len(b)-pre-suf)
	for range pre {
		ops = append(ops, opEqual)
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	// Intern lines so the inner loop compares ints.
	ids := make(map[string]int32, len(am)+len(bm))
	ai, bi := make([]int32, len(am)), make([]int32, len(bm))
	for i, s := range am {
		id, ok := ids[s]
		if !ok {
			id = int32(len(ids))
			ids[s] = id
		}
		ai[i] = id
	}
	for i, s := range bm {
		id, ok := ids[s]
		if !ok {
			id = int32(len(ids))
			ids[s] = id
		}
		bi[i] = id
	}
	ops = append(ops, myers(ai, bi)...)
	for range suf {
		ops = append(ops, opEqual)
	}
	return ops
}

func myers(a, b []int32) []opKind {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(n, m)
	}
	limit := n + m
	if limit > maxEditDistance {
		limit = maxEditDistance
	}
	off := limit + 1
	v := make([]int32, 2*limit+3)
	var trace [][]int32
	for d := 0; d <= limit; d++ {
		// Save v[-d..d] as it was before round d.
		snap := make([]int32, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = int(v[off+k+1])
			} else {
				x = int(v[off+k-1]) + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = int32(x)
			if x >= n && y >= m {
				return backtrack(trace, d, n, m)
			}
		}
	}
	return replaceAll(n, m)
}

func backtrack(trace [][]int32, dEnd, n, m int) []opKind {
	var rev []opKind
	x, y := n, m
	for d := dEnd; d > 0; d-- {
		snap := trace[d] // v before round d, window [-d-1, d+1]
		at := func(k int) int { return int(snap[k+d+1]) }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			rev = append(rev, opEqual)
			x--
			y--
		}
		if x == px {
			rev = append(rev, opInsert)
			y--
		} else {
			rev = append(rev, opDelete)
			x--
		}
	}
	for x > 0 && y > 0 {
		rev = append(rev, opEqual)
		x--
		y--
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func replaceAll(n, m int) []opKind {
	ops := make([]opKind, 0, n+m)
	for range n {
		ops = append(ops, opDelete)
	}
	for range m {
		ops = append(ops, opInsert)
	}
	return ops
}

// numstat counts added and removed lines like `git diff --numstat`; binary
// content counts as 0/0 (git prints "-").
func numstat(old, cur []byte) (added, removed int) {
	if isBinary(old) || isBinary(cur) {
		return 0, 0
	}
	// Drop the common head and tail (whole lines) before splitting, so a
	// small edit in a big file costs a memcmp and not a line split.
	p := 0
	for p < len(old) && p < len(cur) && old[p] == cur[p] {
		p++
	}
	p = bytes.LastIndexByte(old[:p], '\n') + 1 // back to a line start
	q := 0
	for q < len(old)-p && q < len(cur)-p && old[len(old)-1-q] == cur[len(cur)-1-q] {
		q++
	}
	// Keep only whole common lines at the tail: the kept suffix must start
	// at a line start in both texts.
	lineStart := func(b []byte, i int) bool { return i == 0 || b[i-1] == '\n' }
	for q > 0 && !(lineStart(old, len(old)-q) && lineStart(cur, len(cur)-q)) {
		q--
	}
	old, cur = old[p:len(old)-q], cur[p:len(cur)-q]
	for _, op := range diffLines(splitLines(old), splitLines(cur)) {
		switch op {
		case opInsert:
			added++
		case opDelete:
			removed++
		}
	}
	return added, removed
}

// fullPatch renders a unified diff with the whole file as context, in the
// shape 0.5.29 produced (jsdiff createPatch with context: Infinity).
func fullPatch(name string, old, cur []byte) string {
	a, b := splitLines(old), splitLines(cur)
	var sb strings.Builder
	sb.Grow(len(old) + len(cur) + 256)
	fmt.Fprintf(&sb, "Index: %s\n%s\n--- %s\told\n+++ %s\tnew\n", name, strings.Repeat("=", 67), name, name)
	as, bs := 1, 1
	if len(a) == 0 {
		as = 0
	}
	if len(b) == 0 {
		bs = 0
	}
	fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", as, len(a), bs, len(b))
	i, j := 0, 0
	emit := func(prefix byte, line string) {
		sb.WriteByte(prefix)
		sb.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
	for _, op := range diffLines(a, b) {
		switch op {
		case opEqual:
			emit(' ', a[i])
			i++
			j++
		case opDelete:
			emit('-', a[i])
			i++
		case opInsert:
			emit('+', b[j])
			j++
		}
	}
	return sb.String()
}
