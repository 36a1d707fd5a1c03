package tikvsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// followerHandleKey is the gRPC metadata key with which a client allows a PD
// follower to answer region queries.
const followerHandleKey = "pd-allow-follower-handle"

// pdMember is one simulated PD member. Every member serves the same cluster
// state; only the leader answers most RPCs.
type pdMember struct {
	c    *Cluster
	idx  int
	id   uint64
	name string
	ep   *endpoint
}

func (m *pdMember) info() *pdpb.Member {
	url := "http://" + m.c.advertise(m.ep.address())
	return &pdpb.Member{
		Name:          m.name,
		MemberId:      m.id,
		PeerUrls:      []string{url},
		ClientUrls:    []string{url},
		BinaryVersion: "9.0.0",
	}
}

func (m *pdMember) isLeader() bool {
	m.c.mu.RLock()
	defer m.c.mu.RUnlock()
	return m.c.pdLeader == m.idx
}

// pdService implements pdpb.PDServer for one member. RPCs this simulator
// does not model answer codes.Unimplemented through the embedded type.
type pdService struct {
	pdpb.UnimplementedPDServer
	m *pdMember
}

func (s *pdService) header() *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: s.m.c.clusterID}
}

func (s *pdService) errHeader(t pdpb.ErrorType, format string, args ...any) *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: s.m.c.clusterID, Error: &pdpb.Error{Type: t, Message: fmt.Sprintf(format, args...)}}
}

// validate applies PD's request validation: the member must be the leader,
// then the header's cluster id must match.
func (s *pdService) validate(ctx context.Context, method string, h *pdpb.RequestHeader) error {
	s.m.c.observePD(s.m.idx, method)
	if !s.m.isLeader() {
		return status.Error(codes.Unavailable, "not leader")
	}
	return s.checkClusterID(h)
}

func (s *pdService) checkClusterID(h *pdpb.RequestHeader) error {
	if h.GetClusterId() != s.m.c.clusterID {
		return status.Errorf(codes.FailedPrecondition, "mismatch cluster id, need %d but got %d", s.m.c.clusterID, h.GetClusterId())
	}
	return nil
}

// validateRegionQuery is validate for the region queries a follower may
// serve when the caller allows it.
func (s *pdService) validateRegionQuery(ctx context.Context, method string, h *pdpb.RequestHeader) error {
	s.m.c.observePD(s.m.idx, method)
	if !s.m.isLeader() {
		md, _ := metadata.FromIncomingContext(ctx)
		if len(md.Get(followerHandleKey)) == 0 {
			return status.Error(codes.Unavailable, "not leader and follower handling not allowed")
		}
	}
	return s.checkClusterID(h)
}

// GetMembers reports every member and the current leader. Any member
// answers, and no cluster id check is made.
func (s *pdService) GetMembers(ctx context.Context, _ *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	c := s.m.c
	c.observePD(s.m.idx, "GetMembers")
	resp := &pdpb.GetMembersResponse{Header: s.header()}
	for _, m := range c.pds {
		resp.Members = append(resp.Members, m.info())
	}
	c.mu.RLock()
	leader := c.pdLeader
	c.mu.RUnlock()
	if leader >= 0 {
		resp.Leader = resp.Members[leader]
		resp.EtcdLeader = resp.Members[leader]
	}
	return resp, nil
}

// GetClusterInfo reports PD service mode; no cluster id check is made.
func (s *pdService) GetClusterInfo(ctx context.Context, _ *pdpb.GetClusterInfoRequest) (*pdpb.GetClusterInfoResponse, error) {
	s.m.c.observePD(s.m.idx, "GetClusterInfo")
	return &pdpb.GetClusterInfoResponse{Header: s.header(), ServiceModes: []pdpb.ServiceMode{pdpb.ServiceMode_PD_SVC_MODE}}, nil
}

// Tso answers each request with the last timestamp of a batch of count.
func (s *pdService) Tso(stream pdpb.PD_TsoServer) error {
	ctx := stream.Context()
	c := s.m.c
	c.observePD(s.m.idx, "Tso")
	broken := c.tso.brokenCh()
	type recv struct {
		req *pdpb.TsoRequest
		err error
	}
	reqs := make(chan recv)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			req, err := stream.Recv()
			select {
			case reqs <- recv{req, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var r recv
		select {
		case r = <-reqs:
		case <-broken:
			return status.Error(codes.Unavailable, errTSOBroken.Error())
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		if errors.Is(r.err, io.EOF) {
			return nil
		}
		if r.err != nil {
			return r.err
		}
		if !s.m.isLeader() {
			return status.Error(codes.Unavailable, "requested pd is not leader of cluster")
		}
		if err := s.checkClusterID(r.req.GetHeader()); err != nil {
			return err
		}
		if r.req.GetCount() == 0 {
			return status.Error(codes.Unknown, "tso count should be positive")
		}
		if r.req.GetCount() >= maxLogical {
			// A batch must fit in the logical part of one millisecond.
			return status.Errorf(codes.InvalidArgument, "tso count %d too large", r.req.GetCount())
		}
		phys, logical, err := c.tso.alloc(ctx, r.req.GetCount(), broken)
		if errors.Is(err, errTSOBroken) {
			return status.Error(codes.Unavailable, err.Error())
		}
		if err != nil {
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(&pdpb.TsoResponse{
			Header:    s.header(),
			Count:     r.req.GetCount(),
			Timestamp: &pdpb.Timestamp{Physical: phys, Logical: logical},
		}); err != nil {
			return err
		}
	}
}

// GetMinTS returns a fresh timestamp, as PD does when it serves TSO itself.
func (s *pdService) GetMinTS(ctx context.Context, req *pdpb.GetMinTSRequest) (*pdpb.GetMinTSResponse, error) {
	if err := s.validate(ctx, "GetMinTS", req.GetHeader()); err != nil {
		return nil, err
	}
	phys, logical, err := s.m.c.tso.alloc(ctx, 1, nil)
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	return &pdpb.GetMinTSResponse{Header: s.header(), Timestamp: &pdpb.Timestamp{Physical: phys, Logical: logical}}, nil
}

// AllocID allocates count ids (at least one) and returns the last.
func (s *pdService) AllocID(ctx context.Context, req *pdpb.AllocIDRequest) (*pdpb.AllocIDResponse, error) {
	if err := s.validate(ctx, "AllocID", req.GetHeader()); err != nil {
		return nil, err
	}
	n := max(req.GetCount(), 1)
	last := s.m.c.lastID.Add(uint64(n))
	resp := &pdpb.AllocIDResponse{Header: s.header(), Id: last}
	if n > 1 {
		resp.Count = n
	}
	return resp, nil
}

// IsBootstrapped reports true: the cluster is bootstrapped at Start.
func (s *pdService) IsBootstrapped(ctx context.Context, req *pdpb.IsBootstrappedRequest) (*pdpb.IsBootstrappedResponse, error) {
	if err := s.validate(ctx, "IsBootstrapped", req.GetHeader()); err != nil {
		return nil, err
	}
	return &pdpb.IsBootstrappedResponse{Header: s.header(), Bootstrapped: true}, nil
}

// regionResponse answers a region query. A missing region is a success
// with no region on the leader, and REGION_NOT_FOUND on a follower.
func (s *pdService) regionResponse(r *region) *pdpb.GetRegionResponse {
	if r == nil {
		if !s.m.isLeader() {
			return &pdpb.GetRegionResponse{Header: s.errHeader(pdpb.ErrorType_REGION_NOT_FOUND, "region not found")}
		}
		return &pdpb.GetRegionResponse{Header: s.header()}
	}
	return &pdpb.GetRegionResponse{Header: s.header(), Region: r.meta, Leader: r.leaderPeer()}
}

// GetRegion returns the region containing region_key.
func (s *pdService) GetRegion(ctx context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.validateRegionQuery(ctx, "GetRegion", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	c.mu.RLock()
	r, _ := c.regions.byKey(req.GetRegionKey())
	c.mu.RUnlock()
	return s.regionResponse(r), nil
}

// GetPrevRegion returns the region right before the one containing
// region_key, when the two are adjacent.
func (s *pdService) GetPrevRegion(ctx context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.validateRegionQuery(ctx, "GetPrevRegion", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	c.mu.RLock()
	prev := c.prevRegionLocked(req.GetRegionKey())
	c.mu.RUnlock()
	return s.regionResponse(prev), nil
}

// GetRegionByID returns the region with the given id.
func (s *pdService) GetRegionByID(ctx context.Context, req *pdpb.GetRegionByIDRequest) (*pdpb.GetRegionResponse, error) {
	if err := s.validateRegionQuery(ctx, "GetRegionByID", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	c.mu.RLock()
	r := c.regions.byID[req.GetRegionId()]
	c.mu.RUnlock()
	return s.regionResponse(r), nil
}

func pdRegion(r *region) *pdpb.Region {
	leader := r.leaderPeer()
	if leader == nil {
		leader = &metapb.Peer{}
	}
	return &pdpb.Region{Region: r.meta, Leader: leader}
}

// ScanRegions lists regions from the one containing start_key, in key
// order, stopping before end_key, at most limit (<= 0: unlimited).
func (s *pdService) ScanRegions(ctx context.Context, req *pdpb.ScanRegionsRequest) (*pdpb.ScanRegionsResponse, error) {
	if err := s.validateRegionQuery(ctx, "ScanRegions", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	resp := &pdpb.ScanRegionsResponse{Header: s.header()}
	for i := max(c.regions.searchIndex(req.GetStartKey()), 0); i < len(c.regions.sorted); i++ {
		r := c.regions.sorted[i]
		if len(req.GetEndKey()) > 0 && bytes.Compare(r.meta.GetStartKey(), req.GetEndKey()) >= 0 {
			break
		}
		if !r.contains(req.GetStartKey()) && bytes.Compare(r.meta.GetStartKey(), req.GetStartKey()) < 0 {
			continue
		}
		pr := pdRegion(r)
		resp.Regions = append(resp.Regions, pr)
		resp.RegionMetas = append(resp.RegionMetas, pr.Region)
		resp.Leaders = append(resp.Leaders, pr.Leader)
		if req.GetLimit() > 0 && len(resp.Regions) >= int(req.GetLimit()) {
			break
		}
	}
	return resp, nil
}

// BatchScanRegions lists the regions overlapping sorted, non-overlapping
// ranges, each region once, at most limit in total.
func (s *pdService) BatchScanRegions(ctx context.Context, req *pdpb.BatchScanRegionsRequest) (*pdpb.BatchScanRegionsResponse, error) {
	if err := s.validateRegionQuery(ctx, "BatchScanRegions", req.GetHeader()); err != nil {
		return nil, err
	}
	ranges := req.GetRanges()
	for i, kr := range ranges {
		if len(kr.GetEndKey()) > 0 && bytes.Compare(kr.GetStartKey(), kr.GetEndKey()) > 0 {
			return &pdpb.BatchScanRegionsResponse{Header: s.errHeader(pdpb.ErrorType_UNKNOWN,
				"invalid key range, start key > end key")}, nil
		}
		if i > 0 {
			prev := ranges[i-1]
			if len(prev.GetEndKey()) == 0 || bytes.Compare(kr.GetStartKey(), prev.GetEndKey()) < 0 {
				return &pdpb.BatchScanRegionsResponse{Header: s.errHeader(pdpb.ErrorType_UNKNOWN,
					"invalid key range, ranges overlapped")}, nil
			}
		}
	}
	c := s.m.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	resp := &pdpb.BatchScanRegionsResponse{Header: s.header()}
	seen := map[uint64]bool{}
	limit := int(req.GetLimit())
	for _, kr := range ranges {
		cursor := kr.GetStartKey()
		for i := max(c.regions.searchIndex(kr.GetStartKey()), 0); i < len(c.regions.sorted); i++ {
			r := c.regions.sorted[i]
			if len(kr.GetEndKey()) > 0 && bytes.Compare(r.meta.GetStartKey(), kr.GetEndKey()) >= 0 {
				break
			}
			if len(r.meta.GetEndKey()) > 0 && bytes.Compare(r.meta.GetEndKey(), kr.GetStartKey()) <= 0 {
				continue
			}
			if req.GetContainAllKeyRange() && bytes.Compare(r.meta.GetStartKey(), cursor) > 0 {
				return &pdpb.BatchScanRegionsResponse{Header: s.errHeader(pdpb.ErrorType_REGIONS_NOT_CONTAIN_ALL_KEY_RANGE,
					"regions not contain all key range")}, nil
			}
			cursor = r.meta.GetEndKey()
			if seen[r.meta.GetId()] {
				continue
			}
			seen[r.meta.GetId()] = true
			resp.Regions = append(resp.Regions, pdRegion(r))
			if limit > 0 && len(resp.Regions) >= limit {
				return resp, nil
			}
		}
	}
	return resp, nil
}

// GetStore returns one store; an unknown id is a header error.
func (s *pdService) GetStore(ctx context.Context, req *pdpb.GetStoreRequest) (*pdpb.GetStoreResponse, error) {
	if err := s.validate(ctx, "GetStore", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	st, err := c.store(req.GetStoreId())
	if err != nil {
		return &pdpb.GetStoreResponse{Header: s.errHeader(pdpb.ErrorType_UNKNOWN, "invalid store ID %d, not found", req.GetStoreId())}, nil
	}
	return &pdpb.GetStoreResponse{Header: s.header(), Store: c.storeMeta(st), Stats: &pdpb.StoreStats{StoreId: st.id}}, nil
}

// GetAllStores returns every store.
func (s *pdService) GetAllStores(ctx context.Context, req *pdpb.GetAllStoresRequest) (*pdpb.GetAllStoresResponse, error) {
	if err := s.validate(ctx, "GetAllStores", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	resp := &pdpb.GetAllStoresResponse{Header: s.header()}
	for _, st := range c.stores {
		resp.Stores = append(resp.Stores, c.storeMeta(st))
	}
	return resp, nil
}

// SplitRegions splits at region keys synchronously and reports 100%.
func (s *pdService) SplitRegions(ctx context.Context, req *pdpb.SplitRegionsRequest) (*pdpb.SplitRegionsResponse, error) {
	if err := s.validate(ctx, "SplitRegions", req.GetHeader()); err != nil {
		return nil, err
	}
	resp := &pdpb.SplitRegionsResponse{Header: s.header(), FinishedPercentage: 100}
	for _, k := range req.GetSplitKeys() {
		ids, err := s.m.c.splitAt([][]byte{k})
		if err != nil {
			// PD skips keys that are region boundaries already.
			continue
		}
		resp.RegionsId = append(resp.RegionsId, ids[0])
	}
	return resp, nil
}

// prevRegionLocked returns the region right before the one containing k,
// when the two are adjacent. Callers hold c.mu.
func (c *Cluster) prevRegionLocked(k []byte) *region {
	cur, idx := c.regions.byKey(k)
	if cur == nil || idx == 0 {
		return nil
	}
	prev := c.regions.sorted[idx-1]
	if !bytes.Equal(prev.meta.GetEndKey(), cur.meta.GetStartKey()) {
		return nil
	}
	return prev
}

// QueryRegion answers batched region lookups (by key, previous key and id)
// on a stream, one response per request.
func (s *pdService) QueryRegion(stream pdpb.PD_QueryRegionServer) error {
	ctx := stream.Context()
	c := s.m.c
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.validateRegionQuery(ctx, "QueryRegion", req.GetHeader()); err != nil {
			return err
		}
		resp := &pdpb.QueryRegionResponse{Header: s.header(), RegionsById: map[uint64]*pdpb.RegionResponse{}}
		add := func(r *region) uint64 {
			if r == nil {
				return 0
			}
			id := r.meta.GetId()
			if _, ok := resp.RegionsById[id]; !ok {
				resp.RegionsById[id] = &pdpb.RegionResponse{Region: r.meta, Leader: r.leaderPeer()}
			}
			return id
		}
		c.mu.RLock()
		for _, k := range req.GetKeys() {
			r, _ := c.regions.byKey(k)
			resp.KeyIdMap = append(resp.KeyIdMap, add(r))
		}
		for _, k := range req.GetPrevKeys() {
			resp.PrevKeyIdMap = append(resp.PrevKeyIdMap, add(c.prevRegionLocked(k)))
		}
		for _, id := range req.GetIds() {
			add(c.regions.byID[id])
		}
		c.mu.RUnlock()
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
