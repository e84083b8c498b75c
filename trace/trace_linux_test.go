//go:build linux && (amd64 || arm64)

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary act as a traced child program: a
// multi-threaded writer, or a caller of io_uring_setup.
func TestMain(m *testing.M) {
	switch os.Getenv("TRACE_TEST_CHILD") {
	case "threads":
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 5 {
					_ = os.WriteFile(fmt.Sprintf("t%d-%d", i, j), []byte("x"), 0o644)
				}
			})
		}
		wg.Wait()
		os.Exit(0)
	case "create":
		dir, err := os.MkdirTemp(".", "create")
		if err != nil {
			os.Exit(1)
		}
		for i := range 5000 {
			f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
			if err != nil {
				os.Exit(1)
			}
			_ = f.Close()
		}
		_ = os.RemoveAll(dir) // a child process: the exit status alone is checked
		os.Exit(0)
	case "uring":
		var params [120]byte
		fd, _, _ := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
		if int(fd) > 0 {
			_ = unix.Close(int(fd))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// run runs script with sh in dir under a tracer for root, waits, and
// returns what the tracer saw.
func run(t *testing.T, root, dir, script string, env ...string) Set {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	r, err := New(root, nil).Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return r.Result()
}

func project(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func wantPaths(t *testing.T, got Set, want ...string) {
	t.Helper()
	if got.All {
		t.Fatalf("tracing widened to All: %s", got.Reason)
	}
	slices.Sort(want)
	all := slices.Sorted(slices.Values(append(slices.Clone(got.Paths), got.Trees...)))
	if !slices.Equal(all, want) {
		t.Fatalf("paths:\n got %q\nwant %q", all, want)
	}
}

func TestRecordsEveryKindOfChange(t *testing.T) {
	root := project(t, "b", "d", "r", "sub/", "keep", "m", "lnk-src", "tr", "dir/f", "dir/g", "rmme/")
	script := `
set -e
echo new > a                       # create
mv b c                             # rename: both ends
rm d                               # unlink
mkdir e                            # mkdir
( echo sub > s1 )                  # subshell
( echo bg > bg ) & wait            # background child
cd sub && echo up > ../x && cd ..  # relative to another directory
echo more >> keep                  # append
chmod 600 m                        # chmod
ln -s keep sym                     # symlink
ln lnk-src hard                    # hard link
truncate -s 0 tr                   # truncate
mv dir moved                       # directory rename covers its files
rmdir rmme                         # rmdir
cat r > /dev/null; ls > /dev/null  # reads are not changes
echo tmp > "$TMPDIR_OUT/outside"   # outside the project
`
	got := run(t, root, root, script, "TMPDIR_OUT="+t.TempDir())
	wantPaths(t, got, "a", "b", "c", "d", "e", "s1", "bg", "x", "keep", "m", "sym", "hard", "tr", "dir", "moved", "rmme")
	for _, f := range []string{"moved/f", "dir/g", "c"} {
		if !got.Covers(f) {
			t.Errorf("Covers(%q) = false", f)
		}
	}
	if want := []string{"b", "c", "dir", "moved"}; !slices.Equal(got.Trees, want) {
		t.Errorf("trees %q, want the renamed %q", got.Trees, want)
	}
	// Only a rename covers what lies below: mkdir and rmdir do not.
	for _, f := range []string{"r", "sub", "lnk-src", "bgx", "di", "e/x", "rmme/x"} {
		if got.Covers(f) {
			t.Errorf("Covers(%q) = true", f)
		}
	}
}

func TestOddNames(t *testing.T) {
	root := project(t, "with space/old file")
	bad := "caf\xe9" // Latin-1, not UTF-8
	got := run(t, root, root, `mv "with space/old file" "with space/new file"; echo x > "$BAD"; mkdir "$BAD dir"`, "BAD="+bad)
	wantPaths(t, got, "with space/old file", "with space/new file", bad, bad+" dir")
}

func TestUserWritesDuringTheCommandAreNotTheCommands(t *testing.T) {
	root := project(t, "user.txt")
	cmd := exec.Command("/bin/sh", "-c", `echo agent > agent.txt; while [ ! -e go ]; do sleep 0.01; done; echo done > agent2.txt`)
	cmd.Dir = root
	r, err := New(root, nil).Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	// The "user" (this process, outside the tree) writes while it runs.
	if err := os.WriteFile(filepath.Join(root, "user.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	wantPaths(t, r.Result(), "agent.txt", "agent2.txt")
}

func TestSymlinksAndProcPaths(t *testing.T) {
	root := project(t, "real/", "target", "ro")
	if err := os.Symlink("real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(root, "tlink")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.Symlink(root, filepath.Join(outside, "into")); err != nil {
		t.Fatal(err)
	}
	script := `
echo x > link/f                      # through a directory link
echo y > tlink                       # follows the last link
echo z > "$OUT/into/via-outside"     # an outside link into the project
exec 3< ro; echo w > /proc/self/fd/3 # reopened through /proc/self
rm tlink                             # unlink does not follow
`
	got := run(t, root, root, script, "OUT="+outside)
	wantPaths(t, got, "real/f", "target", "via-outside", "ro", "tlink")
}

func TestThreads(t *testing.T) {
	root := project(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, root, root, exe, "TRACE_TEST_CHILD=threads")
	var want []string
	for i := range 8 {
		for j := range 5 {
			want = append(want, fmt.Sprintf("t%d-%d", i, j))
		}
	}
	wantPaths(t, got, want...)
}

func TestUnseeableWidens(t *testing.T) {
	root := project(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, root, root, exe, "TRACE_TEST_CHILD=uring")
	if !got.All || !strings.Contains(got.Reason, "io_uring") {
		t.Fatalf("io_uring: got %+v, want All", got)
	}
	if !got.Covers("anything") {
		t.Fatal("All must cover every path")
	}
}

func TestNilTracerRunsUntraced(t *testing.T) {
	root := project(t)
	cmd := exec.Command("/bin/sh", "-c", "echo > f")
	cmd.Dir = root
	var tr *Tracer
	r, err := tr.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := r.Result(); !got.All {
		t.Fatalf("got %+v, want All", got)
	}
}

// The supervisor ends when the tree is gone, including a child that
// outlived the shell.
func TestSupervisorOutlivesTheShell(t *testing.T) {
	root := project(t)
	cmd := exec.Command("/bin/sh", "-c", "(sleep 0.3; echo late > late) >/dev/null 2>&1 &")
	cmd.Dir = root
	r, err := New(root, nil).Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(root, "late")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.ReadFile(filepath.Join(root, "late")); err != nil {
		t.Fatalf("the background child could not write: %v", err)
	}
	wantPaths(t, r.Result(), "late")
}

func TestFilterLeavesOtherThreadsAlone(t *testing.T) {
	root := project(t)
	for range 3 {
		run(t, root, root, "true")
	}
	// Only a thread that ran a Start may carry a filter, and it exits with
	// its goroutine; the main thread cannot exit, so Go parks it for good.
	// (A thread may take a moment to finish exiting.)
	filtered := func() []string {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			for l := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(l, "Seccomp:"); ok && strings.TrimSpace(v) != "0" && task.Name() != fmt.Sprint(os.Getpid()) {
					out = append(out, task.Name())
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(filtered()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := filtered(); len(f) > 0 {
		t.Errorf("threads %v are still filtered", f)
	}
	// A file written by this process after tracing is not stopped.
	if err := os.WriteFile(filepath.Join(root, "after"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// As root (CI), the tests also run as an unprivileged user, where the
// filter needs no_new_privs.
func TestUnprivileged(t *testing.T) {
	if os.Getuid() != 0 || os.Getenv("TRACE_TEST_UNPRIVILEGED") != "" {
		t.Skip("runs as root only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go tool's build directory (and $TMPDIR) may be private: run a
	// copy from a directory under /tmp that anyone may enter.
	dir, err := os.MkdirTemp("/tmp", "trace-unprivileged")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	exe = filepath.Join(dir, "trace.test")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^(TestRecordsEveryKindOfChange|TestThreads|TestSymlinksAndProcPaths|TestUserWritesDuringTheCommandAreNotTheCommands)$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TRACE_TEST_UNPRIVILEGED=1", "TMPDIR=/tmp", "HOME=/")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), "--- PASS") != 4 {
		t.Fatalf("unprivileged run: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile("/proc/self/status"); strings.Contains(string(b), "NoNewPrivs:\t1") {
		t.Fatal("no_new_privs leaked into the test process")
	}
}

func TestOtherViewsWiden(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("unshare (util-linux) is missing")
		}
		t.Skip("no unshare")
	}
	root := project(t)
	got := run(t, root, root, "unshare -r -m sh -c 'echo > x' || echo > x")
	if !got.All || !strings.Contains(got.Reason, "mount namespace") {
		t.Fatalf("got %+v, want All for a new mount namespace", got)
	}
	// clone3 fails with ENOSYS, and programs fall back to clone: threads
	// and children still work (TestThreads), so does a shell pipeline.
	got = run(t, root, root, "echo a | cat > y")
	wantPaths(t, got, "y")
}

// A file the command removed and someone else then wrote is not the
// command's: its content is the other writer's. One it removed and
// recreated itself is.
func TestUnlinkedThenRewrittenByOthers(t *testing.T) {
	root := project(t, "gone", "back", "kept")
	cmd := exec.Command("/bin/sh", "-c", `rm gone back kept && echo again > back && echo started > started; while [ ! -e go ]; do sleep 0.01; done`)
	cmd.Dir = root
	r, err := New(root, nil).Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "started")); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(root, "gone"), []byte("the user's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	wantPaths(t, r.Result(), "back", "kept", "started")
}

// The hook runs before the tree's first change to each path, while the
// change waits: it reads what the path held before the command, once per
// path, for a truncating write, a rename over a file and an unlink alike.
func TestStartHookSeesThePathBeforeTheChange(t *testing.T) {
	root := project(t, "a.txt", "b.txt", "c.txt")
	var mu sync.Mutex
	seen := map[string]string{}
	calls := 0
	cmd := exec.Command("/bin/sh", "-c", "echo new > a.txt; echo again > a.txt; echo t > tmp && mv tmp b.txt; rm c.txt")
	cmd.Dir = root
	r, err := New(root, nil).StartHook(cmd, func(abs string) {
		b, err := os.ReadFile(abs)
		mu.Lock()
		defer mu.Unlock()
		calls++
		rel, _ := filepath.Rel(root, abs)
		if err != nil {
			seen[rel] = "<absent>"
		} else {
			seen[rel] = string(b)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	r.Result()
	mu.Lock()
	defer mu.Unlock()
	for _, f := range []string{"a.txt", "b.txt", "c.txt"} {
		if seen[f] != "old\n" {
			t.Errorf("hook saw %s as %q, want its content before the command", f, seen[f])
		}
	}
	if seen["tmp"] != "<absent>" {
		t.Errorf("hook saw tmp as %q, want absent", seen["tmp"])
	}
	if calls != 4 {
		t.Errorf("hook called %d times, want once per path (4): %v", calls, seen)
	}
}

// TestDirsTheCommandMade: Set.Dirs holds exactly the directories the tree
// created and left in place: not one that was there, not one the user made
// while the command ran, not one it removed or renamed away; a directory
// renamed in brings the directories below it.
func TestDirsTheCommandMade(t *testing.T) {
	root := project(t, "had/", "had/x", "gone/", "old/in/deep/")
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(outside, "pkg", "lib", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `
set -e
mkdir -p had/new/deeper            # had is not the command's
mkdir tmp && rmdir tmp             # made, then removed
mkdir m1 && mv m1 m2               # made, then renamed
mv old renamed                     # a new name: made, with what lies below
mv "$OUT/pkg" pkg                  # brought in with what lies below
rmdir gone
mkdir -p had/new                   # exists already
while [ ! -e go ]; do sleep 0.01; done
mkdir after
`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OUT="+outside)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	r, err := New(root, nil).Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	// The user makes a directory while the command runs (when the
	// command waits at the end: then it has made all but "after").
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(root, "pkg")); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.MkdirAll(filepath.Join(root, "user", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := r.Result()
	if got.All {
		t.Fatalf("widened: %s", got.Reason)
	}
	want := []string{"after", "had/new", "had/new/deeper", "m2", "pkg", "pkg/lib", "pkg/lib/sub", "renamed", "renamed/in", "renamed/in/deep"}
	if !slices.Equal(got.Dirs, want) {
		t.Errorf("dirs %q, want %q", got.Dirs, want)
	}
}

// TestRestoredAfterARename: a path ocgo restores after the command renamed
// onto it, or below a directory the command renamed, is not the command's
// (what it holds is the restore's); the rest of the renamed tree is.
func TestRestoredAfterARename(t *testing.T) {
	root := project(t, "a", "dir/f", "dir/g")
	tr := New(root, nil)
	cmd := exec.Command("/bin/sh", "-c", `mv a b && mv dir dir2 && while [ ! -e go ]; do sleep 0.01; done`)
	cmd.Dir = root
	r, err := tr.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !isDirPath(filepath.Join(root, "dir2")) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	tr.Restored("b", "dir2/f")
	if err := os.WriteFile(filepath.Join(root, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got := r.Result()
	for f, want := range map[string]bool{"a": true, "b": false, "dir2/f": false, "dir2/g": true, "dir/f": true} {
		if got.Covers(f) != want {
			t.Errorf("Covers(%q) = %v, want %v (set %+v)", f, !want, want, got)
		}
	}
}

func isDirPath(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
