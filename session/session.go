// Package session is ocgo's core: it decides what happens to sessions,
// messages and parts (create, update, delete, shell, prompt, revert, abort)
// and knows nothing of HTTP. Every change is written through storage first
// and published on the bus after the write returned, so an event always
// describes data that is already on disk.
//
// Concurrency: each session has at most one run (prompt, shell, summarize)
// at a time, held in runs; a second shell is refused with ErrBusy, a second
// prompt waits its turn (see prompt.go).
//
// Streaming: text and reasoning parts are written and published at most
// once per interval that grows with their length (loop.go, coalescer), so
// a long answer costs a small fraction of the original's full-text-per-delta
// traffic; the final text is always written last, so every client ends
// with it.
//
// Compaction: a prompt whose previous answer used over 90% of the model's
// usable context, or whose first request the provider refuses as too
// long, first summarizes the history (once); the prompt then follows the
// summary.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"ocgo/bus"
	"ocgo/childenv"
	"ocgo/config"
	"ocgo/confine"
	"ocgo/event"
	"ocgo/provider"
	"ocgo/search"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
	"ocgo/trace"
)

// Errors of the core; routes map them to HTTP statuses.
var (
	ErrNotFound = storage.ErrNotFound
	ErrInvalid  = storage.ErrInvalid
	ErrBusy     = errors.New("session is busy")
)

// Options are the core's dependencies.
type Options struct {
	Store   *storage.Store
	Bus     *bus.Bus
	IDs     *storage.IDs
	Now     func() time.Time
	Logger  *slog.Logger
	Version string // written into new sessions
	Cwd     string // the served directory
	Root    string // the project root (git root or Cwd)
	Shell   string // $SHELL for /shell, "bash" when empty
	// Environ is the environment of /shell and !`cmd` processes (childenv
	// scrubs the server's secrets from it); default: the server's
	// environment without the server password and *_API_KEY variables.
	Environ func() []string

	// The agent loop's dependencies; a nil Models makes prompts fail with
	// a message saying how to configure a provider.
	Config *config.Config
	Models Models
	Tools  []tool.Tool
	// MoreTools adds tools after the built-in ones (MCP servers'); nil
	// adds none. They are filtered by the same tool maps.
	MoreTools ToolSource
	// EditHooks run after edit, write and patch, before the call's
	// after-snapshot (formatters, language server diagnostics); nil runs
	// none.
	EditHooks EditHooks
	FS        *confine.Root // the project directory, for the tools
	// Files is the project's file index (the watcher), which serves the
	// glob and list tools and the system prompt's file listing; nil
	// leaves those tools without files.
	Files FileIndex
	// Search is the project's search engine (search.Service over the same
	// watcher as Files), which serves the grep tool; nil leaves grep
	// without files.
	Search    Searcher
	Snapshots Snapshots // nil disables snapshots (and so file revert)
	// Tracer records what /shell commands change (nil: untraced, every
	// change during the command is attributed to it).
	Tracer    *trace.Tracer
	Titles    bool   // generate titles for new sessions with the small model
	MaxSteps  int    // per prompt; default 200
	ConfigDir string // the global config directory (global AGENTS.md)
	Home      string // the user's home, for ~/ in command templates ("": not expanded)
	// Checkpoint, when set, is called at each durable step of a revert,
	// redo or unrevert (before and after its journal is written, once its
	// files are restored, once session.revert is saved, once the journal
	// is removed), naming it. Tests kill the process there to check the
	// recovery (revertcrash_test.go). nil in production.
	Checkpoint func(step string)
}

// FileIndex is the project's file index (watcher.Watcher), relative to
// Options.Root.
type FileIndex interface {
	// Sync returns once every change made on disk before the call is in
	// the index.
	Sync(ctx context.Context) error
	// RegularFiles lists the non-ignored regular files at or below dir
	// (slash path relative to the root, "" for all), sorted.
	RegularFiles(dir string) []string
	// Dirs lists the non-ignored directories, sorted.
	Dirs() []string
}

// Searcher is the project's search engine (search.Service).
type Searcher interface {
	// Lines answers a grep tool call, caught up with the disk first.
	Lines(ctx context.Context, q search.LineQuery) ([]search.FileLines, error)
}

// Snapshots records and restores work-tree states (snapshot.Snapshotter).
type Snapshots interface {
	Track(ctx context.Context) (string, error)
	// TrackPaths is Track after re-stating paths (whatever the watcher has
	// reported), storing them whatever their size.
	TrackPaths(ctx context.Context, paths []string) (string, error)
	// Overlay is base with paths as they are in from.
	Overlay(ctx context.Context, base, from string, paths []string) (string, error)
	// RestoreFiles restores exactly these files, without the size cap,
	// removing the directories it empties that are listed in made.
	RestoreFiles(ctx context.Context, tree string, paths, made []string) (snapshot.Result, error)
	// IsDir reports whether a root-relative path is a directory now.
	IsDir(path string) bool
	// Flush waits until the objects of every returned tree are on disk
	// and durable (fsynced): called before a record names a tree.
	Flush() error
	// Skipped lists the files the last Track left out (too large, unreadable).
	Skipped() []snapshot.Skip
	Changed(ctx context.Context, from, to string) ([]string, error)
	Diff(ctx context.Context, from, to string) (string, error)
	DiffPaths(ctx context.Context, from, to string, paths []string) (string, error)
	MarkChanged(paths []string)
	MarkAll()
	Restore(ctx context.Context, tree string, paths []string) (snapshot.Result, error)
	// FileState and CurrentState: a file's content and mode as one
	// comparable value, in a tree or on disk now.
	FileState(ctx context.Context, tree, path string) (state string, ok bool, err error)
	CurrentState(path string) (state string, exists bool, err error)
	PruneSince(ctx context.Context, keep []string, since time.Time) error
	// RemoveTemps removes what a restore of paths killed before its
	// renames left (temp files beside them).
	RemoveTemps(paths []string) error
}

// EditHooks act on the files a tool call wrote (absolute paths), before
// the call's after-snapshot so revert and diffs see their result. output
// is appended to the tool's output, meta merged into its metadata.
type EditHooks interface {
	AfterEdit(ctx context.Context, files []string) (output string, meta map[string]any)
}

// ToolSource lists tools that come and go at run time (mcp.Manager).
type ToolSource interface {
	Tools(ctx context.Context) []tool.Tool
}

// Models resolves providers and models (provider.Registry).
type Models interface {
	Model(ctx context.Context, providerID, modelID string) (*provider.Resolved, error)
	Default() (providerID, modelID string, err error)
	SmallModel(providerID string) string
}

// Service is the session core. It is safe for concurrent use.
type Service struct {
	store *storage.Store
	bus   *bus.Bus
	ids   *storage.IDs
	now   func() time.Time
	log   *slog.Logger
	opts  Options

	mu      sync.Mutex
	runs    map[string]*run      // sessionID → the run holding the session
	queues  map[string][]*ticket // sessionID → prompts waiting for a turn
	changed chan struct{}        // closed when runs or queues change
	waiting map[string]bool      // "sessionID/messageID" of queued user messages
	perms   *permissions
	reads   sync.Map // sessionID+"\x00"+path → time.Time of the last read tool call
	prune   pruneState
	running sync.Map   // sessionID → true while its "running" marker is on disk
	updMu   sync.Mutex // serializes Update's read-modify-write

	bg     context.Context // background work (titles); canceled by Close
	stopBg context.CancelFunc
	bgWG   sync.WaitGroup
}

// run is one busy period of a session.
type run struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// New returns a core over the given store and bus.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.IDs == nil {
		opts.IDs = storage.NewIDs(opts.Now)
	}
	if opts.Shell == "" {
		opts.Shell = "bash"
	}
	if opts.Environ == nil {
		opts.Environ = childenv.Default
	}
	bg, stopBg := context.WithCancel(context.Background())
	return &Service{
		bg: bg, stopBg: stopBg,
		store: opts.Store, bus: opts.Bus, ids: opts.IDs, now: opts.Now,
		log: opts.Logger.With("component", "session"), opts: opts,
		runs: map[string]*run{}, queues: map[string][]*ticket{}, changed: make(chan struct{}), waiting: map[string]bool{},
		perms: newPermissions(),
	}
}

// Close stops background work (title generation) and waits for it, so
// nothing writes to the store after it is closed. Runs are stopped with
// Abort.
func (s *Service) Close() {
	s.stopBg()
	s.bgWG.Wait()
}

// background runs fn in a goroutine that Close cancels and waits for.
func (s *Service) background(fn func(ctx context.Context)) {
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		fn(s.bg)
	}()
}

func (s *Service) ms() int64 { return s.now().UnixMilli() }

// Create makes a new session; parentID, when set, must name an existing
// session.
func (s *Service) Create(ctx context.Context, parentID, title string) (storage.Session, error) {
	if parentID != "" {
		if _, err := s.Get(parentID); err != nil {
			return storage.Session{}, fmt.Errorf("parentID: %w", err)
		}
	}
	now := s.now()
	if title == "" {
		prefix := "New session - "
		if parentID != "" {
			prefix = "Child session - "
		}
		title = prefix + now.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	sess := storage.Session{
		ID: s.ids.Descending(storage.PrefixSession), ParentID: parentID,
		Title: title, Version: s.opts.Version,
		Time: storage.SessionTime{Created: now.UnixMilli(), Updated: now.UnixMilli()},
	}
	if err := s.store.PutSession(sess); err != nil {
		return storage.Session{}, err
	}
	s.bus.Publish(event.SessionUpdated{Info: sess})
	return sess, nil
}

// Get returns a session; an invalid or unknown id is ErrNotFound.
func (s *Service) Get(id string) (storage.Session, error) {
	if !storage.ValidID(storage.PrefixSession, id) {
		return storage.Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return s.store.Session(id)
}

// List returns every session, most recently updated first.
func (s *Service) List() []storage.Session { return s.store.Sessions() }

// ListJSON is List already encoded as a JSON array (cached between changes).
func (s *Service) ListJSON() []byte { return s.store.SessionsJSON() }

// Children returns the sessions whose parent is id, newest first.
func (s *Service) Children(id string) ([]storage.Session, error) {
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	out := []storage.Session{}
	for _, v := range s.store.Sessions() {
		if v.ParentID == id {
			out = append(out, v)
		}
	}
	return out, nil
}

// Update applies fn to a session, bumps time.updated, writes and publishes.
func (s *Service) Update(id string, fn func(*storage.Session)) (storage.Session, error) {
	// Read, modify and write under one lock: two updates of a session
	// (a title change and a run's touch) must not lose each other's write.
	s.updMu.Lock()
	defer s.updMu.Unlock()
	sess, err := s.Get(id)
	if err != nil {
		return storage.Session{}, err
	}
	if fn != nil {
		fn(&sess)
	}
	sess.Time.Updated = max(s.ms(), sess.Time.Updated)
	if err := s.store.PutSession(sess); err != nil {
		return storage.Session{}, err
	}
	s.bus.Publish(event.SessionUpdated{Info: sess})
	return sess, nil
}

// Delete aborts any run, removes the session with its children, messages
// and parts, and publishes session.deleted for each removed session.
func (s *Service) Delete(id string) error {
	sess, err := s.Get(id)
	if err != nil {
		return err
	}
	children, _ := s.Children(id)
	for _, c := range children {
		if err := s.Delete(c.ID); err != nil {
			return err
		}
	}
	s.Abort(id)
	if err := s.store.DeleteSession(id); err != nil {
		return err
	}
	s.bus.Publish(event.SessionDeleted{Info: sess})
	s.schedulePrune() // snapshot objects only this session needed (prune.go)
	return nil
}

// Messages returns a session's messages with parts.
func (s *Service) Messages(id string) ([]storage.WithParts, error) {
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	return s.store.Messages(id)
}

// Message returns one message with parts.
func (s *Service) Message(id, messageID string) (storage.WithParts, error) {
	if _, err := s.Get(id); err != nil {
		return storage.WithParts{}, err
	}
	if !storage.ValidID(storage.PrefixMessage, messageID) {
		return storage.WithParts{}, fmt.Errorf("message: %w", ErrNotFound)
	}
	return s.store.Message(id, messageID)
}

// ticket is a prompt's place in its session's queue.
type ticket struct {
	aborted bool
}

// changedLocked wakes everyone waiting for a turn. Callers hold s.mu.
func (s *Service) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// enqueue takes a place at the end of the session's queue.
func (s *Service) enqueue(id string) *ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &ticket{}
	s.queues[id] = append(s.queues[id], t)
	return t
}

// dequeue gives up a place that never ran.
func (s *Service) dequeue(id string, t *ticket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[id] = slices.DeleteFunc(s.queues[id], func(x *ticket) bool { return x == t })
	if len(s.queues[id]) == 0 {
		delete(s.queues, id)
	}
	s.changedLocked()
}

// waitTurn blocks until t is first in the queue and no run holds the
// session, then starts a run. The run's context is detached from the HTTP
// request (a client hanging up does not stop the agent; /abort does) unless
// parent is given, as for a task tool's child session, which stops with its
// parent.
func (s *Service) waitTurn(ctx context.Context, id string, t *ticket, parent context.Context) (context.Context, func(), error) {
	for {
		s.mu.Lock()
		if t.aborted {
			s.mu.Unlock()
			s.dequeue(id, t)
			return nil, nil, ErrAborted
		}
		q := s.queues[id]
		if _, busy := s.runs[id]; !busy && len(q) > 0 && q[0] == t {
			s.queues[id] = q[1:]
			if len(s.queues[id]) == 0 {
				delete(s.queues, id)
			}
			runCtx, end := s.startLocked(ctx, id, parent)
			s.mu.Unlock()
			return runCtx, end, nil
		}
		wake := s.changed
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			if parent == nil {
				continue // the HTTP client left; the prompt still runs in turn
			}
			s.dequeue(id, t)
			return nil, nil, context.Cause(ctx)
		}
	}
}

// begin starts a run at once, failing with ErrBusy when the session has a
// run or queued prompts.
func (s *Service) begin(ctx context.Context, id string) (context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.runs[id]; busy || len(s.queues[id]) > 0 {
		return nil, nil, fmt.Errorf("session %s: %w", id, ErrBusy)
	}
	runCtx, end := s.startLocked(ctx, id, nil)
	return runCtx, end, nil
}

// startLocked registers a run. Callers hold s.mu.
func (s *Service) startLocked(ctx context.Context, id string, parent context.Context) (context.Context, func()) {
	base := context.WithoutCancel(ctx)
	if parent != nil {
		base = parent
	}
	runCtx, cancel := context.WithCancelCause(base)
	r := &run{cancel: cancel, done: make(chan struct{})}
	s.runs[id] = r
	end := func() {
		s.mu.Lock()
		if s.runs[id] == r {
			delete(s.runs, id)
		}
		idle := len(s.queues[id]) == 0
		s.changedLocked()
		s.mu.Unlock()
		cancel(nil)
		s.unmarkRunning(id)
		close(r.done)
		if sess, err := s.store.Session(id); err == nil && sess.ParentID == "" && idle {
			s.bus.Publish(event.SessionIdle{SessionID: id})
		}
	}
	return runCtx, end
}

// ErrAborted is the cause set on a run's context by Abort.
var ErrAborted = errors.New("aborted")

// Abort stops the session's run and its queued prompts, and reports
// whether there was anything to stop. It returns once the run has finished
// recording its state.
func (s *Service) Abort(id string) bool {
	s.mu.Lock()
	r, ok := s.runs[id]
	queued := s.queues[id]
	for _, t := range queued {
		t.aborted = true
	}
	s.changedLocked()
	s.mu.Unlock()
	if !ok {
		return len(queued) > 0
	}
	r.cancel(ErrAborted)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		s.log.Warn("Run did not stop within 10s after abort", "session", id)
	}
	return true
}

// Busy reports whether the session has a run.
func (s *Service) Busy(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.runs[id]
	return ok
}

// putMessage writes and publishes a message.
func (s *Service) putMessage(m storage.Message) error {
	if m.Role == storage.RoleAssistant && m.Time.Completed == nil {
		s.markRunning(m.SessionID)
	}
	if err := s.store.PutMessage(m); err != nil {
		return err
	}
	s.bus.Publish(event.MessageUpdated{Info: m})
	return nil
}

// putPart writes and publishes a part.
func (s *Service) putPart(p storage.Part) error {
	if err := s.store.PutPart(p); err != nil {
		return err
	}
	s.bus.Publish(event.PartUpdated{Part: p})
	return nil
}
