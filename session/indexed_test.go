package session

import (
	"context"
	"slices"
	"strings"
	"testing"
)

type fakeIndex struct{ files, dirs []string }

func (fakeIndex) Sync(context.Context) error { return nil }
func (f fakeIndex) RegularFiles(dir string) []string {
	var out []string
	for _, p := range f.files {
		if dir == "." || dir == "" || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}
func (f fakeIndex) Dirs() []string { return f.dirs }

// TestIndexedIsRelativeToTheServedDirectory: the files and directories
// below the served directory come back relative to it, the directory itself
// and its siblings left out; served from the root, everything.
func TestIndexedIsRelativeToTheServedDirectory(t *testing.T) {
	idx := fakeIndex{files: []string{"a/b/f", "a/g", "ab/h", "top"}, dirs: []string{"a", "a/b", "ab"}}
	for _, c := range []struct {
		cwd         string
		files, dirs []string
	}{
		{"/p", []string{"a/b/f", "a/g", "ab/h", "top"}, []string{"a", "a/b", "ab"}},
		{"/p/a", []string{"b/f", "g"}, []string{"b"}},
	} {
		s := &Service{opts: Options{Root: "/p", Cwd: c.cwd, Files: idx}}
		files, dirs, err := s.indexed(context.Background(), ".", true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(files, c.files) || !slices.Equal(dirs, c.dirs) {
			t.Errorf("served from %s: files %q dirs %q, want %q %q", c.cwd, files, dirs, c.files, c.dirs)
		}
	}
}
