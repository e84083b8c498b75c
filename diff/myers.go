package diff

// maxEditDistance bounds the Myers search; beyond it the changed middle is
// reported as a whole replacement (not minimal, but bounded in time/memory).
const maxEditDistance = 2000

// diffLines returns an edit script turning a into b.
func diffLines(a, b []string) []Kind {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]Kind, 0, len(a)+len(b)-pre-suf)
	for range pre {
		ops = append(ops, Equal)
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
		ops = append(ops, Equal)
	}
	return ops
}

func myers(a, b []int32) []Kind {
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

func backtrack(trace [][]int32, dEnd, n, m int) []Kind {
	var rev []Kind
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
			rev = append(rev, Equal)
			x--
			y--
		}
		if x == px {
			rev = append(rev, Insert)
			y--
		} else {
			rev = append(rev, Delete)
			x--
		}
	}
	for x > 0 && y > 0 {
		rev = append(rev, Equal)
		x--
		y--
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func replaceAll(n, m int) []Kind {
	ops := make([]Kind, 0, n+m)
	for range n {
		ops = append(ops, Delete)
	}
	for range m {
		ops = append(ops, Insert)
	}
	return ops
}
