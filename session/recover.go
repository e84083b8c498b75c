package session

import (
	"errors"

	"ocgo/storage"
)

// A session whose run writes an unfinished assistant message has a
// "running/<sessionID>" marker on disk from before that write until the run
// ends. After a crash the markers name exactly the sessions to repair, so
// start-up cost does not grow with the number of sessions.

// runningMarker is the marker document (its content is informational).
type runningMarker struct {
	Since int64 `json:"since"`
}

func (s *Service) markRunning(sessionID string) {
	if _, ok := s.running.Load(sessionID); ok {
		return
	}
	if err := s.store.PutJSON("running/"+sessionID, runningMarker{Since: s.ms()}); err != nil {
		s.log.Warn("Could not record a running session", "session", sessionID, "err", err)
		return
	}
	s.running.Store(sessionID, true)
}

func (s *Service) unmarkRunning(sessionID string) {
	if _, ok := s.running.LoadAndDelete(sessionID); !ok {
		return
	}
	if err := s.store.DeleteJSON("running/" + sessionID); err != nil {
		s.log.Warn("Could not clear a running session", "session", sessionID, "err", err)
	}
}

// interruptedText is the error of a reply or tool a crash cut short.
const interruptedText = "interrupted: ocgo stopped before this finished"

// RecoverInterrupted completes what a crash left unfinished, so clients stop
// waiting for it: every assistant message without time.completed gets an
// "interrupted" error and a completion time, and its pending or running
// tool parts become errors. It runs before the service takes requests.
func (s *Service) RecoverInterrupted() error {
	keys, err := s.store.JSONKeys("running")
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		sid := k[len("running/"):]
		if err := s.recoverSession(sid); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.store.DeleteJSON(k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) recoverSession(sid string) error {
	msgs, err := s.store.Messages(sid)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.ms()
	for _, m := range msgs {
		info := m.Info
		if info.Role != storage.RoleAssistant || info.Time.Completed != nil {
			continue
		}
		for _, p := range m.Parts {
			if p.Type != storage.PartTool || p.State == nil || (p.State.Status != storage.ToolPending && p.State.Status != storage.ToolRunning) {
				continue
			}
			st := *p.State
			st.Status, st.Error = storage.ToolError, interruptedText
			if st.Time == nil {
				st.Time = &storage.ToolTime{Start: now}
			}
			st.Time.End = now
			p.State = &st
			if err := s.store.PutPart(p); err != nil {
				return err
			}
		}
		if info.Error == nil {
			info.Error = &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": interruptedText}}
		}
		info.Time.Completed = &now
		if err := s.store.PutMessage(info); err != nil {
			return err
		}
		s.log.Info("Completed a reply interrupted by a crash", "session", sid, "message", info.ID)
	}
	return nil
}
