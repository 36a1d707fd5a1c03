package retry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// recorder collects observer events; forks call it concurrently.
type recorder struct {
	mu     sync.Mutex
	events []retry.BackoffEvent
}

func (r *recorder) observe(ev retry.BackoffEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) all() []retry.BackoffEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]retry.BackoffEvent(nil), r.events...)
}

func TestObserver(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		bo := retry.New(20*ms, retry.WithObserver(rec.observe))
		c1, c2 := errors.New("c1"), errors.New("c2")
		ctx := t.Context()
		_ = bo.Backoff(ctx, retry.RegionMiss, c1) // 2 ms
		_ = bo.Backoff(ctx, retry.RegionMiss, c2) // 4 ms
		wake := make(chan struct{})
		time.AfterFunc(ms, func() { close(wake) })
		_ = bo.BackoffOrWake(ctx, retry.RegionMiss, wake, nil) // wants 8, woken at 1
		_ = bo.Backoff(ctx, retry.RegionMiss, nil)             // wants 16: refused
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_ = bo.Backoff(cctx, retry.TiKVRPC, c1)
		want := []retry.BackoffEvent{
			{Kind: retry.RegionMiss, Attempt: 1, Delay: 2 * ms, Slept: 2 * ms, Total: 2 * ms, Outcome: retry.OutcomeSlept, Cause: c1},
			{Kind: retry.RegionMiss, Attempt: 2, Delay: 4 * ms, Slept: 4 * ms, Total: 6 * ms, Outcome: retry.OutcomeSlept, Cause: c2},
			{Kind: retry.RegionMiss, Attempt: 3, Delay: 8 * ms, Slept: ms, Total: 7 * ms, Outcome: retry.OutcomeWoken},
			{Kind: retry.RegionMiss, Attempt: 4, Delay: 16 * ms, Slept: 0, Total: 7 * ms, Outcome: retry.OutcomeExhausted},
			{Kind: retry.TiKVRPC, Attempt: 1, Total: 7 * ms, Outcome: retry.OutcomeInterrupted, Cause: c1},
		}
		got := rec.all()
		if len(got) != len(want) {
			t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %+v\n want %+v", i, got[i], want[i])
			}
		}
	})
}

// TestObserverForks checks forks report to the root's observer, with
// operation-wide totals.
func TestObserverForks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		step := mustKind(t, "step", flat(ms), retry.NoJitter, nil)
		root := retry.New(time.Second, retry.WithObserver(nil), retry.WithRand(nil), nil, retry.WithObserver(rec.observe))
		var wg sync.WaitGroup
		for range 4 {
			f := root.Fork()
			wg.Go(func() {
				for range 5 {
					_ = f.Backoff(t.Context(), step, nil)
				}
			})
		}
		wg.Wait()
		got := rec.all()
		if len(got) != 20 {
			t.Fatalf("%d events, want 20", len(got))
		}
		var maxTotal time.Duration
		for _, ev := range got {
			if ev.Outcome != retry.OutcomeSlept || ev.Attempt < 1 || ev.Attempt > 5 {
				t.Fatalf("event %+v", ev)
			}
			maxTotal = max(maxTotal, ev.Total)
		}
		if maxTotal != 20*ms {
			t.Fatalf("largest Total %v, want 20ms", maxTotal)
		}
	})
}
