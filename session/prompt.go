package session

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"ocgo/provider"
	"ocgo/relpath"
	"ocgo/storage"
	"ocgo/tool"
)

// PromptInput is the body of POST /session/:id/message (opencode's
// ChatInput without sessionID).
type PromptInput struct {
	MessageID  string          `json:"messageID,omitempty"`
	ProviderID string          `json:"providerID"`
	ModelID    string          `json:"modelID"`
	Agent      string          `json:"agent,omitempty"`
	System     string          `json:"system,omitempty"`
	Tools      map[string]bool `json:"tools,omitempty"`
	Parts      []InputPart     `json:"parts"`
}

// InputPart is a TextPartInput, FilePartInput or AgentPartInput.
type InputPart struct {
	ID        string          `json:"id,omitempty"`
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Synthetic bool            `json:"synthetic,omitempty"`
	Mime      string          `json:"mime,omitempty"`
	Filename  string          `json:"filename,omitempty"`
	URL       string          `json:"url,omitempty"`
	Source    json.RawMessage `json:"source,omitempty"`
	Name      string          `json:"name,omitempty"`
}

// checkMessageID is the one check of a message ID a client names (one to
// give a new message, or the message a revert goes back to).
func checkMessageID(id string) error {
	if !storage.ValidID(storage.PrefixMessage, id) {
		return fmt.Errorf("%w: messageID must start with \"msg_\" and hold only letters, digits, '_' and '-'", ErrInvalid)
	}
	return nil
}

// Validate checks the input before anything is written.
func (in *PromptInput) Validate() error {
	if in.MessageID != "" {
		if err := checkMessageID(in.MessageID); err != nil {
			return err
		}
	}
	if len(in.Parts) == 0 {
		return fmt.Errorf("%w: parts must hold at least one part", ErrInvalid)
	}
	for i, p := range in.Parts {
		if p.ID != "" && !storage.ValidPartID(p.ID) {
			return fmt.Errorf("%w: parts[%d].id must be 1-64 letters, digits, '_' or '-' (a prt_ id or a UUID)", ErrInvalid, i)
		}
		switch p.Type {
		case storage.PartText:
		case storage.PartFile:
			if p.URL == "" || p.Mime == "" {
				return fmt.Errorf("%w: parts[%d] (file) needs url and mime", ErrInvalid, i)
			}
		case storage.PartAgent:
			if p.Name == "" {
				return fmt.Errorf("%w: parts[%d] (agent) needs name", ErrInvalid, i)
			}
		default:
			return fmt.Errorf("%w: parts[%d].type must be text, file or agent", ErrInvalid, i)
		}
	}
	return nil
}

// ErrModel marks a prompt whose model cannot be resolved; its message says
// how to configure one.
var ErrModel = errors.New("model unavailable")

// resolveModel picks the model: the request's, else the agent's, else the
// config's "model", else the registry's default.
func (s *Service) resolveModel(ctx context.Context, providerID, modelID string, agent agentView) (*provider.Resolved, error) {
	if s.opts.Models == nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, provider.ErrNoProvider)
	}
	if providerID == "" || modelID == "" {
		switch {
		case agent.ProviderID != "":
			providerID, modelID = agent.ProviderID, agent.ModelID
		case s.opts.Config != nil && strings.Contains(s.opts.Config.Model, "/"):
			providerID, modelID, _ = strings.Cut(s.opts.Config.Model, "/")
		default:
			p, m, err := s.opts.Models.Default()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrModel, err)
			}
			providerID, modelID = p, m
		}
	}
	r, err := s.opts.Models.Model(ctx, providerID, modelID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	return r, nil
}

// Prompt records the user's message and runs the agent loop until the
// model stops, returning the final assistant message with its parts. A
// prompt for a busy session waits its turn (its user message is written
// at once, so clients show it) and gets its own answer.
func (s *Service) Prompt(ctx context.Context, sessionID string, in PromptInput) (storage.WithParts, error) {
	return s.prompt(ctx, sessionID, in, nil)
}

func (s *Service) prompt(ctx context.Context, sessionID string, in PromptInput, parent context.Context) (storage.WithParts, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return storage.WithParts{}, err
	}
	if err := in.Validate(); err != nil {
		return storage.WithParts{}, err
	}
	if in.Agent == "" {
		in.Agent = "build"
	}
	agent, err := s.agent(in.Agent)
	if err != nil {
		return storage.WithParts{}, err
	}
	model, err := s.resolveModel(ctx, in.ProviderID, in.ModelID, agent)
	if err != nil {
		return storage.WithParts{}, err
	}

	// Take our place in the session's queue before writing, so a revert
	// cleanup and our user message happen in order.
	ticket := s.enqueue(sessionID)
	if sess.Revert != nil && !s.Busy(sessionID) {
		if err := s.cleanupRevert(sessionID); err != nil {
			s.dequeue(sessionID, ticket)
			return storage.WithParts{}, err
		}
	}
	s.setWaiting(sessionID, in.MessageID, true)
	user, err := s.writeUserMessage(sessionID, in)
	s.setWaiting(sessionID, in.MessageID, false)
	if err != nil {
		s.dequeue(sessionID, ticket)
		return storage.WithParts{}, err
	}
	// Until its turn, the queued message stays out of the running prompt's
	// history: the model answers one prompt at a time.
	s.setWaiting(sessionID, user.ID, true)
	s.touch(sessionID)
	runCtx, end, err := s.waitTurn(ctx, sessionID, ticket, parent)
	s.setWaiting(sessionID, user.ID, false)
	if err != nil {
		// Aborted while queued: answer with an aborted assistant message.
		msg := s.newAssistant(sessionID, agent.Name, model.Info.ID, model.Model.ID)
		msg.Error = &storage.MessageError{Name: "MessageAbortedError", Data: map[string]any{"message": "aborted before it started"}}
		done := s.ms()
		msg.Time.Completed = &done
		if err := s.putMessage(msg); err != nil {
			return storage.WithParts{}, err
		}
		return storage.WithParts{Info: msg, Parts: []storage.Part{}}, nil
	}
	defer end()
	if s.opts.Titles && sess.ParentID == "" && strings.HasPrefix(sess.Title, "New session - ") && s.firstUserMessage(sessionID, user.ID) {
		s.background(func(ctx context.Context) { s.generateTitle(ctx, sessionID, model, in) })
	}
	li := loopInput{
		sessionID: sessionID, user: user, agent: agent, model: model,
		system: in.System, tools: in.Tools, compactOnOverflow: true,
	}
	if s.nearContextLimit(sessionID, model) {
		s.compact(runCtx, li)
	}
	res, err := s.runLoop(runCtx, li)
	if errors.Is(err, errOverflow) {
		// The provider refused the history as too long: compact it and
		// try once more from the summary.
		s.compact(runCtx, li)
		li.compactOnOverflow = false
		res, err = s.runLoop(runCtx, li)
	}
	return res, err
}

// compact summarizes the history before the prompt's user message, which
// stays out of the summary and follows it in the next request.
func (s *Service) compact(ctx context.Context, li loopInput) {
	s.setWaiting(li.sessionID, li.user.ID, true)
	res, err := s.summarize(ctx, li.sessionID, li.agent, li.model)
	s.setWaiting(li.sessionID, li.user.ID, false)
	if err == nil && res.Info.Error != nil {
		err = errors.New(res.Info.Error.Name)
	}
	if err != nil {
		s.log.Warn("Automatic compaction failed", "session", li.sessionID, "err", err)
	}
}

// firstUserMessage reports whether id is the session's only user message.
func (s *Service) firstUserMessage(sessionID, id string) bool {
	msgs, _ := s.store.Messages(sessionID)
	for _, m := range msgs {
		if m.Info.Role == storage.RoleUser && m.Info.ID != id {
			return false
		}
	}
	return true
}

// writeUserMessage persists the user message and its parts, expanding
// file:// attachments the way opencode does (text files become synthetic
// "read" parts, other files data: URLs). A message that cannot be stored
// whole (a bad attachment, a full disk) is removed again, as far as the
// disk allows: a user message without its parts would join the history of
// every later request.
func (s *Service) writeUserMessage(sessionID string, in PromptInput) (msg storage.Message, err error) {
	id := in.MessageID
	if id == "" {
		id = s.ids.Ascending(storage.PrefixMessage)
	}
	msg = storage.Message{ID: id, SessionID: sessionID, Role: storage.RoleUser, Time: storage.MessageTime{Created: s.ms()}}
	if err := s.putMessage(msg); err != nil {
		_ = s.store.DeleteMessage(sessionID, id) // a failed directory fsync leaves the file
		return msg, err
	}
	defer func() {
		if err != nil {
			_ = s.removeMessage(sessionID, id)
		}
	}()
	for _, ip := range in.Parts {
		parts, err := s.expandInput(sessionID, id, ip)
		if err != nil {
			return msg, err
		}
		for _, p := range parts {
			if err := s.putPart(p); err != nil {
				return msg, err
			}
		}
	}
	return msg, nil
}

func (s *Service) newPart(sessionID, messageID, typ string) storage.Part {
	return storage.Part{ID: s.ids.Ascending(storage.PrefixPart), SessionID: sessionID, MessageID: messageID, Type: typ}
}

func (s *Service) expandInput(sessionID, messageID string, ip InputPart) ([]storage.Part, error) {
	base := storage.Part{ID: ip.ID, SessionID: sessionID, MessageID: messageID, Type: ip.Type}
	// Parts are ordered by id: a file part gets its id after the synthetic
	// "read" parts that precede it.
	if base.ID == "" && ip.Type != storage.PartFile {
		base.ID = s.ids.Ascending(storage.PrefixPart)
	}
	last := func() storage.Part {
		if base.ID == "" {
			base.ID = s.ids.Ascending(storage.PrefixPart)
		}
		return base
	}
	synthetic := func(text string) storage.Part {
		p := s.newPart(sessionID, messageID, storage.PartText)
		p.Text, p.Synthetic = text, true
		return p
	}
	switch ip.Type {
	case storage.PartText:
		base.Text, base.Synthetic = ip.Text, ip.Synthetic
		return []storage.Part{base}, nil
	case storage.PartAgent:
		base.Name, base.Source = ip.Name, ip.Source
		return []storage.Part{base, synthetic("Use the above message and context to generate a prompt and call the task tool with subagent: " + ip.Name)}, nil
	}
	// file
	base.Mime, base.Filename, base.URL, base.Source = ip.Mime, ip.Filename, ip.URL, ip.Source
	if data, mime, ok := decodeDataURL(ip.URL); ok && isTextMime(cmp.Or(ip.Mime, mime)) {
		// A text file sent inline: the model gets its content as the
		// read tool's answer, as for a file:// attachment (the file part
		// itself is not sent; see userMessage).
		raw, _ := json.Marshal(map[string]string{"filePath": ip.Filename})
		return []storage.Part{synthetic("Called the Read tool with the following input: " + string(raw)), synthetic(string(data)), last()}, nil
	}
	u, err := url.Parse(ip.URL)
	if err != nil || u.Scheme != "file" {
		return []storage.Part{last()}, nil
	}
	rel, err := s.relPath(u.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: file part %s: %v", ErrInvalid, ip.Filename, err)
	}
	if isTextMime(ip.Mime) {
		input := map[string]any{"filePath": filepath.Join(s.opts.Cwd, rel)}
		q := u.Query()
		if start := q.Get("start"); start != "" {
			var a, b int
			_, _ = fmt.Sscan(start, &a)
			_, _ = fmt.Sscan(q.Get("end"), &b)
			if a > 0 {
				input["offset"] = a - 1
				if b >= a {
					input["limit"] = b - a + 1
				}
			}
		}
		raw, _ := json.Marshal(input)
		out := "(could not read the file)"
		if t := s.toolByName("read"); t != nil {
			env := s.newToolEnv(context.Background(), toolCtx{sessionID: sessionID, messageID: messageID}, nil)
			if res, err := t.Run(context.Background(), tool.Call{ID: "", SessionID: sessionID, MessageID: messageID, Input: raw}, env); err == nil {
				out = res.Output
			} else {
				out = err.Error()
			}
		}
		return []storage.Part{synthetic("Called the Read tool with the following input: " + string(raw)), synthetic(out), last()}, nil
	}
	data, err := s.opts.FS.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("%w: file part %s: %v", ErrInvalid, ip.Filename, errors.Unwrap(err))
	}
	raw, _ := json.Marshal(map[string]string{"filePath": filepath.Join(s.opts.Cwd, rel)})
	base.URL = "data:" + ip.Mime + ";base64," + base64.StdEncoding.EncodeToString(data)
	return []storage.Part{synthetic("Called the Read tool with the following input: " + string(raw)), last()}, nil
}

// isTextMime reports whether an attachment is given to the model as text
// (the read tool's output) rather than as a file block.
func isTextMime(mime string) bool {
	return strings.HasPrefix(mime, "text/")
}

var errOutsideProject = errors.New("path is outside the project")

// relPath turns an absolute or relative path into one relative to the
// project, refusing anything outside it.
func (s *Service) relPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.opts.Cwd, p)
	}
	r, ok := relpath.Within(s.opts.Cwd, p)
	if !ok {
		return "", errOutsideProject
	}
	return r, nil
}

func (s *Service) toolByName(name string) tool.Tool {
	for _, t := range s.opts.Tools {
		if t.Info().Name == name {
			return t
		}
	}
	return nil
}

// agentView is the part of a config agent the loop uses.
type agentView struct {
	Name        string
	Prompt      string
	Temperature *float64
	TopP        *float64
	Options     map[string]any // provider options (reasoningEffort, thinking…)
	Tools       map[string]bool
	Edit        string
	Bash        map[string]string
	Webfetch    string
	ProviderID  string
	ModelID     string
	Subagent    bool
}

func (s *Service) agent(name string) (agentView, error) {
	if s.opts.Config == nil {
		return agentView{Name: name, Edit: "allow", Bash: map[string]string{"*": "allow"}, Webfetch: "allow"}, nil
	}
	a, ok := s.opts.Config.Agent(name)
	if !ok {
		return agentView{}, fmt.Errorf("%w: agent %q does not exist", ErrInvalid, name)
	}
	v := agentView{Name: a.Name, Prompt: a.Prompt, Temperature: a.Temperature, TopP: a.TopP, Options: a.Options, Tools: a.Tools,
		Edit: a.Permission.Edit, Bash: a.Permission.Bash, Webfetch: a.Permission.Webfetch, Subagent: a.Mode == "subagent"}
	if a.Model != nil {
		v.ProviderID, v.ModelID = a.Model.ProviderID, a.Model.ModelID
	}
	return v, nil
}

// enabledTools filters the registry by the agent's, the config's and the
// request's tool maps (wildcards allowed, later maps win).
func (s *Service) enabledTools(agent agentView, req map[string]bool, modelID string) []tool.Tool {
	var maps []map[string]bool
	if s.opts.Config != nil {
		maps = append(maps, s.opts.Config.Tools)
	}
	maps = append(maps, agent.Tools, req)
	var out []tool.Tool
	for _, t := range s.allTools() {
		info := t.Info()
		on := !info.DisabledByDefault && info.Name != "invalid"
		if strings.Contains(strings.ToLower(modelID), "qwen") && strings.HasPrefix(info.Name, "todo") {
			on = false
		}
		for _, m := range maps {
			if v, ok := matchTool(m, info.Name); ok {
				on = v
			}
		}
		if on && deniedByPermission(agent, info.Name) {
			on = false
		}
		if on {
			out = append(out, t)
		}
	}
	return out
}

// allTools is the built-in registry followed by the MoreTools of the
// moment (waiting, bounded, for MCP servers still connecting).
func (s *Service) allTools() []tool.Tool {
	if s.opts.MoreTools == nil {
		return s.opts.Tools
	}
	return append(slices.Clip(s.opts.Tools), s.opts.MoreTools.Tools(s.bg)...)
}

// deniedByPermission reports whether the agent's permissions refuse every
// use of a tool, so offering it would only make the model waste a step on
// a call that must fail: edit/write/patch under edit "deny", webfetch
// under webfetch "deny", bash when every bash pattern denies (a deny of
// "*" with an allowed "git status" still offers bash).
func deniedByPermission(agent agentView, name string) bool {
	switch name {
	case "edit", "write", "patch":
		return agent.Edit == "deny"
	case "webfetch":
		return agent.Webfetch == "deny"
	case "bash":
		if agent.Bash["*"] != "deny" {
			return false
		}
		for _, v := range agent.Bash {
			if v != "deny" {
				return false
			}
		}
		return true
	}
	return false
}

// matchTool finds the most specific pattern of m matching name.
func matchTool(m map[string]bool, name string) (bool, bool) {
	best, found, val := -1, false, false
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if ok, _ := filepath.Match(k, name); ok && len(k) > best {
			best, found, val = len(k), true, m[k]
		}
	}
	return val, found
}

// nearContextLimit reports whether the last answer used more than 90% of
// the model's usable context, so the history should be compacted first.
func (s *Service) nearContextLimit(sessionID string, model *provider.Resolved) bool {
	limit := model.Model.Limit.Context - min(model.Model.Limit.Output, 32000)
	if limit <= 0 {
		return false
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return false
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i].Info
		if m.Role != storage.RoleAssistant || m.Tokens == nil {
			continue
		}
		used := m.Tokens.Input + m.Tokens.Output + m.Tokens.Cache.Read + m.Tokens.Cache.Write
		return !m.Summary && float64(used) > 0.9*float64(limit)
	}
	return false
}

// setWaiting marks a user message as queued (not yet in any history).
func (s *Service) setWaiting(sessionID, messageID string, on bool) {
	if messageID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := sessionID + "/" + messageID
	if on {
		s.waiting[key] = true
	} else {
		delete(s.waiting, key)
	}
}

func (s *Service) isWaiting(sessionID, messageID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting[sessionID+"/"+messageID]
}
