// Package search answers the file routes of the opencode API: git status,
// directory listings, file reads, regex search, fuzzy file search and
// workspace symbols, all in Go over the watcher's file index. Its grep engine
// also serves the agent's grep tool (Lines).
//
// Guarantees: no process is ever spawned (no shell, rg, fzf or git), so a
// query string is only ever data. Every path a caller passes is resolved
// inside the project through one os.Root opened on the project root:
// "..", absolute paths outside the root, repository internals (.git) and
// symlinks leading out of the project all yield ErrOutside, decided before
// or without revealing whether the outside target exists. Error texts never
// carry absolute paths. Paths in answers are relative to the served
// directory (Cwd), which may be a subdirectory of the root.
package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"ocgo/confine"
	"ocgo/diff"
	"ocgo/ignore"
	"ocgo/relpath"
	"ocgo/watcher"
)

// Errors returned by the Service; wrap-checked with errors.Is.
var (
	ErrOutside        = errors.New("path is outside the project")
	ErrNotFound       = errors.New("no such file or directory")
	ErrNotDir         = errors.New("not a directory")
	ErrIsDir          = errors.New("is a directory")
	ErrInvalidPattern = errors.New("invalid pattern")
	ErrUnreadable     = errors.New("file cannot be read")
	ErrClosed         = errors.New("search service closed")
	ErrSpecial        = errors.New("not a regular file, or a file with several hard links")
)

// MaxReadSize is the largest file Read returns in full.
const MaxReadSize = 4 << 20

// File is one /file/status entry.
type File struct {
	Path    string `json:"path"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Status  string `json:"status"` // added | deleted | modified
}

// FileNode is one /file?path= directory entry.
type FileNode struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Type    string `json:"type"` // file | directory
	Ignored bool   `json:"ignored"`
}

// Content is a /file/content answer.
type Content struct {
	Type    string `json:"type"` // raw | patch
	Content string `json:"content"`
}

// Options configures a Service.
type Options struct {
	Root    string           // project root: git root, or the cwd outside git
	Cwd     string           // served directory (Root or below); answers are relative to it
	Watcher *watcher.Watcher // index of Root; nil: the service runs its own
	Deny    []string         // directories never read or listed (ocgo's data folder)
	// Workspace, when set, answers Symbols first (running language
	// servers); ok false or no symbols falls back to the built-in
	// extractors.
	Workspace func(ctx context.Context, query string) (syms []Symbol, ok bool)
	Logger    *slog.Logger
	// IndexMinFiles is the size from which /find keeps a trigram index
	// (0: DefaultIndexMinFiles; negative: every tree, as tests do).
	IndexMinFiles int
	// Env answers git's variables for the ignore rules of the watcher the
	// service runs when Watcher is nil (see ignore.Env).
	Env ignore.Env
}

// Service answers file and search queries for one project.
type Service struct {
	workspace func(ctx context.Context, query string) ([]Symbol, bool)
	root      string // absolute
	cwdRel    string // Cwd relative to root, slash form, "" for the root
	cwd       string // absolute
	osroot    *confine.Root
	escErr    error // the os.Root "escapes" error, captured at start
	w         *watcher.Watcher
	ownW      bool
	cancelW   context.CancelFunc
	log       *slog.Logger

	st   status
	find fuzzyCache
	syms symbolIndex
	tri  trigrams

	closeOnce sync.Once
}

// New opens the project. The caller wires watcher batches to Notify.
func New(opts Options) (*Service, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("search: root: %w", err)
	}
	cwd := opts.Cwd
	if cwd == "" {
		cwd = root
	}
	if cwd, err = filepath.Abs(cwd); err != nil {
		return nil, fmt.Errorf("search: cwd: %w", err)
	}
	rel, ok := relpath.Rel(root, cwd)
	if !ok {
		return nil, fmt.Errorf("search: cwd: %w", ErrOutside)
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	r, err := confine.Open(root, confine.Options{Deny: opts.Deny})
	if err != nil {
		return nil, fmt.Errorf("search: open root: %w", ErrNotFound)
	}
	s := &Service{
		root: root, cwd: cwd, cwdRel: filepath.ToSlash(rel), osroot: r,
		w: opts.Watcher, log: lg.With("component", "search"), workspace: opts.Workspace,
	}
	// os.Root does not export its escape error; capture it once.
	if _, err := r.OS().Stat(".."); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			s.escErr = pe.Err
		}
	}
	if s.w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancelW = cancel
		s.w, err = watcher.New(watcher.Options{Root: root, Logger: lg, Env: opts.Env, OnChange: s.Notify})
		if err != nil {
			cancel()
			_ = r.Close()
			return nil, fmt.Errorf("search: %w", err)
		}
		s.ownW = true
		if err := s.w.Start(ctx); err != nil {
			cancel()
			_ = s.w.Close()
			_ = r.Close()
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	s.st.init(s)
	s.syms.init()
	s.tri.minFiles = cmp.Or(opts.IndexMinFiles, DefaultIndexMinFiles)
	s.tri.start(s)
	return s, nil
}

// Close releases the root handle (and the own watcher, if any).
func (s *Service) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.ownW {
			s.cancelW()
			err = s.w.Close()
		}
		s.tri.close()
		s.st.close()
		err = errors.Join(err, s.osroot.Close())
	})
	return err
}

// Notify feeds a watcher batch into the kept status and symbol state.
func (s *Service) Notify(changes []watcher.Change) {
	s.st.notify(changes)
	s.syms.notify(changes)
	s.tri.notify(s, changes)
}

// resolve turns a caller path (relative to Cwd, or absolute inside the root)
// into a root-relative slash path, purely lexically.
func (s *Service) resolve(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", ErrOutside
	}
	var rel string
	if filepath.IsAbs(p) {
		r, ok := relpath.Rel(s.root, p)
		if !ok {
			return "", ErrOutside
		}
		rel = r
	} else {
		rel = path.Clean(path.Join(s.cwdRel, filepath.ToSlash(p)))
		if rel == ".." || strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") {
			return "", ErrOutside
		}
		if rel == "." {
			rel = ""
		}
	}
	for _, c := range strings.Split(rel, "/") {
		if c == ".git" {
			return "", ErrOutside
		}
	}
	return rel, nil
}

// fsErr maps an os.Root error to a sentinel without leaking paths.
func (s *Service) fsErr(err error) error {
	if err == nil {
		return nil
	}
	if (s.escErr != nil && errors.Is(err, s.escErr)) || errors.Is(err, confine.ErrOutside) || errors.Is(err, confine.ErrDenied) {
		return ErrOutside
	}
	if errors.Is(err, confine.ErrSpecial) || errors.Is(err, confine.ErrHardLink) {
		return ErrSpecial
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENAMETOOLONG):
		return ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: permission denied", ErrUnreadable)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, syscall.ENOTDIR) {
			return ErrNotFound
		}
		return fmt.Errorf("%w: %s", ErrUnreadable, pe.Err.Error())
	}
	return ErrUnreadable
}

// display turns a root-relative path into a Cwd-relative one.
func (s *Service) display(rel string) string {
	if s.cwdRel == "" {
		return rel
	}
	if rel == s.cwdRel {
		return "."
	}
	if strings.HasPrefix(rel, s.cwdRel+"/") {
		return rel[len(s.cwdRel)+1:]
	}
	r, err := filepath.Rel(filepath.FromSlash(s.cwdRel), filepath.FromSlash(rel))
	if err != nil {
		return rel
	}
	return filepath.ToSlash(r)
}

// underCwd reports whether the root-relative rel is inside Cwd.
func (s *Service) underCwd(rel string) bool {
	return relpath.Under(s.cwdRel, rel)
}

// Stat reports whether rel names a directory (symlinks inside the project
// are followed).
func (s *Service) Stat(ctx context.Context, rel string) (bool, error) {
	r, err := s.resolve(rel)
	if err != nil {
		return false, err
	}
	fi, err := s.osroot.Stat(relpath.OS(r))
	if err != nil {
		return false, s.fsErr(err)
	}
	return fi.IsDir(), nil
}

// List lists one directory as 0.5.29 did: .git and .DS_Store skipped,
// ignored from the full git rules, directories first, then by name.
func (s *Service) List(ctx context.Context, rel string) ([]FileNode, error) {
	r, err := s.resolve(rel)
	if err != nil {
		return nil, err
	}
	fi, err := s.osroot.Stat(relpath.OS(r))
	if err != nil {
		return nil, s.fsErr(err)
	}
	if !fi.IsDir() {
		return nil, ErrNotDir
	}
	f, err := s.osroot.Open(relpath.OS(r))
	if err != nil {
		return nil, s.fsErr(err)
	}
	ents, err := f.ReadDir(-1)
	_ = f.Close()
	if err != nil && len(ents) == 0 {
		return nil, s.fsErr(err)
	}
	out := make([]FileNode, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if name == ".git" || name == ".DS_Store" || s.osroot.Denied(relpath.Join(r, name)) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if t, err := s.osroot.Stat(relpath.OS(relpath.Join(r, name))); err == nil && t.IsDir() {
				isDir = true
			}
		}
		crel := relpath.Join(r, name)
		typ := "file"
		if isDir {
			typ = "directory"
		}
		out = append(out, FileNode{Name: name, Path: s.display(crel), Type: typ, Ignored: s.w.Ignored(crel, isDir)})
	}
	col := collate.New(language.Und)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type == "directory"
		}
		return col.CompareString(out[i].Name, out[j].Name) < 0
	})
	return out, nil
}

// Read returns a file's text, or a unified diff against HEAD when the file
// is modified. Binary and oversized files get a one-line description.
func (s *Service) Read(ctx context.Context, rel string) (Content, error) {
	r, err := s.resolve(rel)
	if err != nil {
		return Content{}, err
	}
	f, err := s.osroot.Open(relpath.OS(r))
	if err != nil {
		return Content{}, s.fsErr(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Content{}, s.fsErr(err)
	}
	if fi.IsDir() {
		return Content{}, ErrIsDir
	}
	if !fi.Mode().IsRegular() {
		return Content{Type: "raw", Content: "(not a regular file)"}, nil
	}
	if fi.Size() > MaxReadSize {
		return Content{Type: "raw", Content: fmt.Sprintf("(file too large to show: %d bytes)", fi.Size())}, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxReadSize+1))
	if err != nil {
		return Content{}, s.fsErr(err)
	}
	if diff.IsBinary(b) {
		return Content{Type: "raw", Content: fmt.Sprintf("(binary file: %d bytes)", len(b))}, nil
	}
	if old, ok := s.st.headContentIfModified(r, b); ok && !diff.IsBinary(old) {
		return Content{Type: "patch", Content: diff.Unified(s.display(r), string(old), string(b), diff.Options{Context: diff.WholeFile, OldLabel: "old", NewLabel: "new"})}, nil
	}
	return Content{Type: "raw", Content: strings.ToValidUTF8(string(b), "\uFFFD")}, nil
}
