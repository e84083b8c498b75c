package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile: any project opencode.json loads or fails with an error;
// it never panics, and an error never shows a substituted {env:} value.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{`{}`, `{"model":"a/b"}`, `{"share":"{env:SECRET}"}`, `{"provider":{"x":{"options":{"apiKey":"{env:SECRET}"}}}}`,
		`{"mcp":{"m":{"type":"local","command":["a","--token","{env:SECRET}"]}}}`, `{"agent":{"b":{"prompt":"{file:./p.txt}"}}}`,
		"// c\n{\"model\": \"x/y\",}", `{"permission":{"bash":{"*":"ask"}}}`, `{"instructions":["{env:SECRET}"]}`, "\x00", `{"keybinds":5}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(Options{Paths: Paths{Cwd: dir, Root: dir}, Env: func(k string) string {
			if k == "SECRET" {
				return "FUZZ-SECRET-VALUE"
			}
			return ""
		}})
		if err != nil && strings.Contains(err.Error(), "FUZZ-SECRET-VALUE") {
			t.Fatalf("error shows the {env:} value: %v", err)
		}
	})
}
