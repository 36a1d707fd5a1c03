package txnkv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/txnkv"
)

// beginShared begins a pessimistic transaction that locks primary
// exclusively and then keys in share mode, returning the shared locks'
// values.
func (e *env) beginShared(ctx context.Context, primary string, keys ...string) (*txnkv.Txn, []txnkv.LockResult) {
	e.t.Helper()
	txn, err := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte(primary)); err != nil {
		e.t.Fatalf("lock primary %s: %v", primary, err)
	}
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	res, err := txn.LockKeys(ctx, txnkv.LockOptions{Shared: true, ReturnValues: true, WaitTimeout: txnkv.NoWait}, ks...)
	if err != nil {
		e.t.Fatalf("share-lock %v: %v", keys, err)
	}
	return txn, res
}

// TestSharedLockKeys: two transactions share-lock one key and both
// commit; an exclusive locker waits for both (woken by TiKV when the last
// holder leaves) and then gets the key; a shared locker over an exclusive
// holder fails at once with NoWait; the misuses TiKV refuses fail before
// any request.
func TestSharedLockKeys(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"m"})
	ctx := testCtx(t)
	e.put(ctx, "k", "v0")

	if txn, _ := e.cli.Begin(ctx, txnkv.WithPessimistic()); txn != nil {
		if _, err := txn.LockKeys(ctx, txnkv.LockOptions{Shared: true}, []byte("k")); !errors.Is(err, txnkv.ErrInvalidOption) {
			t.Fatalf("shared lock without a primary: %v", err)
		}
		_ = txn.Rollback(ctx)
	}

	a, ra := e.beginShared(ctx, "pa", "k")
	b, rb := e.beginShared(ctx, "pb", "k")
	if string(ra[0].Value) != "v0" || string(rb[0].Value) != "v0" {
		t.Fatalf("shared lock values = %+v, %+v", ra, rb)
	}
	for name, opts := range map[string]txnkv.LockOptions{
		"upgrade to exclusive":  {},
		"shared and aggressive": {Shared: true, Aggressive: true},
	} {
		if _, err := a.LockKeys(ctx, opts, []byte("k")); !errors.Is(err, txnkv.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}

	// The exclusive locker waits (no timeout) for both holders.
	arrived := make(chan struct{}, 64)
	remove := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvPessimisticLock" {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	x, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	type result struct {
		res []txnkv.LockResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := x.LockKeys(ctx, txnkv.LockOptions{Aggressive: true, ReturnValues: true}, []byte("k"))
		done <- result{res, err}
	}()
	<-arrived
	remove()
	if err := a.Commit(ctx); err != nil {
		t.Fatalf("commit of the first holder: %v", err)
	}
	select {
	case r := <-done:
		t.Fatalf("exclusive lock finished while a shared holder remains: %+v, %v", r.res, r.err)
	default:
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("commit of the second holder: %v", err)
	}
	r := <-done
	if r.err != nil || string(r.res[0].Value) != "v0" {
		t.Fatalf("exclusive lock after the holders = %+v, %v", r.res, r.err)
	}

	// A shared locker over the exclusive holder: NoWait fails at once,
	// naming the holder.
	s, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := s.LockKeys(ctx, txnkv.LockOptions{}, []byte("ps")); err != nil {
		t.Fatal(err)
	}
	var locked *txnkv.KeyIsLockedError
	if _, err := s.LockKeys(ctx, txnkv.LockOptions{Shared: true, WaitTimeout: txnkv.NoWait}, []byte("k")); !errors.As(err, &locked) || locked.Lock.StartTS != x.StartTS() {
		t.Fatalf("shared over exclusive: %v", err)
	}
	_ = s.Rollback(ctx)

	if err := x.Set([]byte("k"), []byte("by x")); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.mustGet(ctx, "k"); v != "by x" {
		t.Fatalf("k = %q", v)
	}
}

// TestSharedLockAfterExclusive: a shared lock of a key the transaction
// already holds exclusively is a no-op (no request), and the transaction
// commits.
func TestSharedLockAfterExclusive(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	txn, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, []byte("p"), []byte("k")); err != nil {
		t.Fatal(err)
	}
	n := e.count("KvPessimisticLock")
	if _, err := txn.LockKeys(ctx, txnkv.LockOptions{Shared: true}, []byte("k")); err != nil || n.Load() != 0 {
		t.Fatalf("shared lock of an exclusively held key: %v, %d requests", err, n.Load())
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
