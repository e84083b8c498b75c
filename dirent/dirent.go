// Package dirent lists one directory of the project tree; it is the one
// directory reader under both walks of the tree (the watcher's index and
// the snapshotter's stat scan, see docs/architecture.md).
//
// Guarantees: an entry's kind comes from the directory itself (d_type, or
// an lstat relative to the open directory when the file system does not say),
// so a symlink is reported as a symlink and never followed; "." and ".."
// are left out; a directory is opened with O_NOFOLLOW when asked, so one
// swapped for a symlink is not listed. Listing from an open descriptor lets a
// walk open each directory by one name relative to its open parent.
package dirent

// Entry is one name in a directory.
type Entry struct {
	Name   string
	IsDir  bool // a directory (not a symlink to one)
	IsFile bool // a regular file or a symlink: what git can track
	IsLink bool // a symlink
}

// BufSize is a good size for the buffer handed to Read.
const BufSize = 32 << 10

// Nested reports whether a listing holds ".git" (a directory, or a file
// naming a git directory): below the top, git leaves such a directory out as
// a nested repository.
func Nested(ents []Entry) bool {
	for _, e := range ents {
		if e.Name == ".git" {
			return true
		}
	}
	return false
}
