package app

import (
	"errors"
	"slices"
	"testing"
)

func TestCleanupReverseOnce(t *testing.T) {
	var c cleanup
	var order []int
	boom := errors.New("boom")
	c.pushFunc(func() { order = append(order, 1) })
	c.push(func() error { order = append(order, 2); return boom })
	c.pushFunc(func() { order = append(order, 3) })
	if err := c.close(); !errors.Is(err, boom) {
		t.Fatalf("close = %v, want the closer's error", err)
	}
	if err := c.close(); err != nil {
		t.Fatalf("second close = %v, want nil", err)
	}
	if !slices.Equal(order, []int{3, 2, 1}) {
		t.Fatalf("closed in order %v, want [3 2 1] once", order)
	}
}
