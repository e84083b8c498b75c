package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"

	linediff "ocgo/diff"
)

// Diff returns a unified, git-style diff from tree from to tree to (to ==
// "" means the current work tree). New files show "new file mode" and
// "--- /dev/null", deleted files "+++ /dev/null", binary files "Binary files
// ... differ", mode changes "old mode/new mode".
func (s *Snapshotter) Diff(ctx context.Context, from, to string) (string, error) {
	return s.diff(ctx, from, to, nil)
}

// DiffPaths is Diff limited to the given work-tree-relative paths (a
// directory stands for every file below it). No paths means an empty diff.
func (s *Snapshotter) DiffPaths(ctx context.Context, from, to string, paths []string) (string, error) {
	for _, p := range paths {
		if _, err := cleanRel(p); err != nil {
			return "", err
		}
	}
	return s.diff(ctx, from, to, pathFilter(paths))
}

func (s *Snapshotter) diff(ctx context.Context, from, to string, keep func(string) bool) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", err
	}
	defer s.end()
	ch, err := s.changesBetween(ctx, from, to)
	if err != nil {
		return "", err
	}
	p := &patch{}
	for _, c := range ch {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if keep != nil && !keep(c.path) {
			continue
		}
		// A type change (file <-> symlink) is shown as delete + add, as git does.
		if c.from != nil && c.to != nil && (c.from.Mode == filemode.Symlink) != (c.to.Mode == filemode.Symlink) {
			for _, half := range []change{{path: c.path, from: c.from}, {path: c.path, to: c.to}} {
				fp, err := s.filePatch(half)
				if err != nil {
					return "", err
				}
				p.files = append(p.files, fp)
			}
			continue
		}
		fp, err := s.filePatch(c)
		if err != nil {
			return "", err
		}
		p.files = append(p.files, fp)
	}
	var buf bytes.Buffer
	if err := fdiff.NewUnifiedEncoder(&buf, fdiff.DefaultContextLines).Encode(p); err != nil {
		return "", fmt.Errorf("snapshot: encode diff: %w", err)
	}
	return buf.String(), nil
}

func (s *Snapshotter) blob(h plumbing.Hash) ([]byte, error) {
	typ, data, err := s.store.read(h)
	if err != nil {
		return nil, err
	}
	if typ != "blob" {
		return nil, fmt.Errorf("%w: %s is not a blob", ErrInvalidHash, h)
	}
	return data, nil
}

// DiffMaxFileSize is the largest file a diff shows line by line: a larger
// one (either side) shows as "Binary files … differ", as git shows files
// past core.bigFileThreshold. Its lines would make the diff (which
// session.revert.diff keeps and every GET /session returns) megabytes long
// and take seconds to compute, for a text no one reads.
const DiffMaxFileSize = 1 << 20

func (s *Snapshotter) filePatch(c change) (*filePatch, error) {
	fp := &filePatch{}
	var a, b []byte
	var err error
	if c.from != nil {
		fp.from = &file{path: c.path, mode: c.from.Mode, hash: c.from.Hash}
		if a, err = s.blob(c.from.Hash); err != nil {
			return nil, err
		}
	}
	if c.to != nil {
		fp.to = &file{path: c.path, mode: c.to.Mode, hash: c.to.Hash}
		if b, err = s.blob(c.to.Hash); err != nil {
			return nil, err
		}
	}
	if linediff.IsBinary(a) || linediff.IsBinary(b) || len(a) > DiffMaxFileSize || len(b) > DiffMaxFileSize {
		fp.binary = true
		return fp, nil
	}
	if c.from != nil && c.to != nil && c.from.Hash == c.to.Hash {
		return fp, nil // mode change only
	}
	// Consecutive lines of one kind make one chunk, as the encoder expects.
	script := linediff.Script(string(a), string(b))
	for i := 0; i < len(script); {
		j := i
		var sb strings.Builder
		for ; j < len(script) && script[j].Kind == script[i].Kind; j++ {
			sb.WriteString(script[j].Text)
		}
		op := fdiff.Equal
		switch script[i].Kind {
		case linediff.Insert:
			op = fdiff.Add
		case linediff.Delete:
			op = fdiff.Delete
		}
		fp.chunks = append(fp.chunks, chunk{content: sb.String(), op: op})
		i = j
	}
	return fp, nil
}

type patch struct{ files []*filePatch }

func (p *patch) FilePatches() []fdiff.FilePatch {
	out := make([]fdiff.FilePatch, len(p.files))
	for i, f := range p.files {
		out[i] = f
	}
	return out
}
func (p *patch) Message() string { return "" }

type filePatch struct {
	from, to *file
	binary   bool
	chunks   []chunk
}

func (f *filePatch) IsBinary() bool { return f.binary }
func (f *filePatch) Files() (fdiff.File, fdiff.File) {
	var a, b fdiff.File
	if f.from != nil {
		a = f.from
	}
	if f.to != nil {
		b = f.to
	}
	return a, b
}
func (f *filePatch) Chunks() []fdiff.Chunk {
	out := make([]fdiff.Chunk, len(f.chunks))
	for i := range f.chunks {
		out[i] = f.chunks[i]
	}
	return out
}

type file struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (f *file) Hash() plumbing.Hash     { return f.hash }
func (f *file) Mode() filemode.FileMode { return f.mode }
func (f *file) Path() string            { return f.path }

type chunk struct {
	content string
	op      fdiff.Operation
}

func (c chunk) Content() string       { return c.content }
func (c chunk) Type() fdiff.Operation { return c.op }
