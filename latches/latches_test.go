package latches_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/latches"
)

func newLatches(t *testing.T, opts ...latches.Option) *latches.Latches {
	t.Helper()
	l, err := latches.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func keys(ks ...string) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = []byte(k)
	}
	return out
}

func mustAcquire(t *testing.T, l *latches.Latches, startTS uint64, ks ...string) *latches.Lock {
	t.Helper()
	k, err := l.Acquire(t.Context(), startTS, keys(ks...))
	if err != nil {
		t.Fatalf("Acquire(%d, %q): %v", startTS, ks, err)
	}
	return k
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      []latches.Option
		wantSlots int
		wantErr   bool
	}{
		{name: "defaults", wantSlots: latches.DefaultSlots},
		{name: "nil option ignored", opts: []latches.Option{nil}, wantSlots: latches.DefaultSlots},
		{name: "power of two kept", opts: []latches.Option{latches.WithSlots(256)}, wantSlots: 256},
		{name: "rounded up", opts: []latches.Option{latches.WithSlots(1000)}, wantSlots: 1024},
		{name: "one slot", opts: []latches.Option{latches.WithSlots(1)}, wantSlots: 1},
		{name: "zero slots", opts: []latches.Option{latches.WithSlots(0)}, wantErr: true},
		{name: "negative slots", opts: []latches.Option{latches.WithSlots(-4)}, wantErr: true},
		{name: "too many slots", opts: []latches.Option{latches.WithSlots(latches.MaxSlots + 1)}, wantErr: true},
		{name: "recycle age", opts: []latches.Option{latches.WithRecycleAge(time.Second)}, wantSlots: latches.DefaultSlots},
		{name: "recycle age too small", opts: []latches.Option{latches.WithRecycleAge(time.Microsecond)}, wantErr: true},
		{name: "max records", opts: []latches.Option{latches.WithMaxRecordsPerSlot(1)}, wantSlots: latches.DefaultSlots},
		{name: "max records zero", opts: []latches.Option{latches.WithMaxRecordsPerSlot(0)}, wantErr: true},
		{name: "max records too big", opts: []latches.Option{latches.WithMaxRecordsPerSlot(latches.MaxRecordsPerSlotLimit + 1)}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := latches.New(tc.opts...)
			if tc.wantErr {
				if !errors.Is(err, latches.ErrInvalidOption) {
					t.Fatalf("New error = %v, want ErrInvalidOption", err)
				}
				if l != nil {
					t.Fatal("New returned a Latches with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := l.Slots(); got != tc.wantSlots {
				t.Fatalf("Slots() = %d, want %d", got, tc.wantSlots)
			}
			if got := l.Stats().Slots; got != tc.wantSlots {
				t.Fatalf("Stats().Slots = %d, want %d", got, tc.wantSlots)
			}
		})
	}
}

func TestAcquireRelease(t *testing.T) {
	l := newLatches(t, latches.WithSlots(64))
	k := mustAcquire(t, l, 10, "b", "a", "b", "c")
	if k.StartTS() != 10 {
		t.Fatalf("StartTS() = %d, want 10", k.StartTS())
	}
	st := l.Stats()
	if st.Owned < 1 || st.Owned > 3 {
		t.Fatalf("Owned = %d, want the 1..3 slots of 3 distinct keys", st.Owned)
	}
	l.Release(k, 20)
	st = l.Stats()
	if st.Owned != 0 || st.Waiting != 0 {
		t.Fatalf("after Release: Owned = %d, Waiting = %d, want 0, 0", st.Owned, st.Waiting)
	}
	if st.Records != 3 {
		t.Fatalf("Records = %d, want 3 (one per distinct key)", st.Records)
	}
	if st.Watermark != 20 {
		t.Fatalf("Watermark = %d, want 20", st.Watermark)
	}
}

func TestAcquireNoKeys(t *testing.T) {
	l := newLatches(t)
	k := mustAcquire(t, l, 1)
	if got := l.Stats().Owned; got != 0 {
		t.Fatalf("Owned = %d for an empty key set", got)
	}
	l.Release(k, 2)
	if got := l.Stats().Records; got != 0 {
		t.Fatalf("Records = %d after releasing no keys", got)
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	l := newLatches(t, latches.WithSlots(1))
	a := mustAcquire(t, l, 1, "k")
	l.Release(a, 0)
	b := mustAcquire(t, l, 2, "k")

	l.Release(a, 5) // second release of a must not free b's slot or record
	l.Release(nil, 5)
	other := newLatches(t, latches.WithSlots(1))
	l.Release(mustAcquire(t, other, 3, "k"), 9) // foreign Lock ignored

	st := l.Stats()
	if st.Owned != 1 || st.Records != 0 || st.Watermark != 0 {
		t.Fatalf("after bogus releases: %+v, want Owned 1, no records, watermark 0", st)
	}
	l.Release(b, 0)
	if got := l.Stats().Owned; got != 0 {
		t.Fatalf("Owned = %d after releasing b", got)
	}
}

func TestStale(t *testing.T) {
	l := newLatches(t, latches.WithSlots(1)) // one slot: every key collides
	l.Release(mustAcquire(t, l, 10, "a", "b"), 20)

	tests := []struct {
		name      string
		startTS   uint64
		keys      []string
		wantStale bool
		wantKey   string
	}{
		{name: "older start on committed key", startTS: 15, keys: []string{"b"}, wantStale: true, wantKey: "b"},
		{name: "older start among other keys", startTS: 15, keys: []string{"x", "a", "y"}, wantStale: true, wantKey: "a"},
		{name: "start equal to commit", startTS: 20, keys: []string{"a"}},
		{name: "newer start", startTS: 25, keys: []string{"a", "b"}},
		{name: "collision is not a conflict", startTS: 15, keys: []string{"c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := l.Acquire(t.Context(), tc.startTS, keys(tc.keys...))
			if !tc.wantStale {
				if err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				l.Release(k, 0)
				return
			}
			if !errors.Is(err, latches.ErrStale) {
				t.Fatalf("Acquire error = %v, want ErrStale", err)
			}
			var se *latches.StaleError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *StaleError", err)
			}
			if se.StartTS != tc.startTS || se.CommitTS != 20 || string(se.Key) != tc.wantKey {
				t.Fatalf("StaleError = %+v, want start %d, commit 20, key %q", se, tc.startTS, tc.wantKey)
			}
			if k != nil {
				t.Fatal("stale Acquire returned a Lock")
			}
			if st := l.Stats(); st.Owned != 0 {
				t.Fatalf("stale Acquire left %d slots owned", st.Owned)
			}
		})
	}
	if got := l.Stats().Stale; got != 2 {
		t.Fatalf("Stats().Stale = %d, want 2", got)
	}
}

func TestStaleReleasesEarlierSlots(t *testing.T) {
	l := newLatches(t, latches.WithSlots(1024))
	l.Release(mustAcquire(t, l, 10, "hot"), 20)
	// Many keys, so some of them sort before "hot"'s slot and are held when
	// the conflict is found.
	ks := []string{"hot"}
	for i := range 64 {
		ks = append(ks, string(rune('A'+i)))
	}
	if _, err := l.Acquire(t.Context(), 15, keys(ks...)); !errors.Is(err, latches.ErrStale) {
		t.Fatalf("Acquire error = %v, want ErrStale", err)
	}
	if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
		t.Fatalf("after a stale Acquire: Owned = %d, Waiting = %d, want 0, 0", st.Owned, st.Waiting)
	}
	l.Release(mustAcquire(t, l, 30, ks...), 0)
}

func TestAbortRecordsNothing(t *testing.T) {
	l := newLatches(t)
	l.Release(mustAcquire(t, l, 10, "k"), 0)
	if st := l.Stats(); st.Records != 0 || st.Watermark != 0 {
		t.Fatalf("aborted release recorded: %+v", st)
	}
	l.Release(mustAcquire(t, l, 5, "k"), 0)
}

func TestRecordDoesNotAliasCallerKeys(t *testing.T) {
	l := newLatches(t)
	buf := []byte("key")
	k, err := l.Acquire(t.Context(), 10, [][]byte{buf})
	if err != nil {
		t.Fatal(err)
	}
	l.Release(k, 20)
	copy(buf, "zzz") // the caller reuses its buffer after Release
	if _, err := l.Acquire(t.Context(), 15, keys("key")); !errors.Is(err, latches.ErrStale) {
		t.Fatalf("Acquire(key) error = %v, want ErrStale: the record must own a copy of the key", err)
	}
	l.Release(mustAcquire(t, l, 15, "zzz"), 0)
}

func TestAcquireWithDoneContext(t *testing.T) {
	l := newLatches(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Acquire(ctx, 1, keys("k")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire error = %v, want context.Canceled", err)
	}
	if st := l.Stats(); st.Owned != 0 {
		t.Fatalf("Owned = %d after a cancelled Acquire", st.Owned)
	}
}

// waiter runs Acquire in a goroutine and reports the result on done.
type waiter struct {
	lock *latches.Lock
	err  error
	done chan struct{}
}

func startWaiter(ctx context.Context, l *latches.Latches, startTS uint64, ks ...string) *waiter {
	w := &waiter{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.lock, w.err = l.Acquire(ctx, startTS, keys(ks...))
	}()
	return w
}

func (w *waiter) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func TestFIFOAndReleaseWakesExactlyNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1))
		holder := mustAcquire(t, l, 1, "k")

		const n = 5
		ws := make([]*waiter, n)
		for i := range ws {
			// Different keys, one slot: each waiter queues behind the
			// previous one in arrival order.
			ws[i] = startWaiter(t.Context(), l, uint64(10+i), "k", string(rune('a'+i)))
			synctest.Wait()
			if ws[i].finished() {
				t.Fatalf("waiter %d did not queue: %v", i, ws[i].err)
			}
		}
		if st := l.Stats(); st.Waiting != n || st.Waits != n {
			t.Fatalf("Waiting = %d, Waits = %d, want %d", st.Waiting, st.Waits, n)
		}

		prev := holder
		for i, w := range ws {
			l.Release(prev, 0)
			synctest.Wait()
			if !w.finished() {
				t.Fatalf("release did not wake waiter %d", i)
			}
			if w.err != nil {
				t.Fatalf("waiter %d: %v", i, w.err)
			}
			for j := i + 1; j < n; j++ {
				if ws[j].finished() {
					t.Fatalf("release woke waiter %d as well as %d", j, i)
				}
			}
			if st := l.Stats(); st.Waiting != n-1-i || st.Owned != 1 {
				t.Fatalf("after waking %d: Waiting = %d, Owned = %d", i, st.Waiting, st.Owned)
			}
			prev = w.lock
		}
		l.Release(prev, 0)
		if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
			t.Fatalf("at the end: %+v", st)
		}
	})
}

func TestNewcomerDoesNotOvertakeQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1))
		holder := mustAcquire(t, l, 1, "k")
		first := startWaiter(t.Context(), l, 2, "k")
		synctest.Wait()

		l.Release(holder, 0)
		// The slot now belongs to first even if it has not run yet, so a
		// newcomer queues behind it.
		late := startWaiter(t.Context(), l, 3, "k")
		synctest.Wait()
		if !first.finished() || first.err != nil {
			t.Fatalf("first waiter: finished %v, err %v", first.finished(), first.err)
		}
		if late.finished() {
			t.Fatal("newcomer acquired the slot ahead of the queued waiter")
		}
		l.Release(first.lock, 0)
		synctest.Wait()
		if !late.finished() || late.err != nil {
			t.Fatalf("newcomer: finished %v, err %v", late.finished(), late.err)
		}
		l.Release(late.lock, 0)
	})
}

func TestStaleAfterWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1))
		holder := mustAcquire(t, l, 10, "k")
		stale := startWaiter(t.Context(), l, 15, "k", "other")
		synctest.Wait()
		fresh := startWaiter(t.Context(), l, 30, "k")
		synctest.Wait()

		l.Release(holder, 20)
		synctest.Wait()
		if !stale.finished() || !errors.Is(stale.err, latches.ErrStale) {
			t.Fatalf("waiter with start 15: finished %v, err %v, want ErrStale", stale.finished(), stale.err)
		}
		// The stale waiter gave the slot straight on to the next one.
		if !fresh.finished() || fresh.err != nil {
			t.Fatalf("waiter with start 30: finished %v, err %v", fresh.finished(), fresh.err)
		}
		l.Release(fresh.lock, 0)
		if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
			t.Fatalf("at the end: %+v", st)
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1024))
		holder := mustAcquire(t, l, 1, "k")

		ctx, cancel := context.WithCancel(t.Context())
		// Enough other keys that some slots are held before the wait on k.
		ks := []string{"k"}
		for i := range 32 {
			ks = append(ks, string(rune('A'+i)))
		}
		cancelled := startWaiter(ctx, l, 2, ks...)
		synctest.Wait()
		next := startWaiter(t.Context(), l, 3, "k")
		synctest.Wait()

		cancel()
		synctest.Wait()
		if !cancelled.finished() || !errors.Is(cancelled.err, context.Canceled) {
			t.Fatalf("cancelled waiter: finished %v, err %v, want context.Canceled", cancelled.finished(), cancelled.err)
		}
		if cancelled.lock != nil {
			t.Fatal("cancelled Acquire returned a Lock")
		}
		if st := l.Stats(); st.Owned != 1 || st.Waiting != 1 {
			t.Fatalf("after cancel: Owned = %d, Waiting = %d, want only the holder and the next waiter", st.Owned, st.Waiting)
		}
		l.Release(holder, 0)
		synctest.Wait()
		if !next.finished() || next.err != nil {
			t.Fatalf("waiter behind the cancelled one: finished %v, err %v", next.finished(), next.err)
		}
		l.Release(next.lock, 0)
		// The slots the cancelled waiter held are free again. (Checked after
		// k's slot is released: with a random hash seed, one of these keys
		// may share k's slot.)
		l.Release(mustAcquire(t, l, 4, ks[1:]...), 0)
	})
}

func TestDeadlineWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1))
		holder := mustAcquire(t, l, 1, "k")
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := l.Acquire(ctx, 2, keys("k"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire error = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Fatalf("waited %v, want the 1s deadline", waited)
		}
		if st := l.Stats(); st.Waiting != 0 {
			t.Fatalf("Waiting = %d after the deadline", st.Waiting)
		}
		l.Release(holder, 0)
	})
}

// TestCancelRacingHandOff cancels a waiter at about the moment its slot is
// handed to it. Either outcome is allowed, but nothing may stay owned or
// queued.
func TestCancelRacingHandOff(t *testing.T) {
	outcomes := map[bool]int{}
	for i := range 200 {
		synctest.Test(t, func(t *testing.T) {
			l := newLatches(t, latches.WithSlots(1))
			holder := mustAcquire(t, l, 1, "k")
			ctx, cancel := context.WithCancel(t.Context())
			w := startWaiter(ctx, l, 2, "k")
			synctest.Wait()

			// A blocked select is completed by whichever event comes
			// first, so alternate the order; with cancel first the hand-off
			// can still reach the waiter before it leaves the queue.
			if i%2 == 0 {
				l.Release(holder, 0)
				cancel()
			} else {
				cancel()
				l.Release(holder, 0)
			}
			<-w.done
			if w.err == nil {
				l.Release(w.lock, 0)
			} else if !errors.Is(w.err, context.Canceled) {
				t.Fatalf("Acquire error = %v", w.err)
			}
			outcomes[w.err == nil]++
			if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
				t.Fatalf("after the race: %+v", st)
			}
			l.Release(mustAcquire(t, l, 3, "k"), 0)
		})
	}
	t.Logf("acquired %d times, cancelled %d times", outcomes[true], outcomes[false])
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLatches(t, latches.WithSlots(1))
		holder := mustAcquire(t, l, 1, "k")
		ws := []*waiter{
			startWaiter(t.Context(), l, 2, "k"),
			startWaiter(t.Context(), l, 3, "k", "j"),
		}
		synctest.Wait()

		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		synctest.Wait()
		for i, w := range ws {
			if !w.finished() || !errors.Is(w.err, latches.ErrClosed) {
				t.Fatalf("waiter %d: finished %v, err %v, want ErrClosed", i, w.finished(), w.err)
			}
		}
		if st := l.Stats(); st.Waiting != 0 || st.Owned != 1 {
			t.Fatalf("after Close: Waiting = %d, Owned = %d, want 0 and the holder", st.Waiting, st.Owned)
		}
		if _, err := l.Acquire(t.Context(), 4, keys("x")); !errors.Is(err, latches.ErrClosed) {
			t.Fatalf("Acquire after Close = %v, want ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		l.Release(holder, 5)
		if st := l.Stats(); st.Owned != 0 {
			t.Fatalf("Owned = %d after releasing the holder", st.Owned)
		}
	})
}
