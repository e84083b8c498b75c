package snapshot

import (
	"fmt"
	"log/slog"

	"github.com/go-git/go-git/v5/plumbing"
)

// store persists the objects of this scan: written behind when few.
func (sc *scan) store() error {
	size := 0
	for _, o := range sc.objs {
		size += len(o.raw)
	}
	if len(sc.objs) > 64 || size > 8<<20 {
		if err := sc.s.store.writeNow(sc.objs); err != nil {
			return fmt.Errorf("snapshot: write objects: %w", err)
		}
		return nil
	}
	sc.s.store.writeBehind(sc.objs)
	return nil
}

// writeBehind queues objects: they are readable at once and written by a
// background goroutine. flush waits for it.
func (s *objectStore) writeBehind(objs []pendingObject) {
	if len(objs) == 0 {
		return
	}
	s.pmu.Lock()
	for _, o := range objs {
		s.pending[o.hash] = o.raw
	}
	s.pmu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, o := range objs {
			err := s.writeLoose(o.hash, o.raw)
			s.pmu.Lock()
			if err != nil {
				if s.werr == nil {
					s.werr = err
				}
				s.log.Error("Write snapshot object", slog.Any("err", err))
			} else {
				delete(s.pending, o.hash)
			}
			s.pmu.Unlock()
		}
	}()
}

// writeNow writes objects synchronously with a few workers.
func (s *objectStore) writeNow(objs []pendingObject) error {
	return eachParallel(len(objs), 4, func() func(int) error {
		return func(i int) error { return s.writeLoose(objs[i].hash, objs[i].raw) }
	})
}

// flush waits for written-behind objects and retries any that failed.
func (s *objectStore) flush() error {
	s.wg.Wait()
	s.pmu.Lock()
	left := make([]pendingObject, 0, len(s.pending))
	for h, raw := range s.pending {
		left = append(left, pendingObject{hash: h, raw: raw})
	}
	s.werr = nil
	s.pmu.Unlock()
	if len(left) == 0 {
		return nil
	}
	if err := s.writeNow(left); err != nil {
		return fmt.Errorf("snapshot: write objects: %w", err)
	}
	s.pmu.Lock()
	for _, o := range left {
		delete(s.pending, o.hash)
	}
	s.pmu.Unlock()
	return nil
}

type pendingObject struct {
	hash plumbing.Hash
	raw  []byte
}
