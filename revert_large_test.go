package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// A multi-MB text file the agent rewrote (one line changed) and then
// created another of: revert and unrevert put back every byte, and
// session.revert.diff, which every GET /session and session.updated event
// carries, names each large file without holding its lines.
func TestLargeTextFileRevert(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "b1", Name: "bash",
			Args: `{"command":"sed -i 's/^400000$/changed/' big.txt && seq 1 700000 > new.txt","description":"big"}`}}},
		fakellm.Turn{Text: []string{"done"}},
	)
	h := anthropicHarness(t, fake, "")
	var sb strings.Builder
	for i := 1; i <= 800000; i++ {
		sb.WriteString(strconv.Itoa(i))
		sb.WriteByte('\n')
	}
	orig := sb.String() // 5.9 MB
	big, created := filepath.Join(h.dir, "big.txt"), filepath.Join(h.dir, "new.txt")
	if err := os.WriteFile(big, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	sid := h.newSession()
	var r storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("go"), &r)
	edited, _ := os.ReadFile(big)
	made, _ := os.ReadFile(created)
	if string(edited) == orig || !strings.Contains(string(edited), "\nchanged\n") || len(made) < 4<<20 {
		t.Fatalf("the agent's commands did not run: %d, %d bytes", len(edited), len(made))
	}

	start := time.Now()
	var sess storage.Session
	if code := h.call("POST", "/session/"+sid+"/revert", map[string]any{"messageID": r.Info.ID}, &sess); code != 200 {
		t.Fatalf("revert: %d", code)
	}
	revertTook := time.Since(start)
	if got, _ := os.ReadFile(big); string(got) != orig {
		t.Fatalf("revert: big.txt not restored (%d bytes)", len(got))
	}
	if _, err := os.Stat(created); !os.IsNotExist(err) {
		t.Fatalf("revert: new.txt still there: %v", err)
	}
	if sess.Revert == nil {
		t.Fatal("no revert state")
	}
	d := sess.Revert.Diff
	if len(d) > 4096 || !strings.Contains(d, "big.txt") || !strings.Contains(d, "new.txt") {
		t.Errorf("session.revert.diff: %d bytes, want a few naming both files:\n%.2000s", len(d), d)
	}
	start = time.Now()
	sess = storage.Session{}
	if code := h.call("POST", "/session/"+sid+"/unrevert", nil, &sess); code != 200 {
		t.Fatalf("unrevert: %d", code)
	}
	unrevertTook := time.Since(start)
	if got, _ := os.ReadFile(big); string(got) != string(edited) {
		t.Errorf("unrevert: big.txt has %d bytes, not the agent's", len(got))
	}
	if got, _ := os.ReadFile(created); string(got) != string(made) {
		t.Errorf("unrevert: new.txt has %d bytes, not the agent's", len(got))
	}
	t.Logf("revert %v, unrevert %v, revert diff %d bytes", revertTook.Round(time.Millisecond), unrevertTook.Round(time.Millisecond), len(d))
}
