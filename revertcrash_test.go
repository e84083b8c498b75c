package main

// The crash operation of the revert model (revertmodel_test.go): a revert,
// redo or unrevert killed with SIGKILL at one of its steps, then a restart.
//
// How the kill is made faithful: the model's server runs in-process, and a
// process cannot SIGKILL a part of itself. So for a crash operation the
// in-process app is closed (as a restart would), and this test binary is
// started again as a child server on the same project and data directories
// (TestMain, crashChildEnv). The child's app gets a checkpoint function
// through app.Config.Checkpoint (constructor injection: the session core
// and the snapshotter call it before every change a revert makes on disk
// and at each durable step of its journal); at the chosen checkpoint the
// child sends itself SIGKILL. The kernel ends the process there: no deferred
// function, no Close, no buffered write, no other goroutine runs on, exactly
// as when a user kills ocgo. Then the in-process app is opened again on the
// same directories, and its start finishes what the journal says.
//
// Checkpoints (in order, for one revert): before the journal is written;
// after it is; then for each file: its deletion, the removal of a directory
// emptied, the creation of missing parent directories, the temp file's
// creation, its write, its rename over the file (a kill here leaves a fully
// written temp file beside the old one), a chmod; then once every file is
// done, once session.revert is saved, once the journal is removed. A kill
// past the last one hits after the answer. Sometimes the restart that
// follows is killed too, during its recovery, and another start finishes.
//
// After the restart the revert state (GET /session/:id) tells whether the
// operation took effect: the model then predicts the disk as fully applied
// or as not applied at all, and the usual checks after each step compare
// every file (and that nothing else appeared, such as a temp file) and both
// sessions' revert states. A journal left after the start is a failure. An
// answer the client got before the kill must hold after it.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"ocgo/app"
	"ocgo/storage"
)

// crashChildEnv holds, in a child started by crashChild, its crashSpec as
// JSON: TestMain then runs crashServe instead of the tests.
const crashChildEnv = "OCGO_REVERTCRASH_CHILD"

// crashSpec is what a child server needs.
type crashSpec struct {
	Dir, Data string
	Env       map[string]string
	At        int  // die at the At-th checkpoint (1-based); 0: never
	Debug     bool // log to stderr
}

// Pseudo-status codes a crash operation hands to runner.outcome.
const (
	crashRolledBack = -1 // the state after the restart is the one before: nothing applied
	crashUnknown    = -2 // the revert state is the same either way: applied unless refused
)

// crashServe runs an ocgo server in this process (the child) and SIGKILLs
// itself at checkpoint spec.At. It prints "listening <url>" once it serves
// and "crash <n> <step>" just before the kill.
func crashServe(specJSON string) {
	var spec crashSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	n := 0
	checkpoint := func(step string) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n != spec.At {
			return
		}
		fmt.Printf("crash %d %s\n", n, step) // os.Stdout is unbuffered
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // not reached: SIGKILL cannot be caught or deferred
	}
	logger := slog.New(slog.DiscardHandler)
	if spec.Debug {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.New(app.Config{Dir: spec.Dir, DataRoot: spec.Data, Env: func(k string) string { return spec.Env[k] },
		NoTitles: true, Logger: logger, Checkpoint: checkpoint})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	_ = http.Serve(ln, a.Handler())
	os.Exit(1)
}

// crashChild is a running child server.
type crashChild struct {
	cmd     *exec.Cmd
	url     string
	crashed string // "step <n>: <what>" once it killed itself
	lines   chan string
	done    chan struct{}
}

// startCrashChild starts a child server on the harness's directories and
// waits until it serves or is dead (killed by its checkpoint during its
// start: a journal's recovery).
func (r *runner) startCrashChild(at int) *crashChild {
	exe, err := os.Executable()
	if err != nil {
		r.fail("harness", "executable: %v", err)
	}
	spec, _ := json.Marshal(crashSpec{Dir: filepath.Join(r.h.dir, r.h.opts.subdir), Data: r.h.data, Env: r.h.env, At: at,
		Debug: os.Getenv("REVERTMODEL_DEBUG") != ""})
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.fail("harness", "child: %v", err)
	}
	if err := cmd.Start(); err != nil {
		r.fail("harness", "child: %v", err)
	}
	c := &crashChild{cmd: cmd, lines: make(chan string, 4), done: make(chan struct{})}
	r.tb.Cleanup(c.kill)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		_ = cmd.Wait()
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				<-c.done
				if c.crashed == "" {
					r.fail("harness", "child server exited: %v", cmd.ProcessState)
				}
				return c
			}
			c.note(l)
			if c.url != "" {
				return c
			}
		case <-timeout:
			c.kill()
			r.fail("harness", "child server did not start")
		}
	}
}

func (c *crashChild) note(l string) {
	if u, ok := strings.CutPrefix(l, "listening "); ok {
		c.url = u
	}
	if s, ok := strings.CutPrefix(l, "crash "); ok {
		n, what, _ := strings.Cut(s, " ")
		c.crashed = "step " + n + ": " + what
	}
}

// kill SIGKILLs the child (if it is still alive) and waits for it.
func (c *crashChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
	for l := range c.lines {
		c.note(l)
	}
}

// post sends a request to the child; ok is false when the connection broke
// (the child died before answering).
func (c *crashChild) post(path string, body any) (code int, e apiErr, ok bool) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest("POST", c.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: time.Minute}
	res, err := client.Do(req)
	if err != nil {
		return 0, e, false
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, e, false
	}
	if res.StatusCode != 200 {
		_ = json.Unmarshal(data, &e) // an answer without a JSON body leaves e empty
	}
	return res.StatusCode, e, true
}

// send makes a revert or unrevert request: directly for the plain
// operations, through a child server killed at a checkpoint for a crash.
// next is the revert state the operation sets (nil: none).
func (r *runner) send(o op, s *msess, path string, body any, next *storage.Revert) (int, apiErr) {
	if o.kind != opCrash || sameRevert(next, s.revert) {
		// Nothing to interrupt: an unrevert without a revert, a revert to
		// the point already in effect (files the same either way).
		return r.post(path, body)
	}
	r.h.stop()
	c := r.startCrashChild(o.at)
	code, e, answered := 0, apiErr{}, false
	if c.url != "" {
		code, e, answered = c.post(path, body)
	}
	c.kill()
	r.crashNote = fmt.Sprintf("killed at %s", c.crashed)
	if c.crashed == "" {
		r.crashNote = "killed after the answer"
	}
	if o.at2 > 0 {
		c2 := r.startCrashChild(o.at2)
		c2.kill()
		if c2.crashed != "" {
			r.crashNote += fmt.Sprintf(", the next start killed at %s", c2.crashed)
		}
	}
	r.h.start()
	if j, _ := filepath.Glob(filepath.Join(r.h.app.ProjectData(), "storage", "revert-journal", "*")); len(j) > 0 {
		r.fail("crash recovery", "%s; after the restart a revert journal is left: %v", r.crashNote, j)
	}
	var got storage.Session
	if code := r.h.call("GET", "/session/"+s.id, nil, &got); code != 200 {
		r.fail("harness", "GET session: %d", code)
	}
	applied, before := sameRevert(got.Revert, next), sameRevert(got.Revert, s.revert)
	if os.Getenv("REVERTMODEL_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "crash: %s; answered %v %d; applied %v, as before %v\n", r.crashNote, answered, code, applied, before)
	}
	switch {
	case answered && code == 200 && !applied:
		r.fail("crash recovery", "%s: the answer was 200, after the restart the revert state is %+v, not %+v", r.crashNote, got.Revert, next)
	case answered && code != 200 && !before:
		r.fail("crash recovery", "%s: the answer was %d, after the restart the revert state is %+v, not %+v", r.crashNote, code, got.Revert, s.revert)
	case answered:
		return code, e
	case applied && before:
		return crashUnknown, e
	case applied:
		return 200, e
	case before:
		return crashRolledBack, e
	}
	r.fail("crash recovery", "%s: after the restart the revert state is %+v: neither the one before (%+v) nor the operation's (%+v)", r.crashNote, got.Revert, s.revert, next)
	return 0, e
}

// sameRevert compares revert points.
func sameRevert(a, b *storage.Revert) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.MessageID == b.MessageID && a.PartID == b.PartID
}

// crashOneIn: one revert or unrevert in this many is a crash operation.
const crashOneIn = 3

// addCrashes turns some reverts and unreverts of ops into crash operations,
// with a random generator of their own so that the other operations of a
// seed stay what they were before crashes existed.
func addCrashes(seed int64, ops []op) {
	rng := rand.New(rand.NewSource(seed ^ 0x6372617368))
	for i, o := range ops {
		if o.kind != opRevert && o.kind != opUnrevert || rng.Intn(crashOneIn) != 0 {
			continue
		}
		// A revert of one or two files passes 6 to 12 checkpoints.
		c := op{kind: opCrash, sess: o.sess, r: o.r, at: 1 + rng.Intn(11)}
		if o.kind == opUnrevert {
			c.r = -1
		}
		if rng.Intn(4) == 0 {
			c.at2 = 1 + rng.Intn(10)
		}
		ops[i] = c
	}
}
