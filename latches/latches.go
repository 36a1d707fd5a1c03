package latches

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Latches serialises conflicting optimistic transactions inside one process
// and detects stale ones before they reach TiKV. Keys hash to a fixed number
// of slots; a transaction owns every slot its keys hash to while it commits.
//
// A Latches is safe for concurrent use by any number of goroutines. It starts
// no goroutines. Create it with [New]; the zero value is not usable.
type Latches struct {
	slots      []slot
	mask       uint64
	seed       maphash.Seed
	ageTS      uint64
	maxRecords int

	// watermark is the newest commit timestamp released so far. Records
	// are aged against it rather than against the wall clock, so recycling
	// follows TSO time and tests need no clock.
	watermark atomic.Uint64

	waits  atomic.Uint64
	stales atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Latches configured by opts. It fails with an error wrapping
// [ErrInvalidOption] when an option value is out of range.
func New(opts ...Option) (*Latches, error) {
	c := config{
		slots:      DefaultSlots,
		recycleAge: DefaultRecycleAge,
		maxRecords: DefaultMaxRecordsPerSlot,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	return &Latches{
		slots:      make([]slot, c.slots),
		mask:       uint64(c.slots - 1),
		seed:       maphash.MakeSeed(),
		ageTS:      uint64(c.recycleAge.Milliseconds()) << tsoPhysicalShift,
		maxRecords: c.maxRecords,
		done:       make(chan struct{}),
	}, nil
}

// Slots returns the number of slots, after rounding up to a power of two.
func (l *Latches) Slots() int { return len(l.slots) }

// slotOf returns the slot index key hashes to.
func (l *Latches) slotOf(key []byte) uint32 {
	return uint32(maphash.Bytes(l.seed, key) & l.mask)
}

// Acquire takes the latches for a transaction that started at startTS and
// writes keys, waiting while other transactions hold any of them. Keys may be
// in any order and may repeat; the slice is not modified, but the Lock refers
// to the keys until [Latches.Release].
//
// Slots are taken in increasing slot order, so concurrent Acquire calls never
// deadlock, and waiters on one slot are served first come, first served.
//
// On success the caller owns the returned Lock and must pass it to Release
// exactly once. On failure Acquire holds nothing and has left no trace in any
// queue. It returns:
//   - a [*StaleError] (errors.Is(err, [ErrStale])) when a conflicting
//     transaction released one of the keys with a commit timestamp greater
//     than startTS; retry with a new start timestamp;
//   - ctx.Err() wrapped, when ctx is done before the latches are held;
//   - [ErrClosed] once [Latches.Close] has been called.
func (l *Latches) Acquire(ctx context.Context, startTS uint64, keys [][]byte) (*Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("latches: acquire: %w", err)
	}
	select {
	case <-l.done:
		return nil, ErrClosed
	default:
	}
	k := l.newLock(startTS, keys)
	for i := 0; i < len(k.entries); {
		j := k.runEnd(i)
		s := &l.slots[k.entries[i].slot]
		run := k.entries[i:j]

		s.mu.Lock()
		// Checking before queueing saves a wait that could only end in
		// ErrStale: records only ever grow newer.
		if err := s.stale(startTS, run); err != nil {
			s.mu.Unlock()
			return nil, l.fail(k, err)
		}
		if s.owner == nil {
			s.owner = k
			s.mu.Unlock()
			k.held = j
			i = j
			continue
		}
		if k.ready == nil {
			k.ready = make(chan struct{}, 1)
		}
		s.push(k)
		s.mu.Unlock()
		l.waits.Add(1)

		var cause error
		select {
		case <-k.ready:
		case <-ctx.Done():
			cause = fmt.Errorf("latches: acquire: waiting for a slot: %w", ctx.Err())
		case <-l.done:
			cause = ErrClosed
		}

		s.mu.Lock()
		if cause != nil && k.queued == s {
			// Still queued: leave the queue and give up.
			s.remove(k)
			s.mu.Unlock()
			return nil, l.fail(k, cause)
		}
		// The slot was handed over, possibly at the same moment ctx was
		// cancelled; k owns it either way and fail releases it.
		k.held = j
		if cause == nil {
			// The previous owner may have committed on these keys.
			cause = s.stale(startTS, run)
		}
		s.mu.Unlock()
		if cause != nil {
			return nil, l.fail(k, cause)
		}
		i = j
	}
	return k, nil
}

// fail releases whatever k holds, without recording a commit, and returns
// err.
func (l *Latches) fail(k *Lock, err error) error {
	if _, ok := err.(*StaleError); ok {
		l.stales.Add(1)
	}
	l.release(k, 0)
	return err
}

// Release gives up the latches of lock and wakes the next waiter of each of
// its slots. commitTS is the transaction's commit timestamp, or 0 when it
// aborted; a non-zero commitTS is recorded on every key of the Lock so that
// later transactions that started before it learn they are stale.
//
// Release may be called from any goroutine, also after [Latches.Close].
// Releasing a nil Lock, a Lock of another Latches, or a Lock a second time
// does nothing.
func (l *Latches) Release(lock *Lock, commitTS uint64) {
	if lock == nil || lock.owner != l || !lock.released.CompareAndSwap(false, true) {
		return
	}
	l.release(lock, commitTS)
}

// release frees the slots k holds, recording commitTS when it is non-zero.
func (l *Latches) release(k *Lock, commitTS uint64) {
	var cutoff uint64
	if commitTS != 0 {
		wm := l.advance(commitTS)
		if wm > l.ageTS {
			cutoff = wm - l.ageTS
		}
	}
	for i := 0; i < k.held; {
		j := k.runEnd(i)
		s := &l.slots[k.entries[i].slot]
		s.mu.Lock()
		if commitTS != 0 {
			s.record(k.entries[i:j], commitTS, cutoff, l.maxRecords)
		}
		s.handOff()
		s.mu.Unlock()
		i = j
	}
	k.held = 0
}

// advance raises the watermark to ts if it is newer and returns the
// watermark.
func (l *Latches) advance(ts uint64) uint64 {
	for {
		cur := l.watermark.Load()
		if ts <= cur {
			return cur
		}
		if l.watermark.CompareAndSwap(cur, ts) {
			return ts
		}
	}
}

// Close makes every waiting and future Acquire fail with [ErrClosed]. Locks
// already held stay valid and should still be released. Close is idempotent,
// returns at once (Latches runs no goroutines) and always returns nil.
func (l *Latches) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Stats is a snapshot of a [Latches], for monitoring and tests.
type Stats struct {
	// Slots is the slot count.
	Slots int
	// Owned is the number of slots currently held by a transaction.
	Owned int
	// Waiting is the number of transactions queued on a slot.
	Waiting int
	// Records is the number of key commit records kept for stale detection;
	// it never exceeds Slots times the per-slot bound.
	Records int
	// Waits counts, since New, how many times a transaction had to queue.
	Waits uint64
	// Stale counts, since New, the Acquire calls that failed with ErrStale.
	Stale uint64
	// Watermark is the newest commit timestamp released so far.
	Watermark uint64
}

// Stats returns a snapshot of l. It visits every slot, so its cost grows with
// the slot count; the per-slot figures are each consistent but not taken at a
// single instant.
func (l *Latches) Stats() Stats {
	st := Stats{
		Slots:     len(l.slots),
		Waits:     l.waits.Load(),
		Stale:     l.stales.Load(),
		Watermark: l.watermark.Load(),
	}
	for i := range l.slots {
		s := &l.slots[i]
		s.mu.Lock()
		if s.owner != nil {
			st.Owned++
		}
		st.Waiting += s.waiting
		st.Records += len(s.records)
		s.mu.Unlock()
	}
	return st
}
