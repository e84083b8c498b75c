package routes

import (
	"bufio"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ocgo/event"
	"ocgo/openapi/check"
	"ocgo/storage"
)

// TestEveryEventMatchesDoc: every event type the bus carries (event.All)
// reaches GET /event, and kin-openapi finds each frame, as sent, to match
// the Event union /doc describes from the same structs. Session, message
// and part events come from real requests; the others are published with
// the fields the core fills.
func TestEveryEventMatchesDoc(t *testing.T) {
	f := newFixture(t, nil)
	doc := f.do(t, "GET", "/doc", "", "", nil)
	verify, err := check.ResponseValidator([]byte(doc.body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range event.All() {
		want[e.EventType()] = true
	}

	res, err := http.Get(f.http.URL + "/event")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	type frames struct {
		body []byte
		seen map[string]bool
	}
	done := make(chan frames, 1)
	go func() {
		out := frames{seen: map[string]bool{}}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			out.body = append(append(out.body, line...), '\n')
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var ev struct{ Type string }
				if json.Unmarshal([]byte(data), &ev) == nil {
					out.seen[ev.Type] = true
				}
			}
			if line == "" && len(out.seen) >= len(want) && out.seen["permission.replied"] {
				break
			}
		}
		done <- out
	}()

	var s storage.Session
	created := f.do(t, "POST", "/session", "application/json", `{"title":"events"}`, nil)
	if err := json.Unmarshal([]byte(created.body), &s); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build","command":"echo hi"}`, nil); r.status != 200 {
		t.Fatalf("shell: %d %s", r.status, r.body)
	}
	msgs := f.do(t, "GET", "/session/"+s.ID+"/message", "", "", nil)
	var list []struct {
		Info  storage.Message
		Parts []storage.Part
	}
	if err := json.Unmarshal([]byte(msgs.body), &list); err != nil || len(list) == 0 || len(list[0].Parts) == 0 {
		t.Fatalf("messages: %v %s", err, msgs.body)
	}
	m, p := list[0].Info, list[0].Parts[0]
	f.bus.Publish(event.SessionIdle{SessionID: s.ID})
	f.bus.Publish(event.SessionError{SessionID: s.ID, Error: &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": "boom"}}})
	f.bus.Publish(event.SessionError{Error: &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": "mcp server failed"}}})
	f.bus.Publish(event.PartRemoved{SessionID: s.ID, MessageID: m.ID, PartID: p.ID})
	f.bus.Publish(event.MessageRemoved{SessionID: s.ID, MessageID: m.ID})
	perm := storage.Permission{ID: "per_1", Type: "bash", Pattern: "echo *", SessionID: s.ID, MessageID: m.ID,
		CallID: "call_1", Title: "echo hi", Metadata: map[string]any{"command": "echo hi"}}
	perm.Time.Created = time.Now().UnixMilli()
	f.bus.Publish(event.PermissionUpdated(perm))
	f.bus.Publish(event.FileEdited{File: f.dir + "/a.txt"})
	f.bus.Publish(event.FileWatcherUpdated{File: f.dir + "/a.txt", Event: "change"})
	f.bus.Publish(event.FileWatcherUpdated{File: f.dir + "/b.txt", Event: "rename"})
	f.bus.Publish(event.LSPClientDiagnostics{ServerID: "gopls", Path: f.dir + "/main.go"})
	if r := f.do(t, "DELETE", "/session/"+s.ID, "", "", nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	f.bus.Publish(event.PermissionReplied{SessionID: s.ID, PermissionID: perm.ID, Response: "once"})

	var got frames
	select {
	case got = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream did not carry every event type")
	}
	for ty := range want {
		if !got.seen[ty] {
			t.Errorf("%s never reached /event", ty)
		}
	}
	if extra := slices.DeleteFunc(slices.Sorted(maps.Keys(got.seen)), func(ty string) bool { return want[ty] }); len(extra) > 0 {
		t.Errorf("/event sent types event.All does not list: %v", extra)
	}
	if err := verify("GET", "/event", 200, res.Header, got.body); err != nil {
		t.Errorf("/event frames do not match /doc: %v", err)
	}
}
