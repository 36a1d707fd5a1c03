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

func TestTxnRefusesAPIV2(t *testing.T) {
	sim := startSim(t, tikvsim.Options{APIVersion: 2})
	cli := newClient(t, sim, tikv.WithAPIVersion(tikv.V2))
	if _, err := cli.Txn(t.Context()); !errors.Is(err, tikv.ErrInvalidOption) {
		t.Fatalf("Txn under API V2: %v", err)
	}
}
