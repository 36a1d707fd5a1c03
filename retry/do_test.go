package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// script returns an fn for Do that returns errs in turn (nil after them) and
// counts its calls.
func script(calls *int, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return nil
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	temp := &tempError{msg: "temporary"}
	fatal := &fatalError{msg: "fatal"}
	plain := errors.New("plain")
	tests := []struct {
		name      string
		policy    retry.Policy
		errs      []error
		wantCalls int
		wantSlept time.Duration
		check     func(t *testing.T, err error)
	}{
		{
			name: "success at once", policy: retry.Policy{Kind: retry.RegionMiss, Budget: time.Second},
			wantCalls: 1,
			check:     wantNil,
		},
		{
			name: "retries retryable errors", policy: retry.Policy{Kind: retry.RegionMiss, Budget: time.Second},
			errs: []error{temp, temp, temp}, wantCalls: 4, wantSlept: 14 * ms,
			check: wantNil,
		},
		{
			name: "error names its kind", policy: retry.Policy{Kind: retry.RegionMiss, Budget: time.Minute},
			errs: []error{&tempError{msg: "disk", kind: retry.DiskFull}, temp}, wantCalls: 3, wantSlept: 502 * ms,
			check: wantNil,
		},
		{
			name: "plain error is not retried", policy: retry.Policy{Kind: retry.RegionMiss, Budget: time.Second},
			errs: []error{plain}, wantCalls: 1,
			check: func(t *testing.T, err error) {
				if err != plain {
					t.Fatalf("err = %v, want the plain error itself", err)
				}
			},
		},
		{
			name: "fatal error stops", policy: retry.Policy{Kind: retry.RegionMiss, Budget: time.Second},
			errs: []error{temp, fatal, temp}, wantCalls: 2, wantSlept: 2 * ms,
			check: func(t *testing.T, err error) {
				if err != fatal {
					t.Fatalf("err = %v, want fatal", err)
				}
			},
		},
		{
			name: "budget runs out", policy: retry.Policy{Kind: retry.RegionMiss, Budget: 10 * ms},
			errs: []error{temp, temp, temp, temp, temp}, wantCalls: 3, wantSlept: 6 * ms,
			check: func(t *testing.T, err error) {
				var ee *retry.ExhaustedError
				if !errors.As(err, &ee) || ee.Cause != temp || !errors.Is(err, retry.ErrRegionUnavailable) {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "zero policy runs once", policy: retry.Policy{},
			errs: []error{temp}, wantCalls: 1,
			check: func(t *testing.T, err error) {
				var ee *retry.ExhaustedError
				if !errors.As(err, &ee) || ee.Kind != retry.Default || !errors.Is(err, temp) {
					t.Fatalf("err = %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var calls int
				start := time.Now()
				err := retry.Do(t.Context(), tt.policy, script(&calls, tt.errs...))
				if calls != tt.wantCalls {
					t.Errorf("fn called %d times, want %d", calls, tt.wantCalls)
				}
				if got := time.Since(start); got != tt.wantSlept {
					t.Errorf("slept %v, want %v", got, tt.wantSlept)
				}
				tt.check(t, err)
			})
		})
	}
}

func wantNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
}

func TestDoCancel(t *testing.T) {
	t.Parallel()
	t.Run("before the first call", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var calls int
		err := retry.Do(ctx, retry.Policy{Budget: time.Second}, script(&calls))
		if err != context.Canceled || calls != 0 {
			t.Fatalf("err = %v, calls = %d", err, calls)
		}
	})
	t.Run("while backing off", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 100*ms)
			defer cancel()
			var calls int
			temp := &tempError{msg: "busy"}
			start := time.Now()
			err := retry.Do(ctx, retry.Policy{Kind: retry.ServerBusy, Budget: time.Minute}, script(&calls, temp))
			if time.Since(start) != 100*ms || calls != 1 {
				t.Fatalf("returned after %v and %d calls", time.Since(start), calls)
			}
			var ie *retry.InterruptedError
			if !errors.As(err, &ie) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, temp) {
				t.Fatalf("err = %v", err)
			}
		})
	})
	t.Run("by fn between attempts", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			temp := &tempError{msg: "x"}
			var calls int
			err := retry.Do(ctx, retry.Policy{Kind: retry.RegionMiss, Budget: time.Second}, func(context.Context) error {
				calls++
				cancel() // done after this attempt; Do must not call fn again
				return temp
			})
			var ie *retry.InterruptedError
			if calls != 1 || !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || !errors.Is(err, temp) {
				t.Fatalf("calls = %d, err = %v", calls, err)
			}
		})
	})
}

// TestBackofferDoSharesBudget runs two retry loops of one operation on one
// Backoffer: the second gets what the first left.
func TestBackofferDoSharesBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		temp := &tempError{msg: "x"}
		bo := retry.New(10 * ms)
		var calls int
		if err := bo.Do(t.Context(), retry.RegionMiss, script(&calls, temp, temp)); err != nil {
			t.Fatal(err)
		}
		calls = 0
		err := bo.Do(t.Context(), nil, script(&calls, temp))
		// Default's first sleep (>= 80 ms) does not fit in the 4 ms left.
		if !errors.Is(err, retry.ErrBudgetExhausted) || calls != 1 || bo.Slept() != 6*ms {
			t.Fatalf("err = %v, calls = %d, slept %v", err, calls, bo.Slept())
		}
	})
}
