package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/e2e/cluster"
)

// rawClient talks to a cluster with bare pdpb and tikvpb gRPC, independent
// of the readiness code under test.
type rawClient struct {
	t         testing.TB
	conns     map[string]*grpc.ClientConn
	clusterID uint64
	leader    *pdpb.Member
	pd        pdpb.PDClient
}

func newRawClient(t testing.TB, pdAddrs []string) *rawClient {
	t.Helper()
	rc := &rawClient{t: t, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(func() {
		for _, cc := range rc.conns {
			_ = cc.Close()
		}
	})
	rc.refreshLeader(t.Context(), pdAddrs)
	return rc
}

func (rc *rawClient) conn(addr string) *grpc.ClientConn {
	rc.t.Helper()
	if cc, ok := rc.conns[addr]; ok {
		return cc
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		rc.t.Fatalf("dial %s: %v", addr, err)
	}
	rc.conns[addr] = cc
	return cc
}

// members asks the PD at addr for the member list.
func (rc *rawClient) members(ctx context.Context, addr string) *pdpb.GetMembersResponse {
	rc.t.Helper()
	resp, err := pdpb.NewPDClient(rc.conn(addr)).GetMembers(ctx, &pdpb.GetMembersRequest{Header: &pdpb.RequestHeader{}})
	if err != nil {
		rc.t.Fatalf("GetMembers(%s): %v", addr, err)
	}
	if e := resp.GetHeader().GetError(); e != nil {
		rc.t.Fatalf("GetMembers(%s): header error %v", addr, e)
	}
	if resp.GetHeader().GetClusterId() == 0 || resp.GetLeader() == nil || len(resp.GetLeader().GetClientUrls()) == 0 {
		rc.t.Fatalf("GetMembers(%s) = %v: want a cluster ID and a leader with client URLs", addr, resp)
	}
	return resp
}

func (rc *rawClient) refreshLeader(ctx context.Context, pdAddrs []string) {
	rc.t.Helper()
	m := rc.members(ctx, pdAddrs[0])
	rc.clusterID = m.GetHeader().GetClusterId()
	rc.leader = m.GetLeader()
	rc.pd = pdpb.NewPDClient(rc.conn(trimScheme(m.GetLeader().GetClientUrls()[0])))
}

func (rc *rawClient) header() *pdpb.RequestHeader {
	return &pdpb.RequestHeader{ClusterId: rc.clusterID}
}

func (rc *rawClient) stores(ctx context.Context) []*metapb.Store {
	rc.t.Helper()
	resp, err := rc.pd.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: rc.header(), ExcludeTombstoneStores: true})
	if err != nil || resp.GetHeader().GetError() != nil {
		rc.t.Fatalf("GetAllStores: %v %v", err, resp.GetHeader().GetError())
	}
	return resp.GetStores()
}

// tso takes count timestamps on one stream and returns the last of the batch.
func (rc *rawClient) tso(ctx context.Context, stream pdpb.PD_TsoClient, count uint32) uint64 {
	rc.t.Helper()
	if err := stream.Send(&pdpb.TsoRequest{Header: rc.header(), Count: count}); err != nil {
		rc.t.Fatalf("Tso send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		rc.t.Fatalf("Tso recv: %v", err)
	}
	if resp.GetCount() != count {
		rc.t.Fatalf("Tso count = %d, want %d", resp.GetCount(), count)
	}
	ts := resp.GetTimestamp()
	return uint64(ts.GetPhysical())<<18 | uint64(ts.GetLogical())
}

// regionFor returns the region holding key, its leader and the leader's
// store address.
func (rc *rawClient) regionFor(ctx context.Context, key []byte) (*metapb.Region, *metapb.Peer, string) {
	rc.t.Helper()
	r, err := rc.pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: rc.header(), RegionKey: key})
	if err != nil || r.GetHeader().GetError() != nil || r.GetRegion() == nil || r.GetLeader() == nil {
		rc.t.Fatalf("GetRegion(%q) = %v, %v", key, r, err)
	}
	s, err := rc.pd.GetStore(ctx, &pdpb.GetStoreRequest{Header: rc.header(), StoreId: r.GetLeader().GetStoreId()})
	if err != nil || s.GetHeader().GetError() != nil {
		rc.t.Fatalf("GetStore(%d) = %v, %v", r.GetLeader().GetStoreId(), s, err)
	}
	return r.GetRegion(), r.GetLeader(), s.GetStore().GetAddress()
}

func kvContext(region *metapb.Region, peer *metapb.Peer) *kvrpcpb.Context {
	return &kvrpcpb.Context{RegionId: region.GetId(), RegionEpoch: region.GetRegionEpoch(), Peer: peer}
}

// rawPutGet writes key=value through the region leader, reads it back,
// and deletes it again so a shared cluster is left as it was. Under API V2
// the key goes into the default keyspace ('r' and keyspace id 0), and PD is
// asked for its memcomparable-encoded region key.
func (rc *rawClient) rawPutGet(ctx context.Context, api cluster.APIVersion, key, value []byte) {
	rc.t.Helper()
	lookup := key
	if api == cluster.APIV2 {
		key = append([]byte{'r', 0, 0, 0}, key...)
		lookup = encodeBytes(key)
	}
	region, leader, addr := rc.regionFor(ctx, lookup)
	kctx := func() *kvrpcpb.Context {
		c := kvContext(region, leader)
		if api == cluster.APIV2 {
			c.ApiVersion = kvrpcpb.APIVersion_V2
		}
		return c
	}
	kv := tikvpb.NewTikvClient(rc.conn(addr))
	put, err := kv.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: kctx(), Key: key, Value: value})
	if err != nil || put.GetRegionError() != nil || put.GetError() != "" {
		rc.t.Fatalf("RawPut(%q) on store %s: %v %v %q", key, addr, err, put.GetRegionError(), put.GetError())
	}
	get, err := kv.RawGet(ctx, &kvrpcpb.RawGetRequest{Context: kctx(), Key: key})
	if err != nil || get.GetRegionError() != nil || get.GetError() != "" {
		rc.t.Fatalf("RawGet(%q) on store %s: %v %v %q", key, addr, err, get.GetRegionError(), get.GetError())
	}
	if get.GetNotFound() || !bytes.Equal(get.GetValue(), value) {
		rc.t.Fatalf("RawGet(%q) = %q (not found: %v), want %q", key, get.GetValue(), get.GetNotFound(), value)
	}
	del, err := kv.RawDelete(ctx, &kvrpcpb.RawDeleteRequest{Context: kctx(), Key: key})
	if err != nil || del.GetRegionError() != nil || del.GetError() != "" {
		rc.t.Fatalf("RawDelete(%q): %v %v %q", key, err, del.GetRegionError(), del.GetError())
	}
}

// encodeBytes is TiKV's memcomparable byte encoding (groups of 8 bytes,
// zero-padded, each followed by 0xff minus the pad length), which turns an
// API V2 key into the region key PD knows.
func encodeBytes(b []byte) []byte {
	var out []byte
	for i := 0; i <= len(b); i += 8 {
		chunk := b[i:min(i+8, len(b))]
		out = append(out, chunk...)
		out = append(out, make([]byte, 8-len(chunk))...)
		out = append(out, byte(0xff-(8-len(chunk))))
	}
	return out
}

// testKey returns a key under a random per-test prefix; the seed is logged
// so a failing run can be repeated.
func testKey(t testing.TB, suffix string) []byte {
	seed := uint64(time.Now().UnixNano())
	t.Logf("key prefix seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	return fmt.Appendf(nil, "tikvgo-e2e/%s/%016x/%s", strings.ReplaceAll(t.Name(), "/", "_"), r.Uint64(), suffix)
}

func trimScheme(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
	}
	return strings.TrimSuffix(url, "/")
}

// checkCluster exercises a ready cluster over raw gRPC: PD members, stores,
// TSO, and a raw write/read through the leader of the key's region. A zero
// wantPDs or wantStores (external clusters, whose shape the test does not
// know) only requires at least one.
func checkCluster(t *testing.T, c *cluster.Cluster, wantPDs, wantStores int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pdAddrs := c.PDAddrs()
	if len(pdAddrs) == 0 || wantPDs != 0 && len(pdAddrs) != wantPDs {
		t.Fatalf("PDAddrs() = %v, want %d addresses", pdAddrs, wantPDs)
	}
	rc := newRawClient(t, pdAddrs)

	// Every PD endpoint answers and agrees on the cluster and the leader.
	for _, addr := range pdAddrs {
		m := rc.members(ctx, addr)
		if m.GetHeader().GetClusterId() != rc.clusterID || m.GetLeader().GetMemberId() != rc.leader.GetMemberId() {
			t.Errorf("PD %s reports cluster %d leader %d; PD %s reported cluster %d leader %d",
				addr, m.GetHeader().GetClusterId(), m.GetLeader().GetMemberId(), pdAddrs[0], rc.clusterID, rc.leader.GetMemberId())
		}
		if wantPDs != 0 && len(m.GetMembers()) != wantPDs {
			t.Errorf("PD %s lists %d members, want %d", addr, len(m.GetMembers()), wantPDs)
		}
	}

	st := rc.stores(ctx)
	if len(st) == 0 || wantStores != 0 && len(st) != wantStores {
		t.Fatalf("GetAllStores lists %d stores, want %d", len(st), wantStores)
	}
	for _, s := range st {
		if s.GetState() != metapb.StoreState_Up {
			t.Errorf("store %d (%s) state %s, want Up", s.GetId(), s.GetAddress(), s.GetState())
		}
	}
	if sa := c.StoreAddrs(); sa != nil && wantStores != 0 && len(sa) != wantStores {
		t.Errorf("StoreAddrs() = %v, want %d", sa, wantStores)
	}

	stream, err := rc.pd.Tso(ctx)
	if err != nil {
		t.Fatalf("Tso: %v", err)
	}
	first := rc.tso(ctx, stream, 10)
	second := rc.tso(ctx, stream, 1)
	if second <= first {
		t.Errorf("second TSO %d not after first batch's last %d", second, first)
	}
	if err := stream.CloseSend(); err != nil {
		t.Errorf("Tso CloseSend: %v", err)
	}

	rc.rawPutGet(ctx, c.APIVersion(), testKey(t, "k"), []byte("v"))
}
