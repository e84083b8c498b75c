package session

import (
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
