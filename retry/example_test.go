package retry_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/retry"
)

// notLeaderError stands for a region error that is worth retrying after a
// short wait.
type notLeaderError struct{}

func (notLeaderError) Error() string   { return "not leader, election in progress" }
func (notLeaderError) Retryable() bool { return true }

// Do retries a read while the error says it is retryable, backing off with
// the policy's kind between attempts.
func ExampleDo() {
	attempts := 0
	read := func(ctx context.Context) error {
		attempts++
		if attempts < 3 {
			return notLeaderError{}
		}
		return nil
	}
	err := retry.Do(context.Background(), retry.Policy{Kind: retry.RegionScheduling, Budget: retry.ReadBudget}, read)
	fmt.Println(err, attempts)
	// Output: <nil> 3
}

// A Backoffer is created per operation and passed down; when the budget runs
// out, the final error says why and wraps the last cause.
func ExampleBackoffer_Backoff() {
	ctx := context.Background()
	bo := retry.New(10 * retry.RegionMiss.Backoff().Base) // 20 ms of sleep in all
	cause := errors.New("region 7: epoch not match")
	var err error
	for err == nil {
		// Here a real caller would send its request and break on success.
		err = bo.Backoff(ctx, retry.RegionMiss, cause) // sleeps 2, 4, 8 ms
	}
	fmt.Println(errors.Is(err, retry.ErrRegionUnavailable), errors.Is(err, cause))
	fmt.Println(err)
	// Output:
	// true true
	// retry: backoff budget exhausted backing off for regionMiss: slept 14ms of 20ms budget (regionMiss ×3 14ms): last error: region 7: epoch not match; earlier errors: region 7: epoch not match; region 7: epoch not match
}

// Fork shares the operation's budget among parallel batches.
func ExampleBackoffer_Fork() {
	bo := retry.New(retry.PrewriteBudget)
	batches := []string{"a..m", "m..z"}
	done := make(chan error, len(batches))
	for range batches {
		child := bo.Fork()
		go func() {
			// Each batch retries on its own fork; sleeps count against
			// the one prewrite budget.
			done <- child.Do(context.Background(), retry.RegionMiss, func(context.Context) error { return nil })
		}()
	}
	for range batches {
		fmt.Println(<-done)
	}
	fmt.Println(bo.Remaining() == retry.PrewriteBudget)
	// Output:
	// <nil>
	// <nil>
	// true
}
