package txnkv_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv"
)

func TestOptimisticCommitAndSnapshots(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"m"})
	ctx := testCtx(t)

	var hooked []txnkv.CommitInfo
	txn, err := e.cli.Begin(ctx, txnkv.WithCommitHook(func(ci txnkv.CommitInfo) { hooked = append(hooked, ci) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "z", "n"} {
		if err := txn.Set([]byte(k), []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Delete([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if v, err := txn.Get(ctx, []byte("a")); err != nil || string(v) != "va" {
		t.Fatalf("buffered get = %q, %v", v, err)
	}
	if _, err := txn.Get(ctx, []byte("gone")); !errors.Is(err, txnkv.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if txn.Len() != 4 || txn.Size() == 0 {
		t.Fatalf("len %d size %d", txn.Len(), txn.Size())
	}
	before := txn.StartTS()
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if txn.CommitTS() <= before {
		t.Fatalf("commit ts %v <= start ts %v", txn.CommitTS(), before)
	}
	if len(hooked) != 1 || hooked[0].CommitTS != txn.CommitTS() || hooked[0].Err != nil || hooked[0].Keys != 4 {
		t.Fatalf("hook saw %+v", hooked)
	}
	if err := txn.Set([]byte("a"), nil); !errors.Is(err, txnkv.ErrTxnDone) {
		t.Fatalf("set after commit: %v", err)
	}
	for _, k := range []string{"a", "n", "z"} {
		if v, ok := e.mustGet(ctx, k); !ok || v != "v"+k {
			t.Fatalf("%s = %q %v", k, v, ok)
		}
	}
	// A snapshot at the old start ts does not see the commit.
	old, err := e.cli.Snapshot(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Get(ctx, []byte("a")); !errors.Is(err, txnkv.ErrNotFound) {
		t.Fatalf("old snapshot: %v", err)
	}
	got, err := old.BatchGet(ctx, [][]byte{[]byte("a"), []byte("z")})
	if err != nil || len(got) != 0 {
		t.Fatalf("old batch get = %v, %v", got, err)
	}
	// An explicit start ts reads what was committed at it.
	at, err := e.cli.Begin(ctx, txnkv.WithStartTS(txn.CommitTS()))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := at.Get(ctx, []byte("z")); err != nil || string(v) != "vz" {
		t.Fatalf("at commit ts: %q %v", v, err)
	}
	if err := at.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestInsertAndWriteConflict(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	e.put(ctx, "k", "v0")

	ins, _ := e.cli.Begin(ctx)
	if err := ins.Insert([]byte("k"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	err := ins.Commit(ctx)
	var ke *txnkv.KeyExistsError
	if !errors.As(err, &ke) || !errors.Is(err, txnkv.ErrKeyExists) || txnkv.IsRetryable(err) || string(ke.Key) != "k" {
		t.Fatalf("insert of existing key: %v", err)
	}

	a, _ := e.cli.Begin(ctx)
	b, _ := e.cli.Begin(ctx)
	_ = a.Set([]byte("k"), []byte("a"))
	_ = b.Set([]byte("k"), []byte("b"))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = a.Commit(ctx)
	if !errors.Is(err, txnkv.ErrWriteConflict) || !txnkv.IsRetryable(err) {
		t.Fatalf("conflicting commit: %v", err)
	}
	if v, _ := e.mustGet(ctx, "k"); v != "b" {
		t.Fatalf("k = %q", v)
	}
}

func TestLocalLatches(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil, txnkv.WithLocalLatches())
	ctx := testCtx(t)
	prewrites := e.count("KvPrewrite")
	a, _ := e.cli.Begin(ctx)
	b, _ := e.cli.Begin(ctx)
	_ = a.Set([]byte("k"), []byte("a"))
	_ = b.Set([]byte("k"), []byte("b"))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	n := prewrites.Load()
	err := a.Commit(ctx)
	if !errors.Is(err, txnkv.ErrWriteConflict) || !txnkv.IsRetryable(err) {
		t.Fatalf("stale commit: %v", err)
	}
	if prewrites.Load() != n {
		t.Fatal("the stale transaction reached TiKV: latches did not stop it")
	}
}

func TestCommitModesAndOptions(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil, txnkv.WithDefaults(txnkv.WithAsyncCommit()))
	ctx := testCtx(t)
	cases := []struct {
		name string
		opts []txnkv.TxnOption
		want twopc.Mode
	}{
		{"client-wide async commit", nil, twopc.ModeAsyncCommit},
		{"per-txn 1PC", []txnkv.TxnOption{txnkv.WithoutAsyncCommit(), txnkv.With1PC()}, twopc.Mode1PC},
		{"per-txn off", []txnkv.TxnOption{txnkv.WithoutAsyncCommit()}, twopc.Mode2PC},
		{"causal async", []txnkv.TxnOption{txnkv.WithCausalConsistency()}, twopc.ModeAsyncCommit},
	}
	for i, c := range cases {
		txn, err := e.cli.Begin(ctx, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("mode%d", i)
		_ = txn.Set([]byte(k), []byte(c.name))
		if err := txn.Commit(ctx); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if txn.CommitMode() != c.want {
			t.Errorf("%s: mode %v, want %v", c.name, txn.CommitMode(), c.want)
		}
		if v, _ := e.mustGet(ctx, k); v != c.name {
			t.Errorf("%s: read %q", c.name, v)
		}
	}
	// Assertions: asserting a missing key exists fails the commit.
	txn, _ := e.cli.Begin(ctx, txnkv.WithAssertionLevel(twopc.AssertionStrict))
	_ = txn.Set([]byte("fresh"), []byte("v"))
	_ = txn.SetAssertion([]byte("fresh"), twopc.AssertExist)
	if err := txn.Commit(ctx); !errors.Is(err, txnkv.ErrAssertionFailed) {
		t.Fatalf("assertion: %v", err)
	}
}

func TestBufferLimits(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	txn, _ := e.cli.Begin(ctx, txnkv.WithBufferLimits(100, 50))
	if err := txn.Set([]byte("k"), make([]byte, 60)); !errors.Is(err, txnkv.ErrEntryTooLarge) || !errors.Is(err, retry.ErrEntryTooLarge) {
		t.Fatalf("entry: %v", err)
	}
	_ = txn.Set([]byte("a"), make([]byte, 40))
	_ = txn.Set([]byte("b"), make([]byte, 40))
	if err := txn.Set([]byte("c"), make([]byte, 40)); !errors.Is(err, txnkv.ErrTxnTooLarge) {
		t.Fatalf("total: %v", err)
	}
	_ = txn.Rollback(ctx)
}

func TestIterMergesBuffer(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"c", "f"})
	ctx := testCtx(t)
	e.put(ctx, "a", "1", "b", "2", "d", "4", "e", "5", "g", "7")
	txn, _ := e.cli.Begin(ctx)
	_ = txn.Set([]byte("c"), []byte("3"))
	_ = txn.Delete([]byte("d"))
	_ = txn.Set([]byte("e"), []byte("five"))
	_ = txn.Set([]byte("h"), []byte("8"))
	collect := func(reverse bool, opts ...txnkv.ReadOption) []string {
		seq := txn.Iter(ctx, []byte("b"), []byte("h"), opts...)
		if reverse {
			seq = txn.IterReverse(ctx, []byte("b"), []byte("h"), opts...)
		}
		var out []string
		for kv, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(kv.Key)+"="+string(kv.Value))
		}
		return out
	}
	want := []string{"b=2", "c=3", "e=five", "g=7"}
	if got := collect(false, txnkv.ScanBatchSize(1)); !slices.Equal(got, want) {
		t.Fatalf("forward = %v, want %v", got, want)
	}
	slices.Reverse(want)
	if got := collect(true, txnkv.ScanBatchSize(2)); !slices.Equal(got, want) {
		t.Fatalf("reverse = %v, want %v", got, want)
	}
	if got := collect(false, txnkv.KeyOnly()); !slices.Equal(got, []string{"b=", "c=", "e=", "g="}) {
		t.Fatalf("key only = %v", got)
	}
	// Writing while iterating ends the iteration with an error.
	var iterErr error
	for _, err := range txn.Iter(ctx, nil, nil) {
		if err != nil {
			iterErr = err
			break
		}
		_ = txn.Set([]byte("zz"), nil)
	}
	if iterErr == nil {
		t.Fatal("a write during iteration went unnoticed")
	}
	_ = txn.Rollback(ctx)
}

func TestCommitWhileSplitting(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"k050"})
	ctx := testCtx(t)
	for _, cmd := range []string{"KvPrewrite", "KvCommit"} {
		txn, _ := e.cli.Begin(ctx)
		keys := keysN("k", 100)
		for _, k := range keys {
			_ = txn.Set([]byte(k), []byte(cmd+k))
		}
		// Prewrite sends one request per region at once; commit sends
		// the primary's (k000..k049, which holds k020) first, alone.
		fanout := 2
		if cmd == "KvCommit" {
			fanout = 1
		}
		arrived, release := e.parkAfter(cmd, []byte("k020"), fanout)
		done := make(chan error, 1)
		go func() { done <- txn.Commit(ctx) }()
		<-arrived
		split := "k025"
		if cmd == "KvCommit" {
			split = "k075"
		}
		e.reshape(split)
		release()
		if err := <-done; err != nil {
			t.Fatalf("commit with %s parked: %v", cmd, err)
		}
		snap, err := e.cli.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for p, err := range snap.Iter(ctx, nil, nil) {
			if err != nil {
				t.Fatal(err)
			}
			if string(p.Value) != cmd+string(p.Key) {
				t.Fatalf("%s = %q", p.Key, p.Value)
			}
			n++
		}
		if n != len(keys) {
			t.Fatalf("read %d keys back, want %d", n, len(keys))
		}
	}
}
