package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/retry"
)

// regionError is a typed cause, as a region cache would return.
type regionError struct{ RegionID uint64 }

func (e *regionError) Error() string   { return fmt.Sprintf("region %d: epoch not match", e.RegionID) }
func (e *regionError) Retryable() bool { return true }

// TestExhaustedErrorSeesThrough checks errors.Is and errors.As through the
// final error, including when callers wrap it again.
func TestExhaustedErrorSeesThrough(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("send: %w", &regionError{RegionID: 42})
	bo := retry.New(0)
	err := fmt.Errorf("rawkv get: %w", bo.Backoff(t.Context(), retry.RegionMiss, cause))

	var re *regionError
	if !errors.As(err, &re) || re.RegionID != 42 {
		t.Fatalf("errors.As does not reach the cause: %v", err)
	}
	for _, target := range []error{cause, retry.ErrBudgetExhausted, retry.ErrRegionUnavailable} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
	for _, other := range []error{retry.ErrMaxAttempts, retry.ErrTiKVServerTimeout, io.EOF} {
		if errors.Is(err, other) {
			t.Errorf("errors.Is(err, %v) = true", other)
		}
	}
	var ee *retry.ExhaustedError
	if !errors.As(err, &ee) || ee.Cause != cause {
		t.Fatalf("errors.As(*ExhaustedError) = %v", ee)
	}
	// The cause is retryable, the exhausted operation is not.
	if !retry.IsRetryable(cause) || retry.IsRetryable(err) {
		t.Fatalf("IsRetryable: cause %v, final %v", retry.IsRetryable(cause), retry.IsRetryable(err))
	}
}

func TestExhaustedErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	tests := []struct {
		name string
		e    *retry.ExhaustedError
		want []error
	}{
		{"all distinct", &retry.ExhaustedError{Kind: retry.TiKVRPC, Longest: retry.RegionMiss, Reason: retry.ErrBudgetExhausted, Cause: cause},
			[]error{retry.ErrBudgetExhausted, retry.ErrTiKVServerTimeout, retry.ErrRegionUnavailable, cause}},
		{"shared sentinel once", &retry.ExhaustedError{Kind: retry.RegionScheduling, Longest: retry.RegionMiss, Reason: retry.ErrBudgetExhausted},
			[]error{retry.ErrBudgetExhausted, retry.ErrRegionUnavailable}},
		{"no sentinel, no cause", &retry.ExhaustedError{Kind: retry.Default, Reason: retry.ErrMaxAttempts},
			[]error{retry.ErrMaxAttempts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.e.Unwrap()
			if len(got) != len(tt.want) {
				t.Fatalf("Unwrap() = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Unwrap() = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"retryable", &tempError{msg: "x"}, true},
		{"wrapped retryable", fmt.Errorf("a: %w", &tempError{msg: "x"}), true},
		{"explicitly fatal", &fatalError{msg: "x"}, false},
		{"fatal wrapping retryable decides first", fmt.Errorf("%w: %w", &fatalError{}, &tempError{}), false},
		{"joined, retryable first", errors.Join(&tempError{}, &fatalError{}), true},
		{"ctx canceled", context.Canceled, false},
		{"interrupted", &retry.InterruptedError{Err: context.Canceled, Cause: &tempError{}}, false},
		{"exhausted", &retry.ExhaustedError{Reason: retry.ErrBudgetExhausted, Cause: &tempError{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retry.IsRetryable(tt.err); got != tt.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	if k := retry.KindOf(fmt.Errorf("x: %w", &tempError{kind: retry.PDRPC})); k != retry.PDRPC {
		t.Fatalf("KindOf = %v, want pdRPC", k)
	}
	if k := retry.KindOf(errors.New("x")); k != nil {
		t.Fatalf("KindOf(plain) = %v", k)
	}
	if k := retry.KindOf(nil); k != nil {
		t.Fatalf("KindOf(nil) = %v", k)
	}
}

func TestInterruptedErrorNoCause(t *testing.T) {
	t.Parallel()
	e := &retry.InterruptedError{Kind: retry.TiKVRPC, Err: context.DeadlineExceeded, Slept: time.Second}
	if got := e.Unwrap(); len(got) != 1 || got[0] != context.DeadlineExceeded {
		t.Fatalf("Unwrap() = %v", got)
	}
	if e.Error() != "retry: tikvRPC backoff interrupted: context deadline exceeded" {
		t.Fatalf("Error() = %q", e.Error())
	}
}
