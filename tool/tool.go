// Package tool implements the agent's tools (bash, read, write, edit, patch,
// glob, grep, list, todowrite, todoread, webfetch, task, invalid) with the
// names and input schemas of opencode 0.5.29, so that models and clients see
// the same tool surface.
//
// Guarantees:
//   - Every file access goes through the project root opened with os.Root
//     (Env.Root), so no tool reads or writes outside the project, symlinks
//     included. A path input may be absolute (it must lie inside the root) or
//     relative to the root; anything else fails with ErrOutsideRoot before any
//     file is touched.
//   - Tools never decide permissions themselves: they ask Env.Permission for
//     the configured action and call Env.Ask only when it says "ask". A
//     "deny" fails with ErrDenied without asking.
//   - bash runs each command in its own process group and kills the whole
//     group on abort (context cancellation) or timeout.
//
// Of ocgo the package imports confine (every file access), childenv (the
// commands' environment), trace (what a bash command's process tree
// wrote) and search (the types of grep's search). The session core adapts
// its storage, permission and snapshot machinery, the project's file index
// (glob and list answer from the watcher's index, never walk the tree) and
// the search engine (grep runs on search's, with its trigram index) to the
// Env interface.
package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ocgo/childenv"
	"ocgo/confine"
	"ocgo/relpath"
	"ocgo/search"
	"ocgo/trace"
)

// Sentinel errors. Tools wrap them with %w and a message for the model.
var (
	// ErrRejected means the user answered a permission request with "reject".
	ErrRejected = errors.New("the user rejected permission to use this specific tool call")
	// ErrDenied means the agent configuration denies the action outright.
	ErrDenied = errors.New("permission denied by configuration")
	// ErrOutsideRoot means a path input resolves outside the project root.
	ErrOutsideRoot = errors.New("path is outside the project directory")
	// ErrInvalidInput means the tool input does not match its schema.
	ErrInvalidInput = errors.New("invalid tool input")
	// ErrNotRead means a file was edited without being read first in the
	// session, or was modified after it was read.
	ErrNotRead = errors.New("file must be read before it is modified")
	// ErrNoMatch means edit or patch could not find the text to replace.
	ErrNoMatch = errors.New("oldString not found in content")
	// ErrAmbiguous means edit found several matches without replaceAll.
	ErrAmbiguous = errors.New("oldString found multiple times")
	// ErrBinary means read refused a binary file.
	ErrBinary = errors.New("cannot read binary file")
	// ErrNotFound means the file or directory does not exist.
	ErrNotFound = errors.New("file not found")
	// ErrTooLarge means a webfetch response exceeded the size cap.
	ErrTooLarge = errors.New("response too large")
)

// Info describes a tool to the model.
type Info struct {
	Name        string
	Description string
	// Parameters is the JSON schema "properties" object of the input.
	Parameters map[string]any
	Required   []string
	// DisabledByDefault marks tools the original registers but leaves off
	// unless the configuration enables them (patch).
	DisabledByDefault bool
	// InputSchema, when set, is the whole input schema as the tool's owner
	// gave it (MCP servers); Parameters and Required are then unused.
	InputSchema map[string]any
}

// Schema returns the full JSON schema object of the tool input, in the shape
// the original sends to providers.
func (i Info) Schema() map[string]any {
	if i.InputSchema != nil {
		return i.InputSchema
	}
	req := i.Required
	if req == nil {
		req = []string{}
	}
	return map[string]any{
		"type":                 "object",
		"properties":           i.Parameters,
		"required":             req,
		"additionalProperties": false,
		"$schema":              "http://json-schema.org/draft-07/schema#",
	}
}

// Call is one invocation of a tool by the model.
type Call struct {
	ID        string // the provider's tool call id (callID)
	SessionID string
	MessageID string
	Agent     string
	Input     json.RawMessage
}

// Result is what a tool returns; it becomes the completed tool part state.
type Result struct {
	Title    string
	Output   string
	Metadata map[string]any
	// Changed, when set, tells which files the call changed (bash: what its
	// process tree wrote, see package trace), once Run has returned. Nil:
	// any file changed during the call may be the call's.
	Changed func() trace.Set
}

// Permission is a request for the user's approval (opencode's Permission
// minus the ids and time the session core adds).
type Permission struct {
	Type     string // bash | edit | write | webfetch
	Pattern  string // empty when the original sends none
	Title    string
	Metadata map[string]any
}

// Permission actions returned by Env.Permission.
const (
	Allow = "allow"
	Ask   = "ask"
	Deny  = "deny"
)

// stricter is the stricter of two permission actions (deny, then ask, then
// allow): a call that needs several answers is decided by the strictest.
func stricter(a, b string) string {
	switch {
	case a == Deny || b == Deny:
		return Deny
	case a == Ask || b == Ask:
		return Ask
	}
	return Allow
}

// Todo is one entry of a session's todo list.
type Todo struct {
	Content  string `json:"content"`
	Status   string `json:"status"`
	Priority string `json:"priority"`
	ID       string `json:"id"`
}

// TodoStore keeps per-session todo lists (on disk, owned by the core).
type TodoStore interface {
	Get(sessionID string) ([]Todo, error)
	Set(sessionID string, todos []Todo) error
}

// SubtaskRequest asks the core to run a child session with a subagent.
type SubtaskRequest struct {
	ParentSessionID string
	ParentMessageID string
	CallID          string
	Description     string
	Prompt          string
	Agent           string // subagent_type
}

// SubtaskResult is the child session's outcome.
type SubtaskResult struct {
	SessionID string
	// Output is the text of the child's last text part.
	Output string
	// Summary is the child's tool part summary (stored in metadata.summary).
	Summary any
}

// AgentInfo names a subagent for the task tool description.
type AgentInfo struct {
	Name        string
	Description string
}

// Env is what the session core provides to a running tool.
type Env interface {
	// Root is the project root; all file access goes through it.
	Root() *confine.Root
	// RootPath is the absolute project root path (titles, outputs, bash cwd).
	RootPath() string
	// Ask blocks until the user answers; nil when allowed, an error wrapping
	// ErrRejected (or ErrDenied) otherwise.
	Ask(ctx context.Context, call Call, p Permission) error
	// Permission returns Allow, Ask or Deny for kind ("bash", "edit",
	// "webfetch") and pattern (the bash command, the file path, the URL).
	Permission(kind, pattern string) string
	// Update publishes live metadata while the tool runs.
	Update(ctx context.Context, meta map[string]any, title string)
	// FileRead records that the session read path (absolute) now.
	FileRead(sessionID, path string)
	// FileReadTime returns when the session last read path.
	FileReadTime(sessionID, path string) (time.Time, bool)
	// Todos returns the per-session todo store.
	Todos() TodoStore
	// Subtask runs a child session.
	Subtask(ctx context.Context, req SubtaskRequest) (SubtaskResult, error)
	// Editing tells the core the tool is about to write or delete these
	// files (absolute paths), after its checks and permission, right before
	// the first write: the core records their content as it is on disk now,
	// so the change can be undone exactly. bash calls it (through its
	// tracer) before the command's first change to each path.
	Editing(paths ...string)
	// Edited tells the core a file (absolute path) was written or deleted.
	Edited(path string)
	// MadeDirs tells the core the tool created these directories (absolute
	// paths; not ones that were there already), so that a revert of the call
	// can remove them once it has emptied them.
	MadeDirs(paths ...string)
	// Files lists the project's non-ignored regular files (git's ignore
	// rules; .git and symlinks left out) at or below dir, an OS path
	// relative to Root ("." for all), as slash paths relative to Root,
	// sorted. Every change made on disk before the call is in the list
	// (glob and list must not miss a file just written).
	Files(ctx context.Context, dir string) ([]string, error)
	// Grep runs the grep tool's search on the project's search engine
	// (search.Service.Lines): the files Files would list at or below q.Dir
	// (relative to Root), caught up with the disk first like Files, with
	// paths relative to Root.
	Grep(ctx context.Context, q search.LineQuery) ([]search.FileLines, error)
}

// Tool is one agent tool.
type Tool interface {
	Info() Info
	Run(ctx context.Context, call Call, env Env) (Result, error)
}

// Options configures the registry.
type Options struct {
	// Shell runs bash commands with "-c"; default $SHELL unless it is fish
	// or nu, else bash, else /bin/sh.
	Shell string
	// Env looks up environment variables ($SHELL); default os.Getenv.
	Env func(string) string
	// BashTimeout is the default bash timeout (60 s); inputs may ask for up
	// to MaxBashTimeout.
	BashTimeout time.Duration
	// Tracer records which files a bash command's process tree changes;
	// nil runs commands untraced.
	Tracer *trace.Tracer
	// OutputCap caps bash output in characters (30000).
	OutputCap int
	// HTTPClient is used by webfetch (tests inject one); default a client
	// without a global timeout (each call has its own) that refuses
	// loopback, private and link-local addresses unless AllowPrivateFetch.
	HTTPClient *http.Client
	// AllowPrivateFetch lets webfetch reach loopback, private and
	// link-local addresses (ocgo's own API, the LAN, cloud metadata).
	AllowPrivateFetch bool
	// Agents lists the subagents for the task tool description.
	Agents func() []AgentInfo
	// Environ is the environment of bash commands (childenv scrubs the
	// server's secrets from it); default: the server's environment without
	// the server password and *_API_KEY variables.
	Environ func() []string
}

// Limits shared by the tools.
const (
	DefaultBashTimeout = 60 * time.Second
	MaxBashTimeout     = 600 * time.Second
	DefaultOutputCap   = 30000
	DefaultReadLimit   = 2000
	MaxLineLength      = 2000
	ResultLimit        = 100
	MaxFetchBytes      = 5 << 20
)

// Registry returns every tool in the original's registration order. Tools
// whose Info().DisabledByDefault is true (patch) are expected to be filtered
// out by the caller unless enabled by configuration.
func Registry(opts Options) []Tool {
	if opts.BashTimeout <= 0 {
		opts.BashTimeout = DefaultBashTimeout
	}
	if opts.BashTimeout > MaxBashTimeout {
		opts.BashTimeout = MaxBashTimeout
	}
	if opts.OutputCap <= 0 {
		opts.OutputCap = DefaultOutputCap
	}
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	if opts.Shell == "" {
		opts.Shell = defaultShell(opts.Env("SHELL"))
	}
	if opts.Environ == nil {
		opts.Environ = childenv.Default
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = fetchClient(opts.AllowPrivateFetch)
	}
	return []Tool{
		invalidTool{},
		&bashTool{opts: opts},
		editTool{},
		&webfetchTool{client: opts.HTTPClient},
		globTool{},
		grepTool{},
		listTool{},
		patchTool{},
		readTool{},
		writeTool{},
		todoWriteTool{},
		todoReadTool{},
		&taskTool{agents: opts.Agents},
	}
}

// defaultShell is $SHELL (s) unless it is fish or nu, else bash, else /bin/sh.
func defaultShell(s string) string {
	if s != "" {
		switch filepath.Base(s) {
		case "fish", "nu":
		default:
			return s
		}
	}
	for _, c := range []string{"bash", "/bin/sh"} {
		if p, err := execLookPath(c); err == nil {
			return p
		}
	}
	return "/bin/sh"
}

// resolved is a path input mapped into the root.
type resolved struct {
	rel string // slash-free OS path relative to the root ("." for the root)
	abs string // absolute path under RootPath
}

// resolvePath maps a path input (absolute or relative to the root) into the
// root, refusing anything that leaves it lexically. Symlink escapes are
// refused later by os.Root itself.
func resolvePath(env Env, p string) (resolved, error) {
	root := filepath.Clean(env.RootPath())
	if p == "" {
		return resolved{rel: ".", abs: root}, nil
	}
	if strings.ContainsRune(p, 0) {
		return resolved{}, fmt.Errorf("%w: invalid path", ErrInvalidInput)
	}
	var abs string
	if filepath.IsAbs(p) {
		abs = filepath.Clean(p)
	} else {
		abs = filepath.Join(root, p)
	}
	rel, ok := relpath.Within(root, abs)
	if !ok {
		return resolved{}, fmt.Errorf("%w: %s", ErrOutsideRoot, p)
	}
	return resolved{rel: rel, abs: abs}, nil
}

// fsErr normalises errors from os.Root into the package sentinels.
func fsErr(err error, display string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, display)
	}
	switch {
	case errors.Is(err, confine.ErrDenied):
		return fmt.Errorf("%w: %s is off-limits to tools (.git or ocgo's data folder)", ErrDenied, display)
	case errors.Is(err, confine.ErrSpecial):
		return fmt.Errorf("%w: %s is not a regular file", ErrInvalidInput, display)
	case errors.Is(err, confine.ErrHardLink):
		return fmt.Errorf("%w: %s has several hard links; its other name may lie outside the project", ErrDenied, display)
	case errors.Is(err, confine.ErrTooLarge):
		return fmt.Errorf("%w: %s", ErrTooLarge, display)
	}
	if errors.Is(err, confine.ErrOutside) || errors.Is(err, search.ErrOutside) || strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %s", ErrOutsideRoot, display)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s: %w", pe.Op, display, pe.Err)
	}
	return err
}

// decode unmarshals a tool input and reports schema errors as ErrInvalidInput.
func decode(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return nil
}

func required(name, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalidInput, name)
	}
	return nil
}

// number accepts a JSON number or a numeric string (the original coerces).
type number struct {
	set bool
	v   float64
}

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("expected a number, got %s", string(b))
	}
	n.set, n.v = true, f
	return nil
}

// checkPermission applies the configured action: nil for allow, Env.Ask for
// ask, ErrDenied for deny.
func checkPermission(ctx context.Context, env Env, call Call, kind, pattern string, p Permission) error {
	switch env.Permission(kind, pattern) {
	case Deny:
		return fmt.Errorf("%w: %s", ErrDenied, p.Title)
	case Ask:
		return env.Ask(ctx, call, p)
	default:
		return nil
	}
}

// relTitle is the path relative to the root, as the original's titles.
func relTitle(env Env, abs string) string {
	rel, err := filepath.Rel(filepath.Clean(env.RootPath()), abs)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel)
}

// assertFresh enforces the read-before-edit rule for an existing file.
func assertFresh(env Env, call Call, r resolved, mod time.Time) error {
	t, ok := env.FileReadTime(call.SessionID, r.abs)
	if !ok {
		return fmt.Errorf("%w: you must read the file %s before overwriting it; use the read tool first", ErrNotRead, r.abs)
	}
	if mod.After(t) {
		return fmt.Errorf("%w: file %s has been modified since it was last read (last modification %s, last read %s); read it again before modifying it",
			ErrNotRead, r.abs, mod.Format(time.RFC3339Nano), t.Format(time.RFC3339Nano))
	}
	return nil
}

// writeFile writes content through the root, creating parent directories
// (told to env.MadeDirs) and keeping the mode of an existing file.
func writeFile(env Env, root *confine.Root, rel string, content []byte) error {
	if dir := filepath.Dir(rel); dir != "." {
		made, err := root.MkdirAll(dir, 0o755)
		if len(made) > 0 {
			abs := make([]string, len(made))
			for i, d := range made {
				abs[i] = filepath.Join(root.Name(), d)
			}
			env.MadeDirs(abs...)
		}
		if err != nil {
			return err
		}
	}
	mode := fs.FileMode(0o644)
	if st, err := root.Stat(rel); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", rel)
		}
		mode = st.Mode().Perm()
	}
	return root.WriteFile(rel, content, mode)
}
