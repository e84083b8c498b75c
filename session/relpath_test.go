package session

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestRelPath: a path, absolute or relative to the served directory, is
// made relative to it, or refused when it leaves it.
func TestRelPath(t *testing.T) {
	s := &Service{opts: Options{Cwd: filepath.FromSlash("/p/cwd")}}
	for _, c := range []struct{ in, want string }{
		{"/p/cwd/a/b", "a/b"},
		{"/p/cwd", "."},
		{"a/../b", "b"},
		{"", "."},
		{"..x", "..x"},
		{"/p/cwd/a/../../other", ""},
		{"/p/cwdx", ""},
		{"..", ""},
		{"a/../../b", ""},
	} {
		got, err := s.relPath(filepath.FromSlash(c.in))
		if c.want == "" {
			if !errors.Is(err, errOutsideProject) {
				t.Errorf("relPath(%q) = %q, %v; want outside", c.in, got, err)
			}
			continue
		}
		if err != nil || got != filepath.FromSlash(c.want) {
			t.Errorf("relPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
