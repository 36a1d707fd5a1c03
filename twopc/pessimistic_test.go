package twopc_test

import (
	"bytes"
	"errors"
	"testing"

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
	if err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: forUpdate, Keys: keys, IsFirstLock: true}); err != nil {
		t.Fatal(err)
	}
	// Another pessimistic transaction cannot take the locks (no wait).
	other := e.now(ctx)
	err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[1], StartTS: other, ForUpdateTS: other, Keys: keys[1:2], WaitTimeout: -1})
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
		err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("b1"), StartTS: start, ForUpdateTS: start, Keys: [][]byte{[]byte("b1")}})
		var wc *twopc.WriteConflictError
		if !errors.As(err, &wc) || wc.ConflictCommitTS != w.CommitTS() || !bytes.Equal(wc.Key, []byte("b1")) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("rollback releases the locks", func(t *testing.T) {
		start := e.now(ctx)
		keys := [][]byte{[]byte("b2"), []byte("a012")}
		if err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys}); err != nil {
			t.Fatal(err)
		}
		if err := e.cli.PessimisticRollback(ctx, start, start, keys); err != nil {
			t.Fatal(err)
		}
		other := e.now(ctx)
		if err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: other, ForUpdateTS: other, Keys: keys, WaitTimeout: -1}); err != nil {
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
		if err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: keys[0], StartTS: start, ForUpdateTS: start, Keys: keys, TTL: 1}); err != nil {
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
