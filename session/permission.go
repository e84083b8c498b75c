package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"ocgo/event"
	"ocgo/storage"
)

// Permission answers.
const (
	ReplyOnce   = "once"
	ReplyAlways = "always"
	ReplyReject = "reject"
)

// rejectedText is the error a rejected tool part shows (the TUI renders it
// and the model reads it), worded as opencode words it.
const rejectedText = "The user rejected permission to use this specific tool call. You may try again with different parameters."

// ErrRejected is returned to a tool whose permission the user refused.
var ErrRejected = errors.New("the user rejected permission to use this specific tool call. You may try again with different parameters")

// permissions holds pending requests and the per-session "always"
// approvals. Approvals are written to storage (permission/<sessionID>) so
// they survive a restart; pending requests are listed by Pending and
// re-announced to every new event stream, so a late client still sees them.
type permissions struct {
	mu      sync.Mutex
	pending map[string]*pendingPerm // permissionID →
	always  map[string][]string     // sessionID → approved keys (loaded lazily)
}

type pendingPerm struct {
	perm  storage.Permission
	reply chan string // buffered 1
}

func newPermissions() *permissions {
	return &permissions{pending: map[string]*pendingPerm{}, always: map[string][]string{}}
}

func permKey(p storage.Permission) string {
	if p.Pattern != "" {
		return p.Type + ":" + p.Pattern
	}
	return p.Type
}

func (s *Service) approvedKeys(sessionID string) []string {
	if keys, ok := s.perms.always[sessionID]; ok {
		return keys
	}
	var keys []string
	_ = s.store.GetJSON("permission/"+sessionID, &keys)
	s.perms.always[sessionID] = keys
	return keys
}

// Ask publishes a permission request and waits for the answer. It returns
// nil when allowed (now or by an earlier "always"), ErrRejected when
// refused, or the context's error when the run is aborted.
func (s *Service) Ask(ctx context.Context, p storage.Permission) error {
	s.perms.mu.Lock()
	if slices.Contains(s.approvedKeys(p.SessionID), permKey(p)) {
		s.perms.mu.Unlock()
		return nil
	}
	p.ID = s.ids.Ascending(storage.PrefixPermission)
	p.Time.Created = s.ms()
	if p.Metadata == nil {
		p.Metadata = map[string]any{}
	}
	pp := &pendingPerm{perm: p, reply: make(chan string, 1)}
	s.perms.pending[p.ID] = pp
	s.perms.mu.Unlock()
	s.bus.Publish(event.PermissionUpdated(p))

	select {
	case r := <-pp.reply:
		if r == ReplyReject {
			return ErrRejected
		}
		return nil
	case <-ctx.Done():
		s.perms.mu.Lock()
		delete(s.perms.pending, p.ID)
		s.perms.mu.Unlock()
		return context.Cause(ctx)
	}
}

// Respond answers a pending permission. "always" also approves, for the
// rest of the session and across restarts, every request with the same
// type and pattern, including those already pending.
func (s *Service) Respond(sessionID, permissionID, response string) error {
	switch response {
	case ReplyOnce, ReplyAlways, ReplyReject:
	default:
		return fmt.Errorf("%w: response must be once, always or reject", ErrInvalid)
	}
	s.perms.mu.Lock()
	pp, ok := s.perms.pending[permissionID]
	if !ok || pp.perm.SessionID != sessionID {
		s.perms.mu.Unlock()
		return fmt.Errorf("permission %s: %w", permissionID, ErrNotFound)
	}
	answered := []*pendingPerm{pp}
	if response == ReplyAlways {
		key := permKey(pp.perm)
		keys := append(slices.Clone(s.approvedKeys(sessionID)), key)
		if err := s.store.PutJSON("permission/"+sessionID, keys); err != nil {
			s.perms.mu.Unlock()
			return err
		}
		s.perms.always[sessionID] = keys
		for id, other := range s.perms.pending {
			if id != permissionID && other.perm.SessionID == sessionID && permKey(other.perm) == key {
				answered = append(answered, other)
			}
		}
	}
	for _, a := range answered {
		delete(s.perms.pending, a.perm.ID)
	}
	s.perms.mu.Unlock()
	for _, a := range answered {
		a.reply <- response
		s.bus.Publish(event.PermissionReplied{SessionID: sessionID, PermissionID: a.perm.ID, Response: response})
	}
	return nil
}

// Pending lists unanswered permission requests, of one session or of all
// when sessionID is empty, oldest first.
func (s *Service) Pending(sessionID string) []storage.Permission {
	s.perms.mu.Lock()
	defer s.perms.mu.Unlock()
	out := []storage.Permission{}
	for _, pp := range s.perms.pending {
		if sessionID == "" || pp.perm.SessionID == sessionID {
			out = append(out, pp.perm)
		}
	}
	slices.SortFunc(out, func(a, b storage.Permission) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}
