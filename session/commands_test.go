package session

import "testing"

// A template's ~/ is the injected home only: with none, the process's
// $HOME (pointed elsewhere here) must not be read.
func TestTemplateFileHome(t *testing.T) {
	t.Setenv("HOME", "/process/home")
	cases := []struct{ ref, home, want string }{
		{"~/notes.md", "/injected", "/injected/notes.md"},
		{"~/notes.md", "", "/proj/~/notes.md"},
		{"docs/a.md", "/injected", "/proj/docs/a.md"},
		{"/abs/a.md", "/injected", "/abs/a.md"},
	}
	for _, c := range cases {
		if got := templateFile(c.ref, c.home, "/proj"); got != c.want {
			t.Errorf("templateFile(%q, %q) = %q, want %q", c.ref, c.home, got, c.want)
		}
	}
}
