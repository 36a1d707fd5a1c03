package gcetcd_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tikvgo/tikvgo/gcetcd"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestLoaderReadsPDsTxnSafePoint advances the txn safe point through PD's
// GC-state API on tikvsim, which stores it in PD's etcd where older PD
// versions kept it, and reads it back through the loader over a real etcd
// client on the PD address.
func TestLoaderReadsPDsTxnSafePoint(t *testing.T) {
	ctx := t.Context()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{Stores: 1, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	etcd, err := clientv3.New(clientv3.Config{Endpoints: sim.PDAddrs(), DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	l, err := gcetcd.New(etcd)
	if err != nil {
		t.Fatal(err)
	}
	if sp, err := l.TxnSafePoint(ctx); err != nil || sp != 0 {
		t.Fatalf("before any GC: TxnSafePoint = %d, %v; want 0", sp, err)
	}

	pd, err := pdclient.New(ctx, sim.PDAddrs())
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	target := sim.CurrentTS()
	if _, err := pd.AdvanceTxnSafePoint(ctx, pdclient.NullKeyspaceID, target); err != nil {
		t.Fatal(err)
	}
	if sp, err := l.TxnSafePoint(ctx); err != nil || sp != target {
		t.Fatalf("after advancing: TxnSafePoint = %d, %v; want %d", sp, err, target)
	}
}
