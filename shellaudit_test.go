package main

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestShellAuditLine is checklist E3 (opencode#38857 had no trace of what
// ran): every POST /session/:id/shell leaves log lines naming the session,
// the caller's address, the command's length and hash and its exit code,
// and never the command text, which may hold a secret.
func TestShellAuditLine(t *testing.T) {
	logs := &lockedBuffer{}
	h := newHarness(t, harnessOpts{noSSE: true, logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	sid := h.newSession()
	const secret = "hunter2-canary-7f3a"
	command := "echo " + secret + " > /dev/null; exit 3"
	if code := h.call("POST", "/session/"+sid+"/shell", map[string]any{"agent": "build", "command": command}, nil); code != 200 {
		t.Fatalf("shell: %d", code)
	}
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("the command text reached the log:\n%s", out)
	}
	sum := sha256.Sum256([]byte(command))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`msg="Shell command" .*session=` + sid + ` bytes=` + strconv.Itoa(len(command)) + ` sha256=` + hex.EncodeToString(sum[:8])),
		regexp.MustCompile(`msg="Shell command finished" .*session=` + sid + ` exit=3 aborted=false`),
		regexp.MustCompile(`msg=Request .*method=POST path=/session/` + sid + `/shell status=200 .*remote=127\.0\.0\.1:\d+`),
	} {
		if !want.MatchString(out) {
			t.Errorf("no log line matching %s in:\n%s", want, out)
		}
	}
}
