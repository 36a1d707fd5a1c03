package latches_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/latches"
)

// keySpace is a small set of hot keys shared by every worker of a stress test.
type keySpace struct {
	names  []string
	inside []atomic.Int32 // owners currently inside each key's critical section
	// writes and lastCommit are guarded by the latches alone: if mutual
	// exclusion or its happens-before edges break, the race detector or the
	// totals check reports it.
	writes     []int
	lastCommit []uint64
}

func newKeySpace(n int) *keySpace {
	ks := &keySpace{
		names:      make([]string, n),
		inside:     make([]atomic.Int32, n),
		writes:     make([]int, n),
		lastCommit: make([]uint64, n),
	}
	for i := range ks.names {
		ks.names[i] = string(rune('a'+i)) + "-key"
	}
	return ks
}

// pick returns 1..4 random key indexes, possibly repeated, and their names.
func (ks *keySpace) pick(rng *rand.Rand) ([]int, [][]byte) {
	n := 1 + rng.IntN(4)
	idx := make([]int, n)
	names := make([][]byte, n)
	for i := range idx {
		idx[i] = rng.IntN(len(ks.names))
		names[i] = []byte(ks.names[idx[i]])
	}
	return idx, names
}

// critical runs the body of a transaction that holds the latches of idx, and
// reports broken mutual exclusion or a missed stale detection.
func (ks *keySpace) critical(t *testing.T, startTS, commitTS uint64, idx []int) {
	seen := map[int]bool{}
	for _, i := range idx {
		if seen[i] {
			continue
		}
		seen[i] = true
		if n := ks.inside[i].Add(1); n != 1 {
			t.Errorf("key %q held by %d transactions at once", ks.names[i], n)
		}
		if ks.lastCommit[i] > startTS {
			t.Errorf("key %q committed at %d, yet a transaction that started at %d was not stale", ks.names[i], ks.lastCommit[i], startTS)
		}
		ks.writes[i]++
		if commitTS != 0 {
			ks.lastCommit[i] = commitTS
		}
	}
	for i := range seen {
		ks.inside[i].Add(-1)
	}
}

func TestConcurrentSafeMutualExclusion(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	// Few slots so that unrelated keys also collide.
	l := newLatches(t, latches.WithSlots(4))
	ks := newKeySpace(10)

	const workers, txns = 8, 300
	var clock atomic.Uint64
	var stale atomic.Int64
	want := make([][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		want[w] = make([]int, len(ks.names))
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range txns {
				idx, names := ks.pick(rng)
				for {
					startTS := clock.Add(1)
					lock, err := l.Acquire(t.Context(), startTS, names)
					if errors.Is(err, latches.ErrStale) {
						stale.Add(1)
						continue // retry with a fresh start ts, as txnkv does
					}
					if err != nil {
						t.Errorf("Acquire: %v", err)
						return
					}
					var commitTS uint64
					if rng.IntN(4) != 0 { // a quarter of the transactions abort
						commitTS = clock.Add(1)
					}
					ks.critical(t, startTS, commitTS, idx)
					l.Release(lock, commitTS)
					break
				}
				seen := map[int]bool{}
				for _, i := range idx {
					if !seen[i] {
						seen[i] = true
						want[w][i]++
					}
				}
			}
		})
	}
	wg.Wait()

	for i, name := range ks.names {
		total := 0
		for w := range workers {
			total += want[w][i]
		}
		if ks.writes[i] != total {
			t.Errorf("key %q written %d times, want %d", name, ks.writes[i], total)
		}
	}
	st := l.Stats()
	if st.Owned != 0 || st.Waiting != 0 {
		t.Errorf("after the run: Owned = %d, Waiting = %d, want 0, 0", st.Owned, st.Waiting)
	}
	if st.Stale != uint64(stale.Load()) {
		t.Errorf("Stats().Stale = %d, workers saw %d", st.Stale, stale.Load())
	}
	t.Logf("stale retries %d, waits %d", stale.Load(), st.Waits)
	if t.Failed() {
		t.Logf("failed with seed %d", seed)
	}
}

func TestConcurrentSafeCancellation(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	l := newLatches(t, latches.WithSlots(4))
	ks := newKeySpace(6)

	// The canceller cancels contexts at whatever moment it gets to them, so
	// cancellations land before, during and after waits.
	cancels := make(chan context.CancelFunc, 16)
	cancellerDone := make(chan struct{})
	go func() {
		defer close(cancellerDone)
		for c := range cancels {
			c()
		}
	}()

	const workers, txns = 8, 300
	var clock atomic.Uint64
	var cancelled atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range txns {
				idx, names := ks.pick(rng)
				ctx, cancel := context.WithCancel(t.Context())
				if rng.IntN(2) == 0 {
					cancels <- cancel
				}
				startTS := clock.Add(1)
				lock, err := l.Acquire(ctx, startTS, names)
				switch {
				case err == nil:
					commitTS := clock.Add(1)
					ks.critical(t, startTS, commitTS, idx)
					l.Release(lock, commitTS)
				case errors.Is(err, context.Canceled):
					cancelled.Add(1)
				case errors.Is(err, latches.ErrStale):
				default:
					t.Errorf("Acquire: %v", err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(cancels)
	<-cancellerDone

	if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
		t.Errorf("after the run: Owned = %d, Waiting = %d, want 0, 0", st.Owned, st.Waiting)
	}
	t.Logf("cancelled %d acquisitions", cancelled.Load())
	if t.Failed() {
		t.Logf("failed with seed %d", seed)
	}
}

func TestConcurrentSafeClose(t *testing.T) {
	l := newLatches(t, latches.WithSlots(2))
	ks := newKeySpace(4)

	const workers = 8
	var clock atomic.Uint64
	progress := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(1, uint64(w)))
			for n := 0; ; n++ {
				if n == 20 {
					progress <- struct{}{}
				}
				idx, names := ks.pick(rng)
				startTS := clock.Add(1)
				lock, err := l.Acquire(t.Context(), startTS, names)
				if errors.Is(err, latches.ErrClosed) {
					return
				}
				if errors.Is(err, latches.ErrStale) {
					continue
				}
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				commitTS := clock.Add(1)
				ks.critical(t, startTS, commitTS, idx)
				l.Release(lock, commitTS)
			}
		})
	}
	for range workers {
		<-progress
	}
	l.Close()
	wg.Wait() // every worker ends with ErrClosed, none stays queued

	if st := l.Stats(); st.Owned != 0 || st.Waiting != 0 {
		t.Errorf("after Close: Owned = %d, Waiting = %d, want 0, 0", st.Owned, st.Waiting)
	}
}
