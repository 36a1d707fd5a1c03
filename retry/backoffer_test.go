package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// TestBudgetExhausted backs off until the budget runs out and checks the
// final error's content.
func TestBudgetExhausted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		bo := retry.New(time.Second)
		start := time.Now()
		var err error
		var calls int
		// RegionMiss sleeps 2, 4, ..., 256 ms (510 ms in all); the 9th
		// sleep, 500 ms, would end at 1010 ms > 1 s, so it is refused.
		for calls = 1; calls < 100; calls++ {
			if err = bo.Backoff(ctx, retry.RegionMiss, fmt.Errorf("cause %d", calls)); err != nil {
				break
			}
		}
		if calls != 9 {
			t.Fatalf("refused at backoff %d, want 9", calls)
		}
		if got := time.Since(start); got != 510*ms {
			t.Fatalf("slept %v, want 510ms: a refused backoff must not sleep", got)
		}
		var ee *retry.ExhaustedError
		if !errors.As(err, &ee) {
			t.Fatalf("err = %T %v, want *ExhaustedError", err, err)
		}
		if ee.Kind != retry.RegionMiss || ee.Longest != retry.RegionMiss || ee.Reason != retry.ErrBudgetExhausted ||
			ee.Budget != time.Second || ee.Slept != 510*ms {
			t.Fatalf("ExhaustedError = %+v", ee)
		}
		if len(ee.Tries) != 1 || ee.Tries[0] != (retry.KindStats{Kind: retry.RegionMiss, Sleeps: 8, Slept: 510 * ms}) {
			t.Fatalf("Tries = %+v", ee.Tries)
		}
		if ee.Cause == nil || ee.Cause.Error() != "cause 9" {
			t.Fatalf("Cause = %v, want cause 9", ee.Cause)
		}
		var recent []string
		for _, r := range ee.Recent {
			recent = append(recent, r.Error())
		}
		if strings.Join(recent, ",") != "cause 7,cause 8,cause 9" {
			t.Fatalf("Recent = %v", recent)
		}
		msg := err.Error()
		for _, want := range []string{"budget exhausted", "regionMiss", "510ms", "1s", "×8", "last error: cause 9", "earlier errors: cause 7; cause 8"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Error() = %q, missing %q", msg, want)
			}
		}
		if !errors.Is(err, retry.ErrBudgetExhausted) || !errors.Is(err, retry.ErrRegionUnavailable) {
			t.Fatalf("errors.Is fails on sentinels: %v", err)
		}
		if got := bo.Remaining(); got != 0 {
			t.Fatalf("Remaining = %v after exhaustion, want 0", got)
		}
		// Exhaustion sticks, even for a kind whose next sleep would fit.
		err = bo.BackoffAtMost(ctx, retry.StaleCommand, 0, errors.New("later"))
		if !errors.As(err, &ee) || ee.Kind != retry.StaleCommand || ee.Longest != retry.RegionMiss ||
			!errors.Is(err, retry.ErrStaleCommand) || !errors.Is(err, retry.ErrRegionUnavailable) {
			t.Fatalf("after exhaustion: %v", err)
		}
		if got := time.Since(start); got != 510*ms {
			t.Fatalf("slept %v after exhaustion", got)
		}
	})
}

// TestLongestKind checks that the final error names the kind that slept
// longest, as client-go does, beside the kind that was refused.
func TestLongestKind(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		bo := retry.New(2 * time.Second)
		steps := []*retry.Kind{retry.RegionMiss, retry.DiskFull, retry.RegionMiss, retry.DiskFull, retry.RegionMiss}
		for i, k := range steps { // 2 + 500 + 4 + 1000 + 8 ms
			if err := bo.Backoff(ctx, k, nil); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		// DiskFull's third sleep (2 s) does not fit.
		err := bo.Backoff(ctx, retry.DiskFull, errors.New("disk full"))
		var ee *retry.ExhaustedError
		if !errors.As(err, &ee) || ee.Kind != retry.DiskFull || ee.Longest != retry.DiskFull || ee.Slept != 1514*ms {
			t.Fatalf("err = %v", err)
		}
		want := []retry.KindStats{{Kind: retry.RegionMiss, Sleeps: 3, Slept: 14 * ms}, {Kind: retry.DiskFull, Sleeps: 2, Slept: 1500 * ms}}
		if len(ee.Tries) != 2 || ee.Tries[0] != want[0] || ee.Tries[1] != want[1] {
			t.Fatalf("Tries = %+v, want %+v", ee.Tries, want)
		}
		if !errors.Is(err, retry.ErrDiskFull) || errors.Is(err, retry.ErrRegionUnavailable) {
			t.Fatalf("sentinels wrong: %v", err)
		}
		if ee.Cause == nil || len(ee.Recent) != 3 || ee.Recent[0] != nil || ee.Recent[2] != ee.Cause {
			t.Fatalf("Recent = %v, Cause = %v", ee.Recent, ee.Cause)
		}
		if !strings.Contains(err.Error(), "<nil>") {
			t.Fatalf("nil causes not shown: %q", err)
		}
		if got := bo.Tries(); len(got) != 2 || got[1] != want[1] {
			t.Fatalf("Backoffer.Tries = %+v", got)
		}
	})
}

func TestZeroBudget(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	for name, bo := range map[string]*retry.Backoffer{
		"New(0)":     retry.New(0),
		"New(-1)":    retry.New(-time.Second),
		"zero value": new(retry.Backoffer),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := bo.BackoffAtMost(t.Context(), retry.RegionMiss, 0, cause)
			var ee *retry.ExhaustedError
			if !errors.As(err, &ee) || ee.Budget != 0 || ee.Slept != 0 || len(ee.Tries) != 0 || ee.Longest != nil || !errors.Is(err, cause) {
				t.Fatalf("err = %v", err)
			}
			if bo.Budget() != 0 || bo.Remaining() != 0 || bo.Slept() != 0 || bo.Attempts(retry.RegionMiss) != 0 {
				t.Fatalf("budget %v remaining %v slept %v attempts %d", bo.Budget(), bo.Remaining(), bo.Slept(), bo.Attempts(retry.RegionMiss))
			}
		})
	}
}

func TestNilKind(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	err := retry.New(time.Second).Backoff(t.Context(), nil, cause)
	if !errors.Is(err, retry.ErrInvalidKind) || !errors.Is(err, cause) {
		t.Fatalf("err = %v", err)
	}
}

// TestCancelEndsSleep cancels the ctx while a backoff sleeps: it returns at
// once, and only the time actually slept is charged.
func TestCancelEndsSleep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		bo := retry.New(time.Minute)
		cause := &tempError{msg: "busy"}
		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- bo.Backoff(ctx, retry.ServerBusy, cause) }()
		synctest.Wait() // the backoff is asleep on its timer
		cancel()
		err := <-errc
		if got := time.Since(start); got != 0 {
			t.Fatalf("cancel took %v of fake time, want 0", got)
		}
		var ie *retry.InterruptedError
		if !errors.As(err, &ie) || ie.Kind != retry.ServerBusy || ie.Slept != 0 {
			t.Fatalf("err = %T %v", err, err)
		}
		if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
			t.Fatalf("errors.Is through InterruptedError fails: %v", err)
		}
		if retry.IsRetryable(err) {
			t.Fatal("an interrupted backoff must not be retryable, even with a retryable cause")
		}
		if !strings.Contains(err.Error(), "tikvServerBusy backoff interrupted: context canceled: last error: busy") {
			t.Fatalf("Error() = %q", err)
		}
		if bo.Slept() != 0 || bo.Attempts(retry.ServerBusy) != 1 {
			t.Fatalf("Slept = %v, Attempts = %d", bo.Slept(), bo.Attempts(retry.ServerBusy))
		}
	})
}

// TestDeadlineDuringSleep charges what was slept before the deadline.
func TestDeadlineDuringSleep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*ms)
		defer cancel()
		bo := retry.New(time.Minute)
		start := time.Now()
		err := bo.Backoff(ctx, retry.DiskFull, nil) // wants 500 ms
		if got := time.Since(start); got != 300*ms {
			t.Fatalf("returned after %v, want 300ms", got)
		}
		var ie *retry.InterruptedError
		if !errors.As(err, &ie) || ie.Slept != 300*ms || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if ie.Error() != "retry: tikvDiskFull backoff interrupted: context deadline exceeded" {
			t.Fatalf("Error() = %q", ie.Error())
		}
		if bo.Slept() != 300*ms || bo.Remaining() != time.Minute-300*ms {
			t.Fatalf("Slept = %v, Remaining = %v", bo.Slept(), bo.Remaining())
		}
		if tr := bo.Tries(); len(tr) != 1 || tr[0].Slept != 300*ms || tr[0].Sleeps != 1 {
			t.Fatalf("Tries = %+v", tr)
		}
	})
}

func TestDoneCtxDoesNotSleep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	bo := retry.New(time.Minute)
	err := bo.Backoff(ctx, retry.ServerBusy, nil)
	if !errors.Is(err, context.Canceled) || bo.Attempts(retry.ServerBusy) != 0 || bo.Slept() != 0 {
		t.Fatalf("err = %v, attempts %d, slept %v", err, bo.Attempts(retry.ServerBusy), bo.Slept())
	}
}

func TestBackoffOrWake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bo := retry.New(time.Minute)
		wake := make(chan struct{})
		errc := make(chan error, 1)
		start := time.Now()
		// The backoff wants at least 250 ms; wake it after 100 ms of
		// fake time.
		time.AfterFunc(100*ms, func() { close(wake) })
		go func() { errc <- bo.BackoffOrWake(t.Context(), retry.PDRPC, wake, nil) }()
		if err := <-errc; err != nil {
			t.Fatalf("woken backoff: %v", err)
		}
		if got := time.Since(start); got != 100*ms {
			t.Fatalf("woken after %v, want 100ms", got)
		}
		if bo.Slept() != 100*ms {
			t.Fatalf("Slept = %v, want 100ms", bo.Slept())
		}
		// A nil wake channel never fires.
		start = time.Now()
		if err := bo.BackoffOrWake(t.Context(), retry.RegionMiss, nil, nil); err != nil || time.Since(start) != 2*ms {
			t.Fatalf("nil wake: %v after %v", err, time.Since(start))
		}
	})
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		kind := mustKind(t, "limited", flat(ms), retry.NoJitter, nil, retry.WithMaxAttempts(2))
		bo := retry.New(time.Minute)
		for i := range 2 {
			if err := bo.Backoff(ctx, kind, nil); err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		cause := errors.New("third")
		err := bo.Backoff(ctx, kind, cause)
		var ee *retry.ExhaustedError
		if !errors.As(err, &ee) || ee.Reason != retry.ErrMaxAttempts || !errors.Is(err, retry.ErrMaxAttempts) ||
			errors.Is(err, retry.ErrBudgetExhausted) || !errors.Is(err, cause) {
			t.Fatalf("err = %v", err)
		}
		if !strings.HasPrefix(err.Error(), "retry: backoff attempts exhausted backing off for limited") {
			t.Fatalf("Error() = %q", err)
		}
		// The limit is per kind and per Backoffer: other kinds and forks
		// go on.
		if err := bo.Backoff(ctx, retry.RegionMiss, nil); err != nil {
			t.Fatalf("other kind: %v", err)
		}
		if err := bo.Fork().Backoff(ctx, kind, nil); err != nil {
			t.Fatalf("fork: %v", err)
		}
	})
}

// TestSeparateBudget checks that server-busy style kinds do not consume the
// operation budget but a pool of their own.
func TestSeparateBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		busy := mustKind(t, "busy", flat(time.Second), retry.NoJitter, errors.New("busy"), retry.WithSeparateBudget(3*time.Second))
		bo := retry.New(2 * time.Second)
		for i := range 3 {
			if err := bo.Backoff(ctx, busy, nil); err != nil {
				t.Fatalf("busy %d: %v", i, err)
			}
		}
		if bo.Remaining() != 2*time.Second || bo.Slept() != 3*time.Second {
			t.Fatalf("Remaining = %v, Slept = %v", bo.Remaining(), bo.Slept())
		}
		err := bo.Backoff(ctx, busy, nil)
		var ee *retry.ExhaustedError
		if !errors.As(err, &ee) || ee.Reason != retry.ErrBudgetExhausted || ee.Longest != nil || !errors.Is(err, busy.Err()) {
			t.Fatalf("pool exhausted: %v", err)
		}
		// The operation budget is intact, and a full pool does not stick.
		for i, want := range []time.Duration{2 * ms, 4 * ms} {
			start := time.Now()
			if err := bo.Backoff(ctx, retry.RegionMiss, nil); err != nil || time.Since(start) != want {
				t.Fatalf("regionMiss %d: %v after %v", i, err, time.Since(start))
			}
		}
	})
}

// TestServerBusyPool runs the predefined ServerBusy kind against a small
// operation budget: it may sleep up to its 10-minute pool.
func TestServerBusyPool(t *testing.T) {
	t.Parallel()
	rnd := seededRand(t)
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		bo := retry.New(time.Second, retry.WithRand(rnd))
		start := time.Now()
		var err error
		for err == nil {
			err = bo.Backoff(ctx, retry.ServerBusy, nil)
		}
		slept := time.Since(start)
		if slept > 10*time.Minute || slept < 10*time.Minute-10*time.Second {
			t.Fatalf("slept %v, want within the last sleep of 10m", slept)
		}
		if !errors.Is(err, retry.ErrServerIsBusy) || !errors.Is(err, retry.ErrBudgetExhausted) || bo.Remaining() != time.Second {
			t.Fatalf("err = %v, Remaining = %v", err, bo.Remaining())
		}
		// Once the operation budget is exhausted, server busy gives up too.
		for err == nil || !errors.Is(err, retry.ErrRegionUnavailable) {
			err = bo.Backoff(ctx, retry.RegionMiss, nil)
		}
		if err := bo.BackoffAtMost(ctx, retry.ServerBusy, 0, nil); !errors.Is(err, retry.ErrBudgetExhausted) {
			t.Fatalf("server busy after exhaustion: %v", err)
		}
	})
}

// TestManyKinds backs off for more kinds than a Backoffer tracks inline.
func TestManyKinds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		kinds := []*retry.Kind{retry.RegionMiss, retry.RegionScheduling, retry.StaleCommand, retry.MaxTSNotSynced,
			retry.TxnNotFound, retry.CommitTSLag, retry.RegionNotInitialized}
		bo := retry.New(time.Minute)
		for round := range 2 {
			for _, k := range kinds {
				if err := bo.Backoff(t.Context(), k, nil); err != nil {
					t.Fatalf("round %d %v: %v", round, k, err)
				}
			}
		}
		tries := bo.Tries()
		if len(tries) != len(kinds) {
			t.Fatalf("Tries = %+v", tries)
		}
		for i, k := range kinds {
			if tries[i] != (retry.KindStats{Kind: k, Sleeps: 2, Slept: 6 * ms}) || bo.Attempts(k) != 2 {
				t.Errorf("kind %v: %+v, attempts %d", k, tries[i], bo.Attempts(k))
			}
		}
		if bo.Attempts(retry.TiKVRPC) != 0 || bo.Slept() != time.Duration(len(kinds))*6*ms {
			t.Fatalf("Attempts(unused) = %d, Slept = %v", bo.Attempts(retry.TiKVRPC), bo.Slept())
		}
	})
}

// TestZeroBaseRetriesImmediately: a zero curve retries without sleeping,
// bounded by the kind's attempt limit.
func TestZeroBaseRetriesImmediately(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		kind := mustKind(t, "now", retry.Backoff{}, retry.EqualJitter, nil, retry.WithMaxAttempts(3))
		var calls int
		start := time.Now()
		err := retry.Do(t.Context(), retry.Policy{Kind: kind, Budget: time.Second}, func(context.Context) error {
			calls++
			return &tempError{msg: "again"}
		})
		if calls != 4 || time.Since(start) != 0 || !errors.Is(err, retry.ErrMaxAttempts) {
			t.Fatalf("calls %d, slept %v, err %v", calls, time.Since(start), err)
		}
	})
}
