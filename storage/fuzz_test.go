package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzID: an accepted id never carries a path separator or "..".
func FuzzID(f *testing.F) {
	for _, s := range []string{"ses_22cd9767b001l7gdXOpuA8v6qb", "ses_../../x", "ses_", "ses_a/b", "ses_..", "msg_x\x00y", "ses_\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidID(PrefixSession, id) && (strings.ContainsAny(id, "/\\\x00") || strings.Contains(id, "..")) {
			t.Fatalf("ValidID accepted %q", id)
		}
		if CheckID("id", PrefixSession, id) == nil && !ValidID(PrefixSession, id) {
			t.Fatalf("CheckID and ValidID disagree on %q", id)
		}
	})
}

// FuzzSessionFile: whatever a session file holds (torn, NUL-filled, wrong
// types), Open succeeds and lists the valid sessions.
func FuzzSessionFile(f *testing.F) {
	for _, s := range []string{"", "\x00\x00\x00", `{"id":"ses_a"`, `{"id":"ses_22cd9767b001l7gdXOpuA8v6qb","title":1}`, `[]`, `null`,
		`{"id":"ses_22cd9767b001l7gdXOpuA8v6qb","time":{"created":"x"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		info := filepath.Join(dir, "storage", "session", "info")
		if err := os.MkdirAll(info, 0o700); err != nil {
			t.Fatal(err)
		}
		good := `{"id":"ses_11111111111111111111111111","title":"ok","version":"0.5.29","time":{"created":1,"updated":1}}`
		if err := os.WriteFile(filepath.Join(info, "ses_11111111111111111111111111.json"), []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(info, "ses_22cd9767b001l7gdXOpuA8v6qb.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		if _, err := s.Session("ses_11111111111111111111111111"); err != nil {
			t.Fatalf("the valid session is hidden: %v", err)
		}
	})
}
