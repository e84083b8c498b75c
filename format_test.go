package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// gitBlob is the git object id of content.
func gitBlob(content string) string {
	h := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(h[:])
}

// TestFormatterRunsBeforeTheAfterSnapshot: a configured formatter rewrites
// the file a write produced; the file, the patch part's after tree and the
// tool part's metadata all show it, and a failing formatter fails nothing.
func TestFormatterRunsBeforeTheAfterSnapshot(t *testing.T) {
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "write", Args: `{"filePath":"notes.txt","content":"hello formatter\n"}`}}},
		fakellm.Turn{Text: []string{"written"}},
	)
	upper := `tr a-z A-Z < "$1" > "$1.tmp" && mv "$1.tmp" "$1"`
	formatters, _ := json.Marshal(map[string]any{
		"upper":  map[string]any{"command": []string{"sh", "-c", upper, "sh", "$FILE"}, "extensions": []string{".txt"}},
		"broken": map[string]any{"command": []string{"sh", "-c", "echo no good >&2; exit 3"}, "extensions": []string{".txt"}},
		"gofmt":  map[string]any{"disabled": true},
	})
	h := anthropicHarness(t, fake, `,"formatter":`+string(formatters))
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("write notes"), &res)
	p := toolPart(t, res, "write")
	if p.State.Status != "completed" {
		t.Fatalf("write failed because of a formatter: %+v", p.State)
	}
	got, _ := os.ReadFile(filepath.Join(h.dir, "notes.txt"))
	if string(got) != "HELLO FORMATTER\n" {
		t.Fatalf("file not formatted: %q", got)
	}
	runs := jsonOf(p.State.Metadata["formatter"])
	file := filepath.Join(h.dir, "notes.txt")
	if runs != `[{"error":"exit status 3: no good","file":"`+file+`","name":"broken"},{"file":"`+file+`","name":"upper"}]` {
		t.Errorf("metadata.formatter: %s", runs)
	}
	patches := partsOf(res, "patch")
	if len(patches) != 1 {
		t.Fatalf("patch parts: %+v", patches)
	}
	state, ok, err := h.app.Snapshots().FileState(context.Background(), patches[0].After, "notes.txt")
	blob, _, _ := strings.Cut(state, " ")
	if err != nil || !ok || blob != gitBlob("HELLO FORMATTER\n") {
		t.Errorf("the after tree does not hold the formatted text: %s %v %v (want %s)", blob, ok, err, gitBlob("HELLO FORMATTER\n"))
	}
	h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)
		return e["type"] == "file.edited" && p["file"] == filepath.Join(h.dir, "notes.txt")
	})
}
