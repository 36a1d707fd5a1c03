package tikv_test

import (
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/txnkv"
)

// TestTxnSharesTheStack: the raw and transactional clients of one Client
// see each other's data layout (one cluster), Txn hands out one client,
// and Close closes it.
func TestTxnSharesTheStack(t *testing.T) {
	sim := startSim(t, tikvsim.Options{})
	cli := newClient(t, sim, tikv.WithTxnOptions(txnkv.WithLocalLatches()))
	ctx := t.Context()
	tc, err := cli.Txn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := cli.Txn(ctx); again != tc {
		t.Fatal("Txn built a second client")
	}
	txn, err := tc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = txn.Set([]byte("k"), []byte("v"))
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := tc.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := snap.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if _, err := snap.Get(ctx, []byte("nope")); !errors.Is(err, tikv.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Begin(ctx); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("begin after close: %v", err)
	}
	if _, err := cli.Txn(ctx); !errors.Is(err, tikv.ErrClosed) {
		t.Fatalf("Txn after close: %v", err)
	}
}

// TestTxnAPIV2 runs transactions in two keyspaces of one API V2 cluster:
// each client sees only its own keyspace's writes, under the user keys it
// wrote, and the raw client of the same keyspace does not see them either
// (raw and transactional keys have different prefixes).
func TestTxnAPIV2(t *testing.T) {
	sim := startSim(t, tikvsim.Options{APIVersion: 2, Keyspaces: []string{"a", "b"}})
	ctx := t.Context()
	open := func(ks string) (*tikv.Client, *tikv.TxnClient) {
		cli := newClient(t, sim, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace(ks))
		tc, err := cli.Txn(ctx)
		if err != nil {
			t.Fatalf("Txn in keyspace %s: %v", ks, err)
		}
		return cli, tc
	}
	cliA, a := open("a")
	_, b := open("b")
	if a.KeyspaceID() != 1 || b.KeyspaceID() != 2 {
		t.Fatalf("keyspace ids %d, %d; want 1, 2", a.KeyspaceID(), b.KeyspaceID())
	}
	txn, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = txn.Set([]byte("k"), []byte("in a"))
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	snapA, err := a.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := snapA.Get(ctx, []byte("k")); err != nil || string(v) != "in a" {
		t.Fatalf("get in a = %q, %v", v, err)
	}
	snapB, err := b.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapB.Get(ctx, []byte("k")); !errors.Is(err, tikv.ErrNotFound) {
		t.Fatalf("get in b: %v, want not found", err)
	}
	for kv, err := range snapB.Iter(ctx, nil, nil) {
		t.Fatalf("scan of b yielded %q, %v", kv.Key, err)
	}
	if v, err := cliA.Raw().Get(ctx, []byte("k")); v != nil || err != nil {
		t.Fatalf("raw get in a = %q, %v; want nothing", v, err)
	}
}
