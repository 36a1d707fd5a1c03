package mvcc

import (
	"bytes"
	"context"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// KvGCUnimplemented is the text of the error KvGC reports. TiKV master does
// not implement KvGC: a unary call fails with gRPC status UNIMPLEMENTED and a
// BatchCommands sub-request gets no response at all. The cluster layer is
// expected to answer that way without calling [Engine.KvGC]; the engine
// itself only reports the error in the response.
const KvGCUnimplemented = "KvGC is not implemented by TiKV"

// KvGC rejects the request as TiKV master does (§3.15); see
// [KvGCUnimplemented]. It never touches data.
func (e *Engine) KvGC(ctx context.Context, req *kvrpcpb.GCRequest) *kvrpcpb.GCResponse {
	return &kvrpcpb.GCResponse{Error: abortErr(KvGCUnimplemented)}
}

// GC applies TiKV's compaction-filter GC for safe point sp to every key
// (§3.15): versions above sp stay; at or below sp, Lock and Rollback records
// newer than the newest Put/Delete are dropped, a Put is kept and everything
// older goes, a Delete goes together with everything older. Values of
// dropped Puts leave the default CF. Locks are never touched.
func (e *Engine) GC(sp uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var empty []*keyRec
	e.order.Ascend(func(r *keyRec) bool {
		gcKey(r, sp)
		if r.empty() {
			empty = append(empty, r)
		}
		return true
	})
	for _, r := range empty {
		e.tidy(r)
	}
}

// GCKeys is [Engine.GC] restricted to the keys for which in returns true:
// a keyspace-level GC safe point covers its keyspace's keys only.
func (e *Engine) GCKeys(sp uint64, in func(key []byte) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var empty []*keyRec
	e.order.Ascend(func(r *keyRec) bool {
		if !in(r.key) {
			return true
		}
		gcKey(r, sp)
		if r.empty() {
			empty = append(empty, r)
		}
		return true
	})
	for _, r := range empty {
		e.tidy(r)
	}
}

func gcKey(r *keyRec, sp uint64) {
	kept := make([]write, 0, len(r.writes))
	done := false // passed the newest Put/Delete at or below sp
	for i := range r.writes {
		w := *r.w(i)
		switch {
		case w.commitTS > sp:
			kept = append(kept, w)
			continue
		case done:
		case w.kind == writePut:
			kept = append(kept, w)
			done = true
			continue
		case w.kind == writeDelete:
			done = true
		}
		if w.kind == writePut && !w.hasShort {
			delete(r.values, w.startTS)
		}
	}
	slices.Reverse(kept)
	r.writes = kept
	if len(r.values) == 0 {
		r.values = nil
	}
}

// deleteRange physically removes every lock, write and value in [start,
// end) (empty end = unbounded), waking waiters of removed locks.
func (e *Engine) deleteRange(start, end []byte) {
	var hit []*keyRec
	e.ascend(start, end, func(r *keyRec) bool {
		hit = append(hit, r)
		return true
	})
	b := e.newBatch()
	for _, r := range hit {
		b.save(r)
		b.unlock(r, 0)
		r.writes, r.values = nil, nil
	}
	b.commit()
}

// KvDeleteRange deletes all transactional data in [start_key, end_key)
// regardless of timestamps, unless notify_only (§3.16).
func (e *Engine) KvDeleteRange(ctx context.Context, req *kvrpcpb.DeleteRangeRequest) *kvrpcpb.DeleteRangeResponse {
	resp := &kvrpcpb.DeleteRangeResponse{}
	if len(req.GetEndKey()) > 0 && bytes.Compare(req.GetStartKey(), req.GetEndKey()) >= 0 {
		resp.Error = "invalid delete range command: start_key must be less than end_key"
		return resp
	}
	if req.GetNotifyOnly() {
		return resp
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleteRange(req.GetStartKey(), req.GetEndKey())
	return resp
}

// UnsafeDestroyRange deletes all transactional data in [start_key,
// end_key); both bounds must be non-empty (§3.17).
func (e *Engine) UnsafeDestroyRange(ctx context.Context, req *kvrpcpb.UnsafeDestroyRangeRequest) *kvrpcpb.UnsafeDestroyRangeResponse {
	resp := &kvrpcpb.UnsafeDestroyRangeResponse{}
	if len(req.GetStartKey()) == 0 || len(req.GetEndKey()) == 0 {
		resp.Error = "unsafe destroy range: start_key and end_key must not be empty"
		return resp
	}
	if bytes.Compare(req.GetStartKey(), req.GetEndKey()) >= 0 {
		resp.Error = "unsafe destroy range: start_key must be less than end_key"
		return resp
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleteRange(req.GetStartKey(), req.GetEndKey())
	return resp
}
