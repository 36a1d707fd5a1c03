package tikvsim

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Real PD embeds etcd and registers its own gRPC services on etcd's gRPC
// server, so etcd's KV, Watch and Cluster APIs answer on the PD client
// address. tikvsim serves them from a small MVCC store on the PD member's
// own server instead of embedding etcd; doc.go gives the reasons.

// maxTxnOps is etcd's default --max-txn-ops.
const maxTxnOps = 128

func registerEtcd(g *grpc.Server, m *pdMember) {
	pb.RegisterKVServer(g, &etcdKV{m: m})
	pb.RegisterWatchServer(g, &etcdWatch{m: m})
	pb.RegisterClusterServer(g, &etcdCluster{m: m})
}

// etcdHeader is the response header of every etcd answer. Any member
// answers: etcd followers serve reads and forward writes.
func (m *pdMember) etcdHeader(rev int64) *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: m.c.clusterID, MemberId: m.id, Revision: rev, RaftTerm: 1}
}

// etcdKV implements etcd's KV service.
type etcdKV struct {
	pb.UnimplementedKVServer
	m *pdMember
}

// Range reads keys at a revision (0: the current one).
func (s *etcdKV) Range(ctx context.Context, req *pb.RangeRequest) (*pb.RangeResponse, error) {
	s.m.c.observePD(s.m.idx, "Range")
	st := s.m.c.etcd
	st.mu.Lock()
	defer st.mu.Unlock()
	resp, err := rangeLocked(st, req, st.rev)
	if err != nil {
		return nil, err
	}
	resp.Header = s.m.etcdHeader(st.rev)
	return resp, nil
}

// rangeLocked answers a RangeRequest; cur is the revision a zero request
// revision reads at. Callers hold st.mu.
func rangeLocked(st *etcdStore, req *pb.RangeRequest, cur int64) (*pb.RangeResponse, error) {
	if len(req.Key) == 0 {
		return nil, rpctypes.ErrGRPCEmptyKey
	}
	rev := cur
	if req.Revision > 0 {
		var err error
		if rev, err = st.checkRev(req.Revision); err != nil {
			return nil, err
		}
	}
	var kvs []*mvccpb.KeyValue
	for _, kv := range st.rangeAt(req.Key, req.RangeEnd, rev) {
		if (req.MinModRevision > 0 && kv.ModRevision < req.MinModRevision) ||
			(req.MaxModRevision > 0 && kv.ModRevision > req.MaxModRevision) ||
			(req.MinCreateRevision > 0 && kv.CreateRevision < req.MinCreateRevision) ||
			(req.MaxCreateRevision > 0 && kv.CreateRevision > req.MaxCreateRevision) {
			continue
		}
		kvs = append(kvs, kv)
	}
	sortKVs(kvs, req.SortOrder, req.SortTarget)
	resp := &pb.RangeResponse{Count: int64(len(kvs))}
	if req.Limit > 0 && int64(len(kvs)) > req.Limit {
		kvs, resp.More = kvs[:req.Limit], true
	}
	if req.CountOnly {
		return resp, nil
	}
	for _, kv := range kvs {
		out := *kv
		if req.KeysOnly {
			out.Value = nil
		}
		resp.Kvs = append(resp.Kvs, &out)
	}
	return resp, nil
}

// Put writes one key.
func (s *etcdKV) Put(ctx context.Context, req *pb.PutRequest) (*pb.PutResponse, error) {
	s.m.c.observePD(s.m.idx, "Put")
	var resp *pb.PutResponse
	rev, err := s.m.c.etcd.write(func(t *etcdTxn) error {
		var err error
		resp, err = applyPut(t, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Header = s.m.etcdHeader(rev)
	return resp, nil
}

func applyPut(t *etcdTxn, req *pb.PutRequest) (*pb.PutResponse, error) {
	if len(req.Key) == 0 {
		return nil, rpctypes.ErrGRPCEmptyKey
	}
	if req.Lease != 0 {
		// Leases are not modelled: no lease exists to attach to.
		return nil, rpctypes.ErrGRPCLeaseNotFound
	}
	value := req.Value
	if req.IgnoreValue {
		cur := t.s.at(string(req.Key), t.readRev())
		if cur == nil {
			return nil, rpctypes.ErrGRPCKeyNotFound
		}
		value = cur.Value
	}
	prev := t.put(req.Key, value)
	resp := &pb.PutResponse{}
	if req.PrevKv && prev != nil {
		cp := *prev
		resp.PrevKv = &cp
	}
	return resp, nil
}

// DeleteRange deletes the live keys in a range.
func (s *etcdKV) DeleteRange(ctx context.Context, req *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	s.m.c.observePD(s.m.idx, "DeleteRange")
	var resp *pb.DeleteRangeResponse
	rev, err := s.m.c.etcd.write(func(t *etcdTxn) error {
		var err error
		resp, err = applyDelete(t, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Header = s.m.etcdHeader(rev)
	return resp, nil
}

func applyDelete(t *etcdTxn, req *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	if len(req.Key) == 0 {
		return nil, rpctypes.ErrGRPCEmptyKey
	}
	gone := t.deleteRange(req.Key, req.RangeEnd)
	resp := &pb.DeleteRangeResponse{Deleted: int64(len(gone))}
	if req.PrevKv {
		for _, kv := range gone {
			cp := *kv
			resp.PrevKvs = append(resp.PrevKvs, &cp)
		}
	}
	return resp, nil
}

// Txn evaluates the compares and runs the success or failure ops, all
// under one revision.
func (s *etcdKV) Txn(ctx context.Context, req *pb.TxnRequest) (*pb.TxnResponse, error) {
	s.m.c.observePD(s.m.idx, "Txn")
	if err := checkTxn(req); err != nil {
		return nil, err
	}
	var resp *pb.TxnResponse
	rev, err := s.m.c.etcd.write(func(t *etcdTxn) error {
		var err error
		resp, err = applyTxn(t, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	setTxnHeaders(resp, s.m.etcdHeader(rev))
	return resp, nil
}

// checkTxn applies etcd's request validation: op count and keys written
// twice.
func checkTxn(req *pb.TxnRequest) error {
	if len(req.Compare) > maxTxnOps || len(req.Success) > maxTxnOps || len(req.Failure) > maxTxnOps {
		return rpctypes.ErrGRPCTooManyOps
	}
	for _, ops := range [][]*pb.RequestOp{req.Success, req.Failure} {
		puts := map[string]bool{}
		for _, op := range ops {
			switch r := op.Request.(type) {
			case *pb.RequestOp_RequestPut:
				k := string(r.RequestPut.Key)
				if puts[k] {
					return rpctypes.ErrGRPCDuplicateKey
				}
				puts[k] = true
			case *pb.RequestOp_RequestTxn:
				if err := checkTxn(r.RequestTxn); err != nil {
					return err
				}
			}
		}
		for _, op := range ops {
			if d, ok := op.Request.(*pb.RequestOp_RequestDeleteRange); ok {
				for k := range puts {
					if inRange([]byte(k), d.RequestDeleteRange.Key, d.RequestDeleteRange.RangeEnd) {
						return rpctypes.ErrGRPCDuplicateKey
					}
				}
			}
		}
	}
	return nil
}

func applyTxn(t *etcdTxn, req *pb.TxnRequest) (*pb.TxnResponse, error) {
	ok := true
	for _, c := range req.Compare {
		if !compareHolds(t, c) {
			ok = false
			break
		}
	}
	ops := req.Failure
	if ok {
		ops = req.Success
	}
	resp := &pb.TxnResponse{Succeeded: ok}
	for _, op := range ops {
		var out *pb.ResponseOp
		switch r := op.Request.(type) {
		case *pb.RequestOp_RequestRange:
			rr, err := rangeLocked(t.s, r.RequestRange, t.readRev())
			if err != nil {
				return nil, err
			}
			out = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseRange{ResponseRange: rr}}
		case *pb.RequestOp_RequestPut:
			pr, err := applyPut(t, r.RequestPut)
			if err != nil {
				return nil, err
			}
			out = &pb.ResponseOp{Response: &pb.ResponseOp_ResponsePut{ResponsePut: pr}}
		case *pb.RequestOp_RequestDeleteRange:
			dr, err := applyDelete(t, r.RequestDeleteRange)
			if err != nil {
				return nil, err
			}
			out = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: dr}}
		case *pb.RequestOp_RequestTxn:
			tr, err := applyTxn(t, r.RequestTxn)
			if err != nil {
				return nil, err
			}
			out = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseTxn{ResponseTxn: tr}}
		default:
			return nil, status.Error(codes.InvalidArgument, "etcdserver: empty request op")
		}
		resp.Responses = append(resp.Responses, out)
	}
	return resp, nil
}

// setTxnHeaders gives the response and every nested response the header,
// as etcd does.
func setTxnHeaders(resp *pb.TxnResponse, h *pb.ResponseHeader) {
	resp.Header = h
	for _, r := range resp.Responses {
		switch x := r.Response.(type) {
		case *pb.ResponseOp_ResponseRange:
			x.ResponseRange.Header = h
		case *pb.ResponseOp_ResponsePut:
			x.ResponsePut.Header = h
		case *pb.ResponseOp_ResponseDeleteRange:
			x.ResponseDeleteRange.Header = h
		case *pb.ResponseOp_ResponseTxn:
			setTxnHeaders(x.ResponseTxn, h)
		}
	}
}

// compareHolds evaluates one compare against every key it covers; a
// missing key compares as version, revisions and value all zero/empty,
// except that a value compare on a missing key fails, as in etcd.
func compareHolds(t *etcdTxn, c *pb.Compare) bool {
	rev := t.readRev()
	var kvs []*mvccpb.KeyValue
	if len(c.RangeEnd) == 0 {
		kv := t.s.at(string(c.Key), rev)
		if kv == nil {
			if _, isValue := c.TargetUnion.(*pb.Compare_Value); isValue {
				return false
			}
			kv = &mvccpb.KeyValue{Key: c.Key}
		}
		kvs = []*mvccpb.KeyValue{kv}
	} else {
		kvs = t.s.rangeAt(c.Key, c.RangeEnd, rev)
	}
	for _, kv := range kvs {
		var r int
		switch x := c.TargetUnion.(type) {
		case *pb.Compare_Version:
			r = cmp.Compare(kv.Version, x.Version)
		case *pb.Compare_CreateRevision:
			r = cmp.Compare(kv.CreateRevision, x.CreateRevision)
		case *pb.Compare_ModRevision:
			r = cmp.Compare(kv.ModRevision, x.ModRevision)
		case *pb.Compare_Value:
			r = bytes.Compare(kv.Value, x.Value)
		case *pb.Compare_Lease:
			r = cmp.Compare(kv.Lease, x.Lease)
		}
		var holds bool
		switch c.Result {
		case pb.Compare_EQUAL:
			holds = r == 0
		case pb.Compare_NOT_EQUAL:
			holds = r != 0
		case pb.Compare_GREATER:
			holds = r > 0
		case pb.Compare_LESS:
			holds = r < 0
		}
		if !holds {
			return false
		}
	}
	return true
}

// Compact drops history below a revision.
func (s *etcdKV) Compact(ctx context.Context, req *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	s.m.c.observePD(s.m.idx, "Compact")
	if err := s.m.c.etcd.compact(req.Revision); err != nil {
		return nil, err
	}
	return &pb.CompactionResponse{Header: s.m.etcdHeader(s.m.c.etcd.revision())}, nil
}

// etcdCluster implements etcd's Cluster service: PD members are the etcd
// members. Membership changes are not modelled.
type etcdCluster struct {
	pb.UnimplementedClusterServer
	m *pdMember
}

// MemberList lists every PD member, running or not, as etcd lists every
// configured member.
func (s *etcdCluster) MemberList(ctx context.Context, req *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	c := s.m.c
	c.observePD(s.m.idx, "MemberList")
	resp := &pb.MemberListResponse{Header: s.m.etcdHeader(c.etcd.revision())}
	for _, m := range c.pds {
		info := m.info()
		resp.Members = append(resp.Members, &pb.Member{
			ID:         m.id,
			Name:       info.Name,
			PeerURLs:   info.PeerUrls,
			ClientURLs: info.ClientUrls,
		})
	}
	return resp, nil
}

// etcdWatch implements etcd's Watch service.
type etcdWatch struct {
	pb.UnimplementedWatchServer
	m *pdMember
}

type etcdWatcher struct {
	id       int64
	key, end []byte
	next     int64 // first revision not yet sent
	prevKV   bool
	noPut    bool
	noDelete bool
}

// Watch serves one watch stream: any number of watchers, created and
// cancelled by the client, each sent the events of its range from its
// start revision on. Progress requests are answered at once (every
// watcher is always synced); periodic progress notifications and
// fragmenting are not modelled.
func (s *etcdWatch) Watch(stream pb.Watch_WatchServer) error {
	ctx := stream.Context()
	m := s.m
	st := m.c.etcd
	m.c.observePD(m.idx, "Watch")
	type recv struct {
		req *pb.WatchRequest
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
	watchers := map[int64]*etcdWatcher{}
	var nextID int64
	for {
		changed := st.watchChan()
		// synced is the revision every watcher has been sent up to.
		synced := st.revision()
		for _, id := range sortedIDs(watchers) {
			w := watchers[id]
			evs, next, compacted := st.eventsSince(w.next, w.key, w.end)
			if compacted != 0 {
				delete(watchers, id)
				if err := stream.Send(&pb.WatchResponse{Header: m.etcdHeader(st.revision()), WatchId: id, Canceled: true, CompactRevision: compacted}); err != nil {
					return err
				}
				continue
			}
			w.next = next
			synced = min(synced, next-1)
			resp := &pb.WatchResponse{WatchId: id}
			for _, e := range evs {
				if (e.typ == mvccpb.PUT && w.noPut) || (e.typ == mvccpb.DELETE && w.noDelete) {
					continue
				}
				ev := &mvccpb.Event{Type: e.typ, Kv: e.kv}
				if w.prevKV {
					ev.PrevKv = e.prev
				}
				resp.Events = append(resp.Events, ev)
			}
			if len(resp.Events) > 0 {
				resp.Header = m.etcdHeader(next - 1)
				if err := stream.Send(resp); err != nil {
					return err
				}
			}
		}
		var r recv
		select {
		case <-changed:
			continue
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case r = <-reqs:
		}
		if errors.Is(r.err, io.EOF) {
			return nil
		}
		if r.err != nil {
			return r.err
		}
		switch x := r.req.RequestUnion.(type) {
		case *pb.WatchRequest_CreateRequest:
			cr := x.CreateRequest
			id := cr.WatchId
			if id == 0 { // etcd's AutoWatchID: the server picks the next free id
				for watchers[nextID] != nil {
					nextID++
				}
				id = nextID
				nextID++
			} else if watchers[id] != nil {
				if err := stream.Send(&pb.WatchResponse{Header: m.etcdHeader(st.revision()), WatchId: id, Created: true, Canceled: true,
					CancelReason: "mvcc: duplicate watch ID provided on the WatchStream"}); err != nil {
					return err
				}
				continue
			}
			w := &etcdWatcher{id: id, key: cr.Key, end: cr.RangeEnd, next: cr.StartRevision, prevKV: cr.PrevKv}
			for _, f := range cr.Filters {
				w.noPut = w.noPut || f == pb.WatchCreateRequest_NOPUT
				w.noDelete = w.noDelete || f == pb.WatchCreateRequest_NODELETE
			}
			cur := st.revision()
			if w.next <= 0 {
				w.next = cur + 1
			}
			watchers[id] = w
			if err := stream.Send(&pb.WatchResponse{Header: m.etcdHeader(cur), WatchId: id, Created: true}); err != nil {
				return err
			}
		case *pb.WatchRequest_CancelRequest:
			id := x.CancelRequest.WatchId
			if watchers[id] == nil {
				continue
			}
			delete(watchers, id)
			if err := stream.Send(&pb.WatchResponse{Header: m.etcdHeader(st.revision()), WatchId: id, Canceled: true}); err != nil {
				return err
			}
		case *pb.WatchRequest_ProgressRequest:
			// Events are sent at the top of the loop before any request is
			// read, so every watcher is synced to `synced`; -1 is etcd's id
			// for a stream-wide progress answer.
			if err := stream.Send(&pb.WatchResponse{Header: m.etcdHeader(synced), WatchId: -1}); err != nil {
				return err
			}
		}
	}
}

func sortedIDs(ws map[int64]*etcdWatcher) []int64 {
	ids := slices.Collect(maps.Keys(ws))
	slices.Sort(ids)
	return ids
}
