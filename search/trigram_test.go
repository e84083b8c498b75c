package search

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"time"

	"ocgo/watcher"
)

// bruteGrep is /find without any index: every file of the tree, read now.
func bruteGrep(t *testing.T, s *Service, pattern string) []Match {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var lit []byte
	if p, err := syntax.Parse(pattern, syntax.Perl); err == nil {
		lit = requiredLiteral(p.Simplify())
	}
	var out []Match
	for _, f := range s.w.Files() {
		data, err := os.ReadFile(filepath.Join(s.root, filepath.FromSlash(f)))
		if err != nil {
			continue
		}
		out = append(out, s.grepData(f, data, re, lit)...)
	}
	if len(out) > DefaultGrepLimit {
		out = out[:DefaultGrepLimit]
	}
	return out
}

// waitIndex waits until the background build has finished.
func waitIndex(t *testing.T, s *Service) *triIndex {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.tri.mu.Lock()
		idx, building := s.tri.cur, s.tri.building
		s.tri.mu.Unlock()
		if idx != nil && !building {
			return idx
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("trigram index not built")
	return nil
}

// TestTrigramIndexAnswersAsWithout drives random trees, edits (content,
// new files, deletions, case changes) and patterns, and checks that /find
// with the index answers exactly what a search of every file answers.
func TestTrigramIndexAnswersAsWithout(t *testing.T) {
	words := []string{"alpha", "Beta", "gamma_1", "DELTA", "epsilon", "zeta", "kelvin", "sigma", "x", "yy", "\xff\xfe", "ÄÖÜ", "\t", " "}
	patterns := []string{"alpha", "(?i)beta", "gamma_1", "delta", "DELTA", "eps.lon", "zeta\\s+alpha", "(alpha|beta)", "kel+vin", "(?i)kelvin", "(?i)SIGMA", "ÄÖÜ", "a", "(?i)äöü", "x{2}", "(zeta)+ ?Beta", "nothing here", "alph[a]"}
	// Rare words, so blocks differ and a stale index would miss them.
	var rare []string
	for i := range 40 {
		w := fmt.Sprintf("rare%02dword", i)
		rare = append(rare, w)
		patterns = append(patterns, w, w, "(?i)"+strings.ToUpper(w)+"\\b")
	}
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(seed)))
			root := t.TempDir()
			text := func() string {
				var sb strings.Builder
				for range 1 + rng.Intn(30) {
					if rng.Intn(30) == 0 {
						sb.WriteString(rare[rng.Intn(len(rare))])
					} else {
						sb.WriteString(words[rng.Intn(len(words))])
					}
					if rng.Intn(4) == 0 {
						sb.WriteByte('\n')
					} else {
						sb.WriteByte(' ')
					}
				}
				return sb.String()
			}
			name := func() string { return fmt.Sprintf("d%d/f%d.txt", rng.Intn(6), rng.Intn(120)) }
			for range 150 {
				write(t, root, name(), text())
			}
			s := open(t, root, root)
			waitIndex(t, s)
			if seed%2 == 1 { // rebuild after a few changes, while queries go on
				s.tri.mu.Lock()
				s.tri.minDirty = 3
				s.tri.mu.Unlock()
			}
			check := func(step string) {
				t.Helper()
				for range 20 {
					p := patterns[rng.Intn(len(patterns))]
					got, err := s.Grep(context.Background(), p, 0)
					if err != nil {
						t.Fatal(err)
					}
					if want := bruteGrep(t, s, p); len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: /find %q with the index: %d matches, without: %d", step, p, len(got), len(want))
					}
				}
			}
			check("fresh index")
			for round := range 4 {
				for range 10 {
					switch rng.Intn(3) {
					case 0:
						write(t, root, name(), text()) // new or rewritten file
					case 1:
						// The name may not exist (yet): that is a no-op.
						if err := os.Remove(filepath.Join(root, filepath.FromSlash(name()))); err != nil && !errors.Is(err, fs.ErrNotExist) {
							t.Fatal(err)
						}
					default:
						p := filepath.Join(root, filepath.FromSlash(name()))
						if b, err := os.ReadFile(p); err == nil {
							if err := os.WriteFile(p, []byte(strings.ToUpper(string(b))), 0o644); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
				syncWatcher(t, s)
				check(fmt.Sprint("after edits, round ", round))
			}
		})
	}
}

// syncWatcher waits until the watcher's index, and so the search state
// fed by its batches, holds every change made so far.
func syncWatcher(t *testing.T, s *Service) {
	t.Helper()
	if err := s.w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTrigramIndexNarrows checks that a rare word is searched in a few
// files only, and that a file changed after the build is still found.
func TestTrigramIndexNarrows(t *testing.T) {
	root := t.TempDir()
	for i := range 400 {
		body := fmt.Sprintf("common words here %d\n", i)
		if i == 123 {
			body += "the zqxrare word\n"
		}
		write(t, root, fmt.Sprintf("p%d/f%03d.go", i%20, i), body)
	}
	s := open(t, root, root)
	idx := waitIndex(t, s)
	parsed, _ := syntax.Parse("zqxrare", syntax.Perl)
	files, ok := s.tri.filter(parsed, s.w.Files())
	if !ok || len(files) > idx.block {
		t.Fatalf("filter kept %d of %d files (ok=%v), want at most one block of %d", len(files), len(s.w.Files()), ok, idx.block)
	}
	if !strings.Contains(strings.Join(files, ","), "f123.go") {
		t.Fatalf("filter dropped the file with the word: %v", files)
	}
	write(t, root, "p7/f007.go", "now zqxrare here too\n")
	syncWatcher(t, s)
	ms, err := s.Grep(context.Background(), "zqxrare", 0)
	if err != nil || len(ms) != 2 {
		t.Fatalf("after an edit: %d matches (%v), want 2", len(ms), err)
	}
}

// TestTrigramRebuildKeepsChanges: while a rebuild runs, files changed
// before it began are still searched through the old index.
func TestTrigramRebuildKeepsChanges(t *testing.T) {
	root := t.TempDir()
	for i := range 200 {
		write(t, root, fmt.Sprintf("d%d/f%03d.txt", i%10, i), fmt.Sprintf("plain text %d\n", i))
	}
	s := open(t, root, root)
	waitIndex(t, s)
	hold := make(chan struct{})
	s.tri.mu.Lock()
	s.tri.minDirty, s.tri.hold = 2, hold
	s.tri.mu.Unlock()
	write(t, root, "d1/f001.txt", "the qqvzword is here\n")
	for i := 2; i < 8; i++ { // past the threshold: max(2, 200/50)
		write(t, root, fmt.Sprintf("d%d/f%03d.txt", i, i), "other\n")
	}
	syncWatcher(t, s)
	// Modifications reach the index with the watcher's next batch.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.tri.mu.Lock()
		building := s.tri.building
		s.tri.mu.Unlock()
		if building {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("seven changes to 200 files started no rebuild")
		}
	}
	if ms, _ := s.Grep(context.Background(), "qqvzword", 0); len(ms) != 1 {
		t.Fatalf("during the rebuild: %d matches, want 1", len(ms))
	}
	close(hold)
	waitIndex(t, s)
	if ms, _ := s.Grep(context.Background(), "qqvzword", 0); len(ms) != 1 {
		t.Fatalf("after the rebuild: %d matches, want 1", len(ms))
	}
}

// TestSmallTreeHasNoIndex: below IndexMinFiles no index is built (start-up
// pays nothing for it) and /find reads every file; once enough files
// changed, the size is checked again and a grown tree gets its index.
func TestSmallTreeHasNoIndex(t *testing.T) {
	root := t.TempDir()
	for i := range 40 {
		write(t, root, fmt.Sprintf("f%02d.go", i), fmt.Sprintf("package p // %d\n", i))
	}
	w, err := watcher.New(watcher.Options{Env: os.LookupEnv, Root: root, Debounce: 15 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Env: os.LookupEnv, Root: root, Cwd: root, Watcher: w, IndexMinFiles: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(); _ = w.Close() })
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.tri.mu.Lock()
		cur, small, building := s.tri.cur, s.tri.small, s.tri.building
		s.tri.mu.Unlock()
		if cur != nil {
			t.Fatalf("a %d-file tree got an index", len(s.w.Files()))
		}
		if small && !building {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the size check never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ms, err := s.Grep(context.Background(), "// 17", 0); err != nil || len(ms) != 1 {
		t.Fatalf("find without an index: %v %v", ms, err)
	}
	// The tree grows past the threshold with more than minDirty changes.
	s.tri.mu.Lock()
	s.tri.minDirty = 5
	s.tri.mu.Unlock()
	var changes []watcher.Change
	for i := 40; i < 60; i++ {
		rel := fmt.Sprintf("f%02d.go", i)
		write(t, root, rel, "package p\n")
		changes = append(changes, watcher.Change{Path: rel, Event: "add"})
	}
	for time.Now().Before(deadline) && len(s.w.Files()) < 60 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Notify(changes)
	waitIndex(t, s)
}
