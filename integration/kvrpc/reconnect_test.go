package kvrpc_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestStoreRestartReconnectsWithinCap stops a store long enough for every
// connection's reconnect backoff to reach its cap, restarts it, and checks
// that requests succeed again within about one capped interval rather than
// after gRPC's default backoff (which grows to two minutes).
func TestStoreRestartReconnectsWithinCap(t *testing.T) {
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{Stores: 1, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	r := sim.Regions()[0]
	addr := sim.StoreAddrs()[r.Leader-1]
	var peer tikvsim.PeerInfo
	for _, p := range r.Peers {
		if p.StoreID == r.Leader {
			peer = p
		}
	}

	const capDelay = 300 * time.Millisecond
	// failedDials counts connection attempts the stopped store refused; the
	// backoff is at its cap once each connection has failed several times.
	var failedDials atomic.Int64
	dialer := func(ctx context.Context, a string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", a)
		if err != nil {
			failedDials.Add(1)
		}
		return c, err
	}
	c, err := kvrpc.New(
		kvrpc.WithConnectionCount(2),
		kvrpc.WithReconnectBackoff(50*time.Millisecond, capDelay),
		kvrpc.WithDialOptions(grpc.WithContextDialer(dialer)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	get := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		req := kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{
			Context: &kvrpcpb.Context{RegionId: r.ID,
				RegionEpoch: &metapb.RegionEpoch{ConfVer: r.ConfVer, Version: r.Version},
				Peer:        &metapb.Peer{Id: peer.ID, StoreId: peer.StoreID}},
			Key: []byte("k"),
		})
		_, err := c.Send(ctx, addr, req)
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the stop: %v", err)
	}
	if err := sim.StopStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	// 50ms·1.6^k reaches the 300ms cap after 4 attempts; 6 failures per
	// connection is well past it.
	for failedDials.Load() < 12 {
		if err := get(); err == nil {
			t.Fatal("a request succeeded while the store was stopped")
		}
		if t.Context().Err() != nil {
			t.Fatal(t.Context().Err())
		}
	}
	if err := sim.RestartStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	for get() != nil {
		if t.Context().Err() != nil {
			t.Fatal(t.Context().Err())
		}
	}
	// One capped delay with +20% jitter, plus generous room for a loaded
	// machine; gRPC's default backoff would be at 1.6^k seconds by now.
	if took := time.Since(restarted); took > capDelay*12/10+time.Second {
		t.Fatalf("requests recovered %v after the restart; want within about %v", took, capDelay)
	}
}
