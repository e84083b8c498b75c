package session

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"ocgo/config"
	"ocgo/confine"
	"ocgo/event"
	"ocgo/relpath"
	"ocgo/search"
	"ocgo/storage"
	"ocgo/tool"
	"ocgo/trace"
)

// fileTools change files; each call is snapshotted before and after, and
// what it changed is recorded as a patch part so revert can undo exactly
// that call.
var fileTools = map[string]bool{"edit": true, "write": true, "patch": true, "bash": true}

// editTools are the tools after which EditHooks run.
var editTools = map[string]bool{"edit": true, "write": true, "patch": true}

// maxParallelTools bounds how many tool calls of one step run at once.
const maxParallelTools = 8

// runTools runs the step's tool calls concurrently, as the original does
// (calls made in one step are meant to be independent), at most
// maxParallelTools at a time, with one exception: the calls that change
// files (edit, write, patch, bash) form a single lane that runs in call
// order. That keeps two edits of one file from racing, lets a later edit
// see an earlier one's result, and keeps the snapshot taken around each
// such call exact, so every call gets its own patch part and revert undoes
// exactly that call. Reads, searches, fetches, subagent tasks and MCP tools
// run alongside. Results stay in call order because each call owns the
// tool part created for it when the model made it. Every call shares the
// run's context, so an abort stops them all.
func (st *runState) runTools(calls []pendingCall, enabled []tool.Tool) {
	byName := map[string]tool.Tool{}
	for _, t := range enabled {
		byName[t.Info().Name] = t
	}
	sem := make(chan struct{}, maxParallelTools)
	var wg sync.WaitGroup
	var lane []pendingCall
	for _, c := range calls {
		if fileTools[c.name] {
			lane = append(lane, c)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			st.runTool(c, byName, enabled)
		}()
	}
	if len(lane) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range lane {
				sem <- struct{}{}
				st.runTool(c, byName, enabled)
				<-sem
			}
		}()
	}
	wg.Wait()
}

// runTool runs one call and records its outcome on its tool part; a
// file-changing call is snapshotted around itself.
func (st *runState) runTool(c pendingCall, byName map[string]tool.Tool, enabled []tool.Tool) {
	s := st.s
	if st.ctx.Err() != nil {
		return
	}
	input := json.RawMessage(c.input)
	if !json.Valid(input) || len(strings.TrimSpace(c.input)) == 0 {
		input = json.RawMessage("{}")
	}
	start := s.ms()
	st.setTool(c.partID, func(ts *storage.ToolState) {
		*ts = storage.ToolState{Status: storage.ToolRunning, Input: input, Time: &storage.ToolTime{Start: start}}
	})
	t, ok := byName[c.name]
	var res tool.Result
	var err error
	if !ok {
		err = errors.New("tool " + c.name + " is not available to this agent; available tools: " + strings.Join(names(enabled), ", "))
	} else {
		env := s.newToolEnv(st.ctx, toolCtx{sessionID: st.in.sessionID, messageID: st.msg.ID, partID: c.partID, agent: st.in.agent}, st)
		snap := fileTools[c.name] && s.opts.Snapshots != nil
		var before string
		var large map[string]bool
		if snap && c.name == "bash" {
			before, large = s.beforeCommand(st.ctx)
			env.large = s.newLargeFiles(st.ctx, large)
		} else if snap {
			// write, edit and patch name their files (Editing, Edited).
			env.snapshot = true
		}
		res, err = t.Run(st.ctx, tool.Call{ID: c.callID, SessionID: st.in.sessionID, MessageID: st.msg.ID, Agent: st.in.agent.Name, Input: input}, env)
		if err == nil && editTools[c.name] {
			st.afterEdit(env, &res)
		}
		switch {
		case before != "":
			s.opts.Snapshots.MarkAll()
			candidates, covers, dirs := s.commandFiles(res.Changed)
			before, large = env.large.apply(before)
			st.recordPatch(before, candidates, large, covers, dirs)
		case env.before != "":
			st.recordPatch(env.before, env.edited, nil, nil, env.made)
		}
	}
	end := s.ms()
	if err != nil {
		text := err.Error()
		if errors.Is(err, tool.ErrRejected) || errors.Is(err, ErrRejected) {
			st.rejected.Store(true)
			text = rejectedText
		}
		st.setTool(c.partID, func(ts *storage.ToolState) {
			*ts = storage.ToolState{Status: storage.ToolError, Input: input, Error: text, Metadata: res.Metadata,
				Time: &storage.ToolTime{Start: start, End: end}}
		})
		return
	}
	meta := res.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	st.setTool(c.partID, func(ts *storage.ToolState) {
		*ts = storage.ToolState{Status: storage.ToolCompleted, Input: input, Output: res.Output, Title: res.Title, Metadata: meta,
			Time: &storage.ToolTime{Start: start, End: end}}
	})
}

// recordPatch writes a patch part for what one tool call changed since
// tree before; revert undoes exactly the files it lists.
//
// candidates are the call's own files, root-relative with slashes: for
// write, edit and patch the files the tool wrote (tool.Env.Edited, their
// before-state taken by tool.Env.Editing); for bash and POST
// /session/:id/shell, the files the command's process tree wrote, once
// attribution reports them. Only candidates that differ between before and
// the tree taken now are recorded, so a write made by anyone else (the
// user's editor, another session) in the same window is never this call's.
// nil means "not known": every path that changed between before and after
// is recorded, which is today's behaviour for bash and also takes in
// writes from outside the command. Candidates are stored whatever their
// size. Without candidates, files left out of the after tree for their size
// that were not left out before (skippedBefore) are files the window
// created or grew past the cap: they are stored too. A file that was
// already over the cap before cannot be restored to its earlier content.
//
// covers, if set, says which changed files the candidates account for (a
// directory a command renamed covers its files); else only the candidates
// themselves.
//
// dirs are the directories the call created (root-relative): for write,
// edit and patch those the tool made (tool.Env.MadeDirs), for a traced
// command those its process tree made (trace.Set.Dirs). They are recorded
// with the part, and a revert of the call removes them once it has emptied
// them. An untraced command records none: what it made is
// indistinguishable from what others made during it, and a directory left
// empty is better than a user's removed.
func (st *runState) recordPatch(before string, candidates []string, skippedBefore map[string]bool, covers func(string) bool, dirs []string) {
	s := st.s
	ctx := context.WithoutCancel(st.ctx)
	var after string
	var err error
	if candidates == nil {
		after, err = s.opts.Snapshots.Track(ctx)
		var grown []string
		for _, sk := range s.opts.Snapshots.Skipped() {
			if !skippedBefore[sk.Path] && !strings.HasSuffix(sk.Path, "/") {
				grown = append(grown, sk.Path)
			}
		}
		if err == nil && len(grown) > 0 {
			after, err = s.opts.Snapshots.TrackPaths(ctx, grown)
		}
	} else {
		after, err = s.opts.Snapshots.TrackPaths(ctx, candidates)
	}
	if err != nil || after == before {
		return
	}
	files, err := s.opts.Snapshots.Changed(ctx, before, after)
	if err != nil || len(files) == 0 {
		return
	}
	if candidates != nil && covers == nil {
		covers = func(f string) bool { return slices.Contains(candidates, f) }
	}
	// A file over the cap before the call and not saved since (untraced,
	// or the tracer's hook failed) is missing from before: listed, a
	// revert would delete it. Left out, a revert leaves it as the call
	// made it.
	files = slices.DeleteFunc(files, func(f string) bool { return covers != nil && !covers(f) || skippedBefore[f] })
	if len(files) == 0 {
		return
	}
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(s.opts.Root, filepath.FromSlash(f))
	}
	// The trees' objects are made durable before the part names them. A
	// failure is logged and the part still written: it stays good for as
	// long as this process runs, and a revert after a loss says so.
	if err := s.opts.Snapshots.Flush(); err != nil {
		s.log.Error("Snapshot objects not durable", "err", err)
	}
	p := s.newPart(st.in.sessionID, st.msg.ID, storage.PartPatch)
	p.Hash, p.Files, p.After = before, abs, after
	for _, d := range dirs {
		p.Dirs = append(p.Dirs, []byte(d))
	}
	if err := st.put(p); err != nil {
		s.log.Error("Could not write patch part", "err", err)
	}
}

// afterEdit runs the EditHooks on the files the call wrote and adds their
// report to its result.
func (st *runState) afterEdit(env *toolEnv, res *tool.Result) {
	s := st.s
	if s.opts.EditHooks == nil {
		return
	}
	env.mu.Lock()
	files := make([]string, len(env.edited))
	for i, rel := range env.edited {
		files[i] = filepath.Join(s.opts.Root, filepath.FromSlash(rel))
	}
	env.mu.Unlock()
	if len(files) == 0 {
		return
	}
	out, meta := s.opts.EditHooks.AfterEdit(st.ctx, files)
	res.Output += out
	if len(meta) > 0 && res.Metadata == nil {
		res.Metadata = map[string]any{}
	}
	for k, v := range meta {
		res.Metadata[k] = v
	}
}

func names(ts []tool.Tool) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Info().Name
	}
	return out
}

// toolCtx identifies the call a tool.Env serves.
type toolCtx struct {
	sessionID, messageID, partID string
	agent                        agentView
}

// toolEnv is the session core's side of a running tool.
type toolEnv struct {
	s   *Service
	tc  toolCtx
	st  *runState // nil outside a run (file attachments)
	mu  sync.Mutex
	upd time.Time

	// snapshot: the call's file changes are recorded from Editing/Edited:
	// before is the tree taken at the first Editing, edited the files
	// written since (root-relative; kept without snapshots too, for the
	// EditHooks).
	snapshot bool
	before   string
	edited   []string
	made     []string // directories the tool created (root-relative)
	// large: a bash call's files over the size cap, saved by Editing
	// before the command changes them.
	large *largeFiles
}

func (s *Service) newToolEnv(_ context.Context, tc toolCtx, st *runState) *toolEnv {
	return &toolEnv{s: s, tc: tc, st: st}
}

func (e *toolEnv) Root() *confine.Root { return e.s.opts.FS }
func (e *toolEnv) RootPath() string    { return e.s.opts.Cwd }

func (e *toolEnv) Permission(kind, pattern string) string {
	a := e.tc.agent
	var v string
	switch kind {
	case "edit", "write", "patch":
		v = a.Edit
	case "bash":
		if len(a.Bash) == 0 {
			return tool.Allow
		}
		v = config.EvalPermission(a.Bash, pattern)
	case "webfetch":
		v = a.Webfetch
	}
	if v == "" {
		return tool.Allow
	}
	return v
}

func (e *toolEnv) Ask(ctx context.Context, call tool.Call, p tool.Permission) error {
	err := e.s.Ask(ctx, storage.Permission{
		Type: p.Type, Pattern: p.Pattern, SessionID: call.SessionID, MessageID: call.MessageID,
		CallID: call.ID, Title: p.Title, Metadata: p.Metadata,
	})
	if errors.Is(err, ErrRejected) {
		if e.st != nil {
			e.st.rejected.Store(true)
		}
		return errors.Join(tool.ErrRejected, err)
	}
	return err
}

// Update shows a running tool's live metadata, at most every 100 ms.
func (e *toolEnv) Update(_ context.Context, meta map[string]any, title string) {
	if e.st == nil || e.tc.partID == "" {
		return
	}
	e.mu.Lock()
	if time.Since(e.upd) < 100*time.Millisecond {
		e.mu.Unlock()
		return
	}
	e.upd = time.Now()
	e.mu.Unlock()
	e.st.setTool(e.tc.partID, func(ts *storage.ToolState) {
		if ts.Status != storage.ToolRunning {
			return
		}
		ts.Metadata = meta
		if title != "" {
			ts.Title = title
		}
	})
}

func (e *toolEnv) FileRead(sessionID, path string) {
	e.s.reads.Store(sessionID+"\x00"+path, time.Now())
}

func (e *toolEnv) FileReadTime(sessionID, path string) (time.Time, bool) {
	v, ok := e.s.reads.Load(sessionID + "\x00" + path)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}

// Files serves glob, grep and list from the project's file index, caught
// up with the disk first; paths are relative to the served directory.
func (e *toolEnv) Files(ctx context.Context, dir string) ([]string, error) {
	files, _, err := e.s.indexed(ctx, dir, false)
	return files, err
}

// Grep serves the grep tool from the project's search engine, which syncs
// with the disk itself; paths are relative to the served directory, as is
// the search service's Cwd.
func (e *toolEnv) Grep(ctx context.Context, q search.LineQuery) ([]search.FileLines, error) {
	if e.s.opts.Search == nil {
		return nil, errors.New("no search engine")
	}
	return e.s.opts.Search.Lines(ctx, q)
}

// indexed returns the index's regular files at or below dir (and, with
// dirs, its directories below it), dir an OS path relative to the served
// directory, as slash paths relative to it, once the index has caught up
// with the disk.
func (s *Service) indexed(ctx context.Context, dir string, dirs bool) (files, subdirs []string, err error) {
	idx := s.opts.Files
	if idx == nil {
		return nil, nil, errors.New("no file index")
	}
	if err := idx.Sync(ctx); err != nil {
		return nil, nil, err
	}
	cwd, ok := s.rootRel(s.opts.Cwd)
	if !ok {
		return nil, nil, errors.New("the served directory is outside the project root")
	}
	d := path.Join(cwd, filepath.ToSlash(dir))
	files = idx.RegularFiles(d)
	if dirs {
		for _, sub := range idx.Dirs() {
			if sub != d && relpath.Under(d, sub) {
				subdirs = append(subdirs, sub)
			}
		}
	}
	if cwd != "" {
		for i, f := range files {
			files[i] = strings.TrimPrefix(f, cwd+"/")
		}
		for i, f := range subdirs {
			subdirs[i] = strings.TrimPrefix(f, cwd+"/")
		}
	}
	return files, subdirs, nil
}

func (e *toolEnv) Todos() tool.TodoStore { return todoStore{e.s.store} }

func (e *toolEnv) Subtask(ctx context.Context, req tool.SubtaskRequest) (tool.SubtaskResult, error) {
	return e.s.subtask(ctx, e, req)
}

// Editing takes the call's before-snapshot with the named files re-read
// from disk now, whatever the watcher has reported yet, so that reverting
// the call restores what was there the moment before the tool wrote.
func (e *toolEnv) Editing(paths ...string) {
	if e.large != nil {
		for _, p := range paths {
			if rel, ok := e.s.rootRel(p); ok {
				e.large.before(rel)
			}
		}
		return
	}
	if !e.snapshot || e.st == nil {
		return
	}
	var rels []string
	for _, p := range paths {
		if rel, ok := e.s.rootRel(p); ok {
			rels = append(rels, rel)
		}
	}
	before, err := e.s.opts.Snapshots.TrackPaths(context.WithoutCancel(e.st.ctx), rels)
	if err != nil {
		e.s.log.Warn("Could not snapshot before a tool's write", "err", err)
		return
	}
	e.mu.Lock()
	if e.before == "" {
		e.before = before
	}
	e.mu.Unlock()
}

// Edited publishes file.edited and tells the snapshotter what changed.
func (e *toolEnv) Edited(path string) {
	e.s.bus.Publish(event.FileEdited{File: path})
	if rel, ok := e.s.rootRel(path); ok {
		if e.s.opts.Snapshots != nil {
			e.s.opts.Snapshots.MarkChanged([]string{rel})
		}
		e.mu.Lock()
		if !slices.Contains(e.edited, rel) {
			e.edited = append(e.edited, rel)
		}
		e.mu.Unlock()
	}
}

// MadeDirs records the directories a write, edit or patch call created.
func (e *toolEnv) MadeDirs(paths ...string) {
	if !e.snapshot || e.st == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range paths {
		if rel, ok := e.s.rootRel(p); ok && !slices.Contains(e.made, rel) {
			e.made = append(e.made, rel)
		}
	}
}

// rootRel makes an absolute path inside the project root-relative, with
// slashes ("" for the root itself).
func (s *Service) rootRel(p string) (string, bool) {
	return relpath.Rel(s.opts.Root, p)
}

// todoStore keeps todo lists on disk at storage/todo/<sessionID>.json.
type todoStore struct{ store *storage.Store }

func (t todoStore) Get(sessionID string) ([]tool.Todo, error) {
	var todos []tool.Todo
	if err := t.store.GetJSON("todo/"+sessionID, &todos); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if todos == nil {
		todos = []tool.Todo{}
	}
	return todos, nil
}

func (t todoStore) Set(sessionID string, todos []tool.Todo) error {
	if !storage.ValidID(storage.PrefixSession, sessionID) {
		return ErrInvalid
	}
	return t.store.PutJSON("todo/"+sessionID, todos)
}

// subtask runs the task tool's child session: a new session whose parent
// is the caller's, with the subagent, and todo/task tools off. The child
// stops when the parent's run stops. Its tool parts are summarised into the
// task tool part's metadata as they change.
func (s *Service) subtask(ctx context.Context, e *toolEnv, req tool.SubtaskRequest) (tool.SubtaskResult, error) {
	agent, err := s.agent(req.Agent)
	if err != nil {
		return tool.SubtaskResult{}, err
	}
	child, err := s.Create(ctx, req.ParentSessionID, req.Description+" (@"+agent.Name+" subagent)")
	if err != nil {
		return tool.SubtaskResult{}, err
	}
	providerID, modelID := "", ""
	if e.st != nil {
		providerID, modelID = e.st.in.model.Info.ID, e.st.in.model.Model.ID
	}
	if agent.ProviderID != "" {
		providerID, modelID = agent.ProviderID, agent.ModelID
	}
	sub := s.bus.Subscribe(1024)
	defer sub.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		summary := map[string]map[string]any{}
		var order []string
		for {
			select {
			case <-stop:
				return
			case ev, ok := <-sub.C:
				if !ok {
					return
				}
				pu, isPart := ev.Properties.(event.PartUpdated)
				p := pu.Part
				if !isPart || p.SessionID != child.ID || p.Type != storage.PartTool || p.State == nil {
					continue
				}
				if _, seen := summary[p.ID]; !seen {
					order = append(order, p.ID)
				}
				summary[p.ID] = map[string]any{"id": p.ID, "tool": p.Tool, "state": map[string]any{"status": p.State.Status, "title": p.State.Title}}
				list := make([]map[string]any, 0, len(order))
				for _, id := range order {
					list = append(list, summary[id])
				}
				e.Update(ctx, map[string]any{"summary": list, "sessionId": child.ID}, req.Description)
			}
		}
	}()
	res, err := s.prompt(ctx, child.ID, PromptInput{
		ProviderID: providerID, ModelID: modelID, Agent: agent.Name,
		Tools: map[string]bool{"todowrite": false, "todoread": false, "task": false},
		Parts: []InputPart{{Type: storage.PartText, Text: req.Prompt}},
	}, ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		return tool.SubtaskResult{SessionID: child.ID}, err
	}
	out := tool.SubtaskResult{SessionID: child.ID}
	var summary []map[string]any
	for _, p := range res.Parts {
		switch p.Type {
		case storage.PartText:
			out.Output = p.Text
		case storage.PartTool:
			if p.State != nil {
				summary = append(summary, map[string]any{"id": p.ID, "tool": p.Tool, "state": map[string]any{"status": p.State.Status, "title": p.State.Title}})
			}
		}
	}
	out.Summary = summary
	if res.Info.Error != nil {
		msg, _ := res.Info.Error.Data["message"].(string)
		return out, errors.New("subagent failed: " + res.Info.Error.Name + " " + msg)
	}
	return out, nil
}

// beforeCommand takes the "before" tree of a shell command and notes the
// files left out of it for their size. A command may touch any file, and
// the watcher reports changes only after its debounce: rescan around it.
func (s *Service) beforeCommand(ctx context.Context) (before string, large map[string]bool) {
	s.opts.Snapshots.MarkAll()
	before, _ = s.opts.Snapshots.Track(ctx)
	large = map[string]bool{}
	for _, sk := range s.opts.Snapshots.Skipped() {
		large[sk.Path] = true
	}
	return before, large
}

// commandFiles turns what a traced command changed (tool.Result.Changed)
// into recordPatch's candidates and cover test; nil candidates (every
// change in the window) when it is not known.
func (s *Service) commandFiles(changed func() trace.Set) (candidates []string, covers func(string) bool, dirs []string) {
	if changed == nil {
		return nil, nil, nil
	}
	set := changed()
	if set.All {
		s.log.Debug("Attributing every change during the command to it", "why", set.Reason)
		return nil, nil, nil
	}
	for _, d := range set.Dirs {
		if !slices.Contains(strings.Split(d, "/"), ".git") {
			dirs = append(dirs, d)
		}
	}
	// The snapshot holds neither the root itself nor anything in .git (and
	// refuses to be asked about them).
	candidates = []string{}
	for _, p := range slices.Concat(set.Paths, set.Trees) {
		if p != "." && !slices.Contains(strings.Split(p, "/"), ".git") {
			candidates = append(candidates, p)
		}
	}
	return candidates, set.Covers, dirs
}
