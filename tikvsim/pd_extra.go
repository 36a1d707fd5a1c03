package tikvsim

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PD's operator records: a finished operator's status stays readable for
// this long (PD's operatorStatusRemainTime).
const operatorRecordTTL = 10 * time.Minute

// Scatter operators as PD describes them.
const (
	scatterOperatorDesc = "scatter-region"
	scatterOperatorKind = "admin,region"
)

type operatorRecord struct {
	desc, kind string
	status     pdpb.OperatorStatus
	polled     bool      // a GetOperator has seen it running
	finished   time.Time // zero while running
}

// pdExtraState is PD state outside regions, TSO and GC: operators and the
// external timestamp. It is shared by every member.
type pdExtraState struct {
	mu         sync.Mutex
	operators  map[uint64]*operatorRecord
	externalTS uint64
}

func newPDExtraState() *pdExtraState {
	return &pdExtraState{operators: map[uint64]*operatorRecord{}}
}

// ScatterRegion starts a scatter operator on each region asked for;
// placement is not modelled, so the operator changes nothing and finishes
// once a GetOperator has seen it running. An unknown region fails.
func (s *pdService) ScatterRegion(ctx context.Context, req *pdpb.ScatterRegionRequest) (*pdpb.ScatterRegionResponse, error) {
	if err := s.validate(ctx, "ScatterRegion", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	ids := req.GetRegionsId()
	single := len(ids) == 0
	if single {
		ids = []uint64{req.GetRegionId()} //nolint:staticcheck // the single-region form is still sent
	}
	var failed []uint64
	x := c.pdExtra
	x.mu.Lock()
	for _, id := range ids {
		c.mu.RLock()
		_, ok := c.regions.byID[id]
		c.mu.RUnlock()
		if !ok {
			failed = append(failed, id)
			continue
		}
		x.operators[id] = &operatorRecord{desc: scatterOperatorDesc, kind: scatterOperatorKind, status: pdpb.OperatorStatus_RUNNING}
	}
	x.mu.Unlock()
	if single && len(failed) > 0 {
		return &pdpb.ScatterRegionResponse{Header: s.errHeader(pdpb.ErrorType_REGION_NOT_FOUND, "region %d not found", ids[0])}, nil
	}
	return &pdpb.ScatterRegionResponse{
		Header:             s.header(),
		FinishedPercentage: uint64((len(ids) - len(failed)) * 100 / len(ids)),
		FailedRegionsId:    failed,
	}, nil
}

// GetOperator reports a region's running or recently finished operator;
// none is a REGION_NOT_FOUND header, as PD answers. A running scatter
// operator is reported RUNNING once and SUCCESS from the next poll on, so
// a client waiting for a scatter sees both states deterministically.
func (s *pdService) GetOperator(ctx context.Context, req *pdpb.GetOperatorRequest) (*pdpb.GetOperatorResponse, error) {
	if err := s.validate(ctx, "GetOperator", req.GetHeader()); err != nil {
		return nil, err
	}
	c := s.m.c
	now := c.now()
	x := c.pdExtra
	x.mu.Lock()
	defer x.mu.Unlock()
	id := req.GetRegionId()
	op := x.operators[id]
	if op != nil && !op.finished.IsZero() && now.Sub(op.finished) >= operatorRecordTTL {
		delete(x.operators, id)
		op = nil
	}
	if op == nil {
		return &pdpb.GetOperatorResponse{Header: s.errHeader(pdpb.ErrorType_REGION_NOT_FOUND, "Not Found")}, nil
	}
	resp := &pdpb.GetOperatorResponse{Header: s.header(), RegionId: id, Desc: []byte(op.desc), Kind: []byte(op.kind), Status: op.status}
	if op.status == pdpb.OperatorStatus_RUNNING {
		if op.polled {
			op.status, op.finished = pdpb.OperatorStatus_SUCCESS, now
			resp.Status = op.status
		}
		op.polled = true
	}
	return resp, nil
}

// GetExternalTimestamp returns the external timestamp (0 until set).
func (s *pdService) GetExternalTimestamp(ctx context.Context, req *pdpb.GetExternalTimestampRequest) (*pdpb.GetExternalTimestampResponse, error) {
	if err := s.validate(ctx, "GetExternalTimestamp", req.GetHeader()); err != nil {
		return nil, err
	}
	x := s.m.c.pdExtra
	x.mu.Lock()
	defer x.mu.Unlock()
	return &pdpb.GetExternalTimestampResponse{Header: s.header(), Timestamp: x.externalTS}, nil
}

// SetExternalTimestamp sets the external timestamp with PD's rules: not
// above a fresh TSO timestamp, and strictly above the current value; a
// refusal is an INVALID_VALUE header.
func (s *pdService) SetExternalTimestamp(ctx context.Context, req *pdpb.SetExternalTimestampRequest) (*pdpb.SetExternalTimestampResponse, error) {
	if err := s.validate(ctx, "SetExternalTimestamp", req.GetHeader()); err != nil {
		return nil, err
	}
	phys, logical, err := s.m.c.tso.alloc(ctx, 1, nil)
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	global := uint64(phys)<<logicalBits | uint64(logical)
	ts := req.GetTimestamp()
	if ts > global {
		return &pdpb.SetExternalTimestampResponse{Header: s.errHeader(pdpb.ErrorType_INVALID_VALUE,
			"the external timestamp should not be larger than global ts")}, nil
	}
	x := s.m.c.pdExtra
	x.mu.Lock()
	defer x.mu.Unlock()
	if ts <= x.externalTS {
		return &pdpb.SetExternalTimestampResponse{Header: s.errHeader(pdpb.ErrorType_INVALID_VALUE,
			"the external timestamp should be larger than current external timestamp")}, nil
	}
	x.externalTS = ts
	return &pdpb.SetExternalTimestampResponse{Header: s.header()}, nil
}

// Global config lives in PD's etcd under this path; requests may name a
// sub-path of it. The resource-group controller's config path is the one
// exception PD still loads by plain prefix.
const (
	globalConfigPath           = "/global/config/"
	controllerGlobalConfigPath = "resource_group/controller"
)

func normalizeConfigPath(p string) (string, error) {
	if p == "" || p == strings.TrimSuffix(globalConfigPath, "/") {
		return globalConfigPath, nil
	}
	if !strings.HasPrefix(p, globalConfigPath) {
		return "", status.Errorf(codes.InvalidArgument, "global config path %q is not allowed", p)
	}
	return p, nil
}

func configKey(path, name string) string {
	switch {
	case name == "":
		return strings.TrimSuffix(path, "/")
	case strings.HasSuffix(path, "/"):
		return path + name
	}
	return path + "/" + name
}

// prefixEnd is etcd's range end for every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0} // every key
}

// StoreGlobalConfig writes puts and deletes under the config path in one
// etcd transaction. PD serves global config from etcd on any member.
func (s *pdService) StoreGlobalConfig(ctx context.Context, req *pdpb.StoreGlobalConfigRequest) (*pdpb.StoreGlobalConfigResponse, error) {
	s.m.c.observePD(s.m.idx, "StoreGlobalConfig")
	path, err := normalizeConfigPath(req.GetConfigPath())
	if err != nil {
		return nil, err
	}
	_, err = s.m.c.etcd.write(func(t *etcdTxn) error {
		for _, item := range req.GetChanges() {
			key := []byte(configKey(path, item.GetName()))
			switch item.GetKind() {
			case pdpb.EventType_PUT:
				// CDC still sends Value; newer clients send Payload.
				v := []byte(item.GetValue())
				if len(v) == 0 {
					v = item.GetPayload()
				}
				t.put(key, v)
			case pdpb.EventType_DELETE:
				t.deleteRange(key, nil)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pdpb.StoreGlobalConfigResponse{}, nil
}

// LoadGlobalConfig loads named items (a missing one carries a
// GLOBAL_CONFIG_NOT_FOUND error), or, with no names, every item under the
// path with full keys as names and the etcd revision read at.
func (s *pdService) LoadGlobalConfig(ctx context.Context, req *pdpb.LoadGlobalConfigRequest) (*pdpb.LoadGlobalConfigResponse, error) {
	s.m.c.observePD(s.m.idx, "LoadGlobalConfig")
	path := req.GetConfigPath()
	if req.GetNames() != nil || path != controllerGlobalConfigPath {
		var err error
		if path, err = normalizeConfigPath(path); err != nil {
			return nil, err
		}
	}
	st := s.m.c.etcd
	st.mu.Lock()
	defer st.mu.Unlock()
	if req.GetNames() != nil {
		items := make([]*pdpb.GlobalConfigItem, len(req.GetNames()))
		for i, name := range req.GetNames() {
			kv := st.at(configKey(path, name), st.rev)
			if kv == nil {
				items[i] = &pdpb.GlobalConfigItem{Name: name, Error: &pdpb.Error{Type: pdpb.ErrorType_GLOBAL_CONFIG_NOT_FOUND, Message: "key " + name + " not found"}}
				continue
			}
			items[i] = &pdpb.GlobalConfigItem{Name: name, Payload: kv.Value, Kind: pdpb.EventType_PUT}
		}
		return &pdpb.LoadGlobalConfigResponse{Items: items}, nil
	}
	resp := &pdpb.LoadGlobalConfigResponse{Revision: st.rev}
	for _, kv := range st.rangeAt([]byte(path), prefixEnd([]byte(path)), st.rev) {
		resp.Items = append(resp.Items, &pdpb.GlobalConfigItem{Name: string(kv.Key), Payload: kv.Value, Kind: pdpb.EventType_PUT})
	}
	return resp, nil
}

// WatchGlobalConfig streams changes under the path from a revision on (0:
// from now). A compacted revision is a DATA_COMPACTED header, after which
// the stream ends so that the client reloads.
func (s *pdService) WatchGlobalConfig(req *pdpb.WatchGlobalConfigRequest, stream pdpb.PD_WatchGlobalConfigServer) error {
	c := s.m.c
	c.observePD(s.m.idx, "WatchGlobalConfig")
	path, err := normalizeConfigPath(req.GetConfigPath())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	st := c.etcd
	from := req.GetRevision()
	if from <= 0 {
		from = st.revision() + 1
	}
	key, end := []byte(path), prefixEnd([]byte(path))
	for {
		changed := st.watchChan()
		evs, next, compacted := st.eventsSince(from, key, end)
		if compacted != 0 {
			return stream.Send(&pdpb.WatchGlobalConfigResponse{Header: s.errHeader(pdpb.ErrorType_DATA_COMPACTED,
				"required watch revision: %d is smaller than current compact/min revision %d.", req.GetRevision(), compacted)})
		}
		from = next
		var changes []*pdpb.GlobalConfigItem
		for _, e := range evs {
			switch {
			case e.typ == mvccpb.PUT:
				changes = append(changes, &pdpb.GlobalConfigItem{Name: string(e.kv.Key), Payload: e.kv.Value, Kind: pdpb.EventType_PUT})
			case e.prev != nil:
				changes = append(changes, &pdpb.GlobalConfigItem{Name: string(e.kv.Key), Payload: e.prev.Value, Kind: pdpb.EventType_DELETE})
			}
		}
		if len(changes) > 0 {
			if err := stream.Send(&pdpb.WatchGlobalConfigResponse{Changes: changes, Revision: next - 1}); err != nil {
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
