//go:build unix

package dirent_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"ocgo/dirent"
)

// Every operation of a Root acts on what is at the path, never through a
// link: one in place of a directory on the way (to another directory of
// the tree, or out of it), or the path's own last component.
func TestRootFollowsNoLink(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	mk(t, dir, "real/f", "other/f")
	mk(t, outside, "f")
	for name, target := range map[string]string{"in": filepath.Join(dir, "other"), "out": outside} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("f", filepath.Join(dir, "real", "lf")); err != nil {
		t.Fatal(err)
	}
	r := openRoot(t, dir)
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{"other/f", filepath.Join(outside, "f"), "real/f"} {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, _ := os.ReadFile(p)
			fi, _ := os.Stat(p)
			m[p] = string(b) + fi.Mode().String()
		}
		ents, _ := os.ReadDir(outside)
		ents2, _ := os.ReadDir(filepath.Join(dir, "other"))
		m["dirs"] = filepath.Join(dirNames(ents)...) + "|" + filepath.Join(dirNames(ents2)...)
		return m
	}
	before := snapshot()

	for _, link := range []string{"in", "out"} {
		p := link + "/f"
		if _, err := r.Lstat(p); err == nil {
			t.Errorf("Lstat %s went through the link", p)
		}
		if f, err := r.OpenFile(p, os.O_RDONLY, 0); err == nil {
			b, _ := io.ReadAll(f)
			_ = f.Close()
			t.Errorf("OpenFile %s read %q through the link", p, b)
		}
		if f, err := r.OpenFile(link+"/new", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			_ = f.Close()
			t.Errorf("OpenFile created %s/new through the link", link)
		}
		if err := r.Chmod(p, 0o600); err == nil {
			t.Errorf("Chmod %s went through the link", p)
		}
		if err := r.Remove(p); err == nil {
			t.Errorf("Remove %s went through the link", p)
		}
		if err := r.MkdirAll(link+"/a/b", 0o755); err == nil {
			t.Errorf("MkdirAll %s/a/b went through the link", link)
		}
		if err := r.Symlink("x", link+"/s"); err == nil {
			t.Errorf("Symlink %s/s went through the link", link)
		}
		if err := r.Rename("real/f", link+"/moved"); err == nil {
			t.Errorf("Rename into %s went through the link", link)
		}
		if _, err := r.Readlink(link + "/f"); err == nil {
			t.Errorf("Readlink %s/f went through the link", link)
		}
	}
	// The last component: the link itself, never its target.
	if fi, err := r.Lstat("real/lf"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Lstat real/lf: %v %v", fi, err)
	}
	if _, err := r.OpenFile("real/lf", os.O_RDONLY, 0); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("OpenFile real/lf: %v, want ELOOP", err)
	}
	if err := r.Chmod("real/lf", 0o600); err == nil {
		t.Error("Chmod real/lf changed the link's target")
	}
	if got := snapshot(); !maps.Equal(got, before) {
		t.Errorf("the tree changed:\n%v\n%v", before, got)
	}
	if tgt, err := r.Readlink("real/lf"); err != nil || tgt != "f" {
		t.Errorf("Readlink real/lf = %q, %v", tgt, err)
	}
	if err := r.Rename("real/lf", "real/lf2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove("real/lf2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "real", "f")); err != nil {
		t.Errorf("removing the link removed its target: %v", err)
	}
	// And where there is no link, each works.
	if err := r.MkdirAll("real/x/y", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := r.OpenFile("real/x/y/z", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if err := r.Chmod("real/x/y/z", 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := r.Lstat("real/x/y/z"); err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Errorf("Lstat after Chmod: %v %v", fi, err)
	}
	if _, err := r.Lstat("../" + filepath.Base(dir)); err == nil {
		t.Error("Lstat of .. succeeded")
	}
}

func dirNames(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// A walk lists the tree on each call with the same Root: each walk reads
// the top through a descriptor of its own (a listing reads from the
// descriptor's offset).
func TestWalkTwiceWithOneRoot(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, "a", "d/b")
	r := openRoot(t, dir)
	for i := 0; i < 2; i++ {
		var names []string
		w := &dirent.Walker[string]{List: func(d *dirent.Dir[string], _ string) {
			for _, e := range d.Entries {
				names = append(names, d.Rel+"/"+e.Name)
				if e.IsDir {
					d.Descend(e.Name, "")
				}
			}
		}}
		if err := w.Walk(context.Background(), r, "", ""); err != nil {
			t.Fatal(err)
		}
		if len(names) != 3 {
			t.Fatalf("walk %d listed %v", i+1, names)
		}
	}
}

// Dir.Open reads a file of the directory the walk listed, even when that
// directory was swapped for a link meanwhile (a .gitignore must not come
// from another directory, or from outside the tree), and never a link.
func TestDirOpenReadsTheListedDirectory(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	mk(t, dir, "d/.gitignore")
	if err := os.WriteFile(filepath.Join(outside, ".gitignore"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, ".gitignore"), filepath.Join(dir, "d", "link")); err != nil {
		t.Fatal(err)
	}
	var got, link string
	w := &dirent.Walker[string]{List: func(d *dirent.Dir[string], _ string) {
		if d.Rel == "" {
			d.Descend("d", "")
			return
		}
		// Listed; now d is swapped for a link to outside.
		if err := os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "d.old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "d")); err != nil {
			t.Fatal(err)
		}
		f, err := d.Open(".gitignore")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		_ = f.Close()
		got = string(b)
		if f, err := d.Open("link"); err == nil {
			b, _ := io.ReadAll(f)
			_ = f.Close()
			link = string(b)
		}
	}}
	if err := w.Walk(context.Background(), openRoot(t, dir), "", ""); err != nil {
		t.Fatal(err)
	}
	if got != "d/.gitignore" || link != "" {
		t.Fatalf("read %q and through the link %q; want the listed directory's file and nothing through a link", got, link)
	}
}
