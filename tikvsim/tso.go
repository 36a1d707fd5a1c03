package tikvsim

import (
	"context"
	"errors"
	"sync"
	"time"
)

// logicalBits is the width of the logical part of a TSO timestamp.
const logicalBits = 18

const maxLogical = 1 << logicalBits

// tsoAllocator hands out strictly increasing (physical ms, logical)
// timestamps as PD does. It survives PD leader changes, which gives the
// cross-leader monotonicity that real PD gets from its persisted window.
type tsoAllocator struct {
	now func() time.Time

	mu       sync.Mutex
	physical int64
	logical  int64
	gate     chan struct{} // nil when running; closed by resume
	broken   chan struct{} // closed by BreakTSOStreams, then replaced
}

func newTSOAllocator(now func() time.Time) *tsoAllocator {
	return &tsoAllocator{now: now, broken: make(chan struct{})}
}

// errTSOBroken reports that BreakTSOStreams fired while a request waited.
var errTSOBroken = errors.New("tikvsim: tso stream broken by fault injection")

// alloc reserves count timestamps and returns the last one, waiting while
// TSO is paused; broken (may be nil) aborts the wait with errTSOBroken.
func (t *tsoAllocator) alloc(ctx context.Context, count uint32, broken <-chan struct{}) (physical, logical int64, err error) {
	for {
		t.mu.Lock()
		gate := t.gate
		if gate == nil {
			break
		}
		t.mu.Unlock()
		select {
		case <-gate:
		case <-broken:
			return 0, 0, errTSOBroken
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	defer t.mu.Unlock()
	if now := t.now().UnixMilli(); now > t.physical {
		t.physical, t.logical = now, 0
	}
	if t.logical+int64(count) >= maxLogical {
		// PD waits for the next physical tick; moving the physical part
		// ahead of the wall clock gives the same guarantee without waiting.
		t.physical++
		t.logical = 0
	}
	t.logical += int64(count)
	return t.physical, t.logical, nil
}

// next returns one fresh composed timestamp; it ignores pausing, for
// internal users (max_ts sync, GetMinTS while paused is still answered).
func (t *tsoAllocator) next() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.now().UnixMilli(); now > t.physical {
		t.physical, t.logical = now, 0
	}
	if t.logical+1 >= maxLogical {
		t.physical++
		t.logical = 0
	}
	t.logical++
	return uint64(t.physical)<<logicalBits | uint64(t.logical)
}

// last returns the last allocated timestamp.
func (t *tsoAllocator) last() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return uint64(t.physical)<<logicalBits | uint64(t.logical)
}

func (t *tsoAllocator) pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gate == nil {
		t.gate = make(chan struct{})
	}
}

func (t *tsoAllocator) resume() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gate != nil {
		close(t.gate)
		t.gate = nil
	}
}

func (t *tsoAllocator) breakStreams() {
	t.mu.Lock()
	defer t.mu.Unlock()
	close(t.broken)
	t.broken = make(chan struct{})
}

func (t *tsoAllocator) brokenCh() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.broken
}
