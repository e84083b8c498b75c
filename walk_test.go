package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestSearchToolsAndListingFromTheIndex: the system prompt's file listing
// and the glob, grep and list tools answer from the watcher's index, with
// git's ignore rules, and see files written by the agent (write tool, a
// shell command) in the same prompt, with no wait: the index syncs with
// the disk before it answers. Run from the root and from a subdirectory.
func TestSearchToolsAndListingFromTheIndex(t *testing.T) {
	for _, sub := range []string{"", "pkg"} {
		t.Run("cwd="+sub, func(t *testing.T) {
			fake := fakellm.NewAnthropic(t,
				fakellm.Turn{ToolCalls: []fakellm.ToolCall{
					{ID: "toolu_1", Name: "write", Args: `{"filePath":"fresh/by_write.go","content":"package fresh // needleWrite\n"}`},
					{ID: "toolu_2", Name: "bash", Args: `{"command":"mkdir -p fresh/deep && echo needleBash > fresh/deep/by_bash.go && echo needleBash > fresh/x.log","description":"make"}`},
				}},
				fakellm.Turn{ToolCalls: []fakellm.ToolCall{
					{ID: "toolu_3", Name: "glob", Args: `{"pattern":"**/*.go"}`},
					{ID: "toolu_4", Name: "grep", Args: `{"pattern":"needle\\w+"}`},
					{ID: "toolu_5", Name: "list", Args: `{}`},
				}},
				fakellm.Turn{Text: []string{"Done."}},
			)
			h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, subdir: sub,
				setup: func(dir string) {
					base := filepath.Join(dir, sub)
					for rel, content := range map[string]string{
						".gitignore":         "ignored/\n*.log\n",
						"src/main.go":        "package main // needleOld\n",
						"ignored/x.go":       "package x // needleIgnored\n",
						"app.log":            "needleLog\n",
						".hidden/h.go":       "package h\n",
						"node_modules/m.go":  "package m\n",
						"src/deep/lib.go":    "package deep\n",
						"src/deep/notes.txt": "notes\n",
					} {
						p := filepath.Join(base, rel)
						if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
							t.Error(err)
						}
						if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
							t.Error(err)
						}
					}
				}})
			sid := h.newSession()
			var res storage.WithParts
			if code := h.call("POST", "/session/"+sid+"/message", textPrompt("look around"), &res); code != 200 || res.Info.Error != nil {
				t.Fatalf("status %d: %+v", code, res.Info.Error)
			}
			// The listing: the served directory's files and directories,
			// without what git ignores, hidden directories or node_modules.
			sys := strings.Join(res.Info.System, "\n")
			listing := sys[strings.Index(sys, "<project>"):]
			for _, want := range []string{"src/\n", "src/deep/\n", "src/deep/lib.go\n", "src/main.go\n", ".gitignore\n"} {
				if !strings.Contains(listing, "\n"+want) {
					t.Errorf("listing lacks %q:\n%s", want, listing)
				}
			}
			for _, not := range []string{"ignored", "app.log", ".hidden", "node_modules"} {
				if strings.Contains(listing, not) {
					t.Errorf("listing shows %q:\n%s", not, listing)
				}
			}
			outputs := map[string]string{}
			for _, p := range res.Parts {
				if p.Type == "tool" {
					if p.State.Status != "completed" {
						t.Fatalf("%s: %+v", p.Tool, p.State)
					}
					outputs[p.Tool] = p.State.Output
				}
			}
			base := filepath.Join(h.dir, sub)
			for _, want := range []string{"fresh/by_write.go", "fresh/deep/by_bash.go", "src/main.go", "src/deep/lib.go"} {
				if !strings.Contains(outputs["glob"], filepath.Join(base, want)+"\n") && !strings.HasSuffix(outputs["glob"], filepath.Join(base, want)) {
					t.Errorf("glob lacks %s:\n%s", want, outputs["glob"])
				}
				if !strings.Contains(outputs["list"], filepath.Base(want)) {
					t.Errorf("list lacks %s:\n%s", want, outputs["list"])
				}
			}
			for _, want := range []string{"needleWrite", "needleBash", "needleOld"} {
				if !strings.Contains(outputs["grep"], want) {
					t.Errorf("grep lacks %s:\n%s", want, outputs["grep"])
				}
			}
			if strings.Contains(outputs["list"], "node_modules") || !strings.Contains(outputs["glob"], "node_modules/m.go") {
				t.Errorf("node_modules (not ignored by git) is for glob, not for list:\n%s\n%s", outputs["glob"], outputs["list"])
			}
			for _, out := range outputs {
				for _, not := range []string{"needleIgnored", "needleLog", "x.log", "ignored/x.go"} {
					if strings.Contains(out, not) {
						t.Errorf("a tool shows the ignored %s:\n%s", not, out)
					}
				}
			}
		})
	}
}
