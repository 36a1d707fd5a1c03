package e2e_test

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tikvgo/tikvgo/tikv"
)

// TestConcurrentSafeCASCounter has goroutines, each with its own atomic-mode
// client, race to increment one counter with CompareAndSwap. Every swap TiKV
// reports must be counted exactly once: the final value equals the number of
// successful swaps, and every failed swap saw a value other than the one it
// expected.
func TestConcurrentSafeCASCounter(t *testing.T) {
	plain := newClient(t) // DeleteRange, used by the cleanup, is not allowed in atomic mode
	ks := newKeyspace(t, plain)
	const (
		workers  = 6
		attempts = 25
	)
	clients := make([]*tikv.Client, workers)
	for i := range clients {
		clients[i] = newClient(t, tikv.WithAtomicForCAS())
	}
	key := ks.key("counter")
	ctx := callCtx(t)

	var swaps, conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for _, cli := range clients {
		wg.Go(func() {
			raw := cli.Raw()
			var cur []byte // nil: the key must not exist yet
			for range attempts {
				next := []byte("1")
				if cur != nil {
					n, err := strconv.Atoi(string(cur))
					if err != nil {
						errs <- err
						return
					}
					next = strconv.AppendInt(nil, int64(n+1), 10)
				}
				res, err := raw.CompareAndSwap(ctx, key, cur, next)
				if err != nil {
					errs <- err
					return
				}
				if res.Swapped {
					swaps.Add(1)
					cur = next
					continue
				}
				if res.Existed == (cur != nil) && bytes.Equal(res.Previous, cur) {
					errs <- &casMismatch{expected: cur, previous: res.Previous}
					return
				}
				conflicts.Add(1)
				cur = res.Previous
				if !res.Existed {
					cur = nil
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("CAS worker: %v", err)
	}
	got, err := clients[0].Raw().Get(callCtx(t), key)
	if err != nil {
		t.Fatalf("Get counter: %v", err)
	}
	n, err := strconv.Atoi(string(got))
	if err != nil {
		t.Fatalf("counter value %q: %v", got, err)
	}
	t.Logf("%d swaps, %d conflicts", swaps.Load(), conflicts.Load())
	if int64(n) != swaps.Load() {
		t.Fatalf("counter = %d, but %d CompareAndSwap calls reported a swap", n, swaps.Load())
	}
	if swaps.Load() < attempts {
		// Each of one worker's failed attempts needs a swap made after its
		// previous look at the counter, so every worker's attempts are
		// matched by distinct swaps: there are at least as many swaps as
		// one worker's attempts.
		t.Fatalf("only %d swaps out of %d attempts", swaps.Load(), workers*attempts)
	}
}

// TestConcurrentSafeCASCreateOnce races goroutines to create one key with a
// nil expected value: exactly one wins, and every loser sees the winner's
// value.
func TestConcurrentSafeCASCreateOnce(t *testing.T) {
	plain := newClient(t)
	ks := newKeyspace(t, plain)
	cli := newClient(t, tikv.WithAtomicForCAS())
	key := ks.key("once")
	ctx := callCtx(t)
	const workers = 16
	results := make([]tikv.CASResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			results[i], errs[i] = cli.Raw().CompareAndSwap(ctx, key, nil, []byte("w"+strconv.Itoa(i)))
		})
	}
	wg.Wait()
	winner := -1
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if res.Swapped {
			if winner >= 0 {
				t.Fatalf("workers %d and %d both created the key", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no worker created the key")
	}
	want := []byte("w" + strconv.Itoa(winner))
	for i, res := range results {
		if i != winner && (!res.Existed || !bytes.Equal(res.Previous, want)) {
			t.Fatalf("loser %d saw existed=%v previous=%q, want the winner's %q", i, res.Existed, res.Previous, want)
		}
	}
	got, err := cli.Raw().Get(callCtx(t), key)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

// casMismatch reports a CAS that failed although the key held exactly the
// expected value.
type casMismatch struct{ expected, previous []byte }

func (e *casMismatch) Error() string {
	return "CompareAndSwap did not swap although the key held the expected value " +
		strconv.Quote(string(e.expected)) + " (previous " + strconv.Quote(string(e.previous)) + ")"
}
