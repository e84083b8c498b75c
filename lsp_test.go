package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ocgo/provider/fakellm"
	"ocgo/search"
	"ocgo/storage"
)

// TestLSPDiagnosticsAfterABrokenGoEdit: the write tool's output carries
// gopls's error for the file it wrote, lsp.client.diagnostics is published,
// and /find/symbol then answers from gopls.
func TestLSPDiagnosticsAfterABrokenGoEdit(t *testing.T) {
	if _, err := exec.LookPath("gopls"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gopls is not on PATH; .ci/run installs it")
		}
		t.Skip("gopls not on PATH")
	}
	broken := "package main\n\ntype Widget struct{}\n\nfunc (Widget) Spin() int {\n\treturn notDeclared\n}\n"
	fake := fakellm.NewAnthropic(t,
		fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "write", Args: `{"filePath":"widget.go","content":` + jsonOf(broken) + `}`}}},
		fakellm.Turn{Text: []string{"wrote it"}},
	)
	cfg := `{"provider":{"anthropic":{"options":{"baseURL":"` + fake.URL + `"}}}}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"ANTHROPIC_API_KEY": "k"}, setup: func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/w\n\ngo 1.22\n"), 0o644); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			t.Error(err)
		}
		// An ignored package: gopls loads it, the built-in extractors skip it.
		if err := os.MkdirAll(filepath.Join(dir, "gen"), 0o755); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "gen", "gen.go"), []byte("package gen\n\nfunc OnlyGoplsSeesThis() {}\n"), 0o644); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("gen/\n"), 0o644); err != nil {
			t.Error(err)
		}
	}})
	sid := h.newSession()
	var res storage.WithParts
	h.call("POST", "/session/"+sid+"/message", textPrompt("write the widget"), &res)
	p := toolPart(t, res, "write")
	want := "\nThis file has errors, please fix\n<file_diagnostics>\nERROR [6:9] undefined: notDeclared\n</file_diagnostics>\n"
	if p.State.Status != "completed" || !strings.HasSuffix(p.State.Output, want) {
		t.Fatalf("write part: %+v", p.State)
	}
	file := filepath.Join(h.dir, "widget.go")
	if d, _ := p.State.Metadata["diagnostics"].(map[string]any); d[file] == nil {
		t.Errorf("metadata.diagnostics: %v", p.State.Metadata["diagnostics"])
	}
	h.waitEvent(func(e map[string]any) bool {
		p, _ := e["properties"].(map[string]any)
		return e["type"] == "lsp.client.diagnostics" && p["serverID"] == "gopls" && p["path"] == file
	})
	// gopls loads every package of the module; the built-in extractors
	// skip ignored files.
	var syms []search.Symbol
	h.call("GET", "/find/symbol?query=OnlyGoplsSeesThis", nil, &syms)
	if len(syms) == 0 || !strings.HasSuffix(syms[0].Name, "OnlyGoplsSeesThis") || !strings.HasSuffix(syms[0].Location.URI, "/gen/gen.go") {
		t.Errorf("/find/symbol did not answer from gopls: %+v", syms)
	}
}
