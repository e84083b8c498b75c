package session

// Calls that later opencode versions (0.6 and 1.x) added and clients
// moving between versions use: fork, a session's diff, its todo list, the
// busy/idle status of every session, and a prompt that does not block.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"ocgo/event"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
)

// Status is a session's state in later opencode versions' shape:
// {type: "idle" | "busy" | "retry"} (ocgo reports idle and busy).
type Status struct {
	Type string `json:"type"`
}

// Statuses returns the state of every session that is not idle: running
// or with prompts waiting. A session that is absent is idle.
func (s *Service) Statuses() map[string]Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Status{}
	for id := range s.runs {
		out[id] = Status{Type: "busy"}
	}
	for id, q := range s.queues {
		if len(q) > 0 {
			out[id] = Status{Type: "busy"}
		}
	}
	return out
}

// Todos returns a session's todo list (empty when it has none).
func (s *Service) Todos(sessionID string) ([]tool.Todo, error) {
	if _, err := s.Get(sessionID); err != nil {
		return nil, err
	}
	return todoStore{s.store}.Get(sessionID)
}

// Fork makes a new session holding copies of the messages before
// messageID (all of them when messageID is empty), with new IDs in the
// same order. Patch parts keep pointing at their snapshots, so the fork's
// diffs and reverts work. The original is not changed.
func (s *Service) Fork(ctx context.Context, sessionID, messageID string) (storage.Session, error) {
	orig, err := s.Get(sessionID)
	if err != nil {
		return storage.Session{}, err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return storage.Session{}, err
	}
	if messageID != "" {
		i := -1
		for k, m := range msgs {
			if m.Info.ID == messageID {
				i = k
			}
		}
		if i < 0 {
			return storage.Session{}, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
		}
		msgs = msgs[:i]
	}
	sess, err := s.Create(ctx, "", orig.Title+" (fork)")
	if err != nil {
		return storage.Session{}, err
	}
	for _, m := range msgs {
		info := m.Info
		info.ID, info.SessionID = s.ids.Ascending(storage.PrefixMessage), sess.ID
		if err := s.putMessage(info); err != nil {
			return storage.Session{}, err
		}
		for _, p := range m.Parts {
			p.ID, p.SessionID, p.MessageID = s.ids.Ascending(storage.PrefixPart), sess.ID, info.ID
			if err := s.putPart(p); err != nil {
				return storage.Session{}, err
			}
		}
	}
	return sess, nil
}

// Patches returns the patch parts of a message or, for a user message, of
// the assistant messages answering it; with no messageID, those of the
// whole session that a revert has not undone.
func (s *Service) Patches(sessionID, messageID string) ([]storage.Part, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return nil, err
	}
	if messageID != "" {
		if _, err := s.Message(sessionID, messageID); err != nil {
			return nil, err
		}
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return nil, err
	}
	var out []storage.Part
	in := messageID == ""
	for _, m := range msgs {
		switch {
		case m.Info.ID == messageID:
			in = true
		case messageID != "" && in && m.Info.Role == storage.RoleUser:
			in = false
		}
		if !in {
			continue
		}
		for _, p := range m.Parts {
			if p.Type != storage.PartPatch || p.Hash == "" {
				continue
			}
			if messageID == "" && Reverted(sess.Revert, m.Info.ID, p.ID) {
				continue
			}
			out = append(out, p)
		}
		if m.Info.ID == messageID && m.Info.Role != storage.RoleUser {
			break
		}
	}
	return out, nil
}

// Reverted reports whether a part (or, with partID "", a whole message)
// lies at or after the session's revert point, so clients hide it and the
// revert has undone it.
func Reverted(rv *storage.Revert, messageID, partID string) bool {
	if rv == nil {
		return false
	}
	if messageID != rv.MessageID {
		return messageID > rv.MessageID
	}
	return rv.PartID == "" || partID >= rv.PartID
}

// PatchFiles lists the project-relative files of patches, each once, in
// order; files outside the project are left out.
func (s *Service) PatchFiles(patches []storage.Part) []string {
	seen := map[string]bool{}
	var files []string
	for _, p := range patches {
		for _, f := range p.Files {
			if rel, ok := s.rootRel(f); ok && !seen[rel] {
				seen[rel] = true
				files = append(files, rel)
			}
		}
	}
	return files
}

// fileDiffer is the part of snapshot.Snapshotter that compares trees file
// by file.
type fileDiffer interface {
	FileDiffs(ctx context.Context, from, to string, paths []string) ([]snapshot.FileDiff, error)
}

// Diff returns the files a message changed (see Patches; no messageID:
// the whole session), from the tree before the first patch to the tree
// after the last, with their text before and after and line counts. A
// session without patches, or without snapshots, has an empty diff.
func (s *Service) Diff(ctx context.Context, sessionID, messageID string) ([]snapshot.FileDiff, error) {
	patches, err := s.Patches(sessionID, messageID)
	if err != nil {
		return nil, err
	}
	fd, ok := s.opts.Snapshots.(fileDiffer)
	files := s.PatchFiles(patches)
	if !ok || len(files) == 0 {
		return []snapshot.FileDiff{}, nil
	}
	return fd.FileDiffs(ctx, patches[0].Hash, patches[len(patches)-1].After, files)
}

// PromptAsync checks a prompt as Prompt would (session, input, agent and
// model) and then runs it in the background: the caller answers at once,
// and the reply follows on the bus. A failure after the start is
// published as session.error.
func (s *Service) PromptAsync(ctx context.Context, sessionID string, in PromptInput) error {
	if _, err := s.Get(sessionID); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	agentName := in.Agent
	if agentName == "" {
		agentName = "build"
	}
	agent, err := s.agent(agentName)
	if err != nil {
		return err
	}
	if _, err := s.resolveModel(ctx, in.ProviderID, in.ModelID, agent); err != nil {
		return err
	}
	s.background(func(bg context.Context) {
		if _, err := s.Prompt(bg, sessionID, in); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("Background prompt failed", "session", sessionID, "err", err)
			msg := strings.TrimSpace(err.Error())
			s.bus.Publish(event.SessionError{SessionID: sessionID,
				Error: &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": msg}}})
		}
	})
	return nil
}
