package app

import (
	"errors"
	"sync"
)

// cleanup is a stack of closers: each part is registered right after it is
// built, and closing runs them in reverse order, once. A constructor that
// fails half-way closes what it built so far with the same stack, so
// start-up and shut-down cannot disagree on what to release.
type cleanup struct {
	mu   sync.Mutex
	fns  []func() error
	done bool
}

// push registers fn; it runs before everything registered earlier.
func (c *cleanup) push(fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, fn)
}

// pushFunc registers a closer without an error.
func (c *cleanup) pushFunc(fn func()) {
	c.push(func() error { fn(); return nil })
}

// close runs every registered closer in reverse order and joins their
// errors; later calls do nothing and return nil.
func (c *cleanup) close() error {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return nil
	}
	c.done = true
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
