package lsp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/config"
	"ocgo/search"
)

func TestPretty(t *testing.T) {
	d := Diagnostic{Severity: 1, Message: "undefined: x", Range: search.Range{Start: search.Position{Line: 3, Character: 8}}}
	if got := d.Pretty(); got != "ERROR [4:9] undefined: x" {
		t.Errorf("Pretty: %q", got)
	}
	d.Severity = 2
	if got := d.Pretty(); !strings.HasPrefix(got, "WARN ") {
		t.Errorf("Pretty: %q", got)
	}
}

// A server that never answers initialize, and one that exits at once, are
// each reported once and then skipped without delay.
func TestBrokenServersReportedOnceAndSkipped(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var errs []string
	s := New(Options{Root: dir, StartTimeout: 300 * time.Millisecond, DiagnosticsWait: 200 * time.Millisecond,
		Config: map[string]config.LSPConfig{
			"silent": {Command: []string{"sleep", "30"}, Extensions: []string{".txt"}},
			"gone":   {Command: []string{"sh", "-c", "exit 1"}, Extensions: []string{".txt"}},
			"gopls":  {Disabled: true},
		},
		OnError: func(id string, err error) {
			mu.Lock()
			errs = append(errs, id+": "+err.Error())
			mu.Unlock()
		},
	})
	defer s.Close()
	start := time.Now()
	s.Touch(context.Background(), file)
	if time.Since(start) > 3*time.Second {
		t.Errorf("first touch took %v", time.Since(start))
	}
	start = time.Now()
	s.Touch(context.Background(), file)
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("a broken server was tried again (%v)", time.Since(start))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 2 || !strings.Contains(strings.Join(errs, "\n"), "no answer to initialize") {
		t.Errorf("errors: %q", errs)
	}
	if len(s.Errors(file)) != 0 {
		t.Error("diagnostics from nowhere")
	}
}

// goplsOrSkip finds gopls; in CI (CI=true) it must be there (.ci/run
// installs it).
func goplsOrSkip(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gopls"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gopls is not on PATH; .ci/run installs it")
		}
		t.Skip("gopls not on PATH")
	}
}

func TestGopls(t *testing.T) {
	goplsOrSkip(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a.go")
	if err := os.WriteFile(file, []byte("package m\n\nfunc F() int {\n\treturn missing\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var published []string
	s := New(Options{Root: dir, DiagnosticsWait: 20 * time.Second, OnDiagnostics: func(id, path string) {
		mu.Lock()
		published = append(published, id+" "+path)
		mu.Unlock()
	}})
	defer s.Close()
	s.Touch(context.Background(), file)
	errs := s.Errors(file)
	if len(errs) == 0 || errs[0].Pretty() != "ERROR [4:9] undefined: missing" {
		t.Fatalf("errors: %+v", errs)
	}
	mu.Lock()
	if len(published) == 0 || published[0] != "gopls "+file {
		t.Errorf("published: %q", published)
	}
	mu.Unlock()
	// Fixed: the errors go away.
	if err := os.WriteFile(file, []byte("package m\n\nfunc F() int {\n\treturn 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Touch(context.Background(), file)
	if errs := s.Errors(file); len(errs) != 0 {
		t.Errorf("errors after the fix: %+v", errs)
	}
	syms, ok := s.WorkspaceSymbols(context.Background(), "F")
	if !ok || len(syms) == 0 || syms[0].Name != "F" || !strings.HasSuffix(syms[0].Location.URI, "/a.go") {
		t.Errorf("symbols: %v %+v", ok, syms)
	}
}
