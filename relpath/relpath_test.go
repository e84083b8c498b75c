package relpath

import (
	"path/filepath"
	"slices"
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

func TestRel(t *testing.T) {
	cases := []struct {
		base, p, rel string
		ok           bool
	}{
		{"/a/b", "/a/b", "", true},
		{"/a/b", "/a/b/", "", true},
		{"/a/b", "/a/b/c/./d", "c/d", true},
		{"/a/b", "/a/b/..x", "..x", true},
		{"/a/b", "/a/b/../c", "", false},
		{"/a/b", "/a/bc", "", false},
	}
	for _, c := range cases {
		rel, ok := Rel(c.base, filepath.FromSlash(c.p))
		if rel != c.rel || ok != c.ok {
			t.Errorf("Rel(%q, %q) = %q, %v; want %q, %v", c.base, c.p, rel, ok, c.rel, c.ok)
		}
	}
}

func TestUnder(t *testing.T) {
	cases := []struct {
		dir, p string
		want   bool
	}{
		{"", "a/b", true},
		{".", "a", true},
		{"a", "a", true},
		{"a", "a/b/c", true},
		{"a/b", "a/b/c", true},
		{"a", "ab", false},
		{"a", "ab/c", false},
		{"a/b", "a", false},
		{"a/b", "a/bc", false},
		{"a", "", false},
	}
	for _, c := range cases {
		if got := Under(c.dir, c.p); got != c.want {
			t.Errorf("Under(%q, %q) = %v, want %v", c.dir, c.p, got, c.want)
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

func TestIn(t *testing.T) {
	if !In("/a/b", "/a/b/c") || !In("/a/b", "/a/b") || In("/a/b", "/a/bc") || In("", "/a") {
		t.Error("In")
	}
}

func TestDirBase(t *testing.T) {
	cases := []struct{ rel, dir, base string }{
		{"a", "", "a"},
		{"a/b", "a", "b"},
		{"a/b/c.go", "a/b", "c.go"},
		{"", "", ""},
	}
	for _, c := range cases {
		if d, b := Dir(c.rel), Base(c.rel); d != c.dir || b != c.base {
			t.Errorf("Dir, Base(%q) = %q, %q; want %q, %q", c.rel, d, b, c.dir, c.base)
		}
	}
}

func TestUp(t *testing.T) {
	if got := slices.Collect(Up("a/b/c")); !slices.Equal(got, []string{"a/b/c", "a/b", "a"}) {
		t.Errorf("Up(a/b/c) = %q", got)
	}
	if got := slices.Collect(Up("a")); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Up(a) = %q", got)
	}
	var first []string
	for q := range Up("x/y/z") {
		first = append(first, q)
		if q == "x/y" {
			break
		}
	}
	if !slices.Equal(first, []string{"x/y/z", "x/y"}) {
		t.Errorf("Up stopped early = %q", first)
	}
}
