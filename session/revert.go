package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"ocgo/storage"
)

// cleanupRevert applies a pending revert when a new prompt arrives: the
// reverted messages are deleted with their parts (message.removed), or,
// for a revert to a part, the parts from that one on (message.part.removed),
// and session.revert is cleared. The files stay as the revert left them.
func (s *Service) cleanupRevert(sessionID string) error {
	sess, err := s.Get(sessionID)
	if err != nil || sess.Revert == nil {
		return err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return err
	}
	rv := *sess.Revert
	for _, m := range msgs {
		if m.Info.ID < rv.MessageID {
			continue
		}
		if m.Info.ID == rv.MessageID && rv.PartID != "" {
			for _, p := range m.Parts {
				if p.ID >= rv.PartID {
					if err := s.store.DeletePart(sessionID, m.Info.ID, p.ID); err != nil {
						return err
					}
					s.bus.Publish(EventPartRemoved, map[string]any{"sessionID": sessionID, "messageID": m.Info.ID, "partID": p.ID})
				}
			}
			continue
		}
		if err := s.store.DeleteMessage(sessionID, m.Info.ID); err != nil {
			return err
		}
		s.bus.Publish(EventMessageRemoved, map[string]any{"sessionID": sessionID, "messageID": m.Info.ID})
	}
	_, err = s.Update(sessionID, func(v *storage.Session) { v.Revert = nil })
	return err
}

// ErrConflict reports files changed since the agent wrote them; a revert
// would discard those edits, so it is refused.
var ErrConflict = errors.New("files were changed after the agent edited them")

// ConflictError lists the files a revert would have clobbered.
type ConflictError struct{ Files []string }

func (e *ConflictError) Error() string {
	return ErrConflict.Error() + ": " + strings.Join(e.Files, ", ")
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// revertPlan is what a revert to (messageID, partID) undoes.
type revertPlan struct {
	messageID, partID string
	patches           []storage.Part // patch parts after the revert point, in order
}

// planRevert finds the revert point and the patch parts after it. Reverting
// a message's first useful part (or a whole assistant message) reverts to
// the user message that led to it, and then every change from that point
// on is undone, including earlier answers to the same prompt (which
// opencode 0.5.29 leaves on disk).
func planRevert(msgs []storage.WithParts, messageID, partID string) (revertPlan, bool) {
	var lastUser string
	for mi, m := range msgs {
		if m.Info.Role == storage.RoleUser {
			lastUser = m.Info.ID
		}
		if m.Info.ID != messageID {
			continue
		}
		plan := revertPlan{messageID: messageID}
		startPart := 0
		if partID != "" {
			idx := -1
			for pi, p := range m.Parts {
				if p.ID == partID {
					idx = pi
				}
			}
			if idx < 0 {
				return revertPlan{}, false
			}
			useful := false
			for _, p := range m.Parts[:idx] {
				if p.Type == storage.PartText || p.Type == storage.PartTool {
					useful = true
				}
			}
			if useful {
				plan.partID, startPart = partID, idx
			}
		}
		from := mi
		if plan.partID == "" && m.Info.Role == storage.RoleAssistant && lastUser != "" {
			plan.messageID = lastUser
			for i := range msgs {
				if msgs[i].Info.ID == lastUser {
					from = i
				}
			}
			startPart = 0
		}
		for i := from; i < len(msgs); i++ {
			parts := msgs[i].Parts
			if i == mi && plan.partID != "" {
				parts = parts[startPart:]
			}
			for _, p := range parts {
				if p.Type == storage.PartPatch && p.Hash != "" {
					plan.patches = append(plan.patches, p)
				}
			}
		}
		return plan, true
	}
	return revertPlan{}, false
}

// targets maps each file the patches touched (root-relative) to the tree
// holding its state before the earliest patch, and to the tree right after
// the latest one.
func (s *Service) targets(patches []storage.Part) (before, after map[string]string, order []string) {
	before, after = map[string]string{}, map[string]string{}
	for _, p := range patches {
		for _, f := range p.Files {
			rel, err := filepath.Rel(s.opts.Root, f)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			rel = filepath.ToSlash(rel)
			if _, seen := before[rel]; !seen {
				before[rel] = p.Hash
				order = append(order, rel)
			}
			after[rel] = p.After
		}
	}
	return before, after, order
}

// Revert undoes the changes made from a message (or part) on: each file
// the agent changed after that point goes back to its state at that point,
// files it created are removed, files it deleted come back, and nothing
// else is touched. The pre-revert state is kept for Unrevert. Messages
// stay until the next prompt (clients hide them). Moving the point forward
// (redo) first puts back what the earlier revert undid.
func (s *Service) Revert(ctx context.Context, sessionID, messageID, partID string) (storage.Session, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return sess, err
	}
	if !storage.ValidID(storage.PrefixMessage, messageID) {
		return sess, fmt.Errorf("%w: messageID must start with \"msg_\"", ErrInvalid)
	}
	_, end, err := s.begin(ctx, sessionID)
	if err != nil {
		return sess, err
	}
	defer end()
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return sess, err
	}
	plan, ok := planRevert(msgs, messageID, partID)
	if !ok {
		return sess, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
	}
	rv := &storage.Revert{MessageID: plan.messageID, PartID: plan.partID}
	snaps := s.opts.Snapshots
	if snaps != nil {
		if sess.Revert != nil && sess.Revert.Snapshot != "" {
			// Redo or a second undo: start again from the saved state.
			rv.Snapshot = sess.Revert.Snapshot
			if old, ok := planRevert(msgs, sess.Revert.MessageID, sess.Revert.PartID); ok {
				_, _, files := s.targets(old.patches)
				if _, err := snaps.Restore(ctx, rv.Snapshot, files); err != nil {
					return sess, err
				}
			}
		} else {
			snaps.MarkAll() // the saved state must hold edits the watcher has not reported yet
			if rv.Snapshot, err = snaps.Track(ctx); err != nil {
				return sess, err
			}
			if err := s.checkConflicts(ctx, plan.patches); err != nil {
				return sess, err
			}
		}
		before, _, files := s.targets(plan.patches)
		byTree := map[string][]string{}
		for _, f := range files {
			byTree[before[f]] = append(byTree[before[f]], f)
		}
		for tree, paths := range byTree {
			if _, err := snaps.Restore(ctx, tree, paths); err != nil {
				return sess, err
			}
		}
		snaps.MarkChanged(files)
		if rv.Diff, err = snaps.Diff(ctx, rv.Snapshot, ""); err != nil {
			return sess, err
		}
	}
	return s.Update(sessionID, func(v *storage.Session) { v.Revert = rv })
}

// checkConflicts refuses a revert when a file the agent changed has been
// edited since (its content differs from the agent's last write).
func (s *Service) checkConflicts(ctx context.Context, patches []storage.Part) error {
	_, after, files := s.targets(patches)
	var conflicts []string
	for _, f := range files {
		if after[f] == "" {
			continue // written before ocgo recorded the post-change tree
		}
		want, wantOK, err := s.opts.Snapshots.FileHash(ctx, after[f], f)
		if err != nil {
			return err
		}
		have, haveOK, err := s.opts.Snapshots.CurrentHash(f)
		if err != nil {
			return err
		}
		if want != have || wantOK != haveOK {
			conflicts = append(conflicts, f)
		}
	}
	if len(conflicts) > 0 {
		return &ConflictError{Files: conflicts}
	}
	return nil
}

// Unrevert puts back what the revert undid, writing only the files that
// differ from the saved state, and clears session.revert.
func (s *Service) Unrevert(ctx context.Context, sessionID string) (storage.Session, error) {
	sess, err := s.Get(sessionID)
	if err != nil || sess.Revert == nil {
		return sess, err
	}
	_, end, err := s.begin(ctx, sessionID)
	if err != nil {
		return sess, err
	}
	defer end()
	if s.opts.Snapshots != nil && sess.Revert.Snapshot != "" {
		msgs, err := s.store.Messages(sessionID)
		if err != nil {
			return sess, err
		}
		if plan, ok := planRevert(msgs, sess.Revert.MessageID, sess.Revert.PartID); ok {
			_, _, files := s.targets(plan.patches)
			if len(files) > 0 {
				if _, err := s.opts.Snapshots.Restore(ctx, sess.Revert.Snapshot, files); err != nil {
					return sess, err
				}
				s.opts.Snapshots.MarkChanged(files)
			}
		}
	}
	return s.Update(sessionID, func(v *storage.Session) { v.Revert = nil })
}
