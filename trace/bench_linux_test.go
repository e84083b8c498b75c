//go:build linux && (amd64 || arm64)

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchProject is a git repository of 2,000 small files in 40 directories,
// under $TRACE_BENCH_DIR if set (to compare file systems), else a temp dir.
func benchProject(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	if d := os.Getenv("TRACE_BENCH_DIR"); d != "" {
		var err error
		if root, err = os.MkdirTemp(d, "bench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := os.RemoveAll(root); err != nil {
				b.Error(err)
			}
		})
	}
	for d := range 40 {
		dir := filepath.Join(root, "src", fmt.Sprintf("pkg%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 50 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.go", f)), []byte("package p\n\nfunc F() {}\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.Command("sh", "-c", "git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm init")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	return root
}

// BenchmarkCommand runs typical commands with and without tracing. The
// build-like one copies the 2,000 files (2,000 creating opens, 40 mkdirs)
// and removes the copy (2,000 unlinks, 41 rmdirs).
func BenchmarkCommand(b *testing.B) {
	root := benchProject(b)
	workloads := []struct{ name, script string }{
		{"git-status", "git status --porcelain >/dev/null"},
		{"find-cat", "find src -type f | xargs cat >/dev/null"},
		{"build-like", "cp -r src out && rm -r out"},
		{"true", "true"},
	}
	for _, w := range workloads {
		if w.name == "git-status" {
			if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
				continue
			}
		}
		for _, traced := range []bool{false, true} {
			name := w.name + "/untraced"
			var tr *Tracer
			if traced {
				name = w.name + "/traced"
				tr = New(root, nil)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					cmd := exec.Command("/bin/sh", "-c", w.script)
					cmd.Dir = root
					r, err := tr.Start(cmd)
					if err != nil {
						b.Fatal(err)
					}
					if err := cmd.Wait(); err != nil {
						b.Fatal(err)
					}
					if traced && r.Result().All {
						b.Fatalf("widened: %s", r.Result().Reason)
					}
				}
			})
		}
	}
}

// TestMeasureOverhead prints the cost of tracing, robustly on a busy
// machine: traced and untraced runs alternate, and the minimum and median
// of each are reported. It runs only with TRACE_MEASURE=1 (README,
// Performance).
func TestMeasureOverhead(t *testing.T) {
	if os.Getenv("TRACE_MEASURE") != "1" {
		t.Skip("set TRACE_MEASURE=1")
	}
	root := benchProject(&testing.B{})
	exe, _ := os.Executable()
	workloads := []struct{ name, script string }{
		{"true", "true"},
		{"git status", "git status --porcelain >/dev/null"},
		{"find | xargs cat", "find src -type f | xargs cat >/dev/null"},
		{"cp -r + rm -r (2,000 files)", "cp -r src out && rm -r out"},
		{"5,000 creates + 5,000 unlinks, 1 process", exe},
	}
	for _, w := range workloads {
		if only := os.Getenv("TRACE_MEASURE_ONLY"); only != "" && !strings.Contains(w.name, only) {
			continue
		}
		var times, cpus [2][]time.Duration
		for i := range 2 * 15 {
			traced := i%2 == 1
			var tr *Tracer
			if traced {
				tr = New(root, nil)
			}
			cmd := exec.Command("/bin/sh", "-c", w.script)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TRACE_TEST_CHILD=create")
			start, self0 := time.Now(), selfCPU()
			r, err := tr.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			// CPU time of the command's tree plus ours (the supervisor):
			// what tracing costs, less skewed by a busy machine than wall
			// time.
			cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime() + selfCPU() - self0
			cpus[i%2] = append(cpus[i%2], cpu)
			if traced && r.Result().All && os.Getenv("TRACE_MEASURE_ONLY") == "" {
				t.Fatalf("widened: %s", r.Result().Reason)
			}
			times[i%2] = append(times[i%2], d)
		}
		stat := func(ds []time.Duration) (time.Duration, time.Duration) {
			slices.Sort(ds)
			return ds[0], ds[len(ds)/2]
		}
		umin, umed := stat(times[0])
		tmin, tmed := stat(times[1])
		_, ucpu := stat(cpus[0])
		_, tcpu := stat(cpus[1])
		t.Logf("%-34s wall untraced min %8.2f median %8.2f | traced min %8.2f median %8.2f ms | CPU median %8.2f -> %8.2f ms (+%.0f%%)",
			w.name, ms(umin), ms(umed), ms(tmin), ms(tmed), ms(ucpu), ms(tcpu), 100*(ms(tcpu)-ms(ucpu))/ms(ucpu))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
