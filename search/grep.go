package search

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"runtime"
	"sync"
	"unicode/utf8"

	"ocgo/diff"
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
	var lit []byte
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err == nil {
		parsed = parsed.Simplify()
		lit = requiredLiteral(parsed)
		if bytes.IndexByte(lit, '\n') >= 0 {
			lit = nil
		}
	}
	var files []string
	for _, f := range s.w.Files() {
		if s.underCwd(f) {
			files = append(files, f)
		}
	}
	if parsed != nil {
		if narrowed, ok := s.tri.filter(parsed, files); ok {
			files = narrowed
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Work units are runs of files in one directory: the directory is opened
	// once through os.Root and its files relative to it.
	type unit struct {
		dir        string
		start, end int
	}
	var units []unit
	for i, f := range files {
		d := path.Dir(f)
		if d == "." {
			d = ""
		}
		if n := len(units); n > 0 && units[n-1].dir == d {
			units[n-1].end = i + 1
			continue
		}
		units = append(units, unit{d, i, i + 1})
	}
	results := make([][]Match, len(files))
	done := make([]bool, len(files))
	var mu sync.Mutex
	next, emitted, total := 0, 0, 0
	workers := min(max(runtime.GOMAXPROCS(0), 2), 4)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := grepper{s: s, re: re, lit: lit, buf: make([]byte, 0, 256<<10)}
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
					var ms []Match
					if err == nil && ctx.Err() == nil {
						ms = g.file(dir, files[i])
					}
					mu.Lock()
					results[i], done[i] = ms, true
					// Advance the ordered prefix; stop once it holds enough.
					for emitted < len(files) && done[emitted] {
						total += len(results[emitted])
						emitted++
					}
					if total >= limit {
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
	if err := context.Cause(ctx); err != nil && total < limit && emitted < len(files) {
		return nil, err
	}
	out := make([]Match, 0, min(total, limit))
	for i := 0; i < emitted && len(out) < limit; i++ {
		for _, m := range results[i] {
			if len(out) == limit {
				break
			}
			out = append(out, m)
		}
	}
	return out, nil
}

type grepper struct {
	s   *Service
	re  *regexp.Regexp
	lit []byte
	buf []byte
}

// file searches one file of an open directory.
func (g *grepper) file(dir dirHandle, rel string) []Match {
	data, ok := g.read(dir, path.Base(rel))
	if !ok {
		return nil
	}
	return g.s.grepData(rel, data, g.re, g.lit)
}

func (s *Service) grepData(rel string, data []byte, re *regexp.Regexp, lit []byte) []Match {
	if diff.IsBinary(data) {
		return nil
	}
	var out []Match
	path := Text{Text: s.display(rel)}
	lineNo, counted := 1, 0 // line number at byte offset counted
	add := func(start, end int) bool {
		line := data[start:end]
		lineNo += bytes.Count(data[counted:start], []byte{'\n'})
		counted = start
		m := matchLine(re, line, end < len(data))
		if m == nil {
			return false
		}
		m.Path = path
		m.LineNumber = lineNo
		m.AbsoluteOffset = int64(start)
		out = append(out, *m)
		return len(out) >= MaxMatchesPerFile
	}
	pos := 0
	for pos <= len(data) {
		var start int
		if lit != nil {
			i := bytes.Index(data[pos:], lit)
			if i < 0 {
				break
			}
			start = pos + bytes.LastIndexByte(data[pos:pos+i], '\n') + 1
			pos += i
		} else {
			if pos == len(data) {
				break
			}
			start = pos
		}
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		if add(start, end) {
			break
		}
		pos = end + 1
	}
	return out
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
