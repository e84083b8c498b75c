package tool

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"ocgo/gittest"
)

// gitRepo makes e's project a git repository, for git's own list of the
// files it does not ignore (skipped without git, except in CI).
func gitRepo(t *testing.T, e *testEnv) {
	t.Helper()
	gittest.Env(t)
	if out, err := exec.Command("git", "-C", e.path, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
}

// testRand returns a random seed, or OCGO_SEED's, logged, and its source.
func testRand(t *testing.T) (int64, *rand.Rand) {
	t.Helper()
	seed := rand.Int63()
	if v := os.Getenv("OCGO_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d", seed)
	return seed, rand.New(rand.NewSource(seed))
}

// regularFiles lists the project's regular files (.git left out) as OS
// paths relative to it.
func (e *testEnv) regularFiles() []string {
	var out []string
	_ = filepath.WalkDir(e.path, func(p string, d os.DirEntry, err error) error {
		if d != nil && d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(e.path, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// removeAny removes one of the project's regular files at random and says
// which.
func (e *testEnv) removeAny(rng *rand.Rand) string {
	ex := e.regularFiles()
	if len(ex) == 0 {
		return "rm nothing"
	}
	p := ex[rng.Intn(len(ex))]
	_ = os.Remove(filepath.Join(e.path, p))
	return "rm " + p
}

// moveAny renames one of the project's regular files, at random, to to
// and says which.
func (e *testEnv) moveAny(rng *rand.Rand, to string) string {
	ex := e.regularFiles()
	if len(ex) == 0 {
		return "mv nothing"
	}
	from := ex[rng.Intn(len(ex))]
	_ = os.MkdirAll(filepath.Dir(filepath.Join(e.path, to)), 0o755)
	_ = os.Rename(filepath.Join(e.path, from), filepath.Join(e.path, to))
	return fmt.Sprintf("mv %s %s", from, to)
}

// outsideSecret writes a file beside the project, never to be read by a
// tool: it returns the directory and the file.
func (e *testEnv) outsideSecret(content string) (dir, file string) {
	e.t.Helper()
	dir = filepath.Join(filepath.Dir(e.path), "outside")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	file = filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return dir, file
}

// referenceGrep is what grep must answer, computed without any of ocgo's
// code: git's list of the files it does not ignore (git ls-files -co
// --exclude-standard), of which the regular files with one link at or
// below dir whose base name matches include (filepath.Match), read now,
// binary files (a NUL in the first 8,000 bytes) skipped, every line
// matched without its "\r", ordered by modification time (newest first)
// then path, cut at ResultLimit lines, in the tool's output format.
func referenceGrep(t *testing.T, e *testEnv, pattern, dir, include string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	out, err := exec.Command("git", "-C", e.path, "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	type hit struct {
		abs  string
		mod  int64
		line int
		text string
	}
	var hits []hit
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if rel == "" || (dir != "" && !strings.HasPrefix(rel, dir+"/")) {
			continue
		}
		if ok, _ := filepath.Match(include, filepath.Base(rel)); include != "" && !ok {
			continue
		}
		abs := filepath.Join(e.path, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil || !fi.Mode().IsRegular() || fi.Sys().(*syscall.Stat_t).Nlink > 1 {
			continue
		}
		data, err := os.ReadFile(abs)
		if err != nil || bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			continue
		}
		lines := strings.Split(string(data), "\n")
		if strings.HasSuffix(string(data), "\n") {
			lines = lines[:len(lines)-1]
		}
		for i, l := range lines {
			l = strings.TrimSuffix(l, "\r")
			if re.MatchString(l) {
				hits = append(hits, hit{abs, fi.ModTime().UnixNano(), i + 1, l})
			}
		}
	}
	if len(hits) == 0 {
		return "No files found"
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].mod != hits[j].mod {
			return hits[i].mod > hits[j].mod
		}
		return hits[i].abs < hits[j].abs
	})
	cut := len(hits) > ResultLimit
	hits = hits[:min(len(hits), ResultLimit)]
	var b strings.Builder
	fmt.Fprintf(&b, "Found %d matches", len(hits))
	for i, h := range hits {
		if i == 0 || h.abs != hits[i-1].abs {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "\n%s:", h.abs)
		}
		fmt.Fprintf(&b, "\n  Line %d: %s", h.line, h.text)
	}
	if cut {
		b.WriteString("\n\n(Results are truncated. Consider using a more specific path or pattern.)")
	}
	return b.String()
}

// TestGrepMatchesReferenceOverRandomWrites builds a random tree, then
// changes it at random (files written, rewritten in place at the same
// size, renamed and removed, .gitignore files edited, symlinks and hard
// links to a secret outside the project, binary and CRLF files) and right
// after each step, with no other call in between, compares grep's whole
// output for a random pattern, include and path with referenceGrep. It
// runs with the search engine's trigram index (built before the changes,
// so every later change must be found through the watcher's report of it)
// and without one (a small tree).
func TestGrepMatchesReferenceOverRandomWrites(t *testing.T) {
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprint("indexed=", indexed), func(t *testing.T) {
			seed, rng := testRand(t)
			e := newEnv(t)
			if indexed {
				e.indexMin = -1
			}
			gitRepo(t, e)
			outside, secret := e.outsideSecret("rare07word secret token1\n")
			words := []string{"alpha", "beta", "Gamma", "token1", "token2", "rare01word", "rare07word", "RARE03WORD", "é", "xx", "\xff\xfe", "func", "	", " "}
			patterns := []string{"rare01word", "rare07word", `(?i)rare0\dword`, `rare0[13]word\b`, `token\d`, "^alpha", "beta$", `\bGamma\b`, "x{2}", "é+", "nothing at all", `alpha.*beta`, "func"}
			includes := []string{"", "", "*.go", "*.txt", "*.m?"}
			dirs := []string{"", "a", "a/b", "c", "d/e/f", "ign"}
			names := []string{"f.go", "g.txt", "h.md", "i.log", "j.go", "k.bin"}
			// The first tree has no rare word: only the changes bring them,
			// so an index that missed a change would miss them.
			content := func(rareOK bool) string {
				var b strings.Builder
				n := 1 + rng.Intn(8)
				if rng.Intn(15) == 0 {
					n = 150 // more matches than the tool shows
				}
				eol := "\n"
				if rng.Intn(4) == 0 {
					eol = "\r\n"
				}
				for range n {
					for k := range 1 + rng.Intn(4) {
						if k > 0 {
							b.WriteString(" ")
						}
						w := words[rng.Intn(len(words))]
						if !rareOK && strings.Contains(strings.ToLower(w), "rare") {
							w = "common"
						}
						b.WriteString(w)
					}
					b.WriteString(eol)
				}
				s := b.String()
				switch rng.Intn(8) {
				case 0:
					s = strings.TrimSuffix(s, eol) // no final line end
				case 1:
					s += "\x00binary"
				}
				return s
			}
			randPath := func() string {
				return filepath.Join(dirs[rng.Intn(len(dirs))], names[rng.Intn(len(names))])
			}
			e.file(".gitignore", "ign/\n*.log\n")
			for i := range 300 {
				e.file(filepath.Join(fmt.Sprintf("t%d", i%30), fmt.Sprintf("f%d.go", i)), content(false))
			}
			mustRun(t, e, "grep", m{"pattern": "warm"}) // the engine and its index start
			if err := e.search.WaitIndex(context.Background()); err != nil {
				t.Fatal(err)
			}
			steps := 150
			if testing.Short() {
				steps = 60
			}
			var ops []string
			did := func(f string, a ...any) { ops = append(ops, fmt.Sprintf(f, a...)) }
			for step := range steps {
				ops = ops[:0]
				for range 1 + rng.Intn(4) {
					switch op := rng.Intn(20); {
					case op < 8:
						p, c := randPath(), content(true)
						_ = os.Remove(filepath.Join(e.path, p)) // never write through a link
						e.file(p, c)
						did("write %s %q", p, c)
					case op < 10: // in place, same size: only the watcher's report tells
						if ex := e.regularFiles(); len(ex) > 0 {
							p := ex[rng.Intn(len(ex))]
							b, err := os.ReadFile(filepath.Join(e.path, p))
							if err != nil || len(b) < 10 {
								continue
							}
							copy(b[rng.Intn(len(b)-9):], "rare01word")
							f, err := os.OpenFile(filepath.Join(e.path, p), os.O_WRONLY, 0)
							if err != nil {
								t.Fatal(err)
							}
							_, err = f.WriteAt(b, 0)
							if cerr := f.Close(); err == nil {
								err = cerr
							}
							if err != nil {
								t.Fatal(err)
							}
							did("rewrite %s", p)
						}
					case op < 12:
						did("%s", e.removeAny(rng))
					case op < 14:
						did("%s", e.moveAny(rng, randPath()))
					case op < 15:
						p := filepath.Join(dirs[rng.Intn(3)], ".gitignore")
						c := []string{"*.md\n", "!h.md\n", "b/\n", "j.go\n", "\n"}[rng.Intn(5)]
						e.file(p, c)
						did("write %s %q", p, c)
					case op < 17: // a symlink out of the project
						p := randPath()
						_ = os.MkdirAll(filepath.Dir(filepath.Join(e.path, p)), 0o755)
						_ = os.Remove(filepath.Join(e.path, p))
						target := secret
						if rng.Intn(2) == 0 {
							target = outside
						}
						_ = os.Symlink(target, filepath.Join(e.path, p))
						did("ln -s %s %s", target, p)
					case op < 18: // a hard link to the secret
						p := randPath()
						_ = os.MkdirAll(filepath.Dir(filepath.Join(e.path, p)), 0o755)
						_ = os.Remove(filepath.Join(e.path, p))
						_ = os.Link(secret, filepath.Join(e.path, p))
						did("ln %s %s", secret, p)
					default:
						d := dirs[1+rng.Intn(len(dirs)-1)]
						_ = os.RemoveAll(filepath.Join(e.path, d))
						did("rm -r %s", d)
					}
				}
				for range 2 {
					pattern, include := patterns[rng.Intn(len(patterns))], includes[rng.Intn(len(includes))]
					dir := dirs[rng.Intn(len(dirs))]
					if fi, err := os.Stat(filepath.Join(e.path, dir)); err != nil || !fi.IsDir() {
						dir = ""
					}
					want := referenceGrep(t, e, pattern, dir, include)
					input := m{"pattern": pattern, "include": include}
					if dir != "" {
						input["path"] = dir
					}
					if rng.Intn(2) == 0 && dir != "" {
						input["path"] = filepath.Join(e.path, dir)
					}
					if got := mustRun(t, e, "grep", input).Output; got != want {
						t.Fatalf("step %d (seed %d) after %q: grep %v\n%s\nwant\n%s", step, seed, ops, input, got, want)
					}
				}
			}
		})
	}
}

// TestGrepRareWordBigTree: in a tree large enough for the default trigram
// index, a rare word is found in exactly its files, also in a file created
// and in one rewritten right before the call, and never through a link to
// a file outside the project.
func TestGrepRareWordBigTree(t *testing.T) {
	e := newEnv(t)
	_, secret := e.outsideSecret("zqxrareword outside\n")
	const files = 3000 // above search.DefaultIndexMinFiles
	var body strings.Builder
	for i := range 40 {
		fmt.Fprintf(&body, "func common_%d() { return alpha + beta }\n", i)
	}
	rare := map[int]bool{17: true, 1500: true, 2999: true}
	for i := range files {
		c := body.String()
		if rare[i] {
			c += "// the zqxrareword is here\n"
		}
		e.file(filepath.Join(fmt.Sprintf("pkg%03d", i%100), fmt.Sprintf("f%04d.go", i)), c)
	}
	if err := os.Symlink(secret, filepath.Join(e.path, "pkg000", "link.go")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(secret, filepath.Join(e.path, "pkg001", "hard.go")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e, "grep", m{"pattern": "warm"})
	if err := e.search.WaitIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	grepFiles := func() []string {
		t.Helper()
		var got []string
		for _, l := range strings.Split(mustRun(t, e, "grep", m{"pattern": `zqxrare\w+`}).Output, "\n") {
			if strings.HasSuffix(l, ":") && strings.HasPrefix(l, "/") {
				rel, _ := filepath.Rel(e.path, strings.TrimSuffix(l, ":"))
				got = append(got, rel)
			}
		}
		sort.Strings(got)
		return got
	}
	want := []string{"pkg000/f1500.go", "pkg017/f0017.go", "pkg099/f2999.go"}
	if got := grepFiles(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rare word in %v, want %v", got, want)
	}
	// A new file, and an old one whose block of the index lacks the word.
	e.file("pkg050/new.go", "zqxrareword\n")
	p := filepath.Join(e.path, "pkg042", "f0042.go")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte("common_3()"), []byte("zqxrareword"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.path, "pkg017", "f0017.go")); err != nil {
		t.Fatal(err)
	}
	want = []string{"pkg000/f1500.go", "pkg042/f0042.go", "pkg050/new.go", "pkg099/f2999.go"}
	if got := grepFiles(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the writes, rare word in %v, want %v", got, want)
	}
	// The newest file comes first.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(e.path, "pkg099", "f2999.go"), future, future); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, e, "grep", m{"pattern": "zqxrareword"}).Output
	if first := strings.Split(out, "\n")[1]; first != filepath.Join(e.path, "pkg099", "f2999.go")+":" {
		t.Errorf("newest file not first:\n%s", out)
	}
}
