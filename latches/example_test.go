package latches_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/latches"
)

// Example shows the life of two optimistic transactions on one key: the first
// commits, and the second, which started before that commit, learns it is
// stale without talking to TiKV and retries with a newer start timestamp.
func Example() {
	l, err := latches.New(latches.WithSlots(1024))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	ctx := context.Background()
	writes := [][]byte{[]byte("account/alice"), []byte("account/bob")}

	// Transaction 1 started at ts 100 and commits at ts 110.
	lock, err := l.Acquire(ctx, 100, writes)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ... prewrite and commit in TiKV here ...
	l.Release(lock, 110)

	// Transaction 2 started at ts 105, before transaction 1 committed.
	_, err = l.Acquire(ctx, 105, writes[1:])
	var stale *latches.StaleError
	if errors.As(err, &stale) {
		fmt.Printf("stale: key %s committed at %d\n", stale.Key, stale.CommitTS)
	}

	// Retried with a new start timestamp, it gets the latch; it aborts.
	lock, err = l.Acquire(ctx, 120, writes[1:])
	fmt.Println("retry:", err)
	l.Release(lock, 0)

	// Output:
	// stale: key account/bob committed at 110
	// retry: <nil>
}
