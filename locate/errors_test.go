package locate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/errorpb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// TestRegionNotFoundMeaningsAreApart checks that TiKV's RegionNotFound
// region error and PD knowing no region are two conditions, and that the PD
// one is pdclient's value.
func TestRegionNotFoundMeaningsAreApart(t *testing.T) {
	t.Parallel()
	onStore := &locate.RegionError{Region: locate.VerID{ID: 7}, Kind: locate.ErrRegionNotFoundOnStore, Stale: true,
		Err: &errorpb.Error{RegionNotFound: &errorpb.RegionNotFound{RegionId: 7}}}
	if errors.Is(onStore, locate.ErrRegionNotFound) || !errors.Is(onStore, locate.ErrRegionNotFoundOnStore) || !errors.Is(onStore, locate.ErrRegionStale) {
		t.Errorf("TiKV's RegionNotFound: %v", onStore)
	}
	if locate.ErrRegionNotFound != pdclient.ErrRegionNotFound || locate.ErrStoreNotFound != pdclient.ErrStoreNotFound {
		t.Error("locate's PD not-found sentinels are not pdclient's values")
	}
	if got := onStore.Error(); !strings.HasPrefix(got, "locate: region 7: region not found on store: ") {
		t.Errorf("Error() = %q", got)
	}
}

// TestRegionConditionsShareRetrySentinels checks that a condition has one
// sentinel whether it was seen once (a RegionError) or given up on (an
// ExhaustedError backing off for its kind).
func TestRegionConditionsShareRetrySentinels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind     *retry.Kind
		sentinel error
	}{
		{retry.DiskFull, locate.ErrDiskFull},
		{retry.StaleCommand, locate.ErrStaleCommand},
		{retry.MaxTSNotSynced, locate.ErrMaxTimestampNotSynced},
		{retry.DataNotReady, locate.ErrDataIsNotReady},
		{retry.RegionNotInitialized, locate.ErrRegionNotInitialized},
		{retry.IsWitness, locate.ErrIsWitness},
		{retry.RegionRecoveryInProgress, locate.ErrRecoveryInProgress},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			t.Parallel()
			// A zero budget refuses the first sleep: the ExhaustedError
			// comes back at once.
			err := retry.New(0).Backoff(t.Context(), tc.kind, errors.New("cause"))
			var ex *retry.ExhaustedError
			if !errors.As(err, &ex) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("gave up on %v: %v, want an ExhaustedError matching %v", tc.kind, err, tc.sentinel)
			}
		})
	}
	if locate.ErrServerIsBusy != retry.ErrServerIsBusy {
		t.Error("locate.ErrServerIsBusy is not retry's value")
	}
}

// TestUndeterminedIsOneSentinel checks that TiKV's UndeterminedResult
// matches the one "write outcome unknown" sentinel.
func TestUndeterminedIsOneSentinel(t *testing.T) {
	t.Parallel()
	re := &locate.RegionError{Kind: locate.ErrUndetermined, Err: &errorpb.Error{UndeterminedResult: &errorpb.UndeterminedResult{}}}
	if !errors.Is(re, locate.ErrUndetermined) || retry.IsRetryable(re) {
		t.Errorf("UndeterminedResult: %v (retryable %v)", re, retry.IsRetryable(re))
	}
}
