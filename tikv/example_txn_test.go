package tikv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
)

// An optimistic transaction: buffered writes are visible to its own reads,
// and Commit makes them visible to everyone at the commit ts.
func Example_optimisticTxn() {
	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	tc, err := cli.Txn(ctx)
	if err != nil {
		log.Fatal(err)
	}

	txn, err := tc.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_ = txn.Set([]byte("account/alice"), []byte("100"))
	_ = txn.Set([]byte("account/bob"), []byte("50"))
	own, _ := txn.Get(ctx, []byte("account/alice")) // from the buffer
	if err := txn.Commit(ctx); err != nil {
		if tikv.IsRetryable(err) { // a write conflict: run the transaction again
			log.Print("retry")
		}
		log.Fatal(err)
	}

	// Insert fails the commit when the key exists.
	again, _ := tc.Begin(ctx)
	_ = again.Insert([]byte("account/bob"), []byte("0"))
	err = again.Commit(ctx)
	fmt.Println(string(own), errors.Is(err, tikv.ErrKeyExists))
	// Against an empty cluster this prints: 100 true
}

// A pessimistic transaction locks what it reads before deciding what to
// write, so a concurrent writer waits instead of conflicting at commit.
func Example_pessimisticTxn() {
	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	tc, err := cli.Txn(ctx)
	if err != nil {
		log.Fatal(err)
	}

	txn, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		log.Fatal(err)
	}
	res, err := txn.LockKeys(ctx, tikv.LockOptions{ReturnValues: true, WaitTimeout: time.Second}, []byte("counter"))
	if err != nil {
		log.Fatal(err) // *tikv.DeadlockError, *tikv.LockWaitTimeoutError, ...
	}
	fmt.Println("exists before:", res[0].Exists)

	// Another transaction cannot take the lock meanwhile.
	other, _ := tc.Begin(ctx, tikv.WithPessimistic())
	_, err = other.LockKeys(ctx, tikv.LockOptions{WaitTimeout: tikv.NoWait}, []byte("counter"))
	var locked *tikv.KeyIsLockedError
	fmt.Println("other blocked:", errors.As(err, &locked))
	_ = other.Rollback(ctx)

	_ = txn.Set([]byte("counter"), []byte("1"))
	if err := txn.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	// Against an empty cluster this prints:
	// exists before: false
	// other blocked: true
}

// A snapshot reads what was committed at one timestamp, however the data
// changes later; scans are Go iterators that read page by page.
func Example_snapshotRead() {
	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	tc, err := cli.Txn(ctx)
	if err != nil {
		log.Fatal(err)
	}

	put := func(k, v string) {
		txn, _ := tc.Begin(ctx)
		_ = txn.Set([]byte(k), []byte(v))
		if err := txn.Commit(ctx); err != nil {
			log.Fatal(err)
		}
	}
	put("item/1", "a")
	put("item/2", "b")
	snap, err := tc.Snapshot(ctx, 0) // at a fresh timestamp
	if err != nil {
		log.Fatal(err)
	}
	put("item/3", "c") // after the snapshot: not seen

	for kv, err := range snap.Iter(ctx, []byte("item/"), []byte("item0")) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Against an empty cluster this prints:
	// item/1=a
	// item/2=b
}

// A stale read reads at a past timestamp from any replica whose data is
// complete up to it (a follower nearby, say); a replica that is behind
// sends the read to the leader.
func Example_staleRead() {
	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	tc, err := cli.Txn(ctx)
	if err != nil {
		log.Fatal(err)
	}

	w, _ := tc.Begin(ctx)
	_ = w.Set([]byte("config"), []byte("v1"))
	if err := w.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	// Read as of the commit. tikv.WithStaleness(5*time.Second) would
	// instead read as of five seconds ago.
	stale, err := tc.Begin(ctx, tikv.WithStartTS(w.CommitTS()), tikv.WithStaleRead())
	if err != nil {
		log.Fatal(err)
	}
	v, err := stale.Get(ctx, []byte("config"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v), stale.IsReadOnly())
	// Against an empty cluster this prints: v1 true
}
