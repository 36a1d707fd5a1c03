package txnkv_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/txnkv"
)

func TestPessimisticLockKeys(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"m"})
	ctx := testCtx(t)
	e.put(ctx, "a", "1", "z", "26")

	txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{ReturnValues: true, LockOnlyIfExists: true}, []byte("a")); !errors.Is(err, txnkv.ErrInvalidOption) {
		t.Fatalf("lock only if exists before a primary: %v", err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if txn.ForUpdateTS() <= txn.StartTS() {
		t.Fatalf("for-update ts %v not after start %v", txn.ForUpdateTS(), txn.StartTS())
	}
	res, err := txn.LockKeys(ctx, txnkv.LockOptions{ReturnValues: true}, []byte("z"), []byte("missing"), []byte("z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || string(res[0].Value) != "26" || !res[0].Exists || res[1].Exists || string(res[2].Value) != "26" {
		t.Fatalf("return values = %+v", res)
	}
	ex, err := txn.LockKeys(ctx, txnkv.LockOptions{CheckExistence: true}, []byte("a"), []byte("nope"))
	if err != nil || !ex[0].Exists || ex[1].Exists {
		t.Fatalf("check existence = %+v, %v", ex, err)
	}
	only, err := txn.LockKeys(ctx, txnkv.LockOptions{ReturnValues: true, LockOnlyIfExists: true}, []byte("ghost"))
	if err != nil || only[0].Exists {
		t.Fatalf("lock only if exists = %+v, %v", only, err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{LockOnlyIfExists: true}, []byte("a")); !errors.Is(err, txnkv.ErrInvalidOption) {
		t.Fatalf("lock only if exists without values: %v", err)
	}

	// Another pessimistic transaction: no wait fails at once, a timeout
	// fails after waiting.
	other, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	var locked *txnkv.KeyIsLockedError
	if _, err := other.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("a")); !errors.As(err, &locked) {
		t.Fatalf("no wait: %v", err)
	}
	if _, err := other.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: 50 * time.Millisecond}, []byte("z")); !errors.Is(err, txnkv.ErrLockWaitTimeout) {
		t.Fatalf("wait timeout: %v", err)
	}
	// A wait bounded only by ctx.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = other.LockKeys(short, txnkv.LockOptions{}, []byte("z"))
	cancel()
	if err == nil {
		t.Fatal("lock of a held key succeeded")
	}
	_ = other.Rollback(ctx)

	if err := txn.Set([]byte("a"), []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.mustGet(ctx, "a"); v != "one" {
		t.Fatalf("a = %q", v)
	}
	// Every lock is gone: another transaction locks the keys without waiting.
	after, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := after.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("a"), []byte("z"), []byte("missing")); err != nil {
		t.Fatalf("locks left behind: %v", err)
	}
	if err := after.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Rollback released them too.
	again, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := again.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("a")); err != nil {
		t.Fatalf("rollback left locks: %v", err)
	}
	_ = again.Rollback(ctx)

	opt, _ := e.cli.Begin(ctx)
	if _, err := opt.LockKeys(ctx, txnkv.LockOptions{}, []byte("a")); !errors.Is(err, txnkv.ErrNotPessimistic) {
		t.Fatalf("optimistic lock: %v", err)
	}
}

// TestFailedStatementRollsBack: a LockKeys that fails leaves none of its
// keys locked, while keys of earlier statements stay locked.
func TestFailedStatementRollsBack(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"m"})
	ctx := testCtx(t)
	holder, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := holder.LockKeys(ctx, txnkv.LockOptions{}, []byte("y")); err != nil {
		t.Fatal(err)
	}
	txn, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("first")); err != nil {
		t.Fatal(err)
	}
	// "b" (another region than "y") may be locked before "y" fails.
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("b"), []byte("y")); err == nil {
		t.Fatal("locking a held key succeeded")
	}
	probe, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := probe.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("b")); err != nil {
		t.Fatalf("the failed statement's key stayed locked: %v", err)
	}
	if _, err := probe.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("first")); err == nil {
		t.Fatal("the earlier statement's key was unlocked")
	}
	for _, x := range []*txnkv.Txn{probe, txn, holder} {
		_ = x.Rollback(ctx)
	}
}

// TestDeadlock: two transactions lock two keys in opposite orders; exactly
// one of them gets the deadlock error, with the wait chain, and the other
// (in the aggressive mode, so the released lock does not cost it a write
// conflict) gets its lock once the victim rolls back.
func TestDeadlock(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	a, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	b, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := a.LockKeys(ctx, txnkv.LockOptions{}, []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockKeys(ctx, txnkv.LockOptions{}, []byte("k2")); err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{}, 16)
	remove := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvPessimisticLock" {
			arrived <- struct{}{}
		}
	})
	defer remove()
	type outcome struct {
		txn *txnkv.Txn
		err error
	}
	out := make(chan outcome, 2)
	go func() {
		_, err := a.LockKeys(ctx, txnkv.LockOptions{Aggressive: true}, []byte("k2"))
		out <- outcome{a, err}
	}()
	<-arrived // a waits for b
	go func() {
		_, err := b.LockKeys(ctx, txnkv.LockOptions{Aggressive: true}, []byte("k1"))
		out <- outcome{b, err}
	}()
	victim := <-out
	var dl *txnkv.DeadlockError
	if !errors.As(victim.err, &dl) || len(dl.WaitChain) == 0 || !txnkv.IsRetryable(victim.err) || dl.StartTS != victim.txn.StartTS() {
		t.Fatalf("first outcome %v, want a deadlock", victim.err)
	}
	if err := victim.txn.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	survivor := <-out
	if survivor.err != nil {
		t.Fatalf("survivor: %v", survivor.err)
	}
	if errors.Is(survivor.err, txnkv.ErrDeadlock) {
		t.Fatal("both transactions got the deadlock error")
	}
	if err := survivor.txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAggressiveLocking: a waiter whose lock holder commits a write gets a
// write conflict in the normal mode and the lock (at a newer for-update
// ts, with the new value) in the aggressive mode.
func TestAggressiveLocking(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	for _, aggressive := range []bool{false, true} {
		holder, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
		if _, err := holder.LockKeys(ctx, txnkv.LockOptions{}, []byte("hot")); err != nil {
			t.Fatal(err)
		}
		arrived := make(chan struct{}, 16)
		remove := e.sim.OnRequest(func(_ uint64, cmd string) {
			if cmd == "KvPessimisticLock" {
				arrived <- struct{}{}
			}
		})
		waiter, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
		var (
			wg  sync.WaitGroup
			res []txnkv.LockResult
			err error
		)
		wg.Go(func() {
			res, err = waiter.LockKeys(ctx, txnkv.LockOptions{Aggressive: aggressive, ReturnValues: true}, []byte("hot"))
		})
		<-arrived
		remove()
		_ = holder.Set([]byte("hot"), []byte("by holder"))
		if err := holder.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if !aggressive {
			if !errors.Is(err, txnkv.ErrWriteConflict) {
				t.Fatalf("normal mode: %v", err)
			}
			_ = waiter.Rollback(ctx)
			continue
		}
		if err != nil || string(res[0].Value) != "by holder" {
			t.Fatalf("aggressive mode = %+v, %v", res, err)
		}
		// TiKV locked the key for the woken waiter (force-lock wake-up
		// mode) over the holder's commit, and said so.
		if res[0].LockedWithConflictTS != holder.CommitTS() {
			t.Fatalf("locked with conflict ts %v, want the holder's commit %v", res[0].LockedWithConflictTS, holder.CommitTS())
		}
		if waiter.ForUpdateTS() < holder.CommitTS() {
			t.Fatalf("for-update ts %v below the holder's commit %v", waiter.ForUpdateTS(), holder.CommitTS())
		}
		_ = waiter.Set([]byte("hot"), []byte("by waiter"))
		if err := waiter.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _ := e.mustGet(ctx, "hot"); v != "by waiter" {
			t.Fatalf("hot = %q", v)
		}
	}
}

// TestPessimisticUnlockedWriteConflict: a pessimistic transaction that
// never locked a key commits the keys it wrote with TiKV's optimistic
// checks, so a write committed by another transaction after its start ts
// is a write conflict rather than a silently overwritten update (found by
// peer/tikvgo's TestTxnDifferential against client-go).
func TestPessimisticUnlockedWriteConflict(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	e.put(ctx, "k", "theirs")
	if err := txn.Set([]byte("k"), []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); !errors.Is(err, txnkv.ErrWriteConflict) {
		t.Fatalf("commit over a newer write: %v, want a write conflict", err)
	}
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := snap.Get(ctx, []byte("k")); err != nil || string(v) != "theirs" {
		t.Fatalf("k = %q, %v; want the other transaction's value", v, err)
	}

	// Once it holds a lock, its for-update ts is what TiKV checks locked
	// keys against: a write committed before the lock is no conflict.
	txn, err = e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	e.put(ctx, "k", "again")
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Set([]byte("k"), []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("commit of a locked key: %v", err)
	}
}
