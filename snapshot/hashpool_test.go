package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// A file swapped for a symlink between the walk's fstatat and the hash's
// open must not be read through the link: os.Root follows a link that
// stays inside the project even with O_NOFOLLOW, which would store another
// file's content under this path. The hash sees a different inode, looks
// again without following links and records the link itself.
func TestHashDoesNotReadThroughASwappedInLink(t *testing.T) {
	work := t.TempDir()
	write(t, work, "a.txt", "walked content\n", 0o644)
	write(t, work, "other.txt", "another file's content\n", 0o644)
	write(t, work, "d/b.txt", "walked b\n", 0o644)
	s := openSnap(t, work)

	walked := func(rel string) *fileEntry {
		fi, err := os.Lstat(filepath.Join(work, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return &fileEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inodeOf(fi), mode: filemode.Regular}
	}
	swap := func(rel, target string) {
		p := filepath.Join(work, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}

	a, b := walked("a.txt"), walked("d/b.txt")
	swap("a.txt", "other.txt")
	swap("d/b.txt", "../other.txt")
	for _, c := range []struct {
		rel, target string
		e           *fileEntry
	}{{"a.txt", "other.txt", a}, {"d/b.txt", "../other.txt", b}} {
		var buf []byte
		got, skip := s.readForHash(c.rel, c.e, &buf)
		if skip != "" || string(got) != c.target || c.e.mode != filemode.Symlink || !c.e.racy {
			t.Errorf("%s: read %q (skip %q, mode %v, racy %v), want the link %q", c.rel, got, skip, c.e.mode, c.e.racy, c.target)
		}
	}

	// A regular file renamed over the walked one is read as it is now.
	c := walked("other.txt")
	write(t, work, "new.txt", "renamed over\n", 0o644)
	if err := os.Rename(filepath.Join(work, "new.txt"), filepath.Join(work, "other.txt")); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	if got, skip := s.readForHash("other.txt", c, &buf); skip != "" || string(got) != "renamed over\n" || c.mode != filemode.Regular {
		t.Errorf("renamed over: read %q (skip %q, mode %v)", got, skip, c.mode)
	}
}

// A directory swapped for a symlink since the walk is not followed, not
// even to read a link's target: the link could lead out of the project.
func TestHashDoesNotFollowASwappedInDirectory(t *testing.T) {
	work, outside := t.TempDir(), t.TempDir()
	write(t, work, "d/f.txt", "walked\n", 0o644)
	if err := os.Symlink("/etc/outside-target", filepath.Join(work, "d", "l")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/secret-target", filepath.Join(outside, "l")); err != nil {
		t.Fatal(err)
	}
	write(t, outside, "f.txt", "outside content\n", 0o644)
	s := openSnap(t, work)
	fi, err := os.Lstat(filepath.Join(work, "d", "f.txt"))
	if err != nil {
		t.Fatal(err)
	}
	file := &fileEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inodeOf(fi), mode: filemode.Regular}
	link := &fileEntry{mode: filemode.Symlink}
	if err := os.RemoveAll(filepath.Join(work, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(work, "d")); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	if got, skip := s.readForHash("d/f.txt", file, &buf); skip == "" {
		t.Errorf("d/f.txt read through the swapped directory: %q", got)
	}
	if got, skip := s.readForHash("d/l", link, &buf); skip == "" {
		t.Errorf("d/l read through the swapped directory: %q", got)
	}
}

// A restore's check of a file's current content follows no link either: a
// file swapped for a link to another project file since its lstat is not
// taken for that file's content.
func TestCurrentBlobDoesNotFollowASwappedInLink(t *testing.T) {
	work := t.TempDir()
	write(t, work, "a.txt", "agent's version\n", 0o644)
	write(t, work, "b.txt", "agent's version\n", 0o644) // the same bytes: following would match
	s := openSnap(t, work)
	fi, err := os.Lstat(filepath.Join(work, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(work, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b.txt", filepath.Join(work, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if h, err := s.currentBlob("a.txt", fi); err == nil {
		t.Fatalf("hashed %s through the link", h)
	}
}
