package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ocgoBinary builds the real ocgo binary once per test run.
func ocgoBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ocgo-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ocgo")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building ocgo: %v", binErr)
	}
	return binPath
}

// proc is a running ocgo serve.
type proc struct {
	cmd    *exec.Cmd
	URL    string
	stderr *lockedBuffer
}

// startOcgo runs "ocgo serve" on a free port and waits for its ready line.
func startOcgo(t testing.TB, dir, data string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(ocgoBinary(t), "serve", "--port", "0", "--dir", dir, "--data-dir", data)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails before stopping its server must not leave it running.
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			// Killed: the errors are the kill's.
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "opencode server listening on "); ok {
				line <- u
			}
		}
		_, _ = io.Copy(io.Discard, out) // drains until the process ends
	}()
	select {
	case p.URL = <-line:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("ocgo did not start: %s", p.stderr.String())
	}
	return p
}

// stop ends the server with SIGKILL (kill) or SIGTERM.
func (p *proc) stop(kill bool) {
	// The process may be gone already, and its exit status is the signal's:
	// callers check what it left on disk.
	if kill {
		_ = p.cmd.Process.Kill()
	} else {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// do sends a request with optional Basic auth and returns status and body.
func (p *proc) do(t testing.TB, method, path, body, password string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, p.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if password != "" {
		req.SetBasicAuth("opencode", password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
