package search

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ocgo/diff"
	"ocgo/relpath"
)

// Grep bounds, as the original's rg --max-count=10 plus an overall cap.
const (
	MaxMatchesPerFile = 10
	DefaultGrepLimit  = 1000
	maxGrepFileSize   = 64 << 20
)

// Text is ripgrep's {"text": ...} wrapper.
type Text struct {
	Text string `json:"text"`
}

// Submatch is one match inside a line (byte offsets into Lines.Text).
type Submatch struct {
	Match Text `json:"match"`
	Start int  `json:"start"`
	End   int  `json:"end"`
}

// Match is the data object of a ripgrep --json "match" message.
type Match struct {
	Path           Text       `json:"path"`
	Lines          Text       `json:"lines"`
	LineNumber     int        `json:"line_number"`
	AbsoluteOffset int64      `json:"absolute_offset"`
	Submatches     []Submatch `json:"submatches"`
}

// LineQuery is a search of the agent's grep tool (Lines).
type LineQuery struct {
	Regexp *regexp.Regexp
	// Dir is the directory searched, at any depth: a path relative to Cwd
	// ("" or "." for Cwd), slash or OS separated.
	Dir string
	// Keep, when set, selects the files to search by their path relative
	// to Cwd (slash separated).
	Keep func(rel string) bool
	// MaxPerFile caps the lines reported per file (0: no cap).
	MaxPerFile int
	// Newest, when > 0, keeps only the files that hold the first Newest
	// lines when files are ordered newest first (ModTime descending), then
	// by path: the grep tool's order and limit.
	Newest int
}

// FileLines is one file's matching lines.
type FileLines struct {
	Path    string // relative to Cwd, slash separated
	ModTime int64  // Unix nanoseconds, from the open file that was searched
	Lines   []Line
}

// Line is one matching line.
type Line struct {
	Number int    // 1-based
	Text   string // without its "\n" or "\r\n", bytes as in the file
}

// query is a compiled pattern: the regexp, its syntax tree for the trigram
// index (nil if it does not parse as Perl syntax) and a literal every
// match contains (nil: none known) to find candidate lines quickly.
type query struct {
	re     *regexp.Regexp
	parsed *syntax.Regexp
	lit    []byte
}

func newQuery(re *regexp.Regexp) query {
	q := query{re: re}
	if parsed, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		q.parsed = parsed.Simplify()
		q.lit = requiredLiteral(q.parsed)
		if bytes.IndexByte(q.lit, '\n') >= 0 {
			q.lit = nil
		}
	}
	return q
}

// requiredLiteral returns a literal every match must contain, or nil.
func requiredLiteral(re *syntax.Regexp) []byte {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []byte(string(re.Rune))
	case syntax.OpCapture:
		return requiredLiteral(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpConcat:
		var best []byte
		for _, sub := range re.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return nil
}

// Grep searches the non-ignored files under Cwd (hidden files included,
// .git skipped) for a Go regexp, line by line like ripgrep. limit <= 0 means
// DefaultGrepLimit. Results are ordered by path, then line.
func (s *Service) Grep(ctx context.Context, pattern string, limit int) ([]Match, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPattern, err)
	}
	if limit <= 0 {
		limit = DefaultGrepLimit
	}
	q := newQuery(re)
	var files []string
	for _, f := range s.w.Files() {
		if s.underCwd(f) {
			files = append(files, f)
		}
	}
	files = s.narrow(q, files)
	results := make([][]Match, len(files))
	done, err := s.scan(ctx, files, limit, func(i int, data []byte, _ int64) int {
		results[i] = s.grepData(files[i], data, q.re, q.lit)
		return len(results[i])
	})
	if err != nil {
		return nil, err
	}
	out := make([]Match, 0, min(limit, 64))
	for _, ms := range results[:done] {
		for _, m := range ms {
			if len(out) == limit {
				return out, nil
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// Lines is the agent's grep tool: every line matching q.Regexp (at most
// q.MaxPerFile per file) in the non-ignored regular files at or below q.Dir
// that q.Keep selects, by path (only the newest files with q.Newest), in
// path order. It first catches the watcher up with the
// disk (watcher.Sync), so a file written before the call is searched with
// its new content, and the trigram index only narrows what is read (see
// trigrams), so the answer is that of reading every file now. Files are
// read as Grep reads them: through the project's root, a directory at a
// time, never through a symlink, binary files skipped.
func (s *Service) Lines(ctx context.Context, lq LineQuery) ([]FileLines, error) {
	dir, err := s.resolve(filepath.ToSlash(lq.Dir))
	if err != nil {
		return nil, err
	}
	if err := s.w.Sync(ctx); err != nil {
		return nil, err
	}
	q := newQuery(lq.Regexp)
	files := s.w.RegularFiles(dir)
	if !s.underCwd(dir) {
		files = slices.DeleteFunc(files, func(f string) bool { return !s.underCwd(f) })
	}
	// Narrow first: Keep then runs on the few files the index leaves.
	files = s.narrow(q, files)
	if lq.Keep != nil {
		files = slices.DeleteFunc(files, func(f string) bool { return !lq.Keep(s.display(f)) })
	}
	var mu sync.Mutex
	kept := newest{limit: lq.Newest}
	if _, err := s.scan(ctx, files, 0, func(i int, data []byte, mod int64) int {
		name := s.display(files[i])
		mu.Lock()
		wanted := kept.wanted(mod, name)
		mu.Unlock()
		if !wanted || diff.IsBinary(data) {
			return 0
		}
		var lines []Line
		candidateLines(data, q.lit, func(n, start, end int) bool {
			line := bytes.TrimSuffix(data[start:end], []byte{'\r'})
			if q.re.Match(line) {
				lines = append(lines, Line{Number: n, Text: string(line)})
			}
			return lq.MaxPerFile <= 0 || len(lines) < lq.MaxPerFile
		})
		if lines != nil {
			mu.Lock()
			kept.add(FileLines{Path: name, ModTime: mod, Lines: lines})
			mu.Unlock()
		}
		return len(lines)
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(kept.files, func(a, b FileLines) int { return strings.Compare(a.Path, b.Path) })
	return kept.files, nil
}

// newest collects Lines' files. With a limit it keeps only those that hold
// the first limit lines when files are ordered newest first, then by path,
// dropping the others as soon as the better ones hold enough, so a common
// word in a large tree costs about limit lines of memory, not every match.
type newest struct {
	limit int
	total int         // lines in files
	files []FileLines // a heap, the last in that order on top (with a limit)
}

// after reports whether a comes after b: older, or as old and later by path.
func after(a, b FileLines) bool {
	if a.ModTime != b.ModTime {
		return a.ModTime < b.ModTime
	}
	return a.Path > b.Path
}

func (n *newest) Len() int           { return len(n.files) }
func (n *newest) Less(i, j int) bool { return after(n.files[i], n.files[j]) }
func (n *newest) Swap(i, j int)      { n.files[i], n.files[j] = n.files[j], n.files[i] }
func (n *newest) Push(x any)         { n.files = append(n.files, x.(FileLines)) }
func (n *newest) Pop() any {
	last := n.files[len(n.files)-1]
	n.files = n.files[:len(n.files)-1]
	return last
}

// wanted reports whether a file modified at mod could be kept.
func (n *newest) wanted(mod int64, path string) bool {
	return n.limit <= 0 || n.total < n.limit || after(n.files[0], FileLines{Path: path, ModTime: mod})
}

func (n *newest) add(f FileLines) {
	n.total += len(f.Lines)
	if n.limit <= 0 {
		n.files = append(n.files, f)
		return
	}
	heap.Push(n, f)
	for n.total-len(n.files[0].Lines) >= n.limit {
		n.total -= len(heap.Pop(n).(FileLines).Lines)
	}
}

// narrow keeps the files (root-relative, sorted) that can hold a match of
// q, by the trigram index when it can tell.
func (s *Service) narrow(q query, files []string) []string {
	if q.parsed == nil {
		return files
	}
	if narrowed, ok := s.tri.filter(q.parsed, files); ok {
		return narrowed
	}
	return files
}

// WaitIndex returns once no trigram index build is running, or when ctx
// ends. Queries never wait for the index; benchmarks and tests do, to
// measure or exercise the narrowed search.
func (s *Service) WaitIndex(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		s.tri.mu.Lock()
		building := s.tri.building
		s.tri.mu.Unlock()
		if !building {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// scan reads files (root-relative, sorted) in parallel and calls search
// with each one's index, content and modification time (at most once per
// file, from any goroutine); search returns how many matches it found.
// Work units are runs of files in one directory: the directory is opened
// once through the project's root and its files relative to it, without
// following symlinks; files that cannot be read are skipped. With limit
// > 0 it stops once the files in path order up to some file hold limit
// matches. It returns how many leading files were all searched (all of
// them unless it stopped early), or the context's error when ctx ended
// first.
func (s *Service) scan(ctx context.Context, files []string, limit int, search func(i int, data []byte, mod int64) int) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type unit struct {
		dir        string
		start, end int
	}
	var units []unit
	for i, f := range files {
		d := relpath.Dir(f)
		if n := len(units); n > 0 && units[n-1].dir == d {
			units[n-1].end = i + 1
			continue
		}
		units = append(units, unit{d, i, i + 1})
	}
	done := make([]bool, len(files))
	counts := make([]int, len(files))
	var mu sync.Mutex
	next, emitted, total := 0, 0, 0
	workers := min(max(runtime.GOMAXPROCS(0), 2), 4, len(units))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := grepper{s: s, buf: make([]byte, 0, 256<<10)}
			for {
				mu.Lock()
				u := next
				next++
				mu.Unlock()
				if u >= len(units) || ctx.Err() != nil {
					return
				}
				un := units[u]
				dir, err := g.openDir(un.dir)
				for i := un.start; i < un.end; i++ {
					n := 0
					if err == nil && ctx.Err() == nil {
						if data, ok := g.read(dir, relpath.Base(files[i])); ok {
							n = search(i, data, g.mod)
						}
					}
					mu.Lock()
					counts[i], done[i] = n, true
					// Advance the ordered prefix; stop once it holds enough.
					for emitted < len(files) && done[emitted] {
						total += counts[emitted]
						emitted++
					}
					if limit > 0 && total >= limit {
						cancel()
					}
					mu.Unlock()
				}
				if err == nil {
					g.closeDir(dir)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && (limit <= 0 || total < limit) && emitted < len(files) {
		return 0, err
	}
	return emitted, nil
}

// grepper reads the files of one worker, reusing its buffer.
type grepper struct {
	s   *Service
	buf []byte
	mod int64 // modification time of the file read last (Unix nanoseconds)
}

func (s *Service) grepData(rel string, data []byte, re *regexp.Regexp, lit []byte) []Match {
	if diff.IsBinary(data) {
		return nil
	}
	var out []Match
	name := Text{Text: s.display(rel)}
	candidateLines(data, lit, func(n, start, end int) bool {
		m := matchLine(re, data[start:end], end < len(data))
		if m == nil {
			return true
		}
		m.Path = name
		m.LineNumber = n
		m.AbsoluteOffset = int64(start)
		out = append(out, *m)
		return len(out) < MaxMatchesPerFile
	})
	return out
}

// candidateLines calls fn with the number (1-based) and the bounds of each
// line of data (without its "\n") that contains lit, every line when lit is
// nil, until fn returns false. A final "\n" ends the last line; it does not
// start an empty one.
func candidateLines(data, lit []byte, fn func(n, start, end int) bool) {
	lineNo, counted := 1, 0 // line number at byte offset counted
	pos := 0
	for pos <= len(data) {
		var start int
		if lit != nil {
			i := bytes.Index(data[pos:], lit)
			if i < 0 {
				return
			}
			start = pos + bytes.LastIndexByte(data[pos:pos+i], '\n') + 1
			pos += i
		} else {
			if pos == len(data) {
				return
			}
			start = pos
		}
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		lineNo += bytes.Count(data[counted:start], []byte{'\n'})
		counted = start
		if !fn(lineNo, start, end) {
			return
		}
		pos = end + 1
	}
}

// matchLine matches one line (without its newline); the returned text is
// valid UTF-8 (invalid bytes become U+FFFD) and offsets refer to it.
func matchLine(re *regexp.Regexp, line []byte, newline bool) *Match {
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	idx := re.FindAllIndex(line, -1)
	if idx == nil {
		return nil
	}
	text := string(line)
	if newline {
		text += "\n"
	}
	m := &Match{Lines: Text{Text: text}, Submatches: make([]Submatch, 0, len(idx))}
	for _, ix := range idx {
		m.Submatches = append(m.Submatches, Submatch{Match: Text{Text: string(line[ix[0]:ix[1]])}, Start: ix[0], End: ix[1]})
	}
	return m
}
