package latches_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/latches"
)

// tso builds a TSO timestamp from physical milliseconds.
func tso(ms uint64) uint64 { return ms << 18 }

func TestBoundedRecordsPerSlot(t *testing.T) {
	const slots, perSlot = 16, 4
	l := newLatches(t, latches.WithSlots(slots), latches.WithMaxRecordsPerSlot(perSlot))
	for i := range 20000 {
		ts := uint64(2*i + 1)
		l.Release(mustAcquire(t, l, ts, fmt.Sprintf("key-%d", i)), ts+1)
		if i%1000 == 0 {
			if got := l.Stats().Records; got > slots*perSlot {
				t.Fatalf("after %d transactions Records = %d, bound is %d", i+1, got, slots*perSlot)
			}
		}
	}
	if got := l.Stats().Records; got > slots*perSlot {
		t.Fatalf("Records = %d, bound is %d", got, slots*perSlot)
	}
}

func TestRecordsRecycledByAge(t *testing.T) {
	// One slot, so every release compacts the same record list and the
	// expected count is exact.
	l := newLatches(t, latches.WithSlots(1), latches.WithMaxRecordsPerSlot(latches.MaxRecordsPerSlotLimit), latches.WithRecycleAge(time.Second))
	const n, stepMS = 5000, 10
	for i := range n {
		commit := tso(uint64(i+1) * stepMS)
		l.Release(mustAcquire(t, l, commit-1, fmt.Sprintf("key-%d", i)), commit)
	}
	// Commits lie 10ms apart and survive while within 1s of the newest.
	if got, want := l.Stats().Records, 1000/stepMS+1; got != want {
		t.Fatalf("Records = %d, want %d commits of the last second", got, want)
	}

	// A recent record still makes an old transaction stale...
	recent := tso(n * stepMS)
	if _, err := l.Acquire(t.Context(), recent-1, keys(fmt.Sprintf("key-%d", n-1))); !errors.Is(err, latches.ErrStale) {
		t.Fatalf("Acquire on a recent key = %v, want ErrStale", err)
	}
	// ...while a recycled one no longer does; TiKV reports that conflict.
	l.Release(mustAcquire(t, l, 1, "key-0"), 0)
}

func TestHeapStaysBounded(t *testing.T) {
	const slots, perSlot, txns = 1024, 4, 100000
	l := newLatches(t, latches.WithSlots(slots), latches.WithMaxRecordsPerSlot(perSlot))
	before := heapInUse()
	for i := range txns {
		ts := uint64(2*i + 1)
		k, err := l.Acquire(t.Context(), ts, [][]byte{fmt.Appendf(nil, "a-distinct-key-%08d", i)})
		if err != nil {
			t.Fatal(err)
		}
		l.Release(k, ts+1)
	}
	grown := int64(heapInUse()) - int64(before)
	// 4096 records of a 23-byte key cost well under 1 MiB; keeping one
	// record per transaction would cost about 6 MiB.
	const limit = 2 << 20
	if grown > limit {
		t.Fatalf("heap grew by %d bytes over %d transactions, want under %d", grown, txns, limit)
	}
	if got := l.Stats().Records; got > slots*perSlot {
		t.Fatalf("Records = %d, bound is %d", got, slots*perSlot)
	}
	runtime.KeepAlive(l)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
