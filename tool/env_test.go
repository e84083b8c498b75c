package tool

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ocgo/confine"
	"ocgo/search"
	"ocgo/watcher"
)

// testEnv is a real Env over an os.Root on a temp dir. Permissions are
// wildcard patterns per kind (longest match wins), like the session core's.
type testEnv struct {
	t    testing.TB
	root *confine.Root
	path string

	mu       sync.Mutex
	rules    map[string]map[string]string // kind -> pattern -> action
	asks     []Permission
	askErr   error
	reads    map[string]time.Time
	edited   []string
	madeDirs []string
	updates  []map[string]any
	todos    *fileTodos
	subtask  func(SubtaskRequest) (SubtaskResult, error)

	wOnce    sync.Once
	w        *watcher.Watcher // the file index, started on first use
	search   *search.Service  // the search engine over it
	indexMin int              // search.Options.IndexMinFiles (0: the default)
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := confine.Open(proj, confine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return &testEnv{t: t, root: r, path: proj, rules: map[string]map[string]string{},
		reads: map[string]time.Time{}, todos: &fileTodos{dir: filepath.Join(dir, "todo")}}
}

func (e *testEnv) Root() *confine.Root { return e.root }
func (e *testEnv) RootPath() string    { return e.path }

func (e *testEnv) Ask(ctx context.Context, call Call, p Permission) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.asks = append(e.asks, p)
	return e.askErr
}

func (e *testEnv) Permission(kind, pattern string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	best, action := -1, Allow
	for pat, a := range e.rules[kind] {
		if wildcard(pat, pattern) && len(pat) > best {
			best, action = len(pat), a
		}
	}
	return action
}

func wildcard(pat, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pat)) + "$"
	return regexp.MustCompile("(?s)" + re).MatchString(s)
}

func (e *testEnv) Update(ctx context.Context, meta map[string]any, title string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.updates = append(e.updates, meta)
}

func (e *testEnv) FileRead(sessionID, path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reads[sessionID+"\x00"+path] = time.Now()
}

func (e *testEnv) FileReadTime(sessionID, path string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.reads[sessionID+"\x00"+path]
	return t, ok
}

func (e *testEnv) Todos() TodoStore { return e.todos }

func (e *testEnv) Subtask(ctx context.Context, req SubtaskRequest) (SubtaskResult, error) {
	return e.subtask(req)
}

func (e *testEnv) Editing(...string) {}

func (e *testEnv) MadeDirs(paths ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.madeDirs = append(e.madeDirs, paths...)
}

func (e *testEnv) Edited(path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.edited = append(e.edited, path)
}

// Files serves the tools from a real watcher over the project, as the
// server does.
func (e *testEnv) Files(ctx context.Context, dir string) ([]string, error) {
	e.startIndex()
	if err := e.w.Sync(ctx); err != nil {
		return nil, err
	}
	return e.w.RegularFiles(filepath.ToSlash(dir)), nil
}

// Grep runs the search engine over the same watcher, as the server does.
func (e *testEnv) Grep(ctx context.Context, q search.LineQuery) ([]search.FileLines, error) {
	e.startIndex()
	return e.search.Lines(ctx, q)
}

func (e *testEnv) startIndex() {
	e.wOnce.Do(func() {
		// A debounce longer than any test: only Sync makes changes visible.
		ready := make(chan struct{})
		w, err := watcher.New(watcher.Options{Env: os.LookupEnv, Root: e.path, Debounce: time.Hour, OnChange: func(c []watcher.Change) {
			<-ready
			e.search.Notify(c)
		}})
		if err != nil {
			e.t.Fatal(err)
		}
		e.search, err = search.New(search.Options{Env: os.LookupEnv, Root: e.path, Watcher: w, IndexMinFiles: e.indexMin})
		if err != nil {
			e.t.Fatal(err)
		}
		close(ready)
		// The watcher stops before the search service it feeds.
		e.t.Cleanup(func() { _ = w.Close(); _ = e.search.Close() })
		if err := w.Start(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		e.w = w
	})
}

func (e *testEnv) allow(kind string, rules map[string]string) { e.rules[kind] = rules }

// fileTodos keeps todos as JSON files, like the core does on disk.
type fileTodos struct{ dir string }

func (f *fileTodos) Get(id string) ([]Todo, error) {
	b, err := os.ReadFile(filepath.Join(f.dir, id+".json"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t []Todo
	return t, json.Unmarshal(b, &t)
}

func (f *fileTodos) Set(id string, t []Todo) error {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.dir, id+".json"), b, 0o644)
}

// helpers

func (e *testEnv) file(rel, content string) string {
	e.t.Helper()
	p := filepath.Join(e.path, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *testEnv) content(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.path, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func tool(t testing.TB, name string, opts Options) Tool {
	t.Helper()
	for _, tl := range Registry(opts) {
		if tl.Info().Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

func run(t testing.TB, e *testEnv, name string, input any) (Result, error) {
	t.Helper()
	return runOpts(t, e, name, Options{}, input)
}

func runOpts(t testing.TB, e *testEnv, name string, opts Options, input any) (Result, error) {
	t.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	return tool(t, name, opts).Run(context.Background(), Call{ID: "call_1", SessionID: "ses_1", MessageID: "msg_1", Agent: "build", Input: raw}, e)
}

func mustRun(t *testing.T, e *testEnv, name string, input any) Result {
	t.Helper()
	r, err := run(t, e, name, input)
	if err != nil {
		t.Fatalf("%s %v: %v", name, input, err)
	}
	return r
}

type m = map[string]any
