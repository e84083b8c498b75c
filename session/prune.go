package session

import (
	"context"
	"sync"
	"time"

	"ocgo/storage"
)

// pruneState serialises the background prunes of the shadow repository
// that follow a session delete: at most one runs, and deletes arriving
// meanwhile coalesce into one more pass.
type pruneState struct {
	mu      sync.Mutex
	pending bool
	done    chan struct{} // non-nil while a prune goroutine runs; closed when it ends
}

// schedulePrune asks for the snapshot objects no remaining session needs to
// be deleted. It returns at once; the prune runs in the background once no
// session has a run (a run may hold a snapshot it has not recorded yet).
func (s *Service) schedulePrune() {
	if s.opts.Snapshots == nil {
		return
	}
	s.prune.mu.Lock()
	defer s.prune.mu.Unlock()
	s.prune.pending = true
	if s.prune.done != nil {
		return
	}
	done := make(chan struct{})
	s.prune.done = done
	go s.pruneLoop(done)
}

func (s *Service) pruneLoop(done chan struct{}) {
	defer close(done)
	for {
		s.prune.mu.Lock()
		if !s.prune.pending {
			s.prune.done = nil
			s.prune.mu.Unlock()
			return
		}
		s.prune.pending = false
		s.prune.mu.Unlock()
		if err := s.pruneOnce(context.Background()); err != nil {
			s.log.Warn("Could not prune snapshot objects", "err", err)
		}
	}
}

// WaitPrune waits until no prune is scheduled or running, or ctx ends.
func (s *Service) WaitPrune(ctx context.Context) error {
	for {
		s.prune.mu.Lock()
		done := s.prune.done
		s.prune.mu.Unlock()
		if done == nil {
			return nil
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pruneOnce waits until no session has a run, then prunes every object not
// reachable from a remaining session's patch parts, snapshot parts and
// revert state, nor from the current work tree.
func (s *Service) pruneOnce(ctx context.Context) error {
	since := s.waitIdle()
	// The current state: its objects are what the next snapshot reuses.
	if _, err := s.opts.Snapshots.Track(ctx); err != nil {
		return err
	}
	keep, err := s.snapshotRefs()
	if err != nil {
		return err
	}
	return s.opts.Snapshots.PruneSince(ctx, keep, since)
}

// waitIdle blocks until no session has a run and returns that moment: a
// snapshot taken before it has been recorded by the run that took it.
func (s *Service) waitIdle() time.Time {
	for {
		s.mu.Lock()
		if len(s.runs) == 0 {
			now := time.Now()
			s.mu.Unlock()
			return now
		}
		wake := s.changed
		s.mu.Unlock()
		<-wake
	}
}

// snapshotRefs lists every tree the sessions in the store refer to.
func (s *Service) snapshotRefs() ([]string, error) {
	seen := map[string]struct{}{}
	var keep []string
	add := func(h string) {
		if h == "" {
			return
		}
		if _, ok := seen[h]; !ok {
			seen[h] = struct{}{}
			keep = append(keep, h)
		}
	}
	for _, sess := range s.store.Sessions() {
		if sess.Revert != nil {
			add(sess.Revert.Snapshot)
		}
		msgs, err := s.store.Messages(sess.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			for _, p := range m.Parts {
				switch p.Type {
				case storage.PartPatch:
					add(p.Hash)
					add(p.After)
				case storage.PartSnapshot, storage.PartStepStart, storage.PartStepFinish:
					add(p.Snapshot)
				}
			}
		}
	}
	return keep, nil
}
