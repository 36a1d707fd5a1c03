package peer

import (
	"bytes"
	"context"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestClientGoOnSim checks that client-go v2.0.4's own clients work end to
// end against tikvsim: PD discovery, TSO, region lookup and the TiKV RPCs
// they send. It is what the peer benchmarks rely on.
func TestClientGoOnSim(t *testing.T) {
	c := startSim(t, tikvsim.Options{})
	ctx := context.Background()

	t.Run("pd", func(t *testing.T) {
		pdc := clientGoPDClient(t, c.PDAddrs())
		var last uint64
		for range 100 {
			physical, logical, err := pdc.GetTS(ctx)
			if err != nil {
				t.Fatalf("GetTS: %v", err)
			}
			ts := uint64(physical)<<18 | uint64(logical)
			if ts <= last {
				t.Fatalf("GetTS went from %d to %d", last, ts)
			}
			last = ts
		}
		region, err := pdc.GetRegion(ctx, []byte("any"))
		if err != nil || region == nil || region.Leader == nil {
			t.Fatalf("GetRegion = %v, %v; want a region with a leader", region, err)
		}
	})

	t.Run("rawkv", func(t *testing.T) {
		raw := clientGoRawKV(t, c.PDAddrs())
		if err := raw.Put(ctx, []byte("rk"), []byte("rv")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := raw.Get(ctx, []byte("rk"))
		if err != nil || !bytes.Equal(got, []byte("rv")) {
			t.Fatalf("Get = %q, %v; want \"rv\"", got, err)
		}
		if err := raw.Delete(ctx, []byte("rk")); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got, err := raw.Get(ctx, []byte("rk")); err != nil || got != nil {
			t.Fatalf("Get after Delete = %q, %v; want nil", got, err)
		}
	})

	t.Run("txnkv", func(t *testing.T) {
		cli := clientGoTxnKV(t, c.PDAddrs())
		txn, err := cli.Begin()
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		for _, k := range []string{"ta", "tb", "tc"} {
			if err := txn.Set([]byte(k), []byte("v-"+k)); err != nil {
				t.Fatalf("Set: %v", err)
			}
		}
		if err := txn.Commit(ctx); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		snap, err := cli.Begin()
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		got, err := snap.Get(ctx, []byte("tb"))
		if err != nil || !bytes.Equal(got, []byte("v-tb")) {
			t.Fatalf("Get = %q, %v; want \"v-tb\"", got, err)
		}
		if err := snap.Rollback(); err != nil {
			t.Fatalf("Rollback: %v", err)
		}
	})
}
