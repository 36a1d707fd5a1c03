package retry_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// TestConcurrentSafeForkSharedBudget runs forks on many goroutines against
// one budget: together they sleep exactly the budget and then all give up.
func TestConcurrentSafeForkSharedBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const workers = 8
		step := mustKind(t, "step", flat(100*ms), retry.NoJitter, nil)
		root := retry.New(time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		sleepsPer := make([]int, workers)
		errs := make([]error, workers)
		for w := range workers {
			bo := root.Fork()
			if w%2 == 1 {
				bo = bo.Fork() // a fork of a fork shares the same budget
			}
			wg.Go(func() {
				for {
					if err := bo.Backoff(t.Context(), step, nil); err != nil {
						errs[w] = err
						return
					}
					sleepsPer[w]++
				}
			})
		}
		wg.Wait()
		total := 0
		for w := range workers {
			total += sleepsPer[w]
			if !errors.Is(errs[w], retry.ErrBudgetExhausted) {
				t.Errorf("worker %d: %v", w, errs[w])
			}
		}
		if total != 10 {
			t.Fatalf("forks slept %d times in all, want 10 (1s / 100ms)", total)
		}
		if root.Slept() != time.Second || root.Remaining() != 0 {
			t.Fatalf("root Slept = %v, Remaining = %v", root.Slept(), root.Remaining())
		}
		// The sleeps overlapped: 10 sleeps of 100 ms on 8 goroutines.
		if got := time.Since(start); got != 200*ms {
			t.Fatalf("wall (fake) time %v, want 200ms", got)
		}
		if tr := root.Tries(); len(tr) != 1 || tr[0].Sleeps != 10 {
			t.Fatalf("root Tries = %+v", tr)
		}
		// The root itself never backed off: forks keep their own sequences.
		if root.Attempts(step) != 0 {
			t.Fatalf("root Attempts = %d", root.Attempts(step))
		}
	})
}

// TestConcurrentSafeSharedBackoffer uses one Backoffer from many goroutines
// from its very first backoff, when it creates its accounting.
func TestConcurrentSafeSharedBackoffer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		step := mustKind(t, "step", flat(10*ms), retry.NoJitter, nil)
		bo := retry.New(time.Second)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for bo.Backoff(t.Context(), step, nil) == nil {
				}
			})
		}
		wg.Wait()
		if bo.Slept() != time.Second || bo.Attempts(step) != 100 {
			t.Fatalf("Slept = %v, Attempts = %d", bo.Slept(), bo.Attempts(step))
		}
	})
}

func TestForkStartsOwnSequence(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := retry.New(time.Minute)
		sleeps(t, root, retry.RegionMiss, 3) // 2, 4, 8 ms
		fork := root.Fork()
		if got := sleeps(t, fork, retry.RegionMiss, 2); got[0] != 2*ms || got[1] != 4*ms {
			t.Fatalf("fork sleeps %v, want [2ms 4ms]", got)
		}
		if got := sleeps(t, root, retry.RegionMiss, 1); got[0] != 16*ms {
			t.Fatalf("root's 4th sleep %v, want 16ms", got)
		}
		if root.Slept() != 36*ms || fork.Slept() != 36*ms || fork.Budget() != time.Minute {
			t.Fatalf("shared accounting: root %v, fork %v", root.Slept(), fork.Slept())
		}
		if fork.Attempts(retry.RegionMiss) != 2 || root.Attempts(retry.RegionMiss) != 4 {
			t.Fatalf("attempts fork %d root %d", fork.Attempts(retry.RegionMiss), root.Attempts(retry.RegionMiss))
		}
	})
}

// TestClone gives a child a copy of what is left: its sleeps are not charged
// to the parent, nor the parent's to it.
func TestClone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		step := mustKind(t, "step", flat(300*ms), retry.NoJitter, retry.ErrResolveLockTimeout)
		parent := retry.New(time.Second)
		if err := parent.Backoff(ctx, step, errors.New("first")); err != nil {
			t.Fatal(err)
		}
		child := parent.Clone()
		if child.Remaining() != 700*ms || child.Slept() != 300*ms || child.Budget() != time.Second {
			t.Fatalf("clone: Remaining %v Slept %v Budget %v", child.Remaining(), child.Slept(), child.Budget())
		}
		for i := range 2 {
			if err := child.Backoff(ctx, step, fmt.Errorf("c%d", i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if parent.Remaining() != 700*ms {
			t.Fatalf("parent charged for the clone: Remaining %v", parent.Remaining())
		}
		err := child.Backoff(ctx, step, errors.New("c3"))
		var ee *retry.ExhaustedError
		if !errors.As(err, &ee) || ee.Slept != 900*ms || ee.Tries[0].Sleeps != 3 || len(ee.Recent) != 3 || ee.Recent[0].Error() != "c1" {
			t.Fatalf("clone exhausted: %+v", err)
		}
		// The parent goes on with its own budget.
		for range 2 {
			if err := parent.Backoff(ctx, step, nil); err != nil {
				t.Fatalf("parent after clone: %v", err)
			}
		}
		if parent.Slept() != 900*ms || parent.Remaining() != 100*ms {
			t.Fatalf("parent Slept %v Remaining %v", parent.Slept(), parent.Remaining())
		}
	})
}

// TestCloneDerivesRand checks that a clone's jitter comes from the parent's
// seeded source (reproducible), without sharing it.
func TestCloneDerivesRand(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		run := func() []time.Duration {
			parent := retry.New(retry.Unbounded, retry.WithRand(rngFor(7)))
			c1, c2 := parent.Clone(), parent.Clone()
			a := sleeps(t, c1, retry.TiKVRPC, 4)
			return append(a, sleeps(t, c2, retry.TiKVRPC, 4)...)
		}
		a, b := run(), run()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("clones of equally seeded parents differ: %v vs %v", a, b)
			}
		}
		same := true
		for i := range 4 {
			same = same && a[i] == a[4+i]
		}
		if same {
			t.Fatalf("two clones drew the same jitter %v: the source is not derived per clone", a)
		}
	})
}

// TestResetStartsOver reuses a Backoffer that slept, counted, failed and was
// forked: after Reset it behaves as a new one, and the old fork no longer
// shares its budget.
func TestResetStartsOver(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		step := mustKind(t, "step", flat(100*ms), retry.NoJitter, nil)
		events := 0
		observe := retry.WithObserver(func(retry.BackoffEvent) { events++ })
		bo := retry.New(200*ms, observe)
		old := bo.Fork()
		for bo.Backoff(t.Context(), step, errors.New("busy")) == nil {
		}
		if bo.Remaining() != 0 || events == 0 {
			t.Fatalf("before Reset: Remaining %v, %d observed backoffs", bo.Remaining(), events)
		}
		before := events
		bo.Reset(time.Second)
		if bo.Budget() != time.Second || bo.Slept() != 0 || bo.Remaining() != time.Second || bo.Attempts(step) != 0 || len(bo.Tries()) != 0 {
			t.Fatalf("after Reset: Budget %v Slept %v Remaining %v Attempts %d Tries %v",
				bo.Budget(), bo.Slept(), bo.Remaining(), bo.Attempts(step), bo.Tries())
		}
		if err := bo.Backoff(t.Context(), step, nil); err != nil {
			t.Fatal(err)
		}
		if events != before {
			t.Fatalf("the observer given before Reset still sees backoffs: %d more", events-before)
		}
		if err := old.Backoff(t.Context(), step, nil); !errors.Is(err, retry.ErrBudgetExhausted) {
			t.Fatalf("fork made before Reset: %v, want its old budget exhausted", err)
		}
		if bo.Slept() != 100*ms {
			t.Fatalf("the old fork's attempt was charged to the reset Backoffer: Slept %v", bo.Slept())
		}
	})
}
