package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ocgo/atomicfile/faultfs"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, dir
}

func TestSessionRoundTripMatchesOpencodeLayout(t *testing.T) {
	s, dir := openTemp(t)
	ids := NewIDs(nil)
	sess := Session{ID: ids.Descending(PrefixSession), Title: "t", Version: "0.5.29", Time: SessionTime{Created: 1, Updated: 2}}
	if err := s.PutSession(sess); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "storage", "session", "info", sess.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"id\": \"" + sess.ID + "\",\n  \"title\": \"t\",\n  \"version\": \"0.5.29\",\n  \"time\": {\n    \"created\": 1,\n    \"updated\": 2\n  }\n}"
	if string(raw) != want {
		t.Errorf("file content:\n%s\nwant:\n%s", raw, want)
	}
	// A reopened store finds it in its index.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Session(sess.ID)
	if err != nil || got.Title != "t" {
		t.Fatalf("reopen: %+v %v", got, err)
	}
}

func TestOpensOpencodeWrittenFiles(t *testing.T) {
	dir := t.TempDir()
	// Files written by opencode 0.5.29 (copied from the recorded contract).
	ref := filepath.Join("..", "testdata", "storage", "opencode")
	copyFile := func(src, dst string) {
		data, err := os.ReadFile(filepath.Join(ref, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const sid, uid, aid = "ses_deda4e36bffeu7HASoDfF0y1Mz", "msg_2125b1d0300113oW7BbtlHa4bI", "msg_2125b1d040027TAlEMTcaOsG3v"
	st := filepath.Join(dir, "storage", "session")
	copyFile("session-info.json", filepath.Join(st, "info", sid+".json"))
	copyFile("message-1-user.json", filepath.Join(st, "message", sid, uid+".json"))
	copyFile("message-2-assistant.json", filepath.Join(st, "message", sid, aid+".json"))
	copyFile("part-1-text.json", filepath.Join(st, "part", sid, uid, "prt_2125b1d04001QNmLE5vMpwmeB5.json"))
	copyFile("part-2-tool.json", filepath.Join(st, "part", sid, aid, "prt_2125b1d040033VzQ9stZ921DfN.json"))

	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs, err := s.Messages(sid)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Info.Role != RoleUser || msgs[1].Info.Role != RoleAssistant {
		t.Fatalf("messages: %+v", msgs)
	}
	tool := msgs[1].Parts[0]
	if tool.Type != PartTool || tool.State.Status != ToolCompleted || tool.State.Metadata["output"] == "" {
		t.Fatalf("tool part: %+v", tool)
	}
	// Re-encoding what opencode wrote gives back the same JSON value.
	for _, pair := range []struct {
		file string
		v    any
	}{{"message-2-assistant.json", msgs[1].Info}, {"part-2-tool.json", tool}, {"message-1-user.json", msgs[0].Info}, {"part-1-text.json", msgs[0].Parts[0]}} {
		orig, _ := os.ReadFile(filepath.Join(ref, pair.file))
		ours, _ := json.Marshal(pair.v)
		var a, b any
		if err := json.Unmarshal(orig, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ours, &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s re-encoded differently:\n%s\n%s", pair.file, ja, jb)
		}
	}
}

func TestCorruptFilesAreQuarantinedAndOthersStillList(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "storage", "session", "info")
	if err := os.MkdirAll(info, 0o755); err != nil {
		t.Fatal(err)
	}
	ids := NewIDs(nil)
	good := ids.Descending(PrefixSession)
	if err := os.WriteFile(filepath.Join(info, good+".json"), []byte(`{"id":"`+good+`","title":"ok","version":"x","time":{"created":1,"updated":1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Glob(filepath.Join("..", "testdata", "storage", "corrupt", "*.json"))
	if len(fixtures) < 3 {
		t.Fatalf("want corrupt fixtures in testdata/storage/corrupt, found %d", len(fixtures))
	}
	for i, f := range fixtures {
		data, _ := os.ReadFile(f)
		if err := os.WriteFile(filepath.Join(info, ids.Descending(PrefixSession)+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list := s.Sessions()
	if len(list) != 1 || list[0].ID != good {
		t.Fatalf("sessions: %+v", list)
	}
	q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "session", "info", "*"))
	if len(q) != len(fixtures) {
		t.Fatalf("quarantined %d files, want %d", len(q), len(fixtures))
	}
	left, _ := filepath.Glob(filepath.Join(info, "*.json"))
	if len(left) != 1 {
		t.Fatalf("%d files left in info, want 1", len(left))
	}
}

// Messages and parts load as sessions do: a file that does not decode, or
// whose id is not its name, is quarantined and the others still list.
func TestBadMessageAndPartFilesAreQuarantined(t *testing.T) {
	s, dir := openTemp(t)
	ids := NewIDs(nil)
	sid := ids.Descending(PrefixSession)
	mid := ids.Ascending(PrefixMessage)
	pid := ids.Ascending(PrefixPart)
	if err := s.PutSession(Session{ID: sid, Title: "t", Version: "x", Time: SessionTime{Created: 1, Updated: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMessage(Message{ID: mid, SessionID: sid, Role: RoleUser}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPart(Part{ID: pid, SessionID: sid, MessageID: mid, Type: PartText, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "storage", "session")
	bad := map[string]string{
		filepath.Join(st, "message", sid, ids.Ascending(PrefixMessage)+".json"): `{"id":"msg_someone_else","sessionID":"` + sid + `","role":"user"}`,
		filepath.Join(st, "part", sid, mid, ids.Ascending(PrefixPart)+".json"):  `{"id":"prt_someone_else","sessionID":"` + sid + `","messageID":"` + mid + `","type":"text","text":"x"}`,
		filepath.Join(st, "part", sid, mid, ids.Ascending(PrefixPart)+".json"):  `{"id":`,
	}
	for p, data := range bad {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	msgs, err := s2.Messages(sid)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Info.ID != mid || len(msgs[0].Parts) != 1 || msgs[0].Parts[0].ID != pid {
		t.Fatalf("messages: %+v", msgs)
	}
	for p := range bad {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still in the store: %v", p, err)
		}
	}
	var quarantined []string
	_ = filepath.WalkDir(filepath.Join(dir, "quarantine"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			quarantined = append(quarantined, p)
		}
		return nil
	})
	if len(quarantined) != len(bad) {
		t.Errorf("quarantined %v, want the %d bad files", quarantined, len(bad))
	}
}

func TestSecondOpenIsRefusedNamingTheHolder(t *testing.T) {
	_, dir := openTemp(t)
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestDeleteSessionRemovesMessagesAndParts(t *testing.T) {
	s, dir := openTemp(t)
	ids := NewIDs(nil)
	sid := ids.Descending(PrefixSession)
	if err := s.PutSession(Session{ID: sid, Title: "x"}); err != nil {
		t.Fatal(err)
	}
	mid := ids.Ascending(PrefixMessage)
	if err := s.PutMessage(Message{ID: mid, SessionID: sid, Role: RoleUser}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPart(Part{ID: ids.Ascending(PrefixPart), SessionID: sid, MessageID: mid, Type: PartText, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(sid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"info/" + sid + ".json", "message/" + sid, "part/" + sid} {
		if _, err := os.Stat(filepath.Join(dir, "storage", "session", p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
	if _, err := s.Session(sid); !errors.Is(err, ErrNotFound) {
		t.Errorf("Session after delete: %v", err)
	}
}

// Sessions() feeds JSON lists (ocgo sessions --json): an empty store must be [],
// as opencode answers, not null (JS clients iterate the list).
func TestEmptySessionListIsNotNil(t *testing.T) {
	s, _ := openTemp(t)
	if got := s.Sessions(); got == nil {
		t.Fatal("fresh store: Sessions() is nil")
	}
	sid := NewIDs(nil).Descending(PrefixSession)
	if err := s.PutSession(Session{ID: sid, Title: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(sid); err != nil {
		t.Fatal(err)
	}
	if got := s.Sessions(); got == nil || len(got) != 0 {
		t.Fatalf("after deleting the only session: %#v", got)
	}
}

func TestInvalidIDsNeverReachTheDisk(t *testing.T) {
	s, dir := openTemp(t)
	for _, id := range []string{"../../etc/passwd", "ses_../x", "ses_a/b", "", "ses_", "msg_abc", "ses_%2e%2e"} {
		if err := s.PutSession(Session{ID: id}); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutSession(%q) = %v, want ErrInvalid", id, err)
		}
		if _, err := s.Messages(id); !errors.Is(err, ErrInvalid) {
			t.Errorf("Messages(%q) = %v, want ErrInvalid", id, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "storage"))
	for _, e := range entries {
		if e.Name() != "migration" {
			t.Errorf("unexpected entry %s", e.Name())
		}
	}
}

func TestIDsOrder(t *testing.T) {
	now := time.UnixMilli(1795604176941)
	g := NewIDs(func() time.Time { return now })
	a, b := g.Ascending(PrefixMessage), g.Ascending(PrefixMessage)
	if len(a) != 30 || !(a < b) {
		t.Errorf("ascending: %s %s", a, b)
	}
	now = now.Add(time.Millisecond)
	c := g.Ascending(PrefixMessage)
	if !(b < c) {
		t.Errorf("ascending across ms: %s %s", b, c)
	}
	d, e := g.Descending(PrefixSession), g.Descending(PrefixSession)
	if !(e < d) || !ValidID(PrefixSession, d) {
		t.Errorf("descending: %s %s", d, e)
	}
	// The recorded opencode session id for this millisecond shares our prefix.
	if got := NewIDs(func() time.Time { return time.UnixMilli(1795604959452) }).Descending(PrefixSession); got[:16] != "ses_ded9aaf23ffe" {
		t.Errorf("descending id %s does not match opencode's scheme (ses_ded9aaf23ffe…)", got)
	}
}

func BenchmarkSessions10k(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := NewIDs(nil)
	for i := range 10000 {
		id := ids.Descending(PrefixSession)
		s.sessions[id] = Session{ID: id, Title: "s", Time: SessionTime{Created: int64(i), Updated: int64(i)}}
		s.indexPut(s.sessions[id])
	}
	first := s.Sessions()[0]
	b.ResetTimer()
	for b.Loop() { // the cost a write adds to the next list
		first.Time.Updated++
		s.mu.Lock()
		s.indexPut(first)
		s.mu.Unlock()
		if len(s.Sessions()) != 10000 {
			b.Fatal("short")
		}
	}
}

func TestSessionsJSONMatchesSessions(t *testing.T) {
	s, _ := openTemp(t)
	ids := NewIDs(nil)
	if string(s.SessionsJSON()) != "[]" {
		t.Fatalf("empty list: %s", s.SessionsJSON())
	}
	for i := range 5 {
		if err := s.PutSession(Session{ID: ids.Descending(PrefixSession), Title: "a<b>&" + string(rune('0'+i)), Time: SessionTime{Updated: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		want, _ := json.Marshal(s.Sessions())
		var a, b any
		if err := json.Unmarshal(want, &a); err != nil {
			t.Error(err)
		}
		if err := json.Unmarshal(s.SessionsJSON(), &b); err != nil {
			t.Error(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) || bytes.Contains(s.SessionsJSON(), []byte(`\u003c`)) {
			t.Fatalf("cached list differs:\n%s\n%s", s.SessionsJSON(), want)
		}
	}
	check()
	first := s.Sessions()[4]
	first.Time.Updated = 99
	if err := s.PutSession(first); err != nil {
		t.Fatal(err)
	}
	check()
	if err := s.DeleteSession(first.ID); err != nil {
		t.Fatal(err)
	}
	check()
}

// TestFailedDeleteKeepsTheSessionListed: when the disk refuses to remove a
// session's info file, the session is still there, so it stays listed.
func TestFailedDeleteKeepsTheSessionListed(t *testing.T) {
	ffs := faultfs.New(nil)
	s, err := OpenFS(t.TempDir(), nil, ffs)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess := Session{ID: "ses_a", Title: "kept"}
	if err := s.PutSession(sess); err != nil {
		t.Fatal(err)
	}
	ffs.Fail(faultfs.Remove, "ses_a.json", syscall.EIO)
	if err := s.DeleteSession("ses_a"); !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("err = %v", err)
	}
	if got, err := s.Session("ses_a"); err != nil || got.Title != "kept" || len(s.Sessions()) != 1 {
		t.Fatalf("after a failed delete: %+v %v", got, err)
	}
	ffs.Clear()
	if err := s.DeleteSession("ses_a"); err != nil {
		t.Fatal(err)
	}
	if len(s.Sessions()) != 0 {
		t.Fatal("still listed")
	}
}

// TestUnreadableMessageDirectoryReadsAsEmpty: a session whose message
// directory cannot be read lists no messages (as one without any), and a
// message written once the disk is mended is kept.
func TestUnreadableMessageDirectoryReadsAsEmpty(t *testing.T) {
	s, dir := openTemp(t)
	ids := NewIDs(nil)
	sid := ids.Descending(PrefixSession)
	if err := s.PutSession(Session{ID: sid, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	msgDir := filepath.Join(dir, "storage", "session", "message", sid)
	if err := os.MkdirAll(filepath.Dir(msgDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(msgDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msgs, err := s.Messages(sid); err != nil || len(msgs) != 0 {
		t.Fatalf("unreadable: %v %v", msgs, err)
	}
	if err := os.Remove(msgDir); err != nil {
		t.Fatal(err)
	}
	mid := ids.Ascending(PrefixMessage)
	if err := s.PutMessage(Message{ID: mid, SessionID: sid, Role: RoleUser}); err != nil {
		t.Fatal(err)
	}
	if msgs, err := s.Messages(sid); err != nil || len(msgs) != 1 || msgs[0].Info.ID != mid {
		t.Fatalf("after mending: %v %v", msgs, err)
	}
}
