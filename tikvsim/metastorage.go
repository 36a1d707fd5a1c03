package tikvsim

import (
	"context"
	"fmt"

	msp "github.com/pingcap/kvproto/pkg/meta_storagepb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metaStorageService implements PD's meta-storage service, a thin gRPC
// view of PD's etcd that the PD client's resource-group controller reads
// and watches. It serves the same store as etcd's own API. As in PD, only
// the leader serves it, store errors are UNKNOWN headers, and answers carry
// keys and values but not revisions, except watch events.
type metaStorageService struct {
	msp.UnimplementedMetaStorageServer
	m *pdMember
}

func (s *metaStorageService) checkServing(method string) error {
	s.m.c.observePD(s.m.idx, method)
	if !s.m.isLeader() {
		return status.Error(codes.Unavailable, "not leader")
	}
	return nil
}

func (s *metaStorageService) header(rev int64, errType msp.ErrorType, msg string) *msp.ResponseHeader {
	h := &msp.ResponseHeader{ClusterId: s.m.c.clusterID, Revision: rev}
	if errType != msp.ErrorType_OK {
		h.Error = &msp.Error{Type: errType, Message: msg}
	}
	return h
}

func keyValueOnly(kv *mvccpb.KeyValue) *msp.KeyValue {
	return &msp.KeyValue{Key: kv.Key, Value: kv.Value}
}

// Get reads a key or a range at a revision (0: current), up to a limit.
func (s *metaStorageService) Get(ctx context.Context, req *msp.GetRequest) (*msp.GetResponse, error) {
	if err := s.checkServing("Get"); err != nil {
		return nil, err
	}
	st := s.m.c.etcd
	st.mu.Lock()
	defer st.mu.Unlock()
	r, err := rangeLocked(st, &pb.RangeRequest{Key: req.GetKey(), RangeEnd: req.GetRangeEnd(), Limit: req.GetLimit(), Revision: req.GetRevision()}, st.rev)
	if err != nil {
		return &msp.GetResponse{Header: s.header(st.rev, msp.ErrorType_UNKNOWN, err.Error())}, nil
	}
	resp := &msp.GetResponse{Header: s.header(st.rev, msp.ErrorType_OK, ""), Count: r.Count, More: r.More}
	for _, kv := range r.Kvs {
		resp.Kvs = append(resp.Kvs, keyValueOnly(kv))
	}
	return resp, nil
}

// Put writes one key.
func (s *metaStorageService) Put(ctx context.Context, req *msp.PutRequest) (*msp.PutResponse, error) {
	if err := s.checkServing("Put"); err != nil {
		return nil, err
	}
	var r *pb.PutResponse
	rev, err := s.m.c.etcd.write(func(t *etcdTxn) error {
		var err error
		r, err = applyPut(t, &pb.PutRequest{Key: req.GetKey(), Value: req.GetValue(), Lease: req.GetLease(), PrevKv: req.GetPrevKv()})
		return err
	})
	if err != nil {
		return &msp.PutResponse{Header: s.header(rev, msp.ErrorType_UNKNOWN, err.Error())}, nil
	}
	resp := &msp.PutResponse{Header: s.header(rev, msp.ErrorType_OK, "")}
	if r.PrevKv != nil {
		resp.PrevKv = keyValueOnly(r.PrevKv)
	}
	return resp, nil
}

// Delete deletes one key: PD passes only the key on to etcd, whatever the
// request's range end.
func (s *metaStorageService) Delete(ctx context.Context, req *msp.DeleteRequest) (*msp.DeleteResponse, error) {
	if err := s.checkServing("Delete"); err != nil {
		return nil, err
	}
	var r *pb.DeleteRangeResponse
	rev, err := s.m.c.etcd.write(func(t *etcdTxn) error {
		var err error
		r, err = applyDelete(t, &pb.DeleteRangeRequest{Key: req.GetKey(), PrevKv: req.GetPrevKv()})
		return err
	})
	if err != nil {
		return &msp.DeleteResponse{Header: s.header(rev, msp.ErrorType_UNKNOWN, err.Error())}, nil
	}
	resp := &msp.DeleteResponse{Header: s.header(rev, msp.ErrorType_OK, ""), Deleted: r.Deleted}
	for _, kv := range r.PrevKvs {
		resp.PrevKvs = append(resp.PrevKvs, keyValueOnly(kv))
	}
	return resp, nil
}

// Watch streams the events of a key or range from a revision on (0: from
// now). A compacted start revision is a DATA_COMPACTED header carrying the
// compact revision, after which the stream ends.
func (s *metaStorageService) Watch(req *msp.WatchRequest, stream msp.MetaStorage_WatchServer) error {
	if err := s.checkServing("Watch"); err != nil {
		return err
	}
	ctx := stream.Context()
	st := s.m.c.etcd
	from := req.GetStartRevision()
	if from <= 0 {
		from = st.revision() + 1
	}
	for {
		changed := st.watchChan()
		evs, next, compacted := st.eventsSince(from, req.GetKey(), req.GetRangeEnd())
		if compacted != 0 {
			return stream.Send(&msp.WatchResponse{
				Header: s.header(st.revision(), msp.ErrorType_DATA_COMPACTED, fmt.Sprintf(
					"required watch revision: %d is smaller than current compact/min revision %d.", req.GetStartRevision(), compacted)),
				CompactRevision: compacted,
			})
		}
		from = next
		if len(evs) > 0 {
			resp := &msp.WatchResponse{Header: s.header(next-1, msp.ErrorType_OK, "")}
			for _, e := range evs {
				ev := &msp.Event{Type: msp.Event_EventType(e.typ), Kv: &msp.KeyValue{
					Key: e.kv.Key, Value: e.kv.Value, CreateRevision: e.kv.CreateRevision,
					ModRevision: e.kv.ModRevision, Version: e.kv.Version,
				}}
				if req.GetPrevKv() && e.prev != nil {
					ev.PrevKv = keyValueOnly(e.prev)
				}
				resp.Events = append(resp.Events, ev)
			}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}
