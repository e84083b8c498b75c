package relpath

import (
	"path/filepath"
	"testing"
)

func TestWithin(t *testing.T) {
	cases := []struct {
		base, p, rel string
		ok           bool
	}{
		{"/a/b", "/a/b", ".", true},
		{"/a/b", "/a/b/c/d", filepath.FromSlash("c/d"), true},
		{"/a/b", "/a/b/../c", "", false},
		{"/a/b", "/a/bc", "", false},
		{"/a/b", "/a", "", false},
		{"/a/b", "/a/b/..x", "..x", true},
		{"/a/b", "relative", "", false},
	}
	for _, c := range cases {
		rel, ok := Within(c.base, c.p)
		if rel != c.rel || ok != c.ok {
			t.Errorf("Within(%q, %q) = %q, %v; want %q, %v", c.base, c.p, rel, ok, c.rel, c.ok)
		}
	}
}

func TestJoinAndOS(t *testing.T) {
	if Join("", "a") != "a" || Join("a/b", "c") != "a/b/c" {
		t.Error("Join")
	}
	if OS("") != "." || OS("a/b") != filepath.FromSlash("a/b") {
		t.Error("OS")
	}
}
