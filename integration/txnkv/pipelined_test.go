package txnkv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv"
)

const (
	pipeFlushSize    = 8 << 10
	pipeThrottleSize = 16 << 10
	pipeValueSize    = 100
	pipeNormalLimit  = 32 << 10 // the in-memory limit a normal txn gets here
)

// TestPipelinedLargeTxnSplitMidFlush writes a transaction more than ten
// times the buffer limit a normal transaction is held to, parks the first
// KvFlush, splits its region under it, and checks every key reads back
// after the commit, with the buffer's peak bytes bounded throughout.
func TestPipelinedLargeTxnSplitMidFlush(t *testing.T) {
	e := pipeStart(t, []string{"pk002000"})
	ctx := t.Context()
	const n = 4000 // ~430 KB of keys and values
	limits := txnkv.WithBufferLimits(pipeNormalLimit, 0)

	// A normal transaction cannot hold it.
	normal, err := e.cli.Begin(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	var tooLarge error
	for i := 0; i < n && tooLarge == nil; i++ {
		tooLarge = normal.Set(pipeKey(i), pipeValue(i, pipeValueSize))
	}
	if !errors.Is(tooLarge, txnkv.ErrTxnTooLarge) {
		t.Fatalf("normal txn: got %v, want ErrTxnTooLarge", tooLarge)
	}
	_ = normal.Rollback(ctx)

	hold, held := make(chan struct{}), make(chan struct{}, 1)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvFlush", Count: 1, Hold: hold, Held: held})
	var flushes, throttles sync.Map
	hook := txnkv.PipelinedHook(func(ev txnkv.PipelinedEvent) {
		switch ev.Kind {
		case txnkv.FlushEnd:
			flushes.Store(ev.Generation, ev.Err)
		case txnkv.ThrottleStart:
			throttles.Store(ev.Buffered, true)
		}
	})
	txn, err := e.cli.Begin(ctx, limits, txnkv.WithPipelinedDML(
		txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeThrottleSize), hook))
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		for i := range n {
			if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case <-held:
	case err := <-wrote:
		t.Fatalf("writes ended (%v) before the first flush reached a store", err)
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	// The parked request carries the first region's epoch; split that
	// region inside the first flush's keys.
	before := len(e.sim.Regions())
	if _, err := e.sim.SplitRegion(pipeKey(20)); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got := len(e.sim.Regions()); got != before+1 {
		t.Fatalf("regions: %d, want %d", got, before+1)
	}
	st := txn.PipelinedStats()
	t.Logf("stats: %+v, commit ts %d, mode %v", st, txn.CommitTS(), txn.CommitMode())
	if txn.CommitMode() != twopc.ModePipelined || txn.CommitTS() == 0 {
		t.Fatalf("mode %v, commit ts %d", txn.CommitMode(), txn.CommitTS())
	}
	total := n * (len(pipeKey(0)) + pipeValueSize)
	// The mutable buffer grows to the throttle size (plus one entry) and
	// one frozen buffer of at most that size flushes meanwhile.
	bound := 2 * (pipeThrottleSize + len(pipeKey(0)) + pipeValueSize)
	if st.PeakBuffered > bound || total < 10*st.PeakBuffered {
		t.Fatalf("peak buffered %d bytes, bound %d, total written %d", st.PeakBuffered, bound, total)
	}
	if st.FlushedBytes != total || int(st.Generation) != st.Flushes || st.Flushes < total/pipeThrottleSize {
		t.Fatalf("stats %+v for %d bytes", st, total)
	}
	if st.MaxFlushing != 1 {
		t.Fatalf("max flushing %d, want 1 (the default)", st.MaxFlushing)
	}
	if st.ThrottleWaits == 0 {
		t.Fatal("the parked flush never made a writer wait")
	}
	flushes.Range(func(g, err any) bool {
		if err != nil {
			t.Errorf("flush %v: %v", g, err)
		}
		return true
	})
	throttles.Range(func(b, _ any) bool {
		if b.(int) > bound {
			t.Errorf("throttled at %d buffered bytes, over %d", b, bound)
		}
		return true
	})
	e.readAll(n, func(i int) []byte { return pipeValue(i, pipeValueSize) })
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if l := e.locksOf(txn.StartTS()); len(l) != 0 {
		t.Fatalf("%d locks left after the background resolution, e.g. %q", len(l), l[0])
	}
}

// TestPipelinedReadOwnWrites reads keys from each tier: the mutable
// buffer, a frozen buffer, the flushed writes and the snapshot.
func TestPipelinedReadOwnWrites(t *testing.T) {
	e := pipeStart(t, []string{"pk000100"})
	ctx := t.Context()

	seed, err := e.cli.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{500, 501} {
		if err := seed.Set(pipeKey(i), []byte("old")); err != nil {
			t.Fatal(err)
		}
	}
	if err := seed.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	ends := make(chan txnkv.PipelinedEvent, 64)
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeFlushSize),
		txnkv.PipelinedHook(func(ev txnkv.PipelinedEvent) {
			if ev.Kind == txnkv.FlushEnd {
				ends <- ev
			}
		})))
	if err != nil {
		t.Fatal(err)
	}
	if !txn.IsPipelined() {
		t.Fatal("not pipelined")
	}
	// Generation 1: keys 0..199 and a delete of 501.
	for i := range 200 {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Delete(pipeKey(501)); err != nil {
		t.Fatal(err)
	}
	for txn.PipelinedStats().Flushes == 0 {
		if ev := <-ends; ev.Err != nil {
			t.Fatal(ev.Err)
		}
	}
	// Overwrite key 3 in the mutable buffer.
	if err := txn.Set(pipeKey(3), []byte("newer")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  int
		want string // "" for not found
	}{
		{"mutable buffer", 3, "newer"},
		{"flushed put", 150, string(pipeValue(150, pipeValueSize))},
		{"snapshot", 500, "old"},
		{"flushed delete hides snapshot", 501, ""},
		{"absent", 999, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := txn.Get(ctx, pipeKey(tc.key))
			switch {
			case tc.want == "" && !errors.Is(err, txnkv.ErrNotFound):
				t.Fatalf("Get: %q, %v; want ErrNotFound", v, err)
			case tc.want != "" && (err != nil || string(v) != tc.want):
				t.Fatalf("Get: %q, %v; want %q", v, err, tc.want)
			}
		})
	}
	keys := [][]byte{pipeKey(3), pipeKey(150), pipeKey(500), pipeKey(501), pipeKey(999)}
	got, err := txn.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[string(pipeKey(3))]) != "newer" || string(got[string(pipeKey(500))]) != "old" ||
		string(got[string(pipeKey(150))]) != string(pipeValue(150, pipeValueSize)) {
		t.Fatalf("BatchGet: %q", got)
	}
	for kv, err := range txn.Iter(ctx, nil, nil) {
		if !errors.Is(err, txnkv.ErrPipelinedUnsupported) {
			t.Fatalf("Iter: %v %v, want ErrPipelinedUnsupported", kv, err)
		}
	}
	if err := txn.Set(pipeKey(7), nil); !errors.Is(err, txnkv.ErrPipelinedUnsupported) {
		t.Fatalf("Set empty: %v, want ErrPipelinedUnsupported", err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.readAll(200, func(i int) []byte {
		if i == 3 {
			return []byte("newer")
		}
		return pipeValue(i, pipeValueSize)
	})
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Get(ctx, pipeKey(501)); !errors.Is(err, txnkv.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedRollback flushes several generations over two regions and
// rolls back: no lock and no value is left.
func TestPipelinedRollback(t *testing.T) {
	e := pipeStart(t, []string{"pk000300"})
	ctx := t.Context()
	ends := make(chan txnkv.PipelinedEvent, 64)
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeFlushSize),
		txnkv.PipelinedHook(func(ev txnkv.PipelinedEvent) {
			if ev.Kind == txnkv.FlushEnd {
				ends <- ev
			}
		})))
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	for i := range n {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	// Let every started flush land before looking at the locks.
	for ended := uint64(0); ended < txn.PipelinedStats().Generation; ended++ {
		if ev := <-ends; ev.Err != nil {
			t.Fatal(ev.Err)
		}
	}
	if l := e.locksOf(txn.StartTS()); len(l) < n/2 {
		t.Fatalf("%d locks flushed, want most of %d", len(l), n)
	}
	if v, err := txn.Get(ctx, pipeKey(0)); err != nil || string(v) != string(pipeValue(0, pipeValueSize)) {
		t.Fatalf("Get of a flushed key: %q %v", v, err)
	}
	if err := txn.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if l := e.locksOf(txn.StartTS()); len(l) != 0 {
		t.Fatalf("%d locks left after rollback, e.g. %q", len(l), l[0])
	}
	e.readAll(n, func(int) []byte { return nil })
}

// TestPipelinedFlushConcurrencyBound parks every flush until the test has
// seen as many running as the bound allows, and checks no more ever start
// and writers wait meanwhile.
func TestPipelinedFlushConcurrencyBound(t *testing.T) {
	e := pipeStart(t, nil)
	ctx := t.Context()
	const maxFlushing = 2
	var (
		mu      sync.Mutex
		running int
		peak    int
		waits   int
	)
	release := make(chan struct{})
	full, throttled := make(chan struct{}), make(chan struct{})
	var fullOnce, throttleOnce sync.Once
	hook := txnkv.PipelinedHook(func(ev txnkv.PipelinedEvent) {
		mu.Lock()
		switch ev.Kind {
		case txnkv.FlushStart:
			running++
			peak = max(peak, running, ev.Flushing)
			if running == maxFlushing {
				fullOnce.Do(func() { close(full) })
			}
		case txnkv.FlushEnd:
			running--
		case txnkv.ThrottleStart:
			waits++
			throttleOnce.Do(func() { close(throttled) })
		}
		mu.Unlock()
		if ev.Kind == txnkv.FlushStart {
			<-release // hold every flush until the bound was reached
		}
	})
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize),
		txnkv.PipelinedThrottleSize(pipeThrottleSize), txnkv.PipelinedMaxFlushing(maxFlushing), hook))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	wrote := make(chan error, 1)
	go func() {
		for i := range n {
			if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case <-full:
	case err := <-wrote:
		t.Fatalf("writes ended (%v) before %d flushes ran", err, maxFlushing)
	}
	// Both flushes are parked: the writer must reach the throttle size and
	// wait rather than start a third flush or buffer without bound.
	select {
	case <-throttled:
	case err := <-wrote:
		t.Fatalf("writes ended (%v) without waiting for a parked flush", err)
	}
	if st := txn.PipelinedStats(); st.Buffered > 3*(pipeThrottleSize+pipeValueSize+8) {
		t.Fatalf("buffered %d bytes while throttled", st.Buffered)
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	st := txn.PipelinedStats()
	if peak != maxFlushing || st.MaxFlushing != maxFlushing || waits == 0 {
		t.Fatalf("peak running %d, stats %+v, throttle waits seen %d; want %d at most and reached", peak, st, waits, maxFlushing)
	}
	e.readAll(n, func(i int) []byte { return pipeValue(i, pipeValueSize) })
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedFlushErrors: a write conflict and an existing key met by a
// flush come back from the next call, typed, and the rollback cleans up.
func TestPipelinedFlushErrors(t *testing.T) {
	e := pipeStart(t, nil)
	ctx := t.Context()
	tests := []struct {
		name string
		// before runs after the pipelined txn began, to set up the failure.
		before func(t *testing.T)
		write  func(txn *txnkv.Txn, i int) error
		want   error
	}{
		{
			name: "write conflict",
			before: func(t *testing.T) {
				other, err := e.cli.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := other.Set(pipeKey(5), []byte("other")); err != nil {
					t.Fatal(err)
				}
				if err := other.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			},
			write: func(txn *txnkv.Txn, i int) error { return txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)) },
			want:  txnkv.ErrWriteConflict,
		},
		{
			name: "key exists",
			before: func(t *testing.T) {
				seed, err := e.cli.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := seed.Set(pipeKey(7), []byte("there")); err != nil {
					t.Fatal(err)
				}
				if err := seed.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			},
			write: func(txn *txnkv.Txn, i int) error { return txn.Insert(pipeKey(i), pipeValue(i, pipeValueSize)) },
			want:  txnkv.ErrKeyExists,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeFlushSize)))
			if err != nil {
				t.Fatal(err)
			}
			tc.before(t)
			var werr error
			for i := 0; i < 400 && werr == nil; i++ {
				werr = tc.write(txn, i)
			}
			if werr == nil {
				werr = txn.Commit(ctx)
			}
			if !errors.Is(werr, tc.want) {
				t.Fatalf("got %v, want %v", werr, tc.want)
			}
			if err := txn.Rollback(ctx); err != nil && !errors.Is(err, txnkv.ErrTxnDone) {
				t.Fatalf("rollback: %v", err)
			}
			if err := e.cli.Committer().Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if l := e.locksOf(txn.StartTS()); len(l) != 0 {
				t.Fatalf("%d locks left, e.g. %q", len(l), l[0])
			}
		})
	}
}

// TestPipelinedCommitCancelled parks a flush, lets the commit's ctx end
// while it waits for it, and checks the transaction is rolled back in the
// background: no lock and no value is left.
func TestPipelinedCommitCancelled(t *testing.T) {
	e := pipeStart(t, nil)
	txn, err := e.cli.Begin(t.Context(), txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeThrottleSize)))
	if err != nil {
		t.Fatal(err)
	}
	// Generation 1 lands; the next flush is parked.
	const n = 100
	for i := range n {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	if txn.PipelinedStats().Generation != 1 {
		t.Fatalf("stats %+v, want one flush started", txn.PipelinedStats())
	}
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvFlush", Key: pipeKey(n), Hold: hold, Held: held})
	for i := n; i < 2*n; i++ {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-held
		cancel()
	}()
	if err := txn.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit: %v, want context.Canceled", err)
	}
	if err := e.cli.Committer().Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := e.locksOf(txn.StartTS()); len(l) != 0 {
		t.Fatalf("%d locks left after the aborted commit, e.g. %q", len(l), l[0])
	}
	e.readAll(2*n, func(int) []byte { return nil })
}

// TestPipelinedWriteStall parks the first flush in the store: the write
// that finds the buffer at the throttle size waits PipelinedMaxWriteStall
// and returns a retryable *WriteStallError without being made; once the
// flush is let go, the same write succeeds, writing goes on and the commit
// holds every key.
func TestPipelinedWriteStall(t *testing.T) {
	e := pipeStart(t, nil)
	ctx := t.Context()
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvFlush", Count: 1, Hold: hold, Held: held})
	const stall = 20 * time.Millisecond
	throttled := make(chan txnkv.PipelinedEvent, 16)
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize),
		txnkv.PipelinedThrottleSize(pipeThrottleSize), txnkv.PipelinedMaxWriteStall(stall),
		txnkv.PipelinedHook(func(ev txnkv.PipelinedEvent) {
			if ev.Kind == txnkv.ThrottleEnd {
				throttled <- ev
			}
		})))
	if err != nil {
		t.Fatal(err)
	}
	const n = 600 // well over the throttle size
	stalledAt := -1
	for i := 0; i < n && stalledAt < 0; i++ {
		err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize))
		if err == nil {
			continue
		}
		var se *txnkv.WriteStallError
		if !errors.As(err, &se) || !errors.Is(err, txnkv.ErrWriteStalled) || !txnkv.IsRetryable(err) {
			t.Fatalf("write %d: %v, want a retryable *WriteStallError", i, err)
		}
		if se.Waited != stall || se.Buffered < pipeThrottleSize {
			t.Fatalf("stall error %+v, want waited %v with at least %d bytes buffered", se, stall, pipeThrottleSize)
		}
		stalledAt = i
	}
	if stalledAt < 0 {
		t.Fatal("no write stalled behind the parked flush")
	}
	// The flush the write waited for is the one parked in the store.
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	<-throttled
	// The stalled write was not made: the key reads as absent, the buffer
	// did not grow, and the write stalls again while the flush is parked.
	if v, err := txn.Get(ctx, pipeKey(stalledAt)); !errors.Is(err, txnkv.ErrNotFound) {
		t.Fatalf("Get of the stalled write: %q %v, want ErrNotFound", v, err)
	}
	size := txn.Size()
	if err := txn.Set(pipeKey(stalledAt), pipeValue(stalledAt, pipeValueSize)); !errors.Is(err, txnkv.ErrWriteStalled) {
		t.Fatalf("write behind a still parked flush: %v, want ErrWriteStalled", err)
	}
	if txn.Size() != size {
		t.Fatalf("stalled writes grew the transaction from %d to %d bytes", size, txn.Size())
	}
	close(hold)
	// Later flushes are not parked but may still outlast the short stall
	// on a loaded machine: retry a stalled write until it is made.
	for i := stalledAt; i < n; i++ {
		for {
			err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize))
			if err == nil {
				break
			}
			if !errors.Is(err, txnkv.ErrWriteStalled) {
				t.Fatalf("write %d after the flush went on: %v", i, err)
			}
		}
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.readAll(n, func(i int) []byte { return pipeValue(i, pipeValueSize) })
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedCommitTSRetry parks the primary's commit in the store after
// the commit ts was taken, lets a newer reader push the primary lock's min
// commit ts past it, and releases the commit: TiKV refuses it with
// CommitTsExpired, the commit retries with a newer ts above the pushed
// one and succeeds, the reader saw the old values, and every lock is
// resolved at the new ts.
func TestPipelinedCommitTSRetry(t *testing.T) {
	e := pipeStart(t, nil)
	ctx := t.Context()
	const n = 200
	old := func(i int) []byte { return fmt.Appendf(nil, "old%d", i) }
	seed, err := e.cli.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := seed.Set(pipeKey(i), old(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := seed.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeThrottleSize)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, Hold: hold, Held: held})
	var commits atomic.Int32
	defer e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvCommit" {
			commits.Add(1)
		}
	})()
	committed := make(chan error, 1)
	go func() { committed <- txn.Commit(ctx) }()
	select {
	case <-held:
	case err := <-committed:
		t.Fatalf("commit ended (%v) before its primary reached the store", err)
	}

	// A reader newer than the parked commit's ts meets the primary lock
	// and pushes its min commit ts instead of waiting.
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	readTS := snap.TS()
	for _, i := range []int{0, n - 1} {
		if v, err := snap.Get(ctx, pipeKey(i)); err != nil || string(v) != string(old(i)) {
			t.Fatalf("reader at %d, key %d: %q %v, want the old value", readTS, i, v, err)
		}
	}
	close(hold)
	if err := <-committed; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if txn.CommitTS() <= readTS || commits.Load() < 2 {
		t.Fatalf("commit ts %d after %d KvCommit requests; want above the reader's %d after a retry", txn.CommitTS(), commits.Load(), readTS)
	}
	e.readAll(n, func(i int) []byte { return pipeValue(i, pipeValueSize) })
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if l := e.locksOf(txn.StartTS()); len(l) != 0 {
		t.Fatalf("%d locks left after the background resolution, e.g. %q", len(l), l[0])
	}
	// The secondaries were resolved at the retried ts, not the refused one.
	at, err := e.cli.Snapshot(ctx, txn.CommitTS()-1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := at.Get(ctx, pipeKey(n-1)); err != nil || string(v) != string(old(n-1)) {
		t.Fatalf("read just below the commit ts: %q %v, want the old value", v, err)
	}
}

// TestPipelinedCommitTSExpiredGivesUp makes the store refuse every commit
// of the primary with CommitTsExpired: after three newer timestamps the
// commit returns a retryable *CommitTSExpiredError and the flushed locks
// are rolled back.
func TestPipelinedCommitTSExpiredGivesUp(t *testing.T) {
	e := pipeStart(t, nil)
	ctx := t.Context()
	const n = 200
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeThrottleSize)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", KeyError: &kvrpcpb.KeyError{CommitTsExpired: &kvrpcpb.CommitTsExpired{
		StartTs: uint64(txn.StartTS()), MinCommitTs: uint64(txn.StartTS()) + 1, Key: pipeKey(0),
	}}})
	var commits atomic.Int32
	defer e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvCommit" {
			commits.Add(1)
		}
	})()
	err = txn.Commit(ctx)
	var expired *twopc.CommitTSExpiredError
	if !errors.As(err, &expired) || !errors.Is(err, txnkv.ErrCommitTSExpired) || !txnkv.IsRetryable(err) {
		t.Fatalf("commit: %v, want a retryable *CommitTSExpiredError", err)
	}
	if c := commits.Load(); c != 4 {
		t.Fatalf("%d KvCommit requests, want the first and three retries", c)
	}
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if l := e.locksOf(txn.StartTS()); len(l) != 0 {
		t.Fatalf("%d locks left after the rollback, e.g. %q", len(l), l[0])
	}
	e.readAll(n, func(int) []byte { return nil })
}
