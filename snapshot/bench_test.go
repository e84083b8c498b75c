package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmark corpus is a copy of $GOROOT/src committed as a git repo,
// built once per `go test -bench` run and removed by TestMain.
var corpus struct {
	once  sync.Once
	dir   string // temp root holding work/ and scratch dirs
	work  string
	files int // files in the corpus's git index
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if corpus.dir != "" {
		_ = os.RemoveAll(corpus.dir) // a temporary directory: nothing to report to
	}
	os.Exit(code)
}

var benchFiles = []string{"net/http/server.go", "fmt/print.go", "runtime/proc.go"}

func corpusGit(dir string, args ...string) error {
	cmd := exec.Command("git", append([]string{"-c", "user.name=b", "-c", "user.email=b@example.com"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %v: %v: %s", args, err, errb.String())
	}
	return nil
}

func benchCorpus(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("benchmark corpus skipped in -short mode")
	}
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git not installed")
	}
	corpus.once.Do(func() {
		dir, err := os.MkdirTemp("", "snapshot-bench-")
		if err != nil {
			corpus.err = err
			return
		}
		corpus.dir = dir
		corpus.work = filepath.Join(dir, "work")
		goroot, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			corpus.err = fmt.Errorf("go env GOROOT: %v", err)
			return
		}
		src := filepath.Join(strings.TrimSpace(string(goroot)), "src")
		if out, err := exec.Command("cp", "-a", src, corpus.work).CombinedOutput(); err != nil {
			corpus.err = fmt.Errorf("copy GOROOT/src: %v: %s", err, out)
			return
		}
		if err := corpusGit(corpus.work, "init", "-q"); err != nil {
			corpus.err = err
			return
		}
		if err := corpusGit(corpus.work, "add", "-A"); err != nil {
			corpus.err = err
			return
		}
		if corpus.err = corpusGit(corpus.work, "commit", "-qm", "corpus"); corpus.err != nil {
			return
		}
		ls := exec.Command("git", "ls-files", "-z")
		ls.Dir = corpus.work
		out, err := ls.Output()
		if err != nil {
			corpus.err = fmt.Errorf("git ls-files: %v", err)
			return
		}
		corpus.files = bytes.Count(out, []byte{0})
	})
	if corpus.err != nil {
		b.Fatal(corpus.err)
	}
	return corpus.work
}

func scratch(b *testing.B) string {
	b.Helper()
	d, err := os.MkdirTemp(corpus.dir, "s-")
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// editor rewrites the three benchmark files: one line inserted mid-file
// and one appended, different on every call.
type editor struct {
	work string
	orig map[string][]byte
	n    int
}

func newEditor(b *testing.B, work string) *editor {
	e := &editor{work: work, orig: map[string][]byte{}}
	for _, f := range benchFiles {
		data, err := os.ReadFile(filepath.Join(work, f))
		if err != nil {
			b.Fatal(err)
		}
		e.orig[f] = data
	}
	b.Cleanup(func() { e.reset(b) })
	return e
}

func (e *editor) edit(b *testing.B) {
	e.n++
	for _, f := range benchFiles {
		o := e.orig[f]
		mid := bytes.IndexByte(o[len(o)/2:], '\n') + len(o)/2 + 1
		var buf bytes.Buffer
		buf.Write(o[:mid])
		fmt.Fprintf(&buf, "// bench edit %d\n", e.n)
		buf.Write(o[mid:])
		fmt.Fprintf(&buf, "// bench tail %d\n", e.n)
		if err := os.WriteFile(filepath.Join(e.work, f), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// reset puts the edited files back as they were.
func (e *editor) reset(b *testing.B) {
	for f, o := range e.orig {
		if err := os.WriteFile(filepath.Join(e.work, f), o, 0o644); err != nil {
			b.Error(err)
		}
	}
}

// timeCLI runs the shell command runs times and returns the median.
func timeCLI(b *testing.B, runs int, prep func(), script string) time.Duration {
	b.Helper()
	var ds []time.Duration
	for range runs {
		if prep != nil {
			prep()
		}
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = corpus.work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", script, err, out)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// cpuTime is the process's user + system CPU time: on a busy machine it
// moves far less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// originalTrack is what opencode 0.5.29 runs for a snapshot (its
// snapshot/index.ts, reference §8): `git add .` and `git write-tree` with
// --git-dir, from the project root, the shadow repository created once by
// `git init` with GIT_DIR and GIT_WORK_TREE (which records core.worktree).
// With init, it is the original's first snapshot.
func originalTrack(gitDir string, init bool) string {
	script := "git --git-dir " + gitDir + " add . && git --git-dir " + gitDir + " write-tree >/dev/null"
	if init {
		script = "GIT_DIR=" + gitDir + " GIT_WORK_TREE=\"$PWD\" git init -q && " + script
	}
	return script
}

func report(b *testing.B, cli time.Duration) {
	ours := float64(b.Elapsed()) / float64(b.N)
	b.ReportMetric(ours/1e6, "ms/op")
	b.ReportMetric(float64(cli)/1e6, "cli-ms/op")
	b.ReportMetric(float64(cli)/ours, "x-faster-than-cli")
}

func benchOpen(b *testing.B, work, gitDir string) *Snapshotter {
	s, err := Open(Options{Env: os.LookupEnv, GitDir: gitDir, WorkTree: work})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkFirstSnapshotGitProject: Open + first Track (+ objects on disk)
// on a committed git project, seeded from its index and objects.
func BenchmarkFirstSnapshotGitProject(b *testing.B) {
	work := benchCorpus(b)
	ctx := context.Background()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		gd := filepath.Join(scratch(b), "snap")
		b.StartTimer()
		c0 := cpuTime()
		s := benchOpen(b, work, gd)
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Dir(gd)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	cli := timeCLI(b, 1, nil, originalTrack(filepath.Join(scratch(b), "cli"), true))
	report(b, cli)
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(corpus.files), "files")
}

// cliShadow prepares a git-CLI shadow dir that has already seen the tree,
// as the original's is after its first snapshot.
func cliShadow(b *testing.B) string {
	gd := filepath.Join(scratch(b), "cli")
	timeCLI(b, 1, nil, originalTrack(gd, true))
	return gd
}

func benchIncremental(b *testing.B, watched bool) {
	work := benchCorpus(b)
	ctx := context.Background()
	s := benchOpen(b, work, filepath.Join(scratch(b), "snap"))
	defer s.Close()
	if _, err := s.Track(ctx); err != nil {
		b.Fatal(err)
	}
	if watched {
		s.MarkChanged(nil)
		if _, err := s.Track(ctx); err != nil { // the switch to watcher-fed mode rescans once
			b.Fatal(err)
		}
	}
	ed := newEditor(b, work)
	for b.Loop() {
		b.StopTimer()
		ed.edit(b)
		if watched {
			s.MarkChanged(benchFiles)
		}
		b.StartTimer()
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	gd := cliShadow(b)
	cli := timeCLI(b, 5, func() { ed.edit(b) }, originalTrack(gd, false))
	report(b, cli)
}

// BenchmarkTrack3FilesWatcherFed: snapshot after a 3-file edit reported by
// MarkChanged (no walk).
func BenchmarkTrack3FilesWatcherFed(b *testing.B) { benchIncremental(b, true) }

// BenchmarkTrack3FilesRescan: the same with a full rescan (no watcher).
func BenchmarkTrack3FilesRescan(b *testing.B) { benchIncremental(b, false) }

// revertSetup returns a watcher-fed snapshotter with t0 (pristine) and t1
// (3 files edited) trees; the work tree is at t1.
func revertSetup(b *testing.B) (*Snapshotter, string, string) {
	work := benchCorpus(b)
	ctx := context.Background()
	s := benchOpen(b, work, filepath.Join(scratch(b), "snap"))
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	t0, err := s.Track(ctx)
	if err != nil {
		b.Fatal(err)
	}
	s.MarkChanged(nil)
	ed := newEditor(b, work)
	ed.edit(b)
	s.MarkChanged(benchFiles)
	t1, err := s.Track(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return s, t0, t1
}

// BenchmarkRevert3Files: Restore(t0, 3 files) with the files at t1.
func BenchmarkRevert3Files(b *testing.B) {
	s, t0, t1 := revertSetup(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if _, err := s.Restore(ctx, t1, benchFiles); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := s.Restore(ctx, t0, benchFiles)
		if err != nil || len(res.Written) != 3 {
			b.Fatal(res, err)
		}
	}
	b.StopTimer()
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	gd := s.gitDir
	cli := timeCLI(b, 5, func() {
		if _, err := s.Restore(context.Background(), t1, benchFiles); err != nil {
			b.Error(err)
		}
	},
		"git --git-dir="+gd+" --work-tree=. checkout "+t0+" -- "+strings.Join(benchFiles, " "))
	report(b, cli)
}

// BenchmarkUnrevert: Restore(t1, nil) after a revert: snapshot the work
// tree (watcher-fed), diff against t1, write only the 3 differing files.
// The CLI figure is opencode's restore (read-tree + checkout-index -a -f).
func BenchmarkUnrevert(b *testing.B) {
	s, t0, t1 := revertSetup(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if _, err := s.Restore(ctx, t0, benchFiles); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := s.Restore(ctx, t1, nil)
		if err != nil || len(res.Written) != 3 {
			b.Fatal(res, err)
		}
	}
	b.StopTimer()
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	gd := s.gitDir
	idx := filepath.Join(scratch(b), "index")
	cli := timeCLI(b, 3, func() {
		if _, err := s.Restore(context.Background(), t0, benchFiles); err != nil {
			b.Error(err)
		}
	},
		"GIT_INDEX_FILE="+idx+" git --git-dir="+gd+" --work-tree=. read-tree "+t1+
			" && GIT_INDEX_FILE="+idx+" git --git-dir="+gd+" --work-tree=. checkout-index -a -f")
	report(b, cli)
}

// BenchmarkFirstSnapshotMonorepo: Open + first Track of the 100,000-file
// tree bench/monorepo.sh generates (OCGO_MONOREPO), with the Go heap it
// leaves behind, then a watcher-fed Track after a 3-file edit.
func BenchmarkFirstSnapshotMonorepo(b *testing.B) {
	work := os.Getenv("OCGO_MONOREPO")
	if work == "" {
		b.Skip("OCGO_MONOREPO is not set (bench/monorepo.sh sets it)")
	}
	ctx := context.Background()
	var first, cpu time.Duration
	var heap uint64
	for b.Loop() {
		b.StopTimer()
		gd := filepath.Join(scratch(b), "snap")
		runtime.GC()
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		s := benchOpen(b, work, gd)
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		first, cpu = time.Since(t0), cpuTime()-c0
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		// The next write: watcher-fed, three files.
		s.MarkChanged(nil)
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
		names := []string{"svc00/pkg000/m0000/bench-a.txt", "svc01/pkg000/m0001/bench-b.txt", "svc02/pkg000/m0002/bench-c.txt"}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(work, n), []byte(time.Now().String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		s.MarkChanged(names)
		t1 := time.Now()
		if _, err := s.Track(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t1).Microseconds())/1000, "ms-next-track")
		for _, n := range names {
			if err := os.Remove(filepath.Join(work, n)); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Dir(gd)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(first.Milliseconds()), "ms-first")
	b.ReportMetric(float64(cpu.Milliseconds()), "cpu-ms-first")
	b.ReportMetric(float64(heap)/(1<<20), "MB-heap-after")
}
