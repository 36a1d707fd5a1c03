package retry_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// sleeps backs off n times for kind on a fresh Backoffer and returns how long
// each backoff took on the bubble's fake clock. It must run inside a synctest
// bubble, where a timer fires exactly at its deadline.
func sleeps(t *testing.T, bo *retry.Backoffer, kind *retry.Kind, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		if err := bo.Backoff(t.Context(), kind, errors.New("boom")); err != nil {
			t.Fatalf("backoff %d: %v", i, err)
		}
		out[i] = time.Since(start)
	}
	return out
}

// expo is the un-jittered delay n of a curve.
func expo(c retry.Backoff, n int) time.Duration {
	m := c.Multiplier
	if m == 0 {
		m = 2
	}
	v := float64(c.Base) * math.Pow(m, float64(n))
	if v >= float64(c.Max) {
		return c.Max
	}
	return time.Duration(v)
}

// TestKindDelays checks every predefined kind's sequence: it grows from the
// base, reaches the cap and stays within the jitter policy's bounds.
func TestKindDelays(t *testing.T) {
	t.Parallel()
	const n = 14 // 2 ms doubled 13 times passes every cap
	for _, kind := range retry.Kinds() {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			rnd := seededRand(t)
			synctest.Test(t, func(t *testing.T) {
				c := kind.Backoff()
				got := sleeps(t, retry.New(retry.Unbounded, retry.WithRand(rnd)), kind, n)
				for i, d := range got {
					v := expo(c, i)
					var lo, hi time.Duration // inclusive
					switch kind.Jitter() {
					case retry.NoJitter:
						lo, hi = v, v
					case retry.EqualJitter:
						lo, hi = v/2, v-1
					case retry.FullJitter:
						lo, hi = 0, v-1
					case retry.ProportionalJitter:
						lo = time.Duration(float64(v) * (1 - c.Jitter))
						hi = min(c.Max, time.Duration(float64(v)*(1+c.Jitter)))
					default:
						t.Fatalf("no bounds for %v", kind.Jitter())
					}
					if d < lo || d > hi {
						t.Errorf("sleep %d = %v, want in [%v, %v]", i, d, lo, hi)
					}
				}
				if expo(c, n-1) != c.Max {
					t.Errorf("%d backoffs never reached the cap %v", n, c.Max)
				}
			})
		})
	}
}

// TestNoJitterExactSequence spells one sequence out: doubling from the base,
// capped.
func TestNoJitterExactSequence(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		got := sleeps(t, retry.New(retry.Unbounded), retry.RegionMiss, 10)
		want := []time.Duration{2 * ms, 4 * ms, 8 * ms, 16 * ms, 32 * ms, 64 * ms, 128 * ms, 256 * ms, 500 * ms, 500 * ms}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("sleeps = %v, want %v", got, want)
			}
		}
	})
}

func TestJitterPolicies(t *testing.T) {
	t.Parallel()
	curve := retry.Backoff{Base: 10 * ms, Max: 400 * ms, Multiplier: 3, Jitter: 0.5}
	tests := []struct {
		jitter retry.JitterPolicy
		// bounds returns the inclusive bounds of sleep i given the previous sleep.
		bounds func(i int, prev time.Duration) (lo, hi time.Duration)
	}{
		{retry.NoJitter, func(i int, _ time.Duration) (time.Duration, time.Duration) {
			return expo(curve, i), expo(curve, i)
		}},
		{retry.FullJitter, func(i int, _ time.Duration) (time.Duration, time.Duration) {
			return 0, expo(curve, i) - 1
		}},
		{retry.EqualJitter, func(i int, _ time.Duration) (time.Duration, time.Duration) {
			return expo(curve, i) / 2, expo(curve, i) - 1
		}},
		{retry.DecorrelatedJitter, func(i int, prev time.Duration) (time.Duration, time.Duration) {
			if i == 0 {
				prev = curve.Base
			}
			return curve.Base, min(curve.Max, 3*prev-1)
		}},
		{retry.ProportionalJitter, func(i int, _ time.Duration) (time.Duration, time.Duration) {
			v := float64(expo(curve, i))
			return time.Duration(v * 0.5), min(curve.Max, time.Duration(v*1.5))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.jitter.String(), func(t *testing.T) {
			t.Parallel()
			kind := mustKind(t, "k", curve, tt.jitter, nil)
			rnd := seededRand(t)
			synctest.Test(t, func(t *testing.T) {
				// Many sequences, so that the random draws cover the range.
				distinct := map[time.Duration]bool{}
				for range 20 {
					got := sleeps(t, retry.New(retry.Unbounded, retry.WithRand(rnd)), kind, 8)
					for i, d := range got {
						var prev time.Duration
						if i > 0 {
							prev = got[i-1]
						}
						lo, hi := tt.bounds(i, prev)
						if d < lo || d > hi {
							t.Fatalf("sleep %d = %v after %v, want in [%v, %v] (sequence %v)", i, d, prev, lo, hi, got)
						}
						distinct[d] = true
					}
				}
				if tt.jitter != retry.NoJitter && len(distinct) < 20 {
					t.Errorf("only %d distinct sleeps: jitter is not random", len(distinct))
				}
			})
		})
	}
}

// TestSeededRandIsDeterministic shows the injected source decides the jitter.
func TestSeededRandIsDeterministic(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		run := func() []time.Duration {
			bo := retry.New(retry.Unbounded, retry.WithRand(rngFor(42)))
			return sleeps(t, bo, retry.TiKVRPC, 6)
		}
		a, b := run(), run()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("same seed, different sleeps: %v vs %v", a, b)
			}
		}
	})
}

// TestBackoffAtMost caps single sleeps without changing the sequence.
func TestBackoffAtMost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		bo := retry.New(time.Second)
		start := time.Now()
		if err := bo.BackoffAtMost(ctx, retry.RegionMiss, ms, nil); err != nil {
			t.Fatal(err)
		}
		if err := bo.BackoffAtMost(ctx, retry.RegionMiss, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := bo.BackoffAtMost(ctx, retry.RegionMiss, -5, nil); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != ms {
			t.Fatalf("capped sleeps took %v, want 1ms", got)
		}
		// The uncapped sequence went on: the 4th delay is 16 ms.
		start = time.Now()
		if err := bo.BackoffAtMost(ctx, retry.RegionMiss, time.Hour, nil); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 16*ms {
			t.Fatalf("4th sleep %v, want 16ms", got)
		}
		if got := bo.Attempts(retry.RegionMiss); got != 4 {
			t.Fatalf("Attempts = %d, want 4", got)
		}
		if got := bo.Slept(); got != 17*ms {
			t.Fatalf("Slept = %v, want 17ms", got)
		}
	})
}
