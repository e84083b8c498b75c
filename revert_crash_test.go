package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// child is a real ocgo serve (the binary built by the test, startOcgo)
// over a project and data directory.
type child struct {
	t *testing.T
	p *proc
}

func startChild(t *testing.T, dir, data string, env []string) *child {
	t.Helper()
	c := &child{t: t, p: startOcgo(t, dir, data, env)}
	t.Cleanup(c.kill)
	return c
}

// kill ends the server with SIGKILL.
func (c *child) kill() { c.p.stop(true) }

func (c *child) call(method, path string, body, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.p.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0 // killed mid-call
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out) // cut off by a kill: callers look at the status
	}
	return res.StatusCode
}

// TestRevertSurvivesSIGKILL: a real ocgo serve is killed with SIGKILL while
// a revert or an unrevert of 600 files is under way (as soon as its journal
// exists, and at spread-out moments). After each restart the files and the
// session's revert state agree: all reverted with session.revert set, or
// all as the agent left them without it.
func TestRevertSurvivesSIGKILL(t *testing.T) {
	const n = 400
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash",
			Args: `{"command":"sh mk.sh","description":"many"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	// The agent's work is done in-process (no background title request to
	// take the scripted turns); the kills hit a real ocgo serve.
	h := anthropicHarness(t, fake, "")
	dir, data := h.dir, h.data
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("f%d.txt", i)), fmt.Sprintf("user%d\n", i))
	}
	write(t, filepath.Join(dir, "mk.sh"), fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo agent$i > f$i.txt; i=$((i+1)); done\n", n))
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	if read(t, filepath.Join(dir, "f7.txt")) != "agent7\n" {
		t.Fatalf("agent command did not run: %+v", r.Info.Error)
	}
	h.stop()
	env := []string{"HOME=" + h.env["HOME"], "XDG_CONFIG_HOME=" + h.env["XDG_CONFIG_HOME"],
		"SHELL=/bin/sh", "ANTHROPIC_API_KEY=k", "PATH=" + os.Getenv("PATH")}
	c := startChild(t, dir, data, env)

	// state reads the files and the revert state; it fails the test when
	// they disagree or the files are mixed.
	state := func(c *child) bool {
		t.Helper()
		var s storage.Session
		if code := c.call("GET", "/session/"+sid, nil, &s); code != 200 {
			t.Fatalf("get session: %d", code)
		}
		users, agents := 0, 0
		for i := range n {
			switch read(t, filepath.Join(dir, fmt.Sprintf("f%d.txt", i))) {
			case fmt.Sprintf("user%d\n", i):
				users++
			case fmt.Sprintf("agent%d\n", i):
				agents++
			}
		}
		reverted := s.Revert != nil
		if reverted && users != n || !reverted && agents != n {
			t.Fatalf("inconsistent after restart: revert=%v, %d user files, %d agent files of %d", reverted, users, agents, n)
		}
		if matches, _ := filepath.Glob(filepath.Join(data, "project", "*", "storage", "revert-journal", "*.json")); len(matches) > 0 {
			t.Fatalf("journal left after recovery: %v", matches)
		}
		return reverted
	}
	journal := func() bool {
		m, _ := filepath.Glob(filepath.Join(data, "project", "*", "storage", "revert-journal", "*.json"))
		return len(m) > 0
	}
	midway := 0
	for round := range 6 {
		reverted := state(c)
		path, body := "/session/"+sid+"/revert", any(map[string]any{"messageID": r.Info.ID})
		if reverted {
			path, body = "/session/"+sid+"/unrevert", nil
		}
		done := make(chan struct{})
		go func() { c.call("POST", path, body, nil); close(done) }()
		if round%2 == 0 {
			// Kill as soon as the journal is there: files are being written.
			deadline := time.Now().Add(10 * time.Second)
			for !journal() && time.Now().Before(deadline) {
				select {
				case <-done:
					deadline = time.Time{}
				default:
				}
				time.Sleep(50 * time.Microsecond)
			}
		} else {
			time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		}
		if journal() {
			midway++
		}
		c.kill()
		<-done
		c = startChild(t, dir, data, env)
	}
	state(c)
	if midway == 0 {
		t.Errorf("no kill landed while a journal existed; the test did not exercise recovery")
	}
}

// TestRevertWithLostShadowRepo: the shadow repository is gone; revert
// answers a clear error and touches no file.
func TestRevertWithLostShadowRepo(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	snaps := filepath.Join(h.app.ProjectData(), "snapshots")
	h.stop()
	if err := os.RemoveAll(snaps); err != nil {
		t.Fatal(err)
	}
	h.start()
	var e struct {
		Name string
		Data struct{ Message string }
	}
	code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &e)
	if code != 500 || e.Name != "SnapshotError" || !strings.Contains(e.Data.Message, "missing or damaged") {
		t.Fatalf("revert with a lost shadow repo: %d %+v", code, e)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "new.txt")) != "created\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Errorf("files touched")
	}
	var sess storage.Session
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert != nil {
		t.Errorf("revert state set: %+v", sess.Revert)
	}
}

// A shadow repository that lost one blob a revert needs (the content of a
// file the agent deleted) refuses before anything is touched: the other
// files, which could be restored, are not, and the revert state is not set.
func TestRevertWithLostBlob(t *testing.T) {
	h, _, sid, msgs := agentEdits(t)
	sum := sha1.Sum([]byte("blob 8\x00keep me\n"))
	x := hex.EncodeToString(sum[:])
	obj := filepath.Join(h.app.ProjectData(), "snapshots", "objects", x[:2], x[2:])
	h.stop()
	if err := os.Remove(obj); err != nil {
		t.Fatalf("the deleted file's blob is not a loose object of the shadow repository: %v", err)
	}
	h.start()
	var e struct {
		Name string
		Data struct{ Message string }
	}
	code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": msgs[0].Info.ID}, &e)
	if code != 500 || e.Name != "SnapshotError" {
		t.Fatalf("revert with a lost blob: %d %+v", code, e)
	}
	if read(t, filepath.Join(h.dir, "README.md")) != "v2\nv3\n" || read(t, filepath.Join(h.dir, "new.txt")) != "created\n" || read(t, filepath.Join(h.dir, "gone.txt")) != "<missing>" {
		t.Errorf("files touched")
	}
	var sess storage.Session
	h.call("GET", "/session/"+sid, nil, &sess)
	if sess.Revert != nil {
		t.Errorf("revert state set: %+v", sess.Revert)
	}
}
