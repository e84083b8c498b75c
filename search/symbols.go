package search

import (
	"bufio"
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"ocgo/diff"
	"ocgo/relpath"
	"ocgo/watcher"
)

// LSP SymbolKind values returned (the kinds 0.5.29 kept).
const (
	KindClass     = 5
	KindMethod    = 6
	KindEnum      = 10
	KindInterface = 11
	KindFunction  = 12
	KindVariable  = 13
	KindConstant  = 14
	KindStruct    = 23
)

// MaxSymbols bounds a Symbols answer.
const MaxSymbols = 20

const maxSymbolFileSize = 1 << 20

// Position is an LSP position (0-based line and byte column).
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is an LSP range.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Location is an LSP location with a file:// URI.
type Location struct {
	URI   string `json:"uri"`
	Range Range  `json:"range"`
}

// Symbol is an LSP SymbolInformation as /find/symbol returns it.
type Symbol struct {
	Name     string   `json:"name"`
	Kind     int      `json:"kind"`
	Location Location `json:"location"`
}

type rawSym struct {
	name      string
	kind      int
	line, col int
	width     int // length of the identifier in the source, when not len(name)
}

// symbolIndex caches extracted symbols per file; built on first use and
// refreshed for files the watcher reports.
type symbolIndex struct {
	mu    sync.Mutex
	built bool
	files map[string][]rawSym

	dmu   sync.Mutex // guards dirty only, so Notify never waits for a build
	dirty map[string]struct{}
}

func (x *symbolIndex) init() {
	x.files = map[string][]rawSym{}
	x.dirty = map[string]struct{}{}
}

func (x *symbolIndex) notify(changes []watcher.Change) {
	x.dmu.Lock()
	defer x.dmu.Unlock()
	for _, c := range changes {
		if extractorFor(c.Path) != nil {
			x.dirty[c.Path] = struct{}{}
		}
	}
}

type extractor func(src []byte) []rawSym

func extractorFor(rel string) extractor {
	// Fixtures are not workspace symbols (go tooling and gopls skip them).
	if strings.HasPrefix(rel, "testdata/") || strings.Contains(rel, "/testdata/") {
		return nil
	}
	switch strings.ToLower(path.Ext(rel)) {
	case ".go":
		return goSymbols
	case ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts":
		return regexSymbols(rules().js)
	case ".py":
		return regexSymbols(rules().py)
	case ".rs":
		return regexSymbols(rules().rust)
	case ".java", ".kt":
		return regexSymbols(rules().java)
	case ".c", ".h", ".cc", ".cpp", ".hpp", ".cxx", ".hh":
		return regexSymbols(rules().c)
	}
	return nil
}

func goSymbols(src []byte) []rawSym {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if f == nil {
		return nil
	}
	_ = err // partial files still yield their declarations
	var out []rawSym
	add := func(id *ast.Ident, kind int) {
		if id == nil || id.Name == "_" {
			return
		}
		p := fset.Position(id.Pos())
		out = append(out, rawSym{name: id.Name, kind: kind, line: p.Line - 1, col: p.Column - 1})
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				add(d.Name, KindFunction)
				continue
			}
			recv := recvName(d.Recv.List[0].Type)
			p := fset.Position(d.Name.Pos())
			out = append(out, rawSym{name: recv + "." + d.Name.Name, kind: KindMethod, line: p.Line - 1, col: p.Column - 1, width: len(d.Name.Name)})
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					switch sp.Type.(type) {
					case *ast.StructType:
						add(sp.Name, KindStruct)
					case *ast.InterfaceType:
						add(sp.Name, KindInterface)
					default:
						add(sp.Name, KindClass)
					}
				case *ast.ValueSpec:
					kind := KindVariable
					if d.Tok == token.CONST {
						kind = KindConstant
					}
					for _, n := range sp.Names {
						add(n, kind)
					}
				}
			}
		}
	}
	return out
}

func recvName(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return "?"
		}
	}
}

type symRule struct {
	re   *regexp.Regexp // group 1: the name; optional group "indent"
	kind int
	// indentedKind, when set, is used for matches with leading whitespace.
	indentedKind int
}

// ruleSet holds the regex extractors per language.
type ruleSet struct{ js, py, rust, java, c []symRule }

// rules compiles the extractors on first use, not at program start: most
// runs never ask for symbols of these languages.
var rules = sync.OnceValue(func() ruleSet {
	return ruleSet{
		js: []symRule{
			{re: regexp.MustCompile(`^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)`), kind: KindFunction},
			{re: regexp.MustCompile(`^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)`), kind: KindClass},
			{re: regexp.MustCompile(`^\s*(?:export\s+)?(?:declare\s+)?interface\s+([A-Za-z_$][\w$]*)`), kind: KindInterface},
			{re: regexp.MustCompile(`^\s*(?:export\s+)?(?:declare\s+)?(?:const\s+)?enum\s+([A-Za-z_$][\w$]*)`), kind: KindEnum},
			{re: regexp.MustCompile(`^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>)`), kind: KindFunction},
			{re: regexp.MustCompile(`^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)`), kind: KindConstant},
			{re: regexp.MustCompile(`^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)`), kind: KindVariable},
			{re: regexp.MustCompile(`^\s+(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*(?::\s*[^{]+)?\{\s*$`), kind: KindMethod},
		},
		py: []symRule{
			{re: regexp.MustCompile(`^\s*class\s+([A-Za-z_]\w*)`), kind: KindClass},
			{re: regexp.MustCompile(`^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)`), kind: KindFunction, indentedKind: KindMethod},
			{re: regexp.MustCompile(`^([A-Z][A-Z0-9_]*)\s*(?::[^=]+)?=`), kind: KindConstant},
		},
		rust: []symRule{
			{re: regexp.MustCompile(`^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+"[^"]*"\s+)?fn\s+([A-Za-z_]\w*)`), kind: KindFunction, indentedKind: KindMethod},
			{re: regexp.MustCompile(`^\s*(?:pub(?:\([^)]*\))?\s+)?struct\s+([A-Za-z_]\w*)`), kind: KindStruct},
			{re: regexp.MustCompile(`^\s*(?:pub(?:\([^)]*\))?\s+)?enum\s+([A-Za-z_]\w*)`), kind: KindEnum},
			{re: regexp.MustCompile(`^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?trait\s+([A-Za-z_]\w*)`), kind: KindInterface},
			{re: regexp.MustCompile(`^\s*(?:pub(?:\([^)]*\))?\s+)?const\s+([A-Za-z_]\w*)\s*:`), kind: KindConstant},
			{re: regexp.MustCompile(`^\s*(?:pub(?:\([^)]*\))?\s+)?static\s+(?:mut\s+)?([A-Za-z_]\w*)\s*:`), kind: KindVariable},
		},
		java: []symRule{
			{re: regexp.MustCompile(`^\s*(?:(?:public|private|protected|static|final|abstract|sealed|data|open|internal)\s+)*class\s+([A-Za-z_]\w*)`), kind: KindClass},
			{re: regexp.MustCompile(`^\s*(?:(?:public|private|protected|static)\s+)*interface\s+([A-Za-z_]\w*)`), kind: KindInterface},
			{re: regexp.MustCompile(`^\s*(?:(?:public|private|protected|static)\s+)*enum\s+(?:class\s+)?([A-Za-z_]\w*)`), kind: KindEnum},
			{re: regexp.MustCompile(`^\s+(?:(?:public|private|protected|static|final|abstract|synchronized|native|default)\s+)+[\w<>\[\],.? ]+\s+([A-Za-z_]\w*)\s*\(`), kind: KindMethod},
			{re: regexp.MustCompile(`^\s*(?:(?:private|public|internal|override|suspend)\s+)*fun\s+(?:<[^>]*>\s*)?(?:[\w.]+\.)?([A-Za-z_]\w*)\s*\(`), kind: KindFunction},
		},
		c: []symRule{
			{re: regexp.MustCompile(`^(?:typedef\s+)?struct\s+([A-Za-z_]\w*)\s*\{`), kind: KindStruct},
			{re: regexp.MustCompile(`^(?:typedef\s+)?enum\s+(?:class\s+)?([A-Za-z_]\w*)`), kind: KindEnum},
			{re: regexp.MustCompile(`^class\s+([A-Za-z_]\w*)`), kind: KindClass},
			{re: regexp.MustCompile(`^#\s*define\s+([A-Za-z_]\w*)`), kind: KindConstant},
			{re: regexp.MustCompile(`^(?:(?:static|inline|extern|const|unsigned|signed|struct|enum)\s+)*[A-Za-z_][\w:<>]*[\s\*&]+\**([A-Za-z_][\w:~]*)\s*\([^;]*$`), kind: KindFunction},
		},
	}
})

var cKeywords = map[string]bool{"if": true, "while": true, "for": true, "switch": true, "return": true, "else": true, "sizeof": true}

func regexSymbols(set []symRule) extractor {
	return func(src []byte) []rawSym {
		var out []rawSym
		sc := bufio.NewScanner(bytes.NewReader(src))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		line := -1
		for sc.Scan() {
			line++
			text := sc.Bytes()
			for _, r := range set {
				m := r.re.FindSubmatchIndex(text)
				if m == nil {
					continue
				}
				g := len(m)/2 - 1 // the name is the last group
				start, end := m[2*g], m[2*g+1]
				name := string(text[start:end])
				if cKeywords[name] {
					continue
				}
				kind := r.kind
				if r.indentedKind != 0 && g > 1 && m[3] > m[2] {
					kind = r.indentedKind
				}
				out = append(out, rawSym{name: name, kind: kind, line: line, col: start})
				break
			}
		}
		return out
	}
}

// extract reads and parses one root-relative file.
func (s *Service) extract(rel string) []rawSym {
	ex := extractorFor(rel)
	if ex == nil {
		return nil
	}
	f, err := s.osroot.Open(relpath.OS(rel))
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSymbolFileSize {
		return nil
	}
	src, err := io.ReadAll(f)
	if err != nil || diff.IsBinary(src) {
		return nil
	}
	return ex(src)
}

func (s *Service) refreshSymbols(ctx context.Context) error {
	x := &s.syms
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dmu.Lock()
	dirty := x.dirty
	x.dirty = map[string]struct{}{}
	x.dmu.Unlock()
	if !x.built {
		var files []string
		for _, f := range s.w.Files() {
			if extractorFor(f) != nil {
				files = append(files, f)
			}
		}
		res := make([][]rawSym, len(files))
		var next int
		var nmu sync.Mutex
		var wg sync.WaitGroup
		for range min(max(runtime.GOMAXPROCS(0), 2), 4) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					nmu.Lock()
					i := next
					next++
					nmu.Unlock()
					if i >= len(files) {
						return
					}
					res[i] = s.extract(files[i])
				}
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, f := range files {
			if len(res[i]) > 0 {
				x.files[f] = res[i]
			}
		}
		x.built = true // files changed during the build are in the next dirty set
		return nil
	}
	for p := range dirty {
		delete(x.files, p)
		if s.w.HasFile(p) {
			if syms := s.extract(p); len(syms) > 0 {
				x.files[p] = syms
			}
		}
	}
	return nil
}

// Symbols finds workspace symbols whose name fuzzily matches query, without
// a language server: go/parser for Go, a line-based extractor for
// TypeScript/JavaScript, Python, Rust, Java/Kotlin and C/C++. The index is
// built on first use and refreshed for files reported through Notify.
// At most MaxSymbols results, best first.
func (s *Service) Symbols(ctx context.Context, query string) ([]Symbol, error) {
	if s.workspace != nil {
		if syms, ok := s.workspace(ctx, query); ok && len(syms) > 0 {
			return syms, nil
		}
	}
	if err := s.refreshSymbols(ctx); err != nil {
		return nil, err
	}
	q := strings.TrimSpace(query)
	cs := strings.ToLower(q) != q
	type hit struct {
		score int
		path  string
		sym   rawSym
	}
	var hits []hit
	var sc scorer
	s.syms.mu.Lock()
	for p, syms := range s.syms.files {
		for _, sym := range syms {
			v, ok := sc.score(sym.name, q, cs)
			if !ok {
				continue
			}
			if strings.EqualFold(sym.name, q) {
				v += 1000
			}
			hits = append(hits, hit{v, p, sym})
		}
	}
	s.syms.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if len(a.sym.name) != len(b.sym.name) {
			return len(a.sym.name) < len(b.sym.name)
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.sym.line < b.sym.line
	})
	out := make([]Symbol, 0, min(len(hits), MaxSymbols))
	for _, h := range hits[:min(len(hits), MaxSymbols)] {
		w := h.sym.width
		if w == 0 {
			w = len(h.sym.name)
		}
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(s.root, filepath.FromSlash(h.path)))}
		out = append(out, Symbol{Name: h.sym.name, Kind: h.sym.kind, Location: Location{
			URI: u.String(),
			Range: Range{
				Start: Position{Line: h.sym.line, Character: h.sym.col},
				End:   Position{Line: h.sym.line, Character: h.sym.col + w},
			},
		}})
	}
	return out, nil
}

// WarmSymbols builds the symbol index now (for example from a background
// goroutine at start-up) so that the first Symbols call does not pay for it.
func (s *Service) WarmSymbols(ctx context.Context) error {
	return s.refreshSymbols(ctx)
}
