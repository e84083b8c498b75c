package tool

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBashOutputAndExit(t *testing.T) {
	e := newEnv(t)
	r := mustRun(t, e, "bash", m{"command": "echo tool-ran", "description": "echo"})
	if r.Title != "echo tool-ran" || r.Output != "tool-ran\n" {
		t.Errorf("result %+v", r)
	}
	want := map[string]any{"output": "tool-ran\n", "exit": 0, "description": "echo"}
	if !reflect.DeepEqual(r.Metadata, want) {
		t.Errorf("metadata %v, want %v", r.Metadata, want)
	}
	r = mustRun(t, e, "bash", m{"command": "pwd; echo err >&2; exit 3", "description": "fail"})
	if r.Metadata["exit"] != 3 || r.Output != e.path+"\nerr\n" {
		t.Errorf("result %+v", r)
	}
	if len(e.updates) == 0 {
		t.Error("no live metadata updates")
	}
}

func TestBashOutputCap(t *testing.T) {
	e := newEnv(t)
	r, err := runOpts(t, e, "bash", Options{OutputCap: 100}, m{"command": "head -c 5000 /dev/zero | tr '\\0' a", "description": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Output != strings.Repeat("a", 100)+"\n\n(Output was truncated due to length limit)" || len(r.Metadata["output"].(string)) != 100 {
		t.Errorf("output %q", r.Output)
	}
}

func TestBashTimeoutKillsGroup(t *testing.T) {
	e := newEnv(t)
	r := mustRun(t, e, "bash", m{"command": "echo start; sleep 100 & echo $! > bg.pid; sleep 100", "timeout": 300, "description": "slow"})
	if !strings.Contains(r.Output, "start\n") || !strings.Contains(r.Output, "(Command timed out after 300 ms)") || r.Metadata["exit"] != nil {
		t.Errorf("result %+v", r)
	}
	assertGone(t, readPids(t, e.content("bg.pid")))
}

func TestBashAbortKillsProcessGroup(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		raw, _ := json.Marshal(m{"command": "sleep 100 & echo $! >> pids; sleep 100 & echo $! >> pids; wait", "description": "two sleeps"})
		_, err := tool(t, "bash", Options{}).Run(ctx, Call{SessionID: "ses_1", Input: raw}, e)
		done <- err
	}()
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(e.path, "pids")); err == nil {
			if pids = readPids(t, string(b)); len(pids) == 2 {
				break
			}
		}
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	for _, p := range pids {
		if !alive(p) {
			t.Fatalf("pid %d not running before abort", p)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertGone(t, pids)
}

func readPids(t *testing.T, s string) []int {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	if len(pids) == 0 {
		t.Fatal("no pids")
	}
	for _, p := range pids {
		deadline := time.Now().Add(5 * time.Second)
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			t.Errorf("pid %d still running", p)
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

func TestBashPermissions(t *testing.T) {
	cases := []struct {
		name     string
		rules    map[string]string
		command  string
		wantErr  error
		wantAsks int
	}{
		{"deny one part", map[string]string{"git status*": Allow, "rm *": Deny, "*": Ask}, "git status && rm -rf x", ErrDenied, 0},
		{"ask once for whole", map[string]string{"git status*": Allow, "*": Ask}, "git status && ls x", nil, 1},
		{"all allowed", map[string]string{"git *": Allow, "ls*": Allow, "*": Deny}, "git status; ls x | ls", nil, 0},
		{"default allow", nil, "git status && ls x", nil, 0},
		{"substitution inner command", map[string]string{"echo *": Allow, "rm *": Deny}, "echo $(rm -rf x)", ErrDenied, 0},
		{"backticks", map[string]string{"echo *": Allow, "*": Ask}, "echo `whoami`", nil, 1},
		{"cd always allowed", map[string]string{"*": Deny, "ls*": Allow}, "cd x && ls", nil, 0},
		{"path outside via rm", nil, "rm -rf ../outside", ErrDenied, 0},
		{"path outside via cd", nil, "cd /", ErrDenied, 0},
		{"path via variable", nil, "mkdir $HOME/x", ErrDenied, 0},
		{"path inside", nil, "mkdir -p x/y && touch x/y/z && chmod 644 x/y/z", nil, 0},
		{"redirect outside", nil, "echo hi > ../escape.txt", ErrDenied, 0},
		{"append redirect outside", nil, "echo hi 2>>/tmp/escape.txt", ErrDenied, 0},
		{"redirect inside and dev null", nil, "echo hi > x/out.txt 2>/dev/null 2>&1", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if err := os.Mkdir(filepath.Join(e.path, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			e.allow("bash", c.rules)
			_, err := run(t, e, "bash", m{"command": c.command, "description": "d"})
			if !errors.Is(err, c.wantErr) && !(c.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if len(e.asks) != c.wantAsks {
				t.Fatalf("asks = %v, want %d", e.asks, c.wantAsks)
			}
			if c.wantAsks == 1 {
				p := e.asks[0]
				if p.Type != "bash" || p.Pattern != c.command || p.Title != c.command || p.Metadata["command"] != c.command {
					t.Errorf("permission %+v", p)
				}
			}
			if _, err := os.Stat(filepath.Join(e.path, "x")); err != nil {
				t.Errorf("x was removed: %v", err)
			}
		})
	}
	t.Run("rejected", func(t *testing.T) {
		e := newEnv(t)
		e.allow("bash", map[string]string{"*": Ask})
		e.askErr = ErrRejected
		_, err := run(t, e, "bash", m{"command": "touch made", "description": "d"})
		if !errors.Is(err, ErrRejected) {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(e.path, "made")); !os.IsNotExist(err) {
			t.Error("rejected command ran")
		}
	})
}

func TestSplitCommands(t *testing.T) {
	cases := []struct {
		in    string
		want  []string
		subst bool
	}{
		{"git status && rm -rf x", []string{"git status", "rm -rf x"}, false},
		{"a || b; c | d & e\nf", []string{"a", "b", "c", "d", "e", "f"}, false},
		{`echo "a && b" 'c; d'`, []string{`echo "a && b" 'c; d'`}, false},
		{"echo $(rm -rf /) done", []string{"echo", "rm -rf /", "done"}, true},
		{"echo \"x $(id) y\"", []string{`echo "x`, "id", `y"`}, true},
		{"echo `id`", []string{"echo", "id"}, true},
		{"(cd a && make)", []string{"cd a", "make"}, false},
		{`echo a\;b`, []string{`echo a\;b`}, false},
	}
	for _, c := range cases {
		got, subst := SplitCommands(c.in)
		if !reflect.DeepEqual(got, c.want) || subst != c.subst {
			t.Errorf("SplitCommands(%q) = %q, %v; want %q, %v", c.in, got, subst, c.want, c.subst)
		}
	}
}

// A background child that keeps the output pipe open must not hold the call
// until the timeout; it is left running (like a shell would) and the call
// returns the shell's own result.
func TestBashBackgroundChildDoesNotBlock(t *testing.T) {
	e := newEnv(t)
	r := mustRun(t, e, "bash", m{"command": "sleep 100 & echo $! > bg.pid; echo done", "timeout": 20000, "description": "bg"})
	pids := readPids(t, e.content("bg.pid"))
	t.Cleanup(func() {
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	if r.Output != "done\n" || r.Metadata["exit"] != 0 {
		t.Errorf("result %+v", r)
	}
}

// TestBashShellFromInjectedEnv: the default shell is the injected
// environment's $SHELL, not the process's.
func TestBashShellFromInjectedEnv(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(t.TempDir(), "ran")
	sh := filepath.Join(t.TempDir(), "mysh")
	if err := os.WriteFile(sh, []byte("#!/bin/sh\ntouch '"+marker+"'\nexec /bin/sh \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "SHELL" {
			return sh
		}
		return ""
	}
	r, err := runOpts(t, e, "bash", Options{Env: env}, m{"command": "echo via-env", "description": "x"})
	if err != nil || r.Output != "via-env\n" {
		t.Fatalf("bash: %+v %v", r, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the injected $SHELL did not run the command: %v", err)
	}
}
