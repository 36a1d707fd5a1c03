package tikvsim

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// tikvService implements tikvpb.TikvServer for one store. RPCs a KV client
// does not use answer codes.Unimplemented through the embedded type.
type tikvService struct {
	tikvpb.UnimplementedTikvServer
	s *store
}

// call describes one request for the common checks of serve.
type call struct {
	cmd    string
	rctx   *kvrpcpb.Context
	kind   keyKind
	acc    access
	readTS uint64
	// keys are point keys that must lie in the region (KeyNotInRegion).
	keys [][]byte
	// ranges are only used by the api-version check and fault matching.
	ranges [][2][]byte
	// api: the command goes through the api-version / key-mode check.
	api bool
	// storeLevel: no region checks at all (UnsafeDestroyRange).
	storeLevel bool
}

func (cl *call) faultKeys() [][]byte {
	if len(cl.ranges) == 0 {
		return cl.keys
	}
	out := append([][]byte(nil), cl.keys...)
	for _, rg := range cl.ranges {
		out = append(out, rg[0])
	}
	return out
}

// serve runs the checks every KV RPC goes through (§2.1 and §4.1 of the
// semantics reference: cluster id, injected faults, api version, Context
// and region checks, keys inside the region) and then exec.
func serve[Resp any](ctx context.Context, s *store, cl *call, exec func(ctx context.Context, r *region) (*Resp, *errorpb.Error)) (*Resp, error) {
	c := s.c
	c.observe(s.id, cl.cmd)
	if id := cl.rctx.GetClusterId(); id != 0 && id != c.clusterID {
		return nil, status.Errorf(codes.InvalidArgument,
			"the cluster id of the request does not match the TiKV cluster, request %d, local %d", id, c.clusterID)
	}
	var after *Fault
	if f := c.faults.match(s.id, cl.cmd, cl.rctx.GetRegionId(), cl.faultKeys()); f != nil {
		if err := waitDelay(ctx, f.Delay); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if f.Held != nil && f.Hold != nil {
			select {
			case f.Held <- struct{}{}:
			default:
			}
		}
		if err := waitHold(ctx, f.Hold); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		switch {
		case f.AfterApply:
			after = f
		case f.GRPCCode != codes.OK:
			return nil, status.Error(f.GRPCCode, "tikvsim: injected fault")
		case f.RegionError != nil:
			resp := new(Resp)
			setRegionError(resp, f.RegionError)
			return resp, nil
		case f.KeyError != nil:
			resp := new(Resp)
			setKeyError(resp, f.KeyError)
			return resp, nil
		}
	}
	if cl.api {
		if msg := c.apiCheck(cl.cmd, cl.kind, cl.rctx.GetApiVersion(), cl.keys, cl.ranges); msg != "" {
			resp := new(Resp)
			setKeyError(resp, &kvrpcpb.KeyError{Abort: msg})
			return resp, nil
		}
	}
	var r *region
	if !cl.storeLevel {
		reg, rerr := c.checkContext(ctx, s.id, cl.rctx, cl.acc, cl.readTS)
		if rerr == nil {
			rerr = checkKeys(reg, cl.kind, cl.rctx.GetApiVersion(), cl.keys)
		}
		if rerr != nil {
			resp := new(Resp)
			setRegionError(resp, rerr)
			return resp, nil
		}
		r = reg
	}
	execCtx := ctx
	if d := cl.rctx.GetMaxExecutionDurationMs(); d > 0 {
		var cancel context.CancelFunc
		execCtx, cancel = context.WithTimeout(ctx, time.Duration(d)*time.Millisecond)
		defer cancel()
	}
	resp, rerr := exec(execCtx, r)
	if execCtx != ctx && ctx.Err() == nil && errors.Is(execCtx.Err(), context.DeadlineExceeded) {
		// TiKV answers a request that outlived max_execution_duration_ms
		// (for example while waiting for a lock) with ServerIsBusy.
		resp, rerr = nil, &errorpb.Error{
			Message:      "deadline is exceeded",
			ServerIsBusy: &errorpb.ServerIsBusy{Reason: "deadline is exceeded"},
		}
	}
	if rerr != nil {
		resp = new(Resp)
		setRegionError(resp, rerr)
	}
	if after != nil && after.GRPCCode != codes.OK {
		return nil, status.Error(after.GRPCCode, "tikvsim: injected fault after apply")
	}
	return resp, nil
}

func one(k []byte) [][]byte { return [][]byte{k} }

func mutationKeys(ms []*kvrpcpb.Mutation) [][]byte {
	out := make([][]byte, len(ms))
	for i, m := range ms {
		out[i] = m.GetKey()
	}
	return out
}

func pairKeys(ps []*kvrpcpb.KvPair) [][]byte {
	out := make([][]byte, len(ps))
	for i, p := range ps {
		out[i] = p.GetKey()
	}
	return out
}

func keyRanges(rs []*kvrpcpb.KeyRange) [][2][]byte {
	out := make([][2][]byte, len(rs))
	for i, r := range rs {
		out[i] = [2][]byte{r.GetStartKey(), r.GetEndKey()}
	}
	return out
}

const rangeExceedsBound = "Request range exceeds bound"

// clampTxnScan applies KvScan's bound rules: a bound outside the region is
// an abort, an unbounded side is clipped to the region. Reverse scans read
// [end, start); an empty start in a reverse scan is kept (TiKV returns
// nothing for it).
func clampTxnScan(r *region, start, end []byte, reverse bool) (newStart, newEnd []byte, abort string) {
	lower, upper := start, end
	if reverse {
		lower, upper = end, start
	}
	if len(lower) == 0 {
		lower = rawBound(kindTxn, 0, r.meta.GetStartKey())
	} else if bytes.Compare(EncodeKey(lower), r.meta.GetStartKey()) < 0 {
		return nil, nil, rangeExceedsBound
	}
	if re := r.meta.GetEndKey(); len(re) > 0 {
		if len(upper) == 0 {
			if !reverse {
				upper = rawBound(kindTxn, 0, re)
			}
		} else if bytes.Compare(EncodeKey(upper), re) > 0 {
			return nil, nil, rangeExceedsBound
		}
	}
	if reverse {
		return upper, lower, ""
	}
	return lower, upper, ""
}

// clampRange bounds [lower, upper) to the region (raw scans and checksum,
// whose iterators never leave the region). An empty upper means +inf.
func clampRange(r *region, kind keyKind, v kvrpcpb.APIVersion, lower, upper []byte) ([]byte, []byte) {
	if rs := r.meta.GetStartKey(); len(lower) == 0 || bytes.Compare(regionKey(kind, v, lower), rs) < 0 {
		lower = rawBound(kind, v, rs)
	}
	if re := r.meta.GetEndKey(); len(re) > 0 && (len(upper) == 0 || bytes.Compare(regionKey(kind, v, upper), re) > 0) {
		upper = rawBound(kind, v, re)
	}
	return lower, upper
}

// adaptRaw tells the engine about V1TTL storage: the engine enables TTLs
// from the request's api version, while under V1TTL storage clients send V1
// requests (§3.21 of the semantics reference).
func adaptRaw[R any](c *Cluster, req *R, rc *kvrpcpb.Context) *R {
	if c.opts.APIVersion != kvrpcpb.APIVersion_V1TTL || rc == nil {
		return req
	}
	cp := *req
	nc := *rc
	nc.ApiVersion = kvrpcpb.APIVersion_V1TTL
	reflect.ValueOf(&cp).Elem().FieldByName("Context").Set(reflect.ValueOf(&nc))
	return &cp
}

// emptyRange reports whether [lo, hi) holds no key; an empty hi is +inf.
// Bounds are request keys, whose order equals their region keys' order.
func emptyRange(lo, hi []byte) bool {
	return len(hi) > 0 && bytes.Compare(lo, hi) >= 0
}

func abortKeyErr(resp any, msg string) {
	setKeyError(resp, &kvrpcpb.KeyError{Abort: msg})
}

// KvGet reads one key.
func (t *tikvService) KvGet(ctx context.Context, req *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvGet", rctx: req.GetContext(), kind: kindTxn, acc: accRead, readTS: req.GetVersion(), keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.GetResponse, *errorpb.Error) {
			return t.s.c.engine.KvGet(ctx, req), nil
		})
}

// KvScan scans a range clipped to the region.
func (t *tikvService) KvScan(ctx context.Context, req *kvrpcpb.ScanRequest) (*kvrpcpb.ScanResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvScan", rctx: req.GetContext(), kind: kindTxn, acc: accRead, readTS: req.GetVersion(),
		ranges: [][2][]byte{scanRange(req.GetStartKey(), req.GetEndKey(), req.GetReverse())}, api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.ScanResponse, *errorpb.Error) {
			start, end, abort := clampTxnScan(r, req.GetStartKey(), req.GetEndKey(), req.GetReverse())
			if abort != "" {
				resp := &kvrpcpb.ScanResponse{}
				abortKeyErr(resp, abort)
				return resp, nil
			}
			lo, hi := start, end
			if req.GetReverse() {
				lo, hi = end, start
			}
			if emptyRange(lo, hi) || req.GetLimit() == 0 {
				return &kvrpcpb.ScanResponse{}, nil
			}
			cp := *req
			cp.StartKey, cp.EndKey = start, end
			return t.s.c.engine.KvScan(ctx, &cp), nil
		})
}

// scanRange orders a scan's bounds as [lower, upper] for the key-mode check.
func scanRange(start, end []byte, reverse bool) [2][]byte {
	if reverse {
		return [2][]byte{end, start}
	}
	return [2][]byte{start, end}
}

// KvBatchGet reads several keys.
func (t *tikvService) KvBatchGet(ctx context.Context, req *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvBatchGet", rctx: req.GetContext(), kind: kindTxn, acc: accRead, readTS: req.GetVersion(), keys: req.GetKeys(), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.BatchGetResponse, *errorpb.Error) {
			return t.s.c.engine.KvBatchGet(ctx, req), nil
		})
}

// KvPrewrite is the first phase of 2PC.
func (t *tikvService) KvPrewrite(ctx context.Context, req *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvPrewrite", rctx: req.GetContext(), kind: kindTxn, keys: mutationKeys(req.GetMutations()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.PrewriteResponse, *errorpb.Error) {
			return t.s.c.engine.KvPrewrite(ctx, req), nil
		})
}

// KvPessimisticLock acquires pessimistic locks.
func (t *tikvService) KvPessimisticLock(ctx context.Context, req *kvrpcpb.PessimisticLockRequest) (*kvrpcpb.PessimisticLockResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvPessimisticLock", rctx: req.GetContext(), kind: kindTxn, keys: mutationKeys(req.GetMutations()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.PessimisticLockResponse, *errorpb.Error) {
			return t.s.c.engine.KvPessimisticLock(ctx, req), nil
		})
}

// KVPessimisticRollback releases pessimistic locks.
func (t *tikvService) KVPessimisticRollback(ctx context.Context, req *kvrpcpb.PessimisticRollbackRequest) (*kvrpcpb.PessimisticRollbackResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KVPessimisticRollback", rctx: req.GetContext(), kind: kindTxn, keys: req.GetKeys()},
		func(ctx context.Context, r *region) (*kvrpcpb.PessimisticRollbackResponse, *errorpb.Error) {
			start, end := regionRawBounds(r)
			return t.s.c.engine.KVPessimisticRollbackInRange(ctx, req, start, end), nil
		})
}

// KvCommit is the second phase of 2PC.
func (t *tikvService) KvCommit(ctx context.Context, req *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvCommit", rctx: req.GetContext(), kind: kindTxn, keys: req.GetKeys()},
		func(ctx context.Context, _ *region) (*kvrpcpb.CommitResponse, *errorpb.Error) {
			return t.s.c.engine.KvCommit(ctx, req), nil
		})
}

// KvCleanup rolls back one key's lock or reports its commit.
func (t *tikvService) KvCleanup(ctx context.Context, req *kvrpcpb.CleanupRequest) (*kvrpcpb.CleanupResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvCleanup", rctx: req.GetContext(), kind: kindTxn, keys: one(req.GetKey())},
		func(ctx context.Context, _ *region) (*kvrpcpb.CleanupResponse, *errorpb.Error) {
			return t.s.c.engine.KvCleanup(ctx, req), nil
		})
}

// KvBatchRollback rolls back keys of a transaction.
func (t *tikvService) KvBatchRollback(ctx context.Context, req *kvrpcpb.BatchRollbackRequest) (*kvrpcpb.BatchRollbackResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvBatchRollback", rctx: req.GetContext(), kind: kindTxn, keys: req.GetKeys()},
		func(ctx context.Context, _ *region) (*kvrpcpb.BatchRollbackResponse, *errorpb.Error) {
			return t.s.c.engine.KvBatchRollback(ctx, req), nil
		})
}

// KvCheckTxnStatus checks (and may roll back or push) a primary lock.
func (t *tikvService) KvCheckTxnStatus(ctx context.Context, req *kvrpcpb.CheckTxnStatusRequest) (*kvrpcpb.CheckTxnStatusResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvCheckTxnStatus", rctx: req.GetContext(), kind: kindTxn, keys: one(req.GetPrimaryKey())},
		func(ctx context.Context, _ *region) (*kvrpcpb.CheckTxnStatusResponse, *errorpb.Error) {
			return t.s.c.engine.KvCheckTxnStatus(ctx, req), nil
		})
}

// KvCheckSecondaryLocks checks the secondaries of an async-commit txn.
func (t *tikvService) KvCheckSecondaryLocks(ctx context.Context, req *kvrpcpb.CheckSecondaryLocksRequest) (*kvrpcpb.CheckSecondaryLocksResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvCheckSecondaryLocks", rctx: req.GetContext(), kind: kindTxn, keys: req.GetKeys()},
		func(ctx context.Context, _ *region) (*kvrpcpb.CheckSecondaryLocksResponse, *errorpb.Error) {
			return t.s.c.engine.KvCheckSecondaryLocks(ctx, req), nil
		})
}

// KvTxnHeartBeat extends a primary lock's TTL.
func (t *tikvService) KvTxnHeartBeat(ctx context.Context, req *kvrpcpb.TxnHeartBeatRequest) (*kvrpcpb.TxnHeartBeatResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvTxnHeartBeat", rctx: req.GetContext(), kind: kindTxn, keys: one(req.GetPrimaryLock())},
		func(ctx context.Context, _ *region) (*kvrpcpb.TxnHeartBeatResponse, *errorpb.Error) {
			return t.s.c.engine.KvTxnHeartBeat(ctx, req), nil
		})
}

// KvScanLock lists locks of the region (leader only).
func (t *tikvService) KvScanLock(ctx context.Context, req *kvrpcpb.ScanLockRequest) (*kvrpcpb.ScanLockResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvScanLock", rctx: req.GetContext(), kind: kindTxn, acc: accLeaderRead, ranges: [][2][]byte{{req.GetStartKey(), req.GetEndKey()}}},
		func(ctx context.Context, r *region) (*kvrpcpb.ScanLockResponse, *errorpb.Error) {
			cp := *req
			cp.StartKey, cp.EndKey = clampRange(r, kindTxn, 0, req.GetStartKey(), req.GetEndKey())
			if emptyRange(cp.StartKey, cp.EndKey) {
				return &kvrpcpb.ScanLockResponse{}, nil
			}
			return t.s.c.engine.KvScanLock(ctx, &cp), nil
		})
}

// KvResolveLock commits or rolls back a transaction's locks; without keys
// it resolves the locks inside the region only, as TiKV does.
func (t *tikvService) KvResolveLock(ctx context.Context, req *kvrpcpb.ResolveLockRequest) (*kvrpcpb.ResolveLockResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvResolveLock", rctx: req.GetContext(), kind: kindTxn, keys: req.GetKeys()},
		func(ctx context.Context, r *region) (*kvrpcpb.ResolveLockResponse, *errorpb.Error) {
			start, end := regionRawBounds(r)
			return t.s.c.engine.KvResolveLockInRange(ctx, req, start, end), nil
		})
}

// regionRawBounds is the region's range in transactional user-key space.
func regionRawBounds(r *region) (start, end []byte) {
	return rawBound(kindTxn, 0, r.meta.GetStartKey()), rawBound(kindTxn, 0, r.meta.GetEndKey())
}

// KvGC is not implemented by current TiKV (GC is driven by PD's safe point).
func (t *tikvService) KvGC(ctx context.Context, req *kvrpcpb.GCRequest) (*kvrpcpb.GCResponse, error) {
	t.s.c.observe(t.s.id, "KvGC")
	return nil, status.Error(codes.Unimplemented, "KvGC is not implemented")
}

// KvDeleteRange deletes every version in a range that must lie in the region.
func (t *tikvService) KvDeleteRange(ctx context.Context, req *kvrpcpb.DeleteRangeRequest) (*kvrpcpb.DeleteRangeResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvDeleteRange", rctx: req.GetContext(), kind: kindTxn, ranges: [][2][]byte{{req.GetStartKey(), req.GetEndKey()}}, api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.DeleteRangeResponse, *errorpb.Error) {
			if e := checkRangeInside(r, kindTxn, 0, req.GetStartKey(), req.GetEndKey()); e != nil {
				return nil, e
			}
			return t.s.c.engine.KvDeleteRange(ctx, req), nil
		})
}

// UnsafeDestroyRange deletes all data in a range, with no region checks.
func (t *tikvService) UnsafeDestroyRange(ctx context.Context, req *kvrpcpb.UnsafeDestroyRangeRequest) (*kvrpcpb.UnsafeDestroyRangeResponse, error) {
	return serve(ctx, t.s, &call{cmd: "UnsafeDestroyRange", rctx: req.GetContext(), storeLevel: true, ranges: [][2][]byte{{req.GetStartKey(), req.GetEndKey()}}},
		func(ctx context.Context, _ *region) (*kvrpcpb.UnsafeDestroyRangeResponse, *errorpb.Error) {
			if len(req.GetStartKey()) == 0 || len(req.GetEndKey()) == 0 {
				return &kvrpcpb.UnsafeDestroyRangeResponse{Error: "unsafe destroy range: start and end keys must not be empty"}, nil
			}
			return t.s.c.engine.UnsafeDestroyRange(ctx, req), nil
		})
}

// KvFlush writes pipelined-DML locks.
func (t *tikvService) KvFlush(ctx context.Context, req *kvrpcpb.FlushRequest) (*kvrpcpb.FlushResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvFlush", rctx: req.GetContext(), kind: kindTxn, keys: mutationKeys(req.GetMutations()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.FlushResponse, *errorpb.Error) {
			return t.s.c.engine.KvFlush(ctx, req), nil
		})
}

// KvBufferBatchGet reads a pipelined txn's own locks.
func (t *tikvService) KvBufferBatchGet(ctx context.Context, req *kvrpcpb.BufferBatchGetRequest) (*kvrpcpb.BufferBatchGetResponse, error) {
	return serve(ctx, t.s, &call{cmd: "KvBufferBatchGet", rctx: req.GetContext(), kind: kindTxn, acc: accRead, readTS: req.GetVersion(), keys: req.GetKeys(), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.BufferBatchGetResponse, *errorpb.Error) {
			return t.s.c.engine.KvBufferBatchGet(ctx, req), nil
		})
}

// RawGet reads one raw key.
func (t *tikvService) RawGet(ctx context.Context, req *kvrpcpb.RawGetRequest) (*kvrpcpb.RawGetResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawGet", rctx: req.GetContext(), kind: kindRaw, acc: accRead, keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawGetResponse, *errorpb.Error) {
			return t.s.c.engine.RawGet(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawBatchGet reads several raw keys.
func (t *tikvService) RawBatchGet(ctx context.Context, req *kvrpcpb.RawBatchGetRequest) (*kvrpcpb.RawBatchGetResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawBatchGet", rctx: req.GetContext(), kind: kindRaw, acc: accRead, keys: req.GetKeys(), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawBatchGetResponse, *errorpb.Error) {
			return t.s.c.engine.RawBatchGet(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawPut writes one raw key.
func (t *tikvService) RawPut(ctx context.Context, req *kvrpcpb.RawPutRequest) (*kvrpcpb.RawPutResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawPut", rctx: req.GetContext(), kind: kindRaw, keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawPutResponse, *errorpb.Error) {
			return t.s.c.engine.RawPut(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawBatchPut writes several raw keys.
func (t *tikvService) RawBatchPut(ctx context.Context, req *kvrpcpb.RawBatchPutRequest) (*kvrpcpb.RawBatchPutResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawBatchPut", rctx: req.GetContext(), kind: kindRaw, keys: pairKeys(req.GetPairs()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawBatchPutResponse, *errorpb.Error) {
			return t.s.c.engine.RawBatchPut(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawDelete deletes one raw key.
func (t *tikvService) RawDelete(ctx context.Context, req *kvrpcpb.RawDeleteRequest) (*kvrpcpb.RawDeleteResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawDelete", rctx: req.GetContext(), kind: kindRaw, keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawDeleteResponse, *errorpb.Error) {
			return t.s.c.engine.RawDelete(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawBatchDelete deletes several raw keys.
func (t *tikvService) RawBatchDelete(ctx context.Context, req *kvrpcpb.RawBatchDeleteRequest) (*kvrpcpb.RawBatchDeleteResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawBatchDelete", rctx: req.GetContext(), kind: kindRaw, keys: req.GetKeys(), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawBatchDeleteResponse, *errorpb.Error) {
			return t.s.c.engine.RawBatchDelete(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawScan scans raw keys; the scan never leaves the region.
func (t *tikvService) RawScan(ctx context.Context, req *kvrpcpb.RawScanRequest) (*kvrpcpb.RawScanResponse, error) {
	rctx := req.GetContext()
	return serve(ctx, t.s, &call{cmd: "RawScan", rctx: rctx, kind: kindRaw, acc: accRead,
		ranges: [][2][]byte{scanRange(req.GetStartKey(), req.GetEndKey(), req.GetReverse())}, api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.RawScanResponse, *errorpb.Error) {
			cp := *req
			v := rctx.GetApiVersion()
			if req.GetReverse() {
				// Reverse: [end, start); start is an exclusive upper bound.
				if len(req.GetStartKey()) > 0 {
					cp.EndKey, cp.StartKey = clampRange(r, kindRaw, v, req.GetEndKey(), req.GetStartKey())
				} else {
					cp.EndKey, _ = clampRange(r, kindRaw, v, req.GetEndKey(), nil)
				}
			} else {
				cp.StartKey, cp.EndKey = clampRange(r, kindRaw, v, req.GetStartKey(), req.GetEndKey())
			}
			lo, hi := cp.StartKey, cp.EndKey
			if req.GetReverse() {
				lo, hi = cp.EndKey, cp.StartKey
			}
			if len(hi) > 0 && emptyRange(lo, hi) {
				return &kvrpcpb.RawScanResponse{}, nil
			}
			return t.s.c.engine.RawScan(ctx, adaptRaw(t.s.c, &cp, cp.Context)), nil
		})
}

// RawBatchScan scans several raw ranges, each bounded by the region.
func (t *tikvService) RawBatchScan(ctx context.Context, req *kvrpcpb.RawBatchScanRequest) (*kvrpcpb.RawBatchScanResponse, error) {
	rctx := req.GetContext()
	return serve(ctx, t.s, &call{cmd: "RawBatchScan", rctx: rctx, kind: kindRaw, acc: accRead, ranges: keyRanges(req.GetRanges()), api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.RawBatchScanResponse, *errorpb.Error) {
			cp := *req
			v := rctx.GetApiVersion()
			cp.Ranges = make([]*kvrpcpb.KeyRange, 0, len(req.GetRanges()))
			for i, kr := range req.GetRanges() {
				n := &kvrpcpb.KeyRange{StartKey: kr.GetStartKey(), EndKey: kr.GetEndKey()}
				lo, hi := kr.GetStartKey(), kr.GetEndKey()
				if req.GetReverse() {
					lo, hi = hi, lo
				}
				valid := !emptyRange(lo, hi)
				last := i == len(req.GetRanges())-1
				if req.GetReverse() {
					n.EndKey, n.StartKey = clampRange(r, kindRaw, v, kr.GetEndKey(), kr.GetStartKey())
					if len(kr.GetEndKey()) == 0 && !last {
						n.EndKey = nil
					}
				} else {
					n.StartKey, n.EndKey = clampRange(r, kindRaw, v, kr.GetStartKey(), kr.GetEndKey())
					if len(kr.GetEndKey()) == 0 && !last {
						n.EndKey = nil // ends at the next range's start
					}
				}
				// A valid range that clamping emptied is dropped; invalid
				// ones go on so that the engine reports them.
				clo, chi := n.StartKey, n.EndKey
				if req.GetReverse() {
					clo, chi = chi, clo
				}
				if valid && emptyRange(clo, chi) {
					continue
				}
				cp.Ranges = append(cp.Ranges, n)
			}
			if len(cp.Ranges) == 0 {
				return &kvrpcpb.RawBatchScanResponse{}, nil
			}
			return t.s.c.engine.RawBatchScan(ctx, adaptRaw(t.s.c, &cp, cp.Context)), nil
		})
}

// RawDeleteRange deletes raw keys in a range that must lie in the region.
func (t *tikvService) RawDeleteRange(ctx context.Context, req *kvrpcpb.RawDeleteRangeRequest) (*kvrpcpb.RawDeleteRangeResponse, error) {
	rctx := req.GetContext()
	return serve(ctx, t.s, &call{cmd: "RawDeleteRange", rctx: rctx, kind: kindRaw, ranges: [][2][]byte{{req.GetStartKey(), req.GetEndKey()}}, api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.RawDeleteRangeResponse, *errorpb.Error) {
			if e := checkRangeInside(r, kindRaw, rctx.GetApiVersion(), req.GetStartKey(), req.GetEndKey()); e != nil {
				return nil, e
			}
			return t.s.c.engine.RawDeleteRange(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawGetKeyTTL returns a raw key's remaining TTL.
func (t *tikvService) RawGetKeyTTL(ctx context.Context, req *kvrpcpb.RawGetKeyTTLRequest) (*kvrpcpb.RawGetKeyTTLResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawGetKeyTTL", rctx: req.GetContext(), kind: kindRaw, acc: accRead, keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawGetKeyTTLResponse, *errorpb.Error) {
			if t.s.c.opts.APIVersion == kvrpcpb.APIVersion_V1 {
				return &kvrpcpb.RawGetKeyTTLResponse{Error: "get ttl on non-ttl store"}, nil
			}
			return t.s.c.engine.RawGetKeyTTL(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawCompareAndSwap is an atomic compare-and-set of one raw key.
func (t *tikvService) RawCompareAndSwap(ctx context.Context, req *kvrpcpb.RawCASRequest) (*kvrpcpb.RawCASResponse, error) {
	return serve(ctx, t.s, &call{cmd: "RawCompareAndSwap", rctx: req.GetContext(), kind: kindRaw, keys: one(req.GetKey()), api: true},
		func(ctx context.Context, _ *region) (*kvrpcpb.RawCASResponse, *errorpb.Error) {
			return t.s.c.engine.RawCompareAndSwap(ctx, adaptRaw(t.s.c, req, req.GetContext())), nil
		})
}

// RawChecksum checksums raw ranges bounded by the region.
func (t *tikvService) RawChecksum(ctx context.Context, req *kvrpcpb.RawChecksumRequest) (*kvrpcpb.RawChecksumResponse, error) {
	rctx := req.GetContext()
	return serve(ctx, t.s, &call{cmd: "RawChecksum", rctx: rctx, kind: kindRaw, acc: accRead, ranges: keyRanges(req.GetRanges()), api: true},
		func(ctx context.Context, r *region) (*kvrpcpb.RawChecksumResponse, *errorpb.Error) {
			cp := *req
			cp.Ranges = make([]*kvrpcpb.KeyRange, 0, len(req.GetRanges()))
			for _, kr := range req.GetRanges() {
				s, e := clampRange(r, kindRaw, rctx.GetApiVersion(), kr.GetStartKey(), kr.GetEndKey())
				if !emptyRange(kr.GetStartKey(), kr.GetEndKey()) && emptyRange(s, e) {
					continue // nothing of this range lies in the region
				}
				cp.Ranges = append(cp.Ranges, &kvrpcpb.KeyRange{StartKey: s, EndKey: e})
			}
			return t.s.c.engine.RawChecksum(ctx, adaptRaw(t.s.c, &cp, cp.Context)), nil
		})
}

// SplitRegion splits the region at the given keys (TiKV's admin path:
// leader only, version-only epoch check).
func (t *tikvService) SplitRegion(ctx context.Context, req *kvrpcpb.SplitRegionRequest) (*kvrpcpb.SplitRegionResponse, error) {
	rctx := req.GetContext()
	keys := req.GetSplitKeys()
	if len(keys) == 0 && len(req.GetSplitKey()) > 0 {
		keys = one(req.GetSplitKey())
	}
	return serve(ctx, t.s, &call{cmd: "SplitRegion", rctx: rctx, kind: kindTxn},
		func(ctx context.Context, r *region) (*kvrpcpb.SplitRegionResponse, *errorpb.Error) {
			if len(keys) == 0 {
				return nil, &errorpb.Error{Message: "missing split key"}
			}
			kind := kindTxn
			if req.GetIsRawKv() {
				kind = kindRaw
			}
			rk := make([][]byte, len(keys))
			for i, k := range keys {
				if len(k) == 0 {
					return nil, &errorpb.Error{Message: "split key should not be empty"}
				}
				rk[i] = regionKey(kind, rctx.GetApiVersion(), k)
			}
			regions, e := t.s.c.splitRegionRPC(r.meta.GetId(), r.meta.GetRegionEpoch().GetVersion(), rk)
			if e != nil {
				return nil, e
			}
			resp := &kvrpcpb.SplitRegionResponse{Regions: regions}
			if len(regions) == 2 {
				resp.Left, resp.Right = regions[0], regions[1]
			}
			return resp, nil
		})
}

// GetStoreSafeTS returns the minimum safe ts of this store's regions that
// overlap the key range (all regions for an empty range).
func (t *tikvService) GetStoreSafeTS(ctx context.Context, req *kvrpcpb.StoreSafeTSRequest) (*kvrpcpb.StoreSafeTSResponse, error) {
	c := t.s.c
	c.observe(t.s.id, "GetStoreSafeTS")
	start, end := req.GetKeyRange().GetStartKey(), req.GetKeyRange().GetEndKey()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var min uint64
	for _, r := range c.regions.sorted {
		if r.peerOn(t.s.id) == nil {
			continue
		}
		if len(end) > 0 && bytes.Compare(r.meta.GetStartKey(), end) >= 0 {
			continue
		}
		if len(r.meta.GetEndKey()) > 0 && bytes.Compare(r.meta.GetEndKey(), start) <= 0 {
			continue
		}
		if ts := c.staleReadSafeTS(r, t.s, c.tso.last()); ts != 0 && (min == 0 || ts < min) {
			min = ts
		}
	}
	return &kvrpcpb.StoreSafeTSResponse{SafeTs: min}, nil
}

// GetHealthFeedback reports this store as healthy.
func (t *tikvService) GetHealthFeedback(ctx context.Context, req *kvrpcpb.GetHealthFeedbackRequest) (*kvrpcpb.GetHealthFeedbackResponse, error) {
	t.s.c.observe(t.s.id, "GetHealthFeedback")
	return &kvrpcpb.GetHealthFeedbackResponse{HealthFeedback: t.s.healthFeedback()}, nil
}

// BroadcastTxnStatus fills this store's txn status cache. As in TiKV,
// snapshot reads do not consult it; the stale-read safe ts (TiKV's
// resolved ts) does, for the locks of pipelined transactions.
func (t *tikvService) BroadcastTxnStatus(ctx context.Context, req *kvrpcpb.BroadcastTxnStatusRequest) (*kvrpcpb.BroadcastTxnStatusResponse, error) {
	return serve(ctx, t.s, &call{cmd: "BroadcastTxnStatus", rctx: req.GetContext(), storeLevel: true},
		func(context.Context, *region) (*kvrpcpb.BroadcastTxnStatusResponse, *errorpb.Error) {
			for _, st := range req.GetTxnStatus() {
				t.s.txnStatus.update(st)
			}
			return &kvrpcpb.BroadcastTxnStatusResponse{}, nil
		})
}

func (s *store) healthFeedback() *kvrpcpb.HealthFeedback {
	return &kvrpcpb.HealthFeedback{StoreId: s.id, FeedbackSeqNo: s.feedbackSeq.Add(1), SlowScore: 1}
}
