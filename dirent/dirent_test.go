package dirent_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ocgo/dirent"
)

func TestReadKindsWithoutFollowing(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "ld")); err != nil {
		t.Fatal(err)
	}
	top, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer top.Close()
	ents, err := dirent.Read(int(top.Fd()), make([]byte, dirent.BufSize))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ents, func(a, b dirent.Entry) int { return strings.Compare(a.Name, b.Name) })
	want := []dirent.Entry{
		{Name: "d", IsDir: true},
		{Name: "f", IsFile: true},
		{Name: "ld", IsFile: true, IsLink: true}, // a symlink to a directory is not a directory
	}
	if !slices.Equal(ents, want) {
		t.Fatalf("entries = %+v, want %+v", ents, want)
	}
	if dirent.Nested(ents) {
		t.Fatal("no .git, reported nested")
	}
	if err := os.WriteFile(filepath.Join(dir, "d", ".git"), []byte("gitdir: elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "d"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sub, err := dirent.Read(int(f.Fd()), make([]byte, 64)) // small buffer: several getdents calls
	if err != nil {
		t.Fatal(err)
	}
	if !dirent.Nested(sub) {
		t.Fatalf("a .git file not reported as a nested repository: %+v", sub)
	}
}
