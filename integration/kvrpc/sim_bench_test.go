package kvrpc_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// BenchmarkSendSim compares BatchCommands with unary at 256 concurrent
// RawGets against the leader store of a tikvsim cluster.
func BenchmarkSendSim(b *testing.B) {
	sim, err := tikvsim.Start(b.Context(), tikvsim.Options{Stores: 1, Replicas: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	r := sim.Regions()[0]
	var leader tikvsim.PeerInfo
	for _, p := range r.Peers {
		if p.StoreID == r.Leader {
			leader = p
		}
	}
	addr := sim.StoreAddrs()[r.Leader-1]
	rctx := func() *kvrpcpb.Context {
		return &kvrpcpb.Context{RegionId: r.ID, RegionEpoch: &metapb.RegionEpoch{ConfVer: r.ConfVer, Version: r.Version},
			Peer: &metapb.Peer{Id: leader.ID, StoreId: leader.StoreID}}
	}
	for _, mode := range []struct {
		name string
		opts []kvrpc.Option
	}{
		{"batch", nil},
		{"unary", []kvrpc.Option{kvrpc.WithMaxBatchSize(0)}},
	} {
		b.Run(fmt.Sprintf("%s/conc=256", mode.name), func(b *testing.B) {
			c := newClient(b, mode.opts...)
			b.ReportAllocs()
			b.SetParallelism(max(1, 256/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Context: rctx(), Key: []byte("k")})
					resp, err := c.Send(b.Context(), addr, req)
					if err != nil {
						b.Error(err)
						return
					}
					if re := resp.RegionError(); re != nil {
						b.Errorf("region error %v", re)
						return
					}
				}
			})
			if st := c.Stats(); st.BatchMessages > 0 {
				b.ReportMetric(float64(st.BatchedRequests)/float64(st.BatchMessages), "reqs/batch")
			}
		})
	}
}
