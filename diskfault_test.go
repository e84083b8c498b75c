package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ocgo/atomicfile/faultfs"
	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestDiskFaultsThroughHTTP fills the disk (ENOSPC) and breaks it (EIO) at
// each step of a session write (create the temp file, write, fsync, close,
// rename, fsync the directory), through the storage filesystem seam, and
// drives the real HTTP path: creating a session, renaming one and sending a
// prompt. Each failed request gets opencode's {"name","data"} error naming
// the system error and no path; no event goes out for a write that failed;
// what was acknowledged before is intact on disk and in answers; no temp or
// half-written file is left; and once the disk works again the same
// requests succeed, and a restart finds everything acknowledged.
func TestDiskFaultsThroughHTTP(t *testing.T) {
	for _, step := range faultfs.Steps {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
			t.Run(string(step)+"/"+errno.Error(), func(t *testing.T) {
				diskFaultCase(t, step, errno)
			})
		}
	}
}

func diskFaultCase(t *testing.T, step faultfs.Op, errno syscall.Errno) {
	fake := fakellm.NewAnthropic(t)
	ffs := faultfs.New(nil)
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, storageFS: ffs})

	// Acknowledged before the fault: a session with a title and one exchange.
	sid := h.newSession()
	if code := h.call("PATCH", "/session/"+sid, map[string]any{"title": "kept"}, nil); code != 200 {
		t.Fatalf("PATCH: %d", code)
	}
	fake.Push(fakellm.Turn{Text: []string{"first answer"}})
	if code := h.call("POST", "/session/"+sid+"/message", textPrompt("first"), nil); code != 200 {
		t.Fatalf("first prompt: %d", code)
	}
	h.waitEvent(ofType("session.idle"))
	h.mu.Lock()
	before := len(h.events)
	h.mu.Unlock()

	wantStatus, wantName := http.StatusInternalServerError, "StorageError"
	if errno == syscall.ENOSPC {
		wantStatus, wantName = http.StatusInsufficientStorage, "StorageFullError"
	}
	checkErr := func(what string, code int, body []byte) {
		t.Helper()
		var e struct {
			Name string `json:"name"`
			Data struct {
				Message string `json:"message"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &e); err != nil || code != wantStatus || e.Name != wantName {
			t.Fatalf("%s: %d %s, want %d %s", what, code, body, wantStatus, wantName)
		}
		if want := "could not save to disk: " + errno.Error(); e.Data.Message != want {
			t.Errorf("%s: message %q, want %q", what, e.Data.Message, want)
		}
		for _, leak := range []string{h.data, h.dir, ".json", ".tmp", "storage/"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("%s: answer discloses %q: %s", what, leak, body)
			}
		}
	}

	ffs.Fail(step, string(filepath.Separator)+"storage"+string(filepath.Separator)+"session"+string(filepath.Separator), errno)
	code, _, body := rawCall(t, h, "POST", "/session", `{}`)
	checkErr("POST /session", code, body)
	code, _, body = rawCall(t, h, "PATCH", "/session/"+sid, `{"title":"lost"}`)
	checkErr("PATCH /session/:id", code, body)
	code, _, body = rawCall(t, h, "POST", "/session/"+sid+"/message", asJSON(textPrompt("second")))
	checkErr("POST /session/:id/message", code, body)
	if ffs.Hits() == 0 {
		t.Fatal("no fault was injected")
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("the model was called %d times, want once (before the fault)", n)
	}

	// Still serving, with what was acknowledged: reads work during the fault.
	var list []storage.Session
	if code := h.call("GET", "/session", nil, &list); code != 200 || len(list) != 1 || list[0].ID != sid || list[0].Title != "kept" {
		t.Fatalf("GET /session during the fault: %d %+v", code, list)
	}
	var msgs []storage.WithParts
	if code := h.call("GET", "/session/"+sid+"/message", nil, &msgs); code != 200 || len(msgs) != 2 {
		t.Fatalf("messages during the fault: %d, %d messages", code, len(msgs))
	}

	// No event for a write that failed.
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	for _, e := range h.events[before:] {
		switch e["type"] {
		case "session.updated", "message.updated", "message.part.updated", "session.deleted", "session.idle":
			t.Errorf("event for a failed write: %v", e)
		}
	}
	h.mu.Unlock()

	// On disk: every JSON file whole, no temp file, the title acknowledged
	// (a failed directory fsync leaves the new, whole file in place: it was
	// not acknowledged, and it may or may not survive a crash).
	checkDataFiles(t, h.data)
	var onDisk storage.Session
	if err := readSessionFile(h.data, sid, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.Title != "kept" && !(step == faultfs.SyncDir && onDisk.Title == "lost") {
		t.Errorf("title on disk %q", onDisk.Title)
	}

	// The disk has room again: the same requests work.
	ffs.Clear()
	var created storage.Session
	if code := h.call("POST", "/session", map[string]any{}, &created); code != 200 || created.ID == "" {
		t.Fatalf("POST /session after the fault: %d", code)
	}
	if code := h.call("PATCH", "/session/"+sid, map[string]any{"title": "back"}, nil); code != 200 {
		t.Fatalf("PATCH after the fault: %d", code)
	}
	h.waitEvent(func(e map[string]any) bool {
		info, _ := e["properties"].(map[string]any)["info"].(map[string]any)
		return e["type"] == "session.updated" && info["title"] == "back"
	})
	fake.Push(fakellm.Turn{Text: []string{"third answer"}})
	var res storage.WithParts
	if code := h.call("POST", "/session/"+sid+"/message", textPrompt("third"), &res); code != 200 || res.Info.Error != nil {
		t.Fatalf("prompt after the fault: %d %+v", code, res.Info.Error)
	}

	// A restart finds everything acknowledged, and nothing half written.
	h.restart()
	checkDataFiles(t, h.data)
	var got storage.Session
	if code := h.call("GET", "/session/"+sid, nil, &got); code != 200 || got.Title != "back" {
		t.Fatalf("after restart: %d %+v", code, got)
	}
	if code := h.call("GET", "/session/"+created.ID, nil, nil); code != 200 {
		t.Fatalf("session created after the fault: %d", code)
	}
	if code := h.call("GET", "/session/"+sid+"/message", nil, &msgs); code != 200 {
		t.Fatalf("messages after restart: %d", code)
	}
	var texts []string
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == storage.PartText {
				texts = append(texts, p.Text)
			}
		}
	}
	if got, want := strings.Join(texts, "|"), "first|first answer|third|third answer"; got != want {
		t.Errorf("conversation after restart: %q, want %q", got, want)
	}
}

// checkDataFiles fails the test for a temp file left under data (the shadow
// repository aside) or a JSON file that does not parse.
func checkDataFiles(t *testing.T, data string) {
	t.Helper()
	_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() && d.Name() == "snapshots" {
			return filepath.SkipDir // the shadow repository writes in the background: not the store's
		}
		if err != nil || d.IsDir() {
			return nil
		}
		// The shadow repository is the snapshotter's: its stat cache may be
		// being persisted in the background right now (a temp file for a
		// moment), and it holds no storage JSON.
		if strings.Contains(p, string(filepath.Separator)+"snapshots"+string(filepath.Separator)) {
			return nil
		}
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("temp file left: %s", p)
		}
		if strings.HasSuffix(p, ".json") {
			b, _ := os.ReadFile(p)
			if !json.Valid(b) {
				t.Errorf("not whole JSON: %s: %q", p, b)
			}
		}
		return nil
	})
}

// readSessionFile reads a session's info file straight from the data folder.
func readSessionFile(data, id string, v any) error {
	m, _ := filepath.Glob(filepath.Join(data, "project", "*", "storage", "session", "info", id+".json"))
	if len(m) != 1 {
		return fmt.Errorf("session file of %s: found %d", id, len(m))
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
