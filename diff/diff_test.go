package diff

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ocgo/gittest"
)

// TestNumstatMatchesGit compares line counts with git on random edits.
func TestNumstatMatchesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: it is the reference these counts are checked against")
	}
	gittest.Env(t)
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
		var b []byte
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
		if err := os.WriteFile(pa, a, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pb, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("git", "diff", "--no-index", "--numstat", "--minimal", pa, pb).Output()
		wa, wr := 0, 0
		if f := strings.Fields(string(out)); len(f) >= 2 {
			wa, _ = strconv.Atoi(f[0])
			wr, _ = strconv.Atoi(f[1])
		}
		ga, gr := Numstat(a, b)
		if ga != wa || gr != wr {
			t.Errorf("case %d: numstat %d/%d, git %d/%d\na=%q\nb=%q", i, ga, gr, wa, wr, a, b)
		}
	}
}

// TestUnifiedAppliesWithGit renders random edits with three lines of
// context and with the whole file, applies each patch with `git apply`,
// and checks the result is the new text.
func TestUnifiedAppliesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: it is the reference patches are checked against")
	}
	gittest.Env(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(2))
	words := []string{"a\n", "b\n", "c\n", "d\n", "e\n", "\n", "tail"}
	gen := func(n int) string {
		var sb strings.Builder
		for range rng.Intn(n) {
			sb.WriteString(words[rng.Intn(len(words)-1)])
		}
		if rng.Intn(3) == 0 {
			sb.WriteString(words[len(words)-1])
		}
		return sb.String()
	}
	for i := range 80 {
		a := gen(60)
		lines := SplitLines(a)
		for range 1 + rng.Intn(4) { // a few local edits
			if len(lines) == 0 {
				break
			}
			k := rng.Intn(len(lines))
			switch rng.Intn(3) {
			case 0:
				lines = append(lines[:k], lines[k+1:]...)
			case 1:
				lines[k] = "x\n"
			default:
				lines = append(lines[:k], append([]string{"y\n"}, lines[k:]...)...)
			}
		}
		b := strings.Join(lines, "")
		if rng.Intn(4) == 0 {
			b += "no newline"
		}
		if a == b {
			continue
		}
		for _, ctx := range []int{3, WholeFile} {
			p := Unified("f", a, b, Options{Context: ctx})
			// git wants a/ b/ names; the Index header is ignored by it.
			p = strings.Replace(p, "--- f\n+++ f\n", "--- a/f\n+++ b/f\n", 1)
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte(a), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("git", "apply", "--unsafe-paths", "-")
			cmd.Dir = dir
			cmd.Stdin = strings.NewReader(p)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("case %d ctx %d: git apply: %v\n%s\npatch:\n%s", i, ctx, err, out, p)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "f"))
			if string(got) != b {
				t.Fatalf("case %d ctx %d: applied %q, want %q\npatch:\n%s", i, ctx, got, b, p)
			}
		}
	}
}

func TestUnifiedShape(t *testing.T) {
	got := Unified("x.go", "a\nb\n", "a\nc", Options{Context: 3, OldLabel: "old", NewLabel: "new"})
	want := "Index: x.go\n" + strings.Repeat("=", 67) + "\n--- x.go\told\n+++ x.go\tnew\n" +
		"@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := Unified("e", "", "n\n", Options{Context: WholeFile}); !strings.Contains(got, "@@ -0,0 +1,1 @@\n+n\n") {
		t.Fatalf("new file: %s", got)
	}
	if !IsBinary([]byte("a\x00b")) || IsBinary([]byte("plain")) {
		t.Fatal("IsBinary")
	}
}
