package search

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/watcher"
)

var (
	benchOnce sync.Once
	benchRoot string
	benchErr  error
	benchTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchTmp != "" {
		_ = os.RemoveAll(benchTmp) // a temporary directory: nothing to report to
	}
	os.Exit(code)
}

// goSrcRepo copies $(go env GOROOT)/src into a temporary git repository
// (outside any benchmark timer) and returns its path.
func goSrcRepo(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("benchmark needs a GOROOT copy; skipped under -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git not installed")
	}
	benchOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			benchErr = err
			return
		}
		benchTmp, benchErr = os.MkdirTemp("", "ocgo-bench-")
		if benchErr != nil {
			return
		}
		benchRoot = filepath.Join(benchTmp, "src")
		env := append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com",
			"GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com", "GIT_CONFIG_NOSYSTEM=1")
		for _, c := range [][]string{
			{"cp", "-a", filepath.Join(strings.TrimSpace(string(out)), "src"), benchRoot},
			{"git", "-C", benchRoot, "init", "-q"},
			{"git", "-C", benchRoot, "add", "-A"},
			{"git", "-C", benchRoot, "commit", "-qm", "src"},
		} {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Env = env
			if o, err := cmd.CombinedOutput(); err != nil {
				benchErr = fmt.Errorf("%v: %v\n%s", c, err, o)
				return
			}
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchRoot
}

func benchService(b *testing.B, root string) *Service {
	w, err := watcher.New(watcher.Options{Env: os.LookupEnv, Root: root})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(Options{Env: os.LookupEnv, Root: root, Cwd: root, Watcher: w})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := svc.Close(); err != nil {
			b.Error(err)
		}
		if err := w.Close(); err != nil {
			b.Error(err)
		}
	})
	return svc
}

func BenchmarkStatusAfter10Edits(b *testing.B) {
	root := goSrcRepo(b)
	svc := benchService(b, root)
	ctx := context.Background()
	if _, err := svc.Status(ctx); err != nil { // initial full computation
		b.Fatal(err)
	}
	files := []string{"net/http/server.go", "net/http/client.go", "fmt/print.go", "os/file.go", "io/io.go",
		"strings/strings.go", "bytes/buffer.go", "sort/sort.go", "time/time.go", "errors/errors.go"}
	orig := map[string][]byte{}
	for _, f := range files {
		orig[f], _ = os.ReadFile(filepath.Join(root, f))
	}
	b.Cleanup(func() {
		for f, c := range orig {
			if err := os.WriteFile(filepath.Join(root, f), c, 0o644); err != nil {
				b.Error(err)
			}
		}
	})
	var n int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		changes := make([]watcher.Change, 0, len(files))
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(root, f), append(append([]byte(nil), orig[f]...), fmt.Sprintf("// edit %d\n", i)...), 0o644); err != nil {
				b.Fatal(err)
			}
			changes = append(changes, watcher.Change{Path: f, Event: watcher.EventChange})
		}
		b.StartTimer()
		svc.Notify(changes)
		st, err := svc.Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(st)
	}
	b.StopTimer()
	if n != len(files) {
		b.Fatalf("status has %d entries, want %d", n, len(files))
	}
}

func BenchmarkStatusFull(b *testing.B) {
	root := goSrcRepo(b)
	w, err := watcher.New(watcher.Options{Env: os.LookupEnv, Root: root})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ResetTimer()
	for b.Loop() {
		svc, err := New(Options{Env: os.LookupEnv, Root: root, Watcher: w})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := svc.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindFiles(b *testing.B) {
	root := goSrcRepo(b)
	svc := benchService(b, root)
	ctx := context.Background()
	// Build the candidate cache.
	if _, err := svc.FindFiles(ctx, "", 10, false); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"server", "http", "ioutil"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if r, err := svc.FindFiles(ctx, q, 10, false); err != nil || len(r) != 10 {
					b.Fatalf("%v %v", r, err)
				}
			}
		})
	}
}

// medianRun times fn n times and returns the median.
func medianRun(n int, fn func() error) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		t0 := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

// BenchmarkGrepFunc runs Grep("func") with no effective overall bound, as
// the original's rg invocation, and reports the ratio to `rg --json` run
// with the original's flags on the same tree when rg is installed.
func BenchmarkGrepFunc(b *testing.B) {
	root := goSrcRepo(b)
	svc := benchService(b, root)
	ctx := context.Background()
	var matches int
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ms, err := svc.Grep(ctx, "func", 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		matches = len(ms)
	}
	b.StopTimer()
	b.ReportMetric(float64(matches), "matches")
	rg, err := exec.LookPath("rg")
	if err != nil {
		return
	}
	d, err := medianRun(5, func() error {
		cmd := exec.Command(rg, "--json", "--hidden", "--glob=!.git/*", "--max-count=10", "func")
		cmd.Dir = root
		cmd.Stdout = nil
		return cmd.Run()
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Microseconds())/1000, "rg_ms")
	b.ReportMetric(float64(total)/float64(b.N)/float64(d), "ratio_to_rg")
}

func BenchmarkSymbolsFirstQuery(b *testing.B) {
	root := goSrcRepo(b)
	for b.Loop() {
		svc := benchService(b, root)
		if _, err := svc.Symbols(context.Background(), "ListenAndServe"); err != nil {
			b.Fatal(err)
		}
	}
}

// monorepo is the tree bench/monorepo.sh generates (bench/genrepo); the
// scale benchmarks skip without it.
func monorepo(b *testing.B) string {
	dir := os.Getenv("OCGO_MONOREPO")
	if dir == "" {
		b.Skip("OCGO_MONOREPO is not set (bench/monorepo.sh sets it)")
	}
	return dir
}

// BenchmarkGrepRareWordMonorepo: /find of a word in 7 of 100,000 files,
// answered through the trigram index. It reports the index's build time
// and size.
func BenchmarkGrepRareWordMonorepo(b *testing.B) {
	root := monorepo(b)
	t0 := time.Now()
	s := open(b, root, root)
	idx := waitIndexB(s)
	built := time.Since(t0)
	b.ResetTimer()
	for range b.N {
		ms, err := s.Grep(context.Background(), "zqxrareword", 0)
		if err != nil || len(ms) == 0 {
			b.Fatalf("%d matches, %v", len(ms), err)
		}
	}
	b.ReportMetric(float64(built.Milliseconds()), "ms-open+index")
	b.ReportMetric(float64(len(idx.post)*2+len(idx.off)*4+len(idx.files)*16)/(1<<20), "MB-index")
}

func waitIndexB(s *Service) *triIndex {
	for {
		s.tri.mu.Lock()
		idx, building := s.tri.cur, s.tri.building
		s.tri.mu.Unlock()
		if idx != nil && !building {
			return idx
		}
		time.Sleep(5 * time.Millisecond)
	}
}
