package tikv_test

import (
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tso"
)

// TestSharedVocabularyIsOneValue checks that the facade's sentinels are the
// owners' values and that every module's "closed" and "invalid option" is
// the same value, so one errors.Is matches whichever layer noticed.
func TestSharedVocabularyIsOneValue(t *testing.T) {
	t.Parallel()
	for name, group := range map[string][]error{
		"closed":         {tikv.ErrClosed, retry.ErrClosed, rawkv.ErrClosed, kvrpc.ErrClosed, pdclient.ErrClosed, tso.ErrClosed},
		"invalid option": {tikv.ErrInvalidOption, retry.ErrInvalidOption, rawkv.ErrInvalidOption, kvrpc.ErrInvalidOption, pdclient.ErrInvalidOption, tso.ErrInvalidOption, locate.ErrInvalidOption},
		"invalid range":  {tikv.ErrInvalidRange, retry.ErrInvalidRange, rawkv.ErrInvalidRange, locate.ErrInvalidRange, pdclient.ErrInvalidRange},
		"undetermined":   {tikv.ErrUndetermined, rawkv.ErrUndetermined, locate.ErrUndetermined},
		"server busy":    {tikv.ErrServerIsBusy, locate.ErrServerIsBusy, retry.ErrServerIsBusy},
		"region missing": {tikv.ErrRegionNotFound, locate.ErrRegionNotFound, pdclient.ErrRegionNotFound},
	} {
		for i, err := range group {
			if err != group[0] {
				t.Errorf("%s: value %d (%v) is not value 0 (%v)", name, i, err, group[0])
			}
		}
	}
	// A give-up matches the condition it gave up on.
	err := retry.New(0).Backoff(t.Context(), retry.DiskFull, nil)
	var ex *tikv.ExhaustedError
	if !errors.As(err, &ex) || !errors.Is(err, tikv.ErrDiskFull) || !errors.Is(err, tikv.ErrBudgetExhausted) {
		t.Errorf("gave up on DiskFull: %v", err)
	}
}
