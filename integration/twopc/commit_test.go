package twopc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/twopc"
)

var splits = []string{"a010", "a020", "a030"}

func TestCommitAcrossRegions(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits, opts: []twopc.Option{twopc.WithBatchSize(64, 4)}})
	ctx := testCtx(t)
	muts := puts("a", 40)
	commits := e.count("KvCommit")
	start := e.now(ctx)
	res, err := e.cli.Commit(ctx, muts, start)
	if err != nil {
		t.Fatal(err)
	}
	if res.CommitTS() <= start || res.Mode() != twopc.Mode2PC || res.FellBack() {
		t.Fatalf("commit ts %d (start %d), mode %v, fell back %v", res.CommitTS(), start, res.Mode(), res.FellBack())
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatalf("secondaries: %v", err)
	}
	// 4 regions of 10 keys, at most 4 keys per batch: 3 batches each.
	if n := commits.Load(); n != 12 {
		t.Errorf("commit requests = %d, want 12", n)
	}
	e.checkAll(ctx, muts, true)

	// A delete of everything commits the same way.
	dels := make(twopc.MutationSlice, len(muts))
	for i, m := range muts {
		dels[i] = twopc.Mutation{Op: twopc.OpDelete, Key: m.Key}
	}
	res, err = e.cli.Commit(ctx, dels, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	e.checkAll(ctx, muts, false)
}

func TestCommitTypedErrors(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	base := puts("a", 30)
	res, err := e.cli.Commit(ctx, base, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("write conflict", func(t *testing.T) {
		old := e.now(ctx)
		newer, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("a015"), Value: []byte("new")}}, e.now(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: []byte("a005"), Value: []byte("x")},
			{Op: twopc.OpPut, Key: []byte("a015"), Value: []byte("x")},
		}, old)
		var wc *twopc.WriteConflictError
		if !errors.As(err, &wc) || !errors.Is(err, twopc.ErrWriteConflict) {
			t.Fatalf("err = %v, want write conflict", err)
		}
		if wc.StartTS != old || wc.ConflictCommitTS != newer.CommitTS() || wc.ConflictStartTS == 0 ||
			!bytes.Equal(wc.Key, []byte("a015")) || !bytes.Equal(wc.Primary, []byte("a005")) || !wc.Retryable() {
			t.Fatalf("conflict %+v (newer commit ts %d)", wc, newer.CommitTS())
		}
		// The failed transaction's lock on a005 is rolled back.
		if err := e.cli.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _ := e.mustGet(ctx, "a005"); v != "val-a005" {
			t.Fatalf("a005 = %q after rollback", v)
		}
	})

	t.Run("key exists", func(t *testing.T) {
		_, err := e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: []byte("b1"), Value: []byte("x")},
			{Op: twopc.OpInsert, Key: []byte("a001"), Value: []byte("x")},
		}, e.now(ctx))
		var ke *twopc.KeyExistsError
		if !errors.As(err, &ke) || !bytes.Equal(ke.Key, []byte("a001")) || !errors.Is(err, twopc.ErrKeyExists) {
			t.Fatalf("err = %v", err)
		}
		if err := e.cli.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.mustGet(ctx, "b1"); ok {
			t.Fatal("b1 visible after a failed commit")
		}
		_, err = e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpCheckNotExists, Key: []byte("a002")}}, e.now(ctx))
		if !errors.Is(err, twopc.ErrKeyExists) {
			t.Fatalf("check-not-exists: %v", err)
		}
	})

	t.Run("assertion", func(t *testing.T) {
		for _, level := range []twopc.AssertionLevel{twopc.AssertionFast, twopc.AssertionStrict} {
			_, err := e.cli.Commit(ctx, twopc.MutationSlice{
				{Op: twopc.OpPut, Key: []byte("a003"), Value: []byte("x"), Assertion: twopc.AssertNotExist},
			}, e.now(ctx), twopc.WithAssertionLevel(level))
			var ae *twopc.AssertionFailedError
			if !errors.As(err, &ae) || ae.Assertion != twopc.AssertNotExist || ae.ExistingCommitTS == 0 {
				t.Fatalf("level %v: err = %v", level, err)
			}
		}
		// Off: the same assertion is not checked.
		res, err := e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: []byte("a003"), Value: []byte("y"), Assertion: twopc.AssertNotExist},
		}, e.now(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Wait(ctx)
		// A true assertion passes at strict level.
		if _, err := e.cli.Commit(ctx, twopc.MutationSlice{
			{Op: twopc.OpPut, Key: []byte("a004"), Value: []byte("y"), Assertion: twopc.AssertExist},
			{Op: twopc.OpPut, Key: []byte("zz"), Value: []byte("y"), Assertion: twopc.AssertNotExist},
		}, e.now(ctx), twopc.WithAssertionLevel(twopc.AssertionStrict)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("too large", func(t *testing.T) {
		small := e.newClient(twopc.WithSizeLimits(100, 20))
		_, err := small.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 30)}}, e.now(ctx))
		var ee *twopc.EntryTooLargeError
		if !errors.As(err, &ee) || ee.Size != 31 || ee.Limit != 20 {
			t.Fatalf("entry: %v", err)
		}
		_, err = small.Commit(ctx, puts("c", 10), e.now(ctx))
		if !errors.Is(err, twopc.ErrTxnTooLarge) {
			t.Fatalf("txn: %v", err)
		}
	})

	t.Run("bad primary", func(t *testing.T) {
		_, err := e.cli.Commit(ctx, puts("d", 2), e.now(ctx), twopc.WithPrimary([]byte("nope")))
		if !errors.Is(err, twopc.ErrInvalidOption) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestCommitInKeyspace commits wire keys of keyspace 1 under API V2: the
// codec gives every request its keyspace, and region keys are the encoded
// wire keys.
func TestCommitInKeyspace(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{keyspace: "ks1"})
	ctx := testCtx(t)
	var muts twopc.MutationSlice
	for _, m := range puts("a", 20) {
		m.Key = e.codec.EncodeKey(m.Key)
		muts = append(muts, m)
	}
	for _, opts := range [][]twopc.CommitOption{nil, {twopc.WithAsyncCommit()}, {twopc.With1PC()}} {
		res, err := e.cli.Commit(ctx, muts, e.now(ctx), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		e.checkAll(ctx, muts, true)
	}
}
