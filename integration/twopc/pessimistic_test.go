package twopc_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

func TestPessimisticCommit(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	base, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("a025"), Value: []byte("old")}}, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	_ = base.Wait(ctx)

	start := e.now(ctx)
	forUpdate := e.now(ctx)
	keys := [][]byte{[]byte("a005"), []byte("a015"), []byte("a025")}
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: forUpdate, Keys: keys, IsFirstLock: true}); err != nil {
		t.Fatal(err)
	}
	// Another pessimistic transaction cannot take the locks (no wait).
	other := e.now(ctx)
	_, err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[1], StartTS: other, ForUpdateTS: other, Keys: keys[1:2], WaitTimeout: -1})
	var locked *twopc.KeyIsLockedError
	if !errors.As(err, &locked) || locked.Lock.StartTS != start || locked.Lock.Type != twopc.LockPessimistic {
		t.Fatalf("second locker: %v", err)
	}
	muts := twopc.MutationSlice{
		{Op: twopc.OpPut, Key: keys[0], Value: []byte("p0"), Flags: twopc.FlagPessimisticLock},
		{Op: twopc.OpDelete, Key: keys[1], Flags: twopc.FlagPessimisticLock},
		{Op: twopc.OpPut, Key: keys[2], Value: []byte("p2"), Flags: twopc.FlagPessimisticLock, Assertion: twopc.AssertExist},
		{Op: twopc.OpInsert, Key: []byte("a035"), Value: []byte("p3"), Flags: twopc.FlagNeedConstraintCheck},
	}
	res, err := e.cli.Commit(ctx, muts, start, twopc.WithForUpdateTS(forUpdate), twopc.WithPrimary(keys[0]),
		twopc.WithAssertionLevel(twopc.AssertionStrict))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a005": "p0", "a015": "", "a025": "p2", "a035": "p3"} {
		if v, _ := e.mustGet(ctx, k); v != want {
			t.Fatalf("%s = %q, want %q", k, v, want)
		}
	}
}

func TestPessimisticErrors(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)

	t.Run("write conflict after for-update ts", func(t *testing.T) {
		start := e.now(ctx)
		w, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("b1"), Value: []byte("x")}}, e.now(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("b1"), StartTS: start, ForUpdateTS: start, Keys: [][]byte{[]byte("b1")}})
		var wc *twopc.WriteConflictError
		if !errors.As(err, &wc) || wc.ConflictCommitTS != w.CommitTS() || !bytes.Equal(wc.Key, []byte("b1")) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("rollback releases the locks", func(t *testing.T) {
		start := e.now(ctx)
		keys := [][]byte{[]byte("b2"), []byte("a012")}
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys}); err != nil {
			t.Fatal(err)
		}
		if err := e.cli.PessimisticRollback(ctx, start, start, keys); err != nil {
			t.Fatal(err)
		}
		other := e.now(ctx)
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: other, ForUpdateTS: other, Keys: keys, WaitTimeout: -1}); err != nil {
			t.Fatalf("after rollback: %v", err)
		}
		// The first transaction lost its locks: its pessimistic prewrite
		// finds another transaction's lock and aborts.
		_, err := e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: keys[0], Value: []byte("x"), Flags: twopc.FlagPessimisticLock},
			{Op: twopc.OpPut, Key: keys[1], Value: []byte("x"), Flags: twopc.FlagPessimisticLock},
		}, start, twopc.WithForUpdateTS(start))
		if !errors.Is(err, twopc.ErrTxnAborted) {
			t.Fatalf("err = %v, want aborted", err)
		}
		if err := e.cli.PessimisticRollback(ctx, other, other, keys); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("lazy uniqueness check", func(t *testing.T) {
		if _, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("b3"), Value: []byte("x")}}, e.now(ctx)); err != nil {
			t.Fatal(err)
		}
		start := e.now(ctx)
		_, err := e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: []byte("b4"), Value: []byte("x")},
			{Op: twopc.OpInsert, Key: []byte("b3"), Value: []byte("y"), Flags: twopc.FlagNeedConstraintCheck},
		}, start, twopc.WithForUpdateTS(start))
		if !errors.Is(err, twopc.ErrKeyExists) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("expired pessimistic lock is resolved", func(t *testing.T) {
		start := e.now(ctx)
		keys := [][]byte{[]byte("b5"), []byte("a022")}
		// TTL 1ms: expired before anyone looks.
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys, TTL: 1}); err != nil {
			t.Fatal(err)
		}
		res, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: keys[1], Value: []byte("v")}}, e.now(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Wait(ctx)
		if v, _ := e.mustGet(ctx, "a022"); v != "v" {
			t.Fatalf("a022 = %q", v)
		}
	})
}

func TestPessimisticLockOptions(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	base, err := e.cli.Commit(ctx, twopc.MutationSlice{
		{Op: twopc.OpPut, Key: []byte("a001"), Value: []byte("v1")},
		{Op: twopc.OpPut, Key: []byte("a021"), Value: []byte("v21")},
	}, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// The secondary (a021, in another region) commits in the background:
	// a lock request that met its lock would wait, be woken by its commit
	// and fail with a write conflict, as TiKV answers a woken waiter.
	if err := base.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{[]byte("a021"), []byte("a001"), []byte("a011")}

	t.Run("return values", func(t *testing.T) {
		start := e.now(ctx)
		res, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys, ReturnValues: true, IsFirstLock: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []twopc.LockResult{{Value: []byte("v21"), Exists: true}, {Value: []byte("v1"), Exists: true}, {Exists: false}}
		for i := range want {
			if !bytes.Equal(res[i].Value, want[i].Value) || res[i].Exists != want[i].Exists {
				t.Fatalf("results %+v", res)
			}
		}
		if err := e.cli.PessimisticRollback(ctx, start, start, keys); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("check existence", func(t *testing.T) {
		start := e.now(ctx)
		res, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys, CheckExistence: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Exists || !res[1].Exists || res[2].Exists || res[0].Value != nil {
			t.Fatalf("results %+v", res)
		}
		// A second transaction times out waiting for a021.
		other := e.now(ctx)
		_, err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: other, ForUpdateTS: other, Keys: keys[:1], WaitTimeout: 50 * time.Millisecond})
		var wt *twopc.LockWaitTimeoutError
		if !errors.As(err, &wt) || !errors.Is(err, twopc.ErrLockWaitTimeout) {
			t.Fatalf("err = %v, want lock wait timeout", err)
		}
		if err := e.cli.PessimisticRollback(ctx, start, start, keys); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("lock only if exists", func(t *testing.T) {
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: 1, ForUpdateTS: 1, Keys: keys, LockOnlyIfExists: true}); !errors.Is(err, twopc.ErrInvalidOption) {
			t.Fatalf("without return values: %v", err)
		}
		start := e.now(ctx)
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys, ReturnValues: true, LockOnlyIfExists: true}); err != nil {
			t.Fatal(err)
		}
		// a011 does not exist, so it was not locked.
		other := e.now(ctx)
		if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[2], StartTS: other, ForUpdateTS: other, Keys: keys[2:], WaitTimeout: -1}); err != nil {
			t.Fatalf("a011 was locked: %v", err)
		}
	})
}

// TestDeadlock: two transactions lock two keys in opposite orders; TiKV's
// detector picks exactly one of them, which gets a DeadlockError with the
// wait chain.
func TestDeadlock(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := testCtx(t)
	k1, k2 := []byte("k1"), []byte("k2")
	a, b := e.now(ctx), e.now(ctx)
	lock := func(txn tso.Timestamp, primary, key []byte, first bool) error {
		_, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: primary, StartTS: txn, ForUpdateTS: txn, Keys: [][]byte{key}, IsFirstLock: first})
		return err
	}
	if err := lock(a, k1, k1, true); err != nil {
		t.Fatal(err)
	}
	if err := lock(b, k2, k2, true); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		txn tso.Timestamp
		key []byte
		err error
	}
	out := make(chan outcome, 2)
	arrived := make(chan struct{}, 4)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvPessimisticLock" {
			arrived <- struct{}{}
		}
	})
	go func() { out <- outcome{txn: a, key: k1, err: lock(a, k1, k2, false)} }() // a waits for b
	<-arrived
	go func() { out <- outcome{txn: b, key: k2, err: lock(b, k2, k1, false)} }() // b waits for a: a cycle
	// Whichever closes the cycle is the victim; the other keeps waiting
	// until the victim rolls back.
	victim := <-out
	var dl *twopc.DeadlockError
	if !errors.As(victim.err, &dl) || len(dl.WaitChain) == 0 || !dl.Retryable() || dl.StartTS != victim.txn {
		t.Fatalf("first outcome %v, want a deadlock", victim.err)
	}
	if err := e.cli.PessimisticRollback(ctx, victim.txn, victim.txn, [][]byte{victim.key}); err != nil {
		t.Fatal(err)
	}
	if other := <-out; other.err != nil && !errors.Is(other.err, twopc.ErrWriteConflict) {
		t.Fatalf("survivor: %v", other.err)
	}
}
