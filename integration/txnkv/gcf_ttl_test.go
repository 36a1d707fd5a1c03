package txnkv_test

import (
	"context"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv"
)

// TestPessimisticAsyncCommitPrimaryKeptAlive: a pessimistic transaction that
// will commit with async commit holds its locks, idle, for longer than the
// lock TTL before it prewrites. The TTL manager started at its first lock
// keeps the primary alive meanwhile, so a contender finds the lock alive
// instead of rolling it back, and the transaction then commits in async
// commit mode.
func TestPessimisticAsyncCommitPrimaryKeptAlive(t *testing.T) {
	t.Parallel()
	const ttl = 100 * time.Millisecond
	e := pipeStart(t, []string{"m"}, txnkv.WithCommitterOptions(twopc.WithManagedLockTTL(ttl, time.Hour)))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	beats := make(chan struct{}, 64)
	remove := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvTxnHeartBeat" {
			select {
			case beats <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(remove)

	txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic(), txnkv.WithAsyncCommit())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("a"), []byte("x")); err != nil {
		t.Fatalf("LockKeys: %v", err)
	}
	locked := time.Now()
	// Heartbeats go every ttl/2; wait for enough of them that the lock's
	// first TTL has run out.
	for n := 0; n < 3 || time.Since(locked) <= ttl; n++ {
		select {
		case <-beats:
		case <-ctx.Done():
			t.Fatal("no heartbeat for the pessimistic primary")
		}
	}

	other, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("a")); err == nil {
		t.Fatal("a contender locked a key whose owner is alive")
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	for _, k := range []string{"a", "x"} {
		if err := txn.Set([]byte(k), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("Commit after idling past the lock TTL: %v", err)
	}
	if txn.CommitMode() != twopc.ModeAsyncCommit {
		t.Errorf("commit mode %v, want async commit", txn.CommitMode())
	}
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "x"} {
		if v, err := snap.Get(ctx, []byte(k)); err != nil || string(v) != "v" {
			t.Errorf("Get(%s) = %q, %v", k, v, err)
		}
	}
}
