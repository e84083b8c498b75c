package tool

import (
	"os"
	"runtime"
	"testing"
	"time"

	"ocgo/confine"
)

// monoEnv is a testEnv over the tree named by OCGO_MONOREPO (bench/monorepo.sh
// generates one with bench/genrepo); the benchmark is skipped without it.
func monoEnv(b *testing.B) *testEnv {
	dir := os.Getenv("OCGO_MONOREPO")
	if dir == "" {
		b.Skip("OCGO_MONOREPO not set (bench/monorepo.sh sets it)")
	}
	r, err := confine.Open(dir, confine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	return &testEnv{t: b, root: r, path: dir, rules: map[string]map[string]string{}, reads: map[string]time.Time{}}
}

// BenchmarkGlobMonorepo lists every .go file of the monorepo by mtime.
func BenchmarkGlobMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "glob", m{"pattern": "**/*.go"})
}

// BenchmarkGlobNarrowMonorepo globs a pattern that matches a few files.
func BenchmarkGlobNarrowMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "glob", m{"pattern": "**/f1234*.go"})
}

// BenchmarkGrepRareMonorepo greps the rare word of bench/genrepo, with
// the search engine's trigram index built.
func BenchmarkGrepRareMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "grep", m{"pattern": "zqxrareword"})
}

// BenchmarkGrepScanMonorepo greps a pattern without a literal the index
// can use, so every file is read.
func BenchmarkGrepScanMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "grep", m{"pattern": `z.x.a.e.o.d`})
}

// BenchmarkGrepCommonMonorepo greps a word on most lines of every file:
// only the newest files the tool can show are kept (heapMB: the Go heap's
// size taken from the OS).
func BenchmarkGrepCommonMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "grep", m{"pattern": "return"})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/1e6, "heapMB")
}

// BenchmarkListMonorepo lists the root.
func BenchmarkListMonorepo(b *testing.B) {
	e := monoEnv(b)
	benchTool(b, e, "list", m{})
}

func benchTool(b *testing.B, e *testEnv, name string, input m) {
	if _, err := run(b, e, name, input); err != nil { // warm: the index's first walk
		b.Fatal(err)
	}
	if err := e.search.WaitIndex(b.Context()); err != nil { // and the trigram index
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := run(b, e, name, input); err != nil {
			b.Fatal(err)
		}
	}
}
