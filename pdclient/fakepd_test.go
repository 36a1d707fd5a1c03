package pdclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeCluster is a small in-test PD cluster: members share one state and one
// of them is the leader. Followers answer "not leader" like real PD.
type fakeCluster struct {
	t         *testing.T
	clusterID uint64
	members   []*fakeMember
	leader    atomic.Int32

	mu        sync.Mutex
	regions   []*pdpb.Region // sorted by start key
	stores    []*metapb.Store
	safePoint uint64
	barriers  map[string]*pdpb.GCBarrierInfo
	global    []*pdpb.GlobalGCBarrierInfo
	keyspaces map[string]*keyspacepb.KeyspaceMeta
	calls     map[string]int
	// hook, when set, runs before every RPC on every member; a non-nil
	// error is returned as is.
	hook func(ctx context.Context, m *fakeMember, method string) error
	// headerClusterID, when non-zero, replaces the cluster id in headers.
	headerClusterID uint64
}

type fakeMember struct {
	pdpb.UnimplementedPDServer
	keyspacepb.UnimplementedKeyspaceServer
	c    *fakeCluster
	idx  int
	id   uint64
	addr string
	tls  *tls.Config

	mu  sync.Mutex
	srv *grpc.Server
}

func newFakeCluster(t *testing.T, n int, tlsCfg *tls.Config) *fakeCluster {
	t.Helper()
	c := &fakeCluster{
		t: t, clusterID: 7001,
		barriers:  map[string]*pdpb.GCBarrierInfo{},
		keyspaces: map[string]*keyspacepb.KeyspaceMeta{},
		calls:     map[string]int{},
	}
	for i := range n {
		m := &fakeMember{c: c, idx: i, id: uint64(100 + i), tls: tlsCfg}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m.addr = lis.Addr().String()
		m.serve(lis)
		c.members = append(c.members, m)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			m.stop()
		}
	})
	return c
}

func (m *fakeMember) serve(lis net.Listener) {
	var opts []grpc.ServerOption
	if m.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(m.tls)))
	}
	srv := grpc.NewServer(opts...)
	pdpb.RegisterPDServer(srv, m)
	keyspacepb.RegisterKeyspaceServer(srv, m)
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

func (m *fakeMember) stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

func (m *fakeMember) restart() {
	lis, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.c.t.Fatalf("relisten %s: %v", m.addr, err)
	}
	m.serve(lis)
}

func (c *fakeCluster) endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.addr)
	}
	return out
}

func (c *fakeCluster) callCount(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

func (c *fakeCluster) setHook(h func(ctx context.Context, m *fakeMember, method string) error) {
	c.mu.Lock()
	c.hook = h
	c.mu.Unlock()
}

func (c *fakeCluster) header() *pdpb.ResponseHeader {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.clusterID
	if c.headerClusterID != 0 {
		id = c.headerClusterID
	}
	return &pdpb.ResponseHeader{ClusterId: id}
}

func (c *fakeCluster) errHeader(t pdpb.ErrorType, msg string) *pdpb.ResponseHeader {
	h := c.header()
	h.Error = &pdpb.Error{Type: t, Message: msg}
	return h
}

// enter counts the call, runs the hook and enforces leadership.
func (m *fakeMember) enter(ctx context.Context, method string, leaderOnly bool) error {
	m.c.mu.Lock()
	m.c.calls[method]++
	hook := m.c.hook
	m.c.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, m, method); err != nil {
			return err
		}
	}
	if leaderOnly && int(m.c.leader.Load()) != m.idx {
		if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("pd-allow-follower-handle")) > 0 && strings.Contains(method, "Region") {
			m.c.mu.Lock()
			m.c.calls["follower:"+method]++
			m.c.mu.Unlock()
			return nil
		}
		return status.Error(codes.Unavailable, "not leader")
	}
	return nil
}

func (m *fakeMember) GetMembers(ctx context.Context, _ *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	if err := m.enter(ctx, "GetMembers", false); err != nil {
		return nil, err
	}
	resp := &pdpb.GetMembersResponse{Header: m.c.header()}
	for _, o := range m.c.members {
		mem := &pdpb.Member{Name: fmt.Sprintf("pd%d", o.idx), MemberId: o.id, ClientUrls: []string{"http://" + o.addr}}
		resp.Members = append(resp.Members, mem)
		if int(m.c.leader.Load()) == o.idx {
			resp.Leader = mem
		}
	}
	return resp, nil
}

func (c *fakeCluster) addRegion(id uint64, start, end []byte, leaderStore uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	peer := &metapb.Peer{Id: id*10 + leaderStore, StoreId: leaderStore}
	c.regions = append(c.regions, &pdpb.Region{
		Region:  &metapb.Region{Id: id, StartKey: start, EndKey: end, Peers: []*metapb.Peer{peer}, RegionEpoch: &metapb.RegionEpoch{Version: 1, ConfVer: 1}},
		Leader:  peer,
		Buckets: &metapb.Buckets{RegionId: id, Keys: [][]byte{start, end}},
	})
}

func contains(r *metapb.Region, key []byte) bool {
	return bytes.Compare(r.StartKey, key) <= 0 && (len(r.EndKey) == 0 || bytes.Compare(key, r.EndKey) < 0)
}

func (c *fakeCluster) regionResp(r *pdpb.Region, buckets bool) *pdpb.GetRegionResponse {
	resp := &pdpb.GetRegionResponse{Header: c.header()}
	if r != nil {
		resp.Region, resp.Leader = r.Region, r.Leader
		if buckets {
			resp.Buckets = r.Buckets
		}
	}
	return resp
}

func (m *fakeMember) GetRegion(ctx context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := m.enter(ctx, "GetRegion", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	var found *pdpb.Region
	for _, r := range m.c.regions {
		if contains(r.Region, req.RegionKey) {
			found = r
		}
	}
	m.c.mu.Unlock()
	return m.c.regionResp(found, req.NeedBuckets), nil
}

func (m *fakeMember) GetPrevRegion(ctx context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := m.enter(ctx, "GetPrevRegion", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	var found *pdpb.Region
	for i, r := range m.c.regions {
		if contains(r.Region, req.RegionKey) && i > 0 && bytes.Equal(m.c.regions[i-1].Region.EndKey, r.Region.StartKey) {
			found = m.c.regions[i-1]
		}
	}
	m.c.mu.Unlock()
	return m.c.regionResp(found, req.NeedBuckets), nil
}

func (m *fakeMember) GetRegionByID(ctx context.Context, req *pdpb.GetRegionByIDRequest) (*pdpb.GetRegionResponse, error) {
	if err := m.enter(ctx, "GetRegionByID", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	var found *pdpb.Region
	for _, r := range m.c.regions {
		if r.Region.Id == req.RegionId {
			found = r
		}
	}
	m.c.mu.Unlock()
	if found == nil && int(m.c.leader.Load()) != m.idx {
		// A follower whose cache lacks the region says so in the header.
		return &pdpb.GetRegionResponse{Header: m.c.errHeader(pdpb.ErrorType_REGION_NOT_FOUND, "region not found")}, nil
	}
	return m.c.regionResp(found, req.NeedBuckets), nil
}

func (c *fakeCluster) scan(start, end []byte, limit int32, buckets bool) []*pdpb.Region {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*pdpb.Region
	for _, r := range c.regions {
		if len(r.Region.EndKey) != 0 && bytes.Compare(r.Region.EndKey, start) <= 0 {
			continue
		}
		if len(end) != 0 && bytes.Compare(r.Region.StartKey, end) >= 0 {
			break
		}
		cp := &pdpb.Region{Region: r.Region, Leader: r.Leader}
		if buckets {
			cp.Buckets = r.Buckets
		}
		out = append(out, cp)
		if limit > 0 && int32(len(out)) == limit {
			break
		}
	}
	return out
}

func (m *fakeMember) ScanRegions(ctx context.Context, req *pdpb.ScanRegionsRequest) (*pdpb.ScanRegionsResponse, error) {
	if err := m.enter(ctx, "ScanRegions", true); err != nil {
		return nil, err
	}
	return &pdpb.ScanRegionsResponse{Header: m.c.header(), Regions: m.c.scan(req.StartKey, req.EndKey, req.Limit, false)}, nil
}

func (m *fakeMember) BatchScanRegions(ctx context.Context, req *pdpb.BatchScanRegionsRequest) (*pdpb.BatchScanRegionsResponse, error) {
	if err := m.enter(ctx, "BatchScanRegions", true); err != nil {
		return nil, err
	}
	resp := &pdpb.BatchScanRegionsResponse{Header: m.c.header()}
	seen := map[uint64]bool{}
	for _, kr := range req.Ranges {
		for _, r := range m.c.scan(kr.StartKey, kr.EndKey, 0, req.NeedBuckets) {
			if !seen[r.Region.Id] && (req.Limit <= 0 || int32(len(resp.Regions)) < req.Limit) {
				seen[r.Region.Id] = true
				resp.Regions = append(resp.Regions, r)
			}
		}
	}
	return resp, nil
}

func (m *fakeMember) GetStore(ctx context.Context, req *pdpb.GetStoreRequest) (*pdpb.GetStoreResponse, error) {
	if err := m.enter(ctx, "GetStore", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	for _, s := range m.c.stores {
		if s.Id == req.StoreId {
			return &pdpb.GetStoreResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, Store: s}, nil
		}
	}
	return &pdpb.GetStoreResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID, Error: &pdpb.Error{
		Type: pdpb.ErrorType_UNKNOWN, Message: fmt.Sprintf("invalid store ID %d, not found", req.StoreId)}}}, nil
}

func (m *fakeMember) GetAllStores(ctx context.Context, req *pdpb.GetAllStoresRequest) (*pdpb.GetAllStoresResponse, error) {
	if err := m.enter(ctx, "GetAllStores", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	resp := &pdpb.GetAllStoresResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}}
	for _, s := range m.c.stores {
		if req.ExcludeTombstoneStores && s.NodeState == metapb.NodeState_Removed {
			continue
		}
		resp.Stores = append(resp.Stores, s)
	}
	return resp, nil
}

func (m *fakeMember) GetGCSafePoint(ctx context.Context, _ *pdpb.GetGCSafePointRequest) (*pdpb.GetGCSafePointResponse, error) {
	if err := m.enter(ctx, "GetGCSafePoint", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return &pdpb.GetGCSafePointResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, SafePoint: m.c.safePoint}, nil
}

func (m *fakeMember) UpdateGCSafePoint(ctx context.Context, req *pdpb.UpdateGCSafePointRequest) (*pdpb.UpdateGCSafePointResponse, error) {
	if err := m.enter(ctx, "UpdateGCSafePoint", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	m.c.safePoint = max(m.c.safePoint, req.SafePoint)
	return &pdpb.UpdateGCSafePointResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, NewSafePoint: m.c.safePoint}, nil
}

func (m *fakeMember) SetGCBarrier(ctx context.Context, req *pdpb.SetGCBarrierRequest) (*pdpb.SetGCBarrierResponse, error) {
	if err := m.enter(ctx, "SetGCBarrier", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	b := &pdpb.GCBarrierInfo{BarrierId: req.BarrierId, BarrierTs: req.BarrierTs, TtlSeconds: req.TtlSeconds}
	m.c.barriers[req.BarrierId] = b
	return &pdpb.SetGCBarrierResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, NewBarrierInfo: b}, nil
}

func (m *fakeMember) DeleteGCBarrier(ctx context.Context, req *pdpb.DeleteGCBarrierRequest) (*pdpb.DeleteGCBarrierResponse, error) {
	if err := m.enter(ctx, "DeleteGCBarrier", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	b := m.c.barriers[req.BarrierId]
	delete(m.c.barriers, req.BarrierId)
	return &pdpb.DeleteGCBarrierResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, DeletedBarrierInfo: b}, nil
}

func (m *fakeMember) SetGlobalGCBarrier(ctx context.Context, req *pdpb.SetGlobalGCBarrierRequest) (*pdpb.SetGlobalGCBarrierResponse, error) {
	if err := m.enter(ctx, "SetGlobalGCBarrier", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	b := &pdpb.GlobalGCBarrierInfo{BarrierId: req.BarrierId, BarrierTs: req.BarrierTs, TtlSeconds: req.TtlSeconds}
	m.c.global = append(m.c.global, b)
	return &pdpb.SetGlobalGCBarrierResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, NewBarrierInfo: b}, nil
}

func (m *fakeMember) DeleteGlobalGCBarrier(ctx context.Context, req *pdpb.DeleteGlobalGCBarrierRequest) (*pdpb.DeleteGlobalGCBarrierResponse, error) {
	if err := m.enter(ctx, "DeleteGlobalGCBarrier", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	resp := &pdpb.DeleteGlobalGCBarrierResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}}
	for i, b := range m.c.global {
		if b.BarrierId == req.BarrierId {
			resp.DeletedBarrierInfo = b
			m.c.global = append(m.c.global[:i], m.c.global[i+1:]...)
			break
		}
	}
	return resp, nil
}

func (m *fakeMember) GetAllKeyspacesGCStates(ctx context.Context, _ *pdpb.GetAllKeyspacesGCStatesRequest) (*pdpb.GetAllKeyspacesGCStatesResponse, error) {
	if err := m.enter(ctx, "GetAllKeyspacesGCStates", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return &pdpb.GetAllKeyspacesGCStatesResponse{
		Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID},
		GcStates: []*pdpb.GCState{
			{TxnSafePoint: m.c.safePoint + 10, GcSafePoint: m.c.safePoint},
			{KeyspaceScope: &pdpb.KeyspaceScope{Keyspace: &pdpb.KeyspaceScope_KeyspaceId{KeyspaceId: 42}}, IsKeyspaceLevelGc: true},
		},
		GlobalGcBarriers: m.c.global,
	}, nil
}

func (m *fakeMember) GetGCState(ctx context.Context, req *pdpb.GetGCStateRequest) (*pdpb.GetGCStateResponse, error) {
	if err := m.enter(ctx, "GetGCState", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	st := &pdpb.GCState{KeyspaceScope: req.KeyspaceScope, TxnSafePoint: m.c.safePoint + 10, GcSafePoint: m.c.safePoint}
	if !req.ExcludeGcBarriers {
		for _, b := range m.c.barriers {
			st.GcBarriers = append(st.GcBarriers, b)
		}
	}
	return &pdpb.GetGCStateResponse{Header: &pdpb.ResponseHeader{ClusterId: m.c.clusterID}, GcState: st}, nil
}

func (m *fakeMember) AdvanceTxnSafePoint(ctx context.Context, req *pdpb.AdvanceTxnSafePointRequest) (*pdpb.AdvanceTxnSafePointResponse, error) {
	if err := m.enter(ctx, "AdvanceTxnSafePoint", true); err != nil {
		return nil, err
	}
	return &pdpb.AdvanceTxnSafePointResponse{Header: m.c.header(), OldTxnSafePoint: 1, NewTxnSafePoint: req.Target, BlockerDescription: "none"}, nil
}

func (m *fakeMember) GetMinTS(ctx context.Context, _ *pdpb.GetMinTSRequest) (*pdpb.GetMinTSResponse, error) {
	if err := m.enter(ctx, "GetMinTS", true); err != nil {
		return nil, err
	}
	return &pdpb.GetMinTSResponse{Header: m.c.header(), Timestamp: &pdpb.Timestamp{Physical: 1000, Logical: 5}}, nil
}

func (m *fakeMember) SplitRegions(ctx context.Context, req *pdpb.SplitRegionsRequest) (*pdpb.SplitRegionsResponse, error) {
	if err := m.enter(ctx, "SplitRegions", true); err != nil {
		return nil, err
	}
	ids := make([]uint64, len(req.SplitKeys))
	for i := range ids {
		ids[i] = uint64(500 + i)
	}
	return &pdpb.SplitRegionsResponse{Header: m.c.header(), FinishedPercentage: 100, RegionsId: ids}, nil
}

func (m *fakeMember) ScatterRegion(ctx context.Context, req *pdpb.ScatterRegionRequest) (*pdpb.ScatterRegionResponse, error) {
	if err := m.enter(ctx, "ScatterRegion", true); err != nil {
		return nil, err
	}
	var failed []uint64
	if req.Group == "fail-first" && len(req.RegionsId) > 0 {
		failed = req.RegionsId[:1]
	}
	return &pdpb.ScatterRegionResponse{Header: m.c.header(), FinishedPercentage: 100, FailedRegionsId: failed}, nil
}

func (m *fakeMember) LoadKeyspace(ctx context.Context, req *keyspacepb.LoadKeyspaceRequest) (*keyspacepb.LoadKeyspaceResponse, error) {
	if err := m.enter(ctx, "LoadKeyspace", true); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	ks := m.c.keyspaces[req.Name]
	m.c.mu.Unlock()
	if ks == nil {
		return &keyspacepb.LoadKeyspaceResponse{Header: m.c.errHeader(pdpb.ErrorType_ENTRY_NOT_FOUND, "keyspace not found")}, nil
	}
	return &keyspacepb.LoadKeyspaceResponse{Header: m.c.header(), Keyspace: ks}, nil
}
