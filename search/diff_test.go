package search

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNumstatMatchesGit compares line counts with git on random edits.
func TestNumstatMatchesGit(t *testing.T) {
	needGit(t)
	gitEnv(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	words := []string{"a\n", "b\n", "c\n", "func x() {}\n", "\n", "}\n", "tail"}
	gen := func() []byte {
		var sb strings.Builder
		for range rng.Intn(40) {
			sb.WriteString(words[rng.Intn(len(words)-1)])
		}
		if rng.Intn(3) == 0 {
			sb.WriteString(words[len(words)-1])
		}
		return []byte(sb.String())
	}
	for i := range 60 {
		a := gen()
		b := a
		if i%2 == 0 { // small edit of a
			s := []byte(string(a))
			if len(s) > 0 {
				s[rng.Intn(len(s))] = 'z'
			}
			b = append(s, gen()[:rng.Intn(3)]...)
		} else {
			b = gen()
		}
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(pa, a, 0o644)
		os.WriteFile(pb, b, 0o644)
		out, _ := exec.Command("git", "diff", "--no-index", "--numstat", "--minimal", pa, pb).Output()
		wa, wr := 0, 0
		if f := strings.Fields(string(out)); len(f) >= 2 {
			wa, _ = strconv.Atoi(f[0])
			wr, _ = strconv.Atoi(f[1])
		}
		ga, gr := numstat(a, b)
		if ga != wa || gr != wr {
			t.Errorf("case %d: numstat %d/%d, git %d/%d\na=%q\nb=%q", i, ga, gr, wa, wr, a, b)
		}
	}
}
