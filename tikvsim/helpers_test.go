package tikvsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// testTimeout bounds every test's RPCs; nothing waits on it in the happy
// path.
const testTimeout = 30 * time.Second

func start(t testing.TB, opts tikvsim.Options) *tikvsim.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := tikvsim.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func pdClient(t testing.TB, c *tikvsim.Cluster, i int) pdpb.PDClient {
	return pdpb.NewPDClient(dial(t, c.PDAddrs()[i]))
}

// kvClients returns a TiKV client per store, indexed by store id.
func kvClients(t testing.TB, c *tikvsim.Cluster) map[uint64]tikvpb.TikvClient {
	out := map[uint64]tikvpb.TikvClient{}
	for _, s := range c.Stores() {
		out[s.ID] = tikvpb.NewTikvClient(dial(t, s.Addr))
	}
	return out
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// rctx builds a request Context for region ri addressed to its peer on
// storeID (0: the leader).
func rctx(ri tikvsim.RegionInfo, storeID uint64) *kvrpcpb.Context {
	if storeID == 0 {
		storeID = ri.Leader
	}
	var peer *metapb.Peer
	for _, p := range ri.Peers {
		if p.StoreID == storeID {
			peer = &metapb.Peer{Id: p.ID, StoreId: p.StoreID}
		}
	}
	return &kvrpcpb.Context{
		RegionId:    ri.ID,
		RegionEpoch: &metapb.RegionEpoch{ConfVer: ri.ConfVer, Version: ri.Version},
		Peer:        peer,
	}
}

func hdr(c *tikvsim.Cluster) *pdpb.RequestHeader {
	return &pdpb.RequestHeader{ClusterId: c.ClusterID()}
}

// regionFor returns the region containing a transactional key.
func regionFor(t testing.TB, c *tikvsim.Cluster, key []byte) tikvsim.RegionInfo {
	t.Helper()
	ri, err := c.RegionByKey(tikvsim.EncodeKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

// rawRegionFor returns the region containing an API V1 raw key.
func rawRegionFor(t testing.TB, c *tikvsim.Cluster, key []byte) tikvsim.RegionInfo {
	t.Helper()
	ri, err := c.RegionByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return ri
}
