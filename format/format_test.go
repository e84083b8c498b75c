package format

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ocgo/config"
)

func TestBuiltinGofmt(t *testing.T) {
	if _, err := exec.LookPath("gofmt"); err != nil {
		t.Fatal("gofmt not on PATH: go test puts GOROOT/bin there")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.go")
	if err := os.WriteFile(p, []byte("package a\nfunc  F( ) {\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := New(Options{Dir: dir}).Format(context.Background(), p)
	if len(res) != 1 || res[0].Name != "gofmt" || res[0].Error != "" {
		t.Fatalf("runs: %+v", res)
	}
	if b, _ := os.ReadFile(p); string(b) != "package a\n\nfunc F() {\n}\n" {
		t.Errorf("not formatted: %q", b)
	}
	// Not on PATH: not run. Disabled: not run.
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	if res := New(Options{Dir: dir, LookPath: notFound}).Format(context.Background(), p); len(res) != 0 {
		t.Errorf("ran without its program: %+v", res)
	}
	off := map[string]config.FormatterConfig{"gofmt": {Disabled: true}}
	if res := New(Options{Dir: dir, Config: off}).Format(context.Background(), p); len(res) != 0 {
		t.Errorf("disabled formatter ran: %+v", res)
	}
}

func TestProjectConditions(t *testing.T) {
	dir := t.TempDir()
	found := func(string) (string, error) { return "/bin/true", nil }
	s := New(Options{Dir: dir, LookPath: found})
	enabled := func(name string) bool {
		for _, f := range s.list {
			if f.name == name {
				return f.enabled(s, f)
			}
		}
		return false
	}
	if enabled("ruff") || enabled("prettier") || enabled("clang-format") {
		t.Error("ruff, prettier or clang-format enabled for a project that does not use them")
	}
	if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[tool.ruff]\nline-length = 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"devDependencies":{"prettier":"3"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".clang-format"), []byte("BasedOnStyle: LLVM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !enabled("ruff") || !enabled("prettier") || !enabled("clang-format") || enabled("black") {
		t.Error("project conditions not honoured")
	}
}

func TestTimeoutKillsTheFormatter(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.txt")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Dir: dir, Timeout: 200 * time.Millisecond, Config: map[string]config.FormatterConfig{
		"slow": {Command: []string{"sh", "-c", "sleep 30; echo late > \"$0\"", "$FILE"}, Extensions: []string{".txt"}},
	}})
	start := time.Now()
	res := s.Format(context.Background(), p)
	if len(res) != 1 || !strings.Contains(res[0].Error, "timed out") || time.Since(start) > 5*time.Second {
		t.Fatalf("runs: %+v after %v", res, time.Since(start))
	}
	if b, _ := os.ReadFile(p); string(b) != "x" {
		t.Errorf("the killed formatter wrote: %q", b)
	}
}

// A formatter started without an environment wired in gets childenv's
// default: the server's environment less its credential variables.
func TestDefaultEnvironmentHasNoKeys(t *testing.T) {
	t.Setenv("OCGO_FORMAT_TEST_API_KEY", "sekrit-format-key")
	t.Setenv("OCGO_FORMAT_TEST_PLAIN", "plain-value")
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]config.FormatterConfig{"envdump": {Command: []string{"sh", "-c", `env > "$1"`, "sh", "$FILE"}, Extensions: []string{".txt"}}}
	if res := New(Options{Dir: dir, Config: cfg}).Format(context.Background(), p); len(res) != 1 || res[0].Error != "" {
		t.Fatalf("runs: %+v", res)
	}
	env, _ := os.ReadFile(p)
	if !strings.Contains(string(env), "OCGO_FORMAT_TEST_PLAIN=plain-value") {
		t.Fatalf("formatter's environment lacks the plain variable:\n%s", env)
	}
	if strings.Contains(string(env), "sekrit-format-key") {
		t.Errorf("formatter saw an API key")
	}
}
