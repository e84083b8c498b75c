package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A read-only store opens beside the lock holder, sees its writes, writes
// nothing, moves nothing, and finds the holder's recorded address.
func TestReadOnlyBesideTheHolder(t *testing.T) {
	owner, dir := openTemp(t)
	ids := NewIDs(nil)
	sess := Session{ID: ids.Descending(PrefixSession), Title: "owned", Version: "x", Time: SessionTime{Created: 1, Updated: 1}}
	msg := Message{ID: ids.Ascending(PrefixMessage), SessionID: sess.ID, Role: RoleUser}
	if err := owner.PutSession(sess); err != nil {
		t.Fatal(err)
	}
	if err := owner.PutMessage(msg); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "storage", "session", "info", ids.Descending(PrefixSession)+".json")
	if err := os.WriteFile(corrupt, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}

	if HolderAddress(dir) != "" {
		t.Errorf("an address before any was recorded")
	}
	if err := owner.RecordAddress("http://127.0.0.1:4567"); err != nil {
		t.Fatal(err)
	}
	if got := HolderAddress(dir); got != "http://127.0.0.1:4567" {
		t.Errorf("HolderAddress = %q", got)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "ocgo.lock"))
	if !strings.HasPrefix(string(lock), "ocgo pid ") {
		t.Errorf("the lock file no longer names the holder first:\n%s", lock)
	}

	ro, err := OpenReadOnly(dir, nil)
	if err != nil {
		t.Fatalf("read-only open beside the holder: %v", err)
	}
	defer ro.Close()
	if list := ro.Sessions(); len(list) != 1 || list[0].ID != sess.ID {
		t.Errorf("sessions: %+v", list)
	}
	if msgs, err := ro.Messages(sess.ID); err != nil || len(msgs) != 1 {
		t.Errorf("messages: %v %+v", err, msgs)
	}
	if _, err := os.Stat(corrupt); err != nil {
		t.Errorf("a read-only open moved the corrupt file: %v", err)
	}
	if err := ro.PutSession(sess); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write through a read-only store: %v", err)
	}
	if err := ro.RecordAddress("http://x"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("RecordAddress on a read-only store: %v", err)
	}
	if _, err := OpenReadOnly(filepath.Join(dir, "missing"), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("read-only open of nothing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("a read-only open created a directory")
	}
}
