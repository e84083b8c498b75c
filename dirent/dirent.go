// Package dirent reads the project tree: Root is the tree with every path
// reached without following a link, Read lists one directory, and
// Walker is the one walk of the tree, under both the watcher's index and the
// snapshotter's stat scan (docs/architecture.md, One walk of the tree). The
// walk is here, beside the reader, because walking is listing applied
// recursively and both users need the same guarantees from it; what each
// does with a directory is its own, through the walk's hooks.
//
// Guarantees: an entry's kind comes from the directory itself (d_type, or
// an lstat relative to the open directory when the file system does not say),
// so a symlink is reported as a symlink and never followed; "." and ".."
// are left out. A walk opens every directory relative to its open parent
// with O_NOFOLLOW, from the top of a Root, so a directory swapped for a
// symlink is not listed and nothing outside the root is; a file's stat is
// read relative to its open directory, without following.
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
