package gc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/retry"
)

// TestNewRejectsBadInput: nil dependencies and bad options fail at once.
func TestNewRejectsBadInput(t *testing.T) {
	if _, err := gc.New(nil, nil, nil, nil); !errors.Is(err, gc.ErrInvalidOption) || !errors.Is(err, retry.ErrInvalidOption) {
		t.Errorf("New(nil...) = %v, want ErrInvalidOption", err)
	}
	for name, o := range map[string]gc.Option{
		"concurrency": gc.WithConcurrency(0),
		"scan limit":  gc.WithScanLockLimit(-1),
		"budget":      gc.WithRegionBudget(0),
		"TTL":         gc.WithSafePointTTL(-1),
	} {
		_, err := gc.New(nil, nil, nil, nil, o)
		if !errors.Is(err, gc.ErrInvalidOption) || !strings.Contains(err.Error(), strings.Fields(name)[0]) {
			t.Errorf("%s: New = %v, want ErrInvalidOption naming it", name, err)
		}
	}
}

func TestTooEarlyError(t *testing.T) {
	var err error = fmt.Errorf("read: %w", &gc.TooEarlyError{StartTS: 5, SafePoint: 9})
	var te *gc.TooEarlyError
	if !errors.Is(err, gc.ErrTooEarly) || !errors.As(err, &te) || te.StartTS != 5 || te.SafePoint != 9 {
		t.Fatalf("%v does not match ErrTooEarly with its fields", err)
	}
	if retry.IsRetryable(err) {
		t.Errorf("%v is retryable; the same ts can never succeed", err)
	}
	cause := errors.New("boom")
	se := &gc.StoreError{StoreID: 2, Addr: "a:1", Err: cause}
	if !errors.Is(se, cause) || se.Error() != "gc: store 2 (a:1): boom" {
		t.Errorf("StoreError %q does not wrap its cause", se)
	}
}
