package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/retry"
)

var errBench = errors.New("bench")

func succeed(context.Context) error { return nil }

//go:noinline
func operation(ctx context.Context, bo *retry.Backoffer) error {
	// A real operation would back off here on failure; this one succeeds.
	if err := succeed(ctx); err != nil {
		return bo.Backoff(ctx, retry.RegionMiss, err)
	}
	return nil
}

// BenchmarkNoBackoff is the fast path: an operation that succeeds at once
// must not allocate.
func BenchmarkNoBackoff(b *testing.B) {
	ctx := context.Background()
	b.Run("Do", func(b *testing.B) {
		b.ReportAllocs()
		p := retry.Policy{Kind: retry.RegionMiss, Budget: retry.ReadBudget}
		for b.Loop() {
			if err := retry.Do(ctx, p, succeed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bo := retry.New(retry.ReadBudget)
			if err := operation(ctx, bo); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Do/observer", func(b *testing.B) {
		b.ReportAllocs()
		p := retry.Policy{Kind: retry.RegionMiss, Budget: retry.ReadBudget,
			Options: []retry.Option{retry.WithObserver(func(retry.BackoffEvent) {})}}
		for b.Loop() {
			if err := retry.Do(ctx, p, succeed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBackoffStep measures one backoff's bookkeeping with the sleep
// capped at zero (so the benchmark measures the Backoffer, not the timer),
// with and without an observer, and one real timer-driven step.
func BenchmarkBackoffStep(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts []retry.Option
	}{
		{"observer=off", nil},
		{"observer=on", []retry.Option{retry.WithObserver(func(retry.BackoffEvent) {})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			bo := retry.New(retry.Unbounded, bc.opts...)
			for b.Loop() {
				if err := bo.BackoffAtMost(ctx, retry.TiKVRPC, 0, errBench); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("timer", func(b *testing.B) {
		b.ReportAllocs()
		kind, err := retry.NewKind("tiny", retry.Backoff{Base: 1, Max: 1}, retry.NoJitter, nil)
		if err != nil {
			b.Fatal(err)
		}
		bo := retry.New(retry.Unbounded)
		for b.Loop() {
			if err := bo.Backoff(ctx, kind, errBench); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestNoBackoffDoesNotAllocate keeps the fast path allocation-free.
func TestNoBackoffDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	p := retry.Policy{Kind: retry.RegionMiss, Budget: retry.ReadBudget}
	for name, f := range map[string]func(){
		"Do":  func() { _ = retry.Do(ctx, p, succeed) },
		"New": func() { _ = operation(ctx, retry.New(retry.ReadBudget)) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}
