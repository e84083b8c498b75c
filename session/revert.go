package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"ocgo/event"
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
					s.bus.Publish(event.PartRemoved{SessionID: sessionID, MessageID: m.Info.ID, PartID: p.ID})
				}
			}
			continue
		}
		if err := s.store.DeleteMessage(sessionID, m.Info.ID); err != nil {
			return err
		}
		s.bus.Publish(event.MessageRemoved{SessionID: sessionID, MessageID: m.Info.ID})
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

// ErrSnapshotLost reports a shadow repository that lacks what a revert
// needs (deleted or damaged): nothing was touched.
var ErrSnapshotLost = errors.New("the snapshot repository is missing or damaged, so the files cannot be restored; nothing was changed")

// fileTargets maps each file a run of patches touched (root-relative, exact
// bytes) to the tree holding its state before the earliest patch and the
// tree right after the latest one ("" when not recorded).
type fileTargets struct {
	before, after map[string]string
	order         []string
	// gap marks files someone else changed between two of the run's
	// patches (one patch's after differs from the next one's before):
	// reverting past both would discard that edit.
	gap map[string]bool
}

func (t fileTargets) has(f string) bool { _, ok := t.before[f]; return ok }

func (s *Service) targets(ctx context.Context, patches []storage.Part) (fileTargets, error) {
	t := fileTargets{before: map[string]string{}, after: map[string]string{}, gap: map[string]bool{}}
	for _, p := range patches {
		files, err := s.patchFiles(ctx, p)
		if err != nil {
			return t, err
		}
		for _, rel := range files {
			if _, seen := t.before[rel]; !seen {
				t.before[rel] = p.Hash
				t.order = append(t.order, rel)
			} else if prev := t.after[rel]; prev != "" && p.Hash != "" && !t.gap[rel] {
				left, err := s.blobIn(ctx, prev, rel)
				if err != nil {
					return t, err
				}
				found, err := s.blobIn(ctx, p.Hash, rel)
				if err != nil {
					return t, err
				}
				t.gap[rel] = left != found
			}
			t.after[rel] = p.After
		}
	}
	return t, nil
}

// blobIn is rel's content hash in tree ("" when absent).
func (s *Service) blobIn(ctx context.Context, tree, rel string) (string, error) {
	h, ok, err := s.opts.Snapshots.FileState(ctx, tree, rel)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSnapshotLost, err)
	}
	if !ok {
		return "", nil
	}
	return h, nil
}

// patchFiles returns a patch part's files as exact root-relative paths.
// Part files are JSON strings, so a name that is not valid UTF-8 comes back
// from disk with U+FFFD in place of its bytes: the shadow trees are the
// authority then, and the exact names are those changed between the part's
// before and after trees whose JSON form matches.
func (s *Service) patchFiles(ctx context.Context, p storage.Part) ([]string, error) {
	var out []string
	lossy := false
	for _, f := range p.Files {
		rel, ok := s.rootRel(f)
		if !ok {
			continue
		}
		lossy = lossy || strings.ContainsRune(rel, utf8.RuneError)
		out = append(out, rel)
	}
	if !lossy || p.After == "" || p.Hash == "" || s.opts.Snapshots == nil {
		return out, nil
	}
	changed, err := s.opts.Snapshots.Changed(ctx, p.Hash, p.After)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshotLost, err)
	}
	exact := map[string][]string{}
	for _, c := range changed {
		if !utf8.ValidString(c) {
			k := asJSONString(c)
			exact[k] = append(exact[k], c)
		}
	}
	var res []string
	for _, r := range out {
		if xs, ok := exact[r]; ok {
			res = append(res, xs...)
			delete(exact, r)
		} else if utf8.ValidString(r) || !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	return res, nil
}

// asJSONString is s as it reads back after a JSON round trip.
func asJSONString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// fileOp is one file a revert, redo or unrevert writes or deletes.
type fileOp struct {
	path   string // root-relative, exact bytes
	expect string // tree holding what the file must contain now ("" unchecked)
	target string // tree holding what the file becomes
	gap    bool   // changed by someone else between two reverted calls
}

// fileOps lists the files moving a session from revert state cur (nil: not
// reverted) to the revert described by next (nil: unrevert) writes or
// deletes, with what each must contain now: the agent's last write for a
// file the agent changed, what the previous revert restored for a file it
// restored. files are the files next reverts (for its diff); joined are
// those of them the current revert does not cover (none when not reverted).
func (s *Service) fileOps(ctx context.Context, msgs []storage.WithParts, cur *storage.Revert, next *revertPlan) (ops []fileOp, files, joined []string, err error) {
	var old, nw fileTargets
	if cur != nil && cur.Snapshot != "" {
		if p, ok := planRevert(msgs, cur.MessageID, cur.PartID); ok {
			if old, err = s.targets(ctx, p.patches); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if next != nil {
		if nw, err = s.targets(ctx, next.patches); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, f := range nw.order {
		op := fileOp{path: f, target: nw.before[f], expect: nw.after[f], gap: nw.gap[f]}
		if old.has(f) {
			op.expect = old.before[f]
		} else if cur != nil {
			joined = append(joined, f)
		}
		ops = append(ops, op)
	}
	for _, f := range old.order {
		if !nw.has(f) {
			ops = append(ops, fileOp{path: f, target: cur.Snapshot, expect: old.before[f]})
		}
	}
	return ops, nw.order, joined, nil
}

// fileState is a file's content hash now or in a tree ("" when absent).
type fileState struct {
	op          fileOp
	now, target string
	conflict    bool
}

// check reads every op's current and target content and lists the files
// whose content is neither what the operation expects nor already the
// target: the operation would discard someone else's edit there.
func (s *Service) check(ctx context.Context, ops []fileOp) ([]fileState, []string, error) {
	snaps := s.opts.Snapshots
	blob := func(tree, f string) (string, error) {
		h, ok, err := snaps.FileState(ctx, tree, f)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrSnapshotLost, err)
		}
		if !ok {
			return "", nil
		}
		return h, nil
	}
	var states []fileState
	var conflicts []string
	for _, op := range ops {
		st := fileState{op: op}
		now, exists, err := snaps.CurrentState(op.path)
		if err != nil {
			// A directory or special file in the way: not the agent's.
			conflicts = append(conflicts, op.path)
			states = append(states, fileState{op: op, conflict: true})
			continue
		}
		if exists {
			st.now = now
		}
		if st.target, err = blob(op.target, op.path); err != nil {
			return nil, nil, err
		}
		if st.now != st.target && op.gap {
			// Someone else changed it between two of the agent's calls.
			st.conflict = true
			conflicts = append(conflicts, op.path)
		} else if st.now != st.target && op.expect != "" {
			want, err := blob(op.expect, op.path)
			if err != nil {
				return nil, nil, err
			}
			if st.now != want {
				st.conflict = true
				conflicts = append(conflicts, op.path)
			}
		}
		states = append(states, st)
	}
	return states, conflicts, nil
}

// revertJournal is written durably before a revert, redo or unrevert
// touches a file, and removed once the files and session.revert agree. A
// journal found at start is finished (rolled forward): each file still
// holding its old content gets its target, and session.revert becomes Next.
type revertJournal struct {
	SessionID string          `json:"sessionID"`
	Ops       []journalOp     `json:"ops"`
	Next      *storage.Revert `json:"next"` // null: unrevert
	// Files are the files Next reverts, for its diff, in journals written
	// before DiffSet: Next.Diff is computed before the journal now.
	Files   [][]byte `json:"files,omitempty"`
	DiffSet bool     `json:"diffSet,omitempty"`
	// Dirs are the directories the calls involved created (root-relative
	// bytes): a directory the operation empties is removed only if listed.
	// (A journal of an older ocgo has none: its emptied directories stay.)
	Dirs [][]byte `json:"dirs,omitempty"`
	// Disown are directories the current revert had removed and someone
	// else has made again since: they leave the records of the session's
	// calls (see disownDirs).
	Disown [][]byte `json:"disown,omitempty"`
}

// journalOp is one file of a journal. Paths are bytes (base64 in JSON):
// file names need not be UTF-8.
type journalOp struct {
	Path   []byte `json:"path"`
	From   string `json:"from,omitempty"` // the blob the file held when checked; "" absent
	Target string `json:"target"`         // the tree to restore it from
	Want   string `json:"want,omitempty"` // the target blob; "" absent
}

func journalKey(sessionID string) string { return "revert-journal/" + sessionID }

// transition checks, journals and applies a move from the session's revert
// state to next (nil: unrevert). Nothing is touched when a file conflicts.
func (s *Service) transition(ctx context.Context, sess storage.Session, msgs []storage.WithParts, next *revertPlan) (storage.Session, error) {
	snaps := s.opts.Snapshots
	var nextRV *storage.Revert
	if next != nil {
		nextRV = &storage.Revert{MessageID: next.messageID, PartID: next.partID}
	}
	if snaps == nil {
		return s.Update(sess.ID, func(v *storage.Session) { v.Revert = nextRV })
	}
	ops, files, joined, err := s.fileOps(ctx, msgs, sess.Revert, next)
	if err != nil {
		return sess, err
	}
	states, conflicts, err := s.check(ctx, ops)
	if err != nil {
		return sess, err
	}
	if len(conflicts) > 0 {
		return sess, &ConflictError{Files: conflicts}
	}
	if nextRV != nil {
		if sess.Revert != nil && sess.Revert.Snapshot != "" {
			// Moving the revert point: the files already reverted return to
			// what the first revert saved; the files that join now return
			// to what they hold now (a user may have changed them since).
			nextRV.Snapshot = sess.Revert.Snapshot
			if len(joined) > 0 {
				now, err := snaps.TrackPaths(ctx, joined)
				if err != nil {
					return sess, err
				}
				if nextRV.Snapshot, err = snaps.Overlay(ctx, sess.Revert.Snapshot, now, joined); err != nil {
					return sess, err
				}
			}
		} else if nextRV.Snapshot, err = snaps.TrackPaths(ctx, files); err != nil {
			// The state unrevert returns to: the files this revert changes,
			// stored whatever their size.
			return sess, err
		}
	}
	if nextRV != nil && len(states) > 0 {
		// The diff is computed before any file is touched: a failure here
		// changes nothing, and the journal carries it to completion.
		if nextRV.Diff, err = s.diffOps(ctx, nextRV.Snapshot, states); err != nil {
			return sess, err
		}
	}
	disown := s.remade(sess.Revert)
	j := revertJournal{SessionID: sess.ID, Next: nextRV, Dirs: dirsMade(msgs, sess.Revert, next, disown), Disown: disown, DiffSet: true}
	if len(states) == 0 {
		// No file to touch (a revert of a step that changed none): only
		// the state moves.
		return s.finish(ctx, j, false)
	}
	if err := snaps.Flush(); err != nil {
		return sess, err
	}
	for _, st := range states {
		j.Ops = append(j.Ops, journalOp{Path: []byte(st.op.path), From: st.now, Target: st.op.target, Want: st.target})
	}
	s.at("before the journal")
	if err := s.store.PutJSON(journalKey(sess.ID), j); err != nil {
		return sess, err
	}
	s.at("journal written")
	return s.finish(ctx, j, false)
}

// finish applies a journal's file changes, sets session.revert and removes
// the journal. recovering re-reads each file first: one already at its
// target is left, one holding neither its old content nor its target (edited
// after a crash) is left and logged.
func (s *Service) finish(ctx context.Context, j revertJournal, recovering bool) (storage.Session, error) {
	snaps := s.opts.Snapshots
	if recovering {
		paths := make([]string, len(j.Ops))
		for i, op := range j.Ops {
			paths[i] = string(op.Path)
		}
		if err := snaps.RemoveTemps(paths); err != nil {
			return storage.Session{}, err
		}
	}
	byTree := map[string][]string{}
	var trees []string
	for _, op := range j.Ops {
		p := string(op.Path)
		if recovering {
			now, exists, err := snaps.CurrentState(p)
			if err != nil {
				s.log.Warn("Revert journal: file left as is", "path", p, "err", err)
				continue
			}
			if !exists {
				now = ""
			}
			switch {
			case now == "" && op.Want == "" && op.From != "":
				// Deleted by the interrupted run: it still goes to
				// RestoreFiles, the directory it emptied may remain.
			case now == op.Want:
				continue
			case now != op.From:
				s.log.Warn("Revert journal: file changed since; left as is", "path", p)
				continue
			}
		}
		if _, ok := byTree[op.Target]; !ok {
			trees = append(trees, op.Target)
		}
		byTree[op.Target] = append(byTree[op.Target], p)
	}
	if err := s.disownDirs(j.SessionID, j.Disown); err != nil {
		return storage.Session{}, err
	}
	made := make([]string, len(j.Dirs))
	for i, d := range j.Dirs {
		made[i] = string(d)
	}
	var skipped []string
	for _, tree := range trees {
		res, err := snaps.RestoreFiles(ctx, tree, byTree[tree], made)
		// Told even on error: a command running now must not claim
		// what this restore changed before failing.
		s.opts.Tracer.Restored(slices.Concat(res.Written, res.Deleted)...)
		if err != nil {
			return storage.Session{}, err
		}
		for _, sk := range res.Skipped {
			skipped = append(skipped, sk.Path+" ("+sk.Reason+")")
		}
	}
	s.at("files restored")
	next := j.Next
	if next != nil {
		// The directories this revert leaves absent: found again at the
		// next operation, they are someone else's.
		next.Dirs = nil
		for _, d := range j.Dirs {
			if !snaps.IsDir(string(d)) {
				next.Dirs = append(next.Dirs, d)
			}
		}
	}
	if next != nil && next.Snapshot != "" && !j.DiffSet {
		// A journal written before the diff was: computed now, and only
		// logged when it cannot be (the files are done already).
		files := make([]string, len(j.Files))
		for i, f := range j.Files {
			files[i] = string(f)
		}
		d, err := snaps.DiffPaths(ctx, next.Snapshot, "", files)
		if err != nil {
			s.log.Warn("Revert journal: diff left out", "session", j.SessionID, "err", err)
		}
		next.Diff = d
	}
	sess, err := s.Update(j.SessionID, func(v *storage.Session) { v.Revert = next })
	if errors.Is(err, storage.ErrNotFound) {
		// The session was deleted: the files are done, nothing else to set.
		return sess, s.store.DeleteJSON(journalKey(j.SessionID))
	}
	if err != nil {
		return sess, err
	}
	s.at("revert state saved")
	if len(j.Ops) > 0 {
		if err := s.store.DeleteJSON(journalKey(j.SessionID)); err != nil {
			return sess, err
		}
		s.at("journal removed")
	}
	if len(skipped) > 0 {
		return sess, fmt.Errorf("%w: %s", ErrNotRestored, strings.Join(skipped, ", "))
	}
	return sess, nil
}

// at calls the checkpoint (Options.Checkpoint), if any.
func (s *Service) at(step string) {
	if s.opts.Checkpoint != nil {
		s.opts.Checkpoint(step)
	}
}

// ErrNotRestored reports files a revert could not write or delete.
var ErrNotRestored = errors.New("some files could not be restored")

// RecoverReverts finishes the reverts and unreverts a crash interrupted
// (their journals), so that every session's revert state matches its files.
// It runs before the service takes requests.
func (s *Service) RecoverReverts(ctx context.Context) error {
	keys, err := s.store.JSONKeys("revert-journal")
	if err != nil || s.opts.Snapshots == nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		var j revertJournal
		if err := s.store.GetJSON(k, &j); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.finish(ctx, j, true); err != nil && !errors.Is(err, ErrNotRestored) {
			errs = append(errs, fmt.Errorf("session %s: %w", j.SessionID, err))
			continue
		}
		s.log.Info("Finished an interrupted revert", "session", j.SessionID)
	}
	return errors.Join(errs...)
}

// Revert undoes the changes made from a message (or part) on: each file
// the agent changed after that point goes back to its state at that point,
// files it created are removed, files it deleted come back, and nothing
// else is touched. The pre-revert state is kept for Unrevert. Messages
// stay until the next prompt (clients hide them). Moving the point (redo,
// or undo further) starts from the current revert: files the earlier revert
// restored and the new one does not get the agent's changes back.
//
// Every file the operation would write or delete must hold what it expects
// (what the agent last wrote, or what the earlier revert restored) or
// already its target; otherwise it refuses with a ConflictError naming
// every such file and changes nothing. The change is journalled before any
// file is touched (see RecoverReverts).
func (s *Service) Revert(ctx context.Context, sessionID, messageID, partID string) (storage.Session, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return sess, err
	}
	if err := checkMessageID(messageID); err != nil {
		return sess, err
	}
	_, end, err := s.begin(ctx, sessionID)
	if err != nil {
		return sess, err
	}
	defer end()
	if sess, err = s.Get(sessionID); err != nil {
		return sess, err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return sess, err
	}
	plan, ok := planRevert(msgs, messageID, partID)
	if !ok {
		return sess, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
	}
	return s.transition(ctx, sess, msgs, &plan)
}

// Unrevert puts back what the revert undid, writing only the files that
// differ from the saved state, and clears session.revert. A file edited
// since the revert restored it is a conflict, as for Revert.
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
	if sess, err = s.Get(sessionID); err != nil || sess.Revert == nil {
		return sess, err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return sess, err
	}
	return s.transition(ctx, sess, msgs, nil)
}

// RevertPreview is what POST /session/:id/revert with the same point would
// do, computed without changing anything.
type RevertPreview struct {
	// MessageID and PartID are the revert point as the revert would record
	// it (reverting an assistant message reverts to its user message).
	MessageID string `json:"messageID"`
	PartID    string `json:"partID,omitempty"`
	// Files lists every file the revert would write or delete.
	Files []RevertFile `json:"files"`
	// Conflicts names the files changed by someone else since the agent
	// (or an earlier revert) wrote them: with any, the revert is refused.
	Conflicts []string `json:"conflicts"`
	// Diff is the unified diff the revert would apply to the files as they
	// are now.
	Diff string `json:"diff"`
}

// RevertFile is one file of a RevertPreview. Path is root-relative.
type RevertFile struct {
	Path string `json:"path"`
	// Action is "write" (the file gets the content and mode it had at the
	// revert point; nothing is written where both already match), "delete",
	// or "none" (absent, and to stay so).
	Action   string `json:"action" doc:"write, delete, or none"`
	Conflict bool   `json:"conflict"`
}

// PreviewRevert reports the files, the diff and the conflicts of a revert
// to (messageID, partID) without touching the project or the session (the
// shadow repository may gain the current content of those files).
func (s *Service) PreviewRevert(ctx context.Context, sessionID, messageID, partID string) (RevertPreview, error) {
	if err := checkMessageID(messageID); err != nil {
		return RevertPreview{}, err
	}
	sess, err := s.Get(sessionID)
	if err != nil {
		return RevertPreview{}, err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return RevertPreview{}, err
	}
	plan, ok := planRevert(msgs, messageID, partID)
	if !ok {
		return RevertPreview{}, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
	}
	pv := RevertPreview{MessageID: plan.messageID, PartID: plan.partID, Files: []RevertFile{}, Conflicts: []string{}}
	snaps := s.opts.Snapshots
	if snaps == nil {
		return pv, nil
	}
	ops, _, _, err := s.fileOps(ctx, msgs, sess.Revert, &plan)
	if err != nil {
		return pv, err
	}
	states, conflicts, err := s.check(ctx, ops)
	if err != nil {
		return pv, err
	}
	pv.Conflicts = append(pv.Conflicts, conflicts...)
	var paths []string
	for _, st := range states {
		f := RevertFile{Path: st.op.path, Action: "write", Conflict: st.conflict}
		switch {
		case st.target == "" && st.now == "" && !st.conflict:
			f.Action = "none"
		case st.target == "":
			f.Action = "delete"
		}
		pv.Files = append(pv.Files, f)
		paths = append(paths, st.op.path)
	}
	if len(paths) == 0 {
		return pv, nil
	}
	now, err := snaps.TrackPaths(ctx, paths)
	if err != nil {
		return pv, err
	}
	pv.Diff, err = s.diffOps(ctx, now, states)
	return pv, err
}

// diffOps is the unified diff from tree from to what the files of states
// hold once the operation has applied them (each its target tree), one
// target tree after the other.
func (s *Service) diffOps(ctx context.Context, from string, states []fileState) (string, error) {
	byTree := map[string][]string{}
	var trees []string
	for _, st := range states {
		if _, ok := byTree[st.op.target]; !ok {
			trees = append(trees, st.op.target)
		}
		byTree[st.op.target] = append(byTree[st.op.target], st.op.path)
	}
	var diff strings.Builder
	for _, tree := range trees {
		d, err := s.opts.Snapshots.DiffPaths(ctx, from, tree, byTree[tree])
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrSnapshotLost, err)
		}
		diff.WriteString(d)
	}
	return diff.String(), nil
}

// dirsMade lists the directories created by the calls whose patches the
// current revert (cur) or the next one reverts (each once, in order), but
// those in disown: the only directories the operation may remove, once it
// has emptied them.
func dirsMade(msgs []storage.WithParts, cur *storage.Revert, next *revertPlan, disown [][]byte) [][]byte {
	var patches []storage.Part
	if next != nil {
		patches = append(patches, next.patches...)
	}
	if cur != nil {
		if p, ok := planRevert(msgs, cur.MessageID, cur.PartID); ok {
			patches = append(patches, p.patches...)
		}
	}
	var out [][]byte
	seen := map[string]bool{}
	for _, d := range disown {
		seen[string(d)] = true
	}
	for _, p := range patches {
		for _, d := range p.Dirs {
			if !seen[string(d)] {
				seen[string(d)] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// remade lists the directories the current revert (cur) left absent that
// are directories again: someone else made them, since only this
// session's next operation would have (each such directory a call's
// record names was removed by the revert, with what the call put in it).
func (s *Service) remade(cur *storage.Revert) [][]byte {
	if cur == nil {
		return nil
	}
	var out [][]byte
	for _, d := range cur.Dirs {
		if s.opts.Snapshots.IsDir(string(d)) {
			out = append(out, d)
		}
	}
	return out
}

// disownDirs takes dirs out of the records of the session's patch parts:
// the directories there now were made by someone else, so no revert of
// those calls may remove them. Idempotent (a recovered journal runs it
// again).
func (s *Service) disownDirs(sessionID string, dirs [][]byte) error {
	if len(dirs) == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, d := range dirs {
		gone[string(d)] = true
	}
	msgs, err := s.store.Messages(sessionID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type != storage.PartPatch {
				continue
			}
			keep := slices.DeleteFunc(slices.Clone(p.Dirs), func(d []byte) bool { return gone[string(d)] })
			if len(keep) == len(p.Dirs) {
				continue
			}
			p.Dirs = keep
			if err := s.store.PutPart(p); err != nil {
				return err
			}
		}
	}
	return nil
}
