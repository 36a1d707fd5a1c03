package mvcc

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// readOpts are the Context fields that shape a snapshot read (§1.7).
type readOpts struct {
	ts           uint64
	iso          kvrpcpb.IsolationLevel
	resolved     []uint64
	committed    []uint64
	needCommitTS bool
	staleRead    bool
	replicaRead  bool
}

func newReadOpts(c *kvrpcpb.Context, ts uint64, needCommitTS bool) readOpts {
	return readOpts{
		ts:           ts,
		iso:          c.GetIsolationLevel(),
		resolved:     c.GetResolvedLocks(),
		committed:    c.GetCommittedLocks(),
		needCommitTS: needCommitTS,
		staleRead:    c.GetStaleRead(),
		replicaRead:  c.GetReplicaRead(),
	}
}

// readResult is the outcome of reading one key.
type readResult struct {
	value    []byte
	found    bool
	commitTS uint64
	err      *kvrpcpb.KeyError
}

// read performs the transactional read of r at o.ts (§1.7). Caller holds
// e.mu (shared is enough).
func (e *Engine) read(key []byte, r *keyRec, o *readOpts) readResult {
	if r == nil {
		return readResult{}
	}
	if l := r.lock; l != nil {
		switch o.iso {
		case kvrpcpb.IsolationLevel_SI:
			if !lockIgnored(key, l, o) {
				if !o.needCommitTS && slices.Contains(o.committed, l.startTS) {
					return readFromLock(r, l)
				}
				return readResult{err: lockedErr(key, l)}
			}
		case kvrpcpb.IsolationLevel_RCCheckTS:
			if l.typ != kvrpcpb.Op_Lock && !l.pessimistic() && !l.isShared() && !slices.Contains(o.resolved, l.startTS) {
				return readResult{err: conflictErr(kvrpcpb.WriteConflict_RcCheckTs, o.ts, l.startTS, 0, key, l.primary)}
			}
		}
	}
	if w, ok := r.newest(); ok && o.iso == kvrpcpb.IsolationLevel_RCCheckTS && w.commitTS > o.ts {
		// Quirk: the key is the encoded write-CF key with its ts suffix.
		return readResult{err: conflictErr(kvrpcpb.WriteConflict_RcCheckTs, o.ts, 0, w.commitTS, writeCFKey(key, w.commitTS), nil)}
	}
	for i := 0; i < len(r.writes); i++ {
		w := r.w(i)
		if w.commitTS > o.ts {
			continue
		}
		switch w.kind {
		case writePut:
			if w.fenced(o.ts) {
				return readResult{}
			}
			v, ok := r.writeValue(w)
			if !ok {
				return readResult{err: abortErr("default not found: key " + string(key))}
			}
			return readResult{value: v, found: true, commitTS: w.commitTS}
		case writeDelete:
			return readResult{}
		}
	}
	return readResult{}
}

// lockIgnored is the SI lock conflict rule (§1.7.1).
func lockIgnored(key []byte, l *lock, o *readOpts) bool {
	switch {
	case l.startTS > o.ts,
		l.typ == kvrpcpb.Op_Lock, l.pessimistic(), l.isShared(),
		l.minCommitTS > o.ts,
		slices.Contains(o.resolved, l.startTS):
		return true
	case o.ts == maxTS && bytes.Equal(key, l.primary) && !l.useAsyncCommit:
		return true
	}
	return false
}

func readFromLock(r *keyRec, l *lock) readResult {
	if l.typ != kvrpcpb.Op_Put {
		return readResult{}
	}
	v, ok := r.value(l.shortValue, l.hasShort, l.startTS)
	if !ok {
		return readResult{err: abortErr("default not found: key " + string(r.key))}
	}
	return readResult{value: v, found: true}
}

// KvGet reads one key at req.Version (§3.1).
func (e *Engine) KvGet(ctx context.Context, req *kvrpcpb.GetRequest) *kvrpcpb.GetResponse {
	o := newReadOpts(req.GetContext(), req.GetVersion(), req.GetNeedCommitTs())
	if !o.staleRead {
		e.UpdateMaxTS(o.ts)
	}
	e.mu.RLock()
	res := e.read(req.GetKey(), e.rec(req.GetKey()), &o)
	e.mu.RUnlock()
	resp := &kvrpcpb.GetResponse{Error: res.err}
	switch {
	case res.err != nil:
	case res.found:
		resp.Value = res.value
		if o.needCommitTS {
			resp.CommitTs = res.commitTS
		}
	default:
		resp.NotFound = true
	}
	return resp
}

// KvBatchGet reads keys at req.Version (§3.3): absent keys are omitted and a
// per-key failure is a pair carrying only the error.
func (e *Engine) KvBatchGet(ctx context.Context, req *kvrpcpb.BatchGetRequest) *kvrpcpb.BatchGetResponse {
	o := newReadOpts(req.GetContext(), req.GetVersion(), req.GetNeedCommitTs())
	if !o.staleRead {
		e.UpdateMaxTS(o.ts)
	}
	resp := &kvrpcpb.BatchGetResponse{}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, k := range req.GetKeys() {
		res := e.read(k, e.rec(k), &o)
		switch {
		case res.err != nil:
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Error: res.err})
		case res.found:
			p := &kvrpcpb.KvPair{Key: k, Value: res.value}
			if o.needCommitTS {
				p.CommitTs = res.commitTS
			}
			resp.Pairs = append(resp.Pairs, p)
		}
	}
	return resp
}

// KvScan scans [start_key, end_key) (reverse: [end_key, start_key)
// descending) at req.Version (§3.2). The cluster layer has clamped the
// range to the region.
func (e *Engine) KvScan(ctx context.Context, req *kvrpcpb.ScanRequest) *kvrpcpb.ScanResponse {
	o := newReadOpts(req.GetContext(), req.GetVersion(), false)
	if !o.staleRead {
		e.UpdateMaxTS(o.ts)
	}
	resp := &kvrpcpb.ScanResponse{}
	limit := int(req.GetLimit())
	if limit == 0 {
		return resp
	}
	step := int(req.GetSampleStep())
	seen := 0
	// Pairs come from one slab per scan; keys alias the engine's immutable
	// key bytes.
	var slab []kvrpcpb.KvPair
	newPair := func() *kvrpcpb.KvPair {
		if len(slab) == cap(slab) {
			slab = make([]kvrpcpb.KvPair, 0, min(limit-len(resp.Pairs), 128))
		}
		slab = slab[:len(slab)+1]
		return &slab[len(slab)-1]
	}
	resp.Pairs = make([]*kvrpcpb.KvPair, 0, min(limit, 128))
	visit := func(r *keyRec) bool {
		res := e.read(r.key, r, &o)
		switch {
		case res.err != nil:
			p := newPair()
			p.Error = res.err
			resp.Pairs = append(resp.Pairs, p)
		case res.found:
			seen++
			if step > 1 && (seen-1)%step != 0 {
				return true
			}
			p := newPair()
			p.Key = r.key
			if !req.GetKeyOnly() {
				p.Value = res.value
			}
			resp.Pairs = append(resp.Pairs, p)
		default:
			return true
		}
		return len(resp.Pairs) < limit
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if req.GetReverse() {
		// start_key is an exclusive upper bound taken literally.
		if len(req.GetStartKey()) == 0 {
			return resp
		}
		e.descend(req.GetEndKey(), req.GetStartKey(), visit)
	} else {
		e.ascend(req.GetStartKey(), req.GetEndKey(), visit)
	}
	return resp
}

// KvBufferBatchGet returns what this txn's own locks hold (§3.19): a Put
// lock yields its value, a Delete lock an empty value; other keys are omitted.
func (e *Engine) KvBufferBatchGet(ctx context.Context, req *kvrpcpb.BufferBatchGetRequest) *kvrpcpb.BufferBatchGetResponse {
	version := req.GetVersion()
	e.UpdateMaxTS(version)
	keys := slices.Clone(req.GetKeys())
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	resp := &kvrpcpb.BufferBatchGetResponse{}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, k := range keys {
		r := e.rec(k)
		if r == nil || r.lock == nil || r.lock.startTS != version {
			continue
		}
		switch r.lock.typ {
		case kvrpcpb.Op_Put:
			v, ok := r.value(r.lock.shortValue, r.lock.hasShort, version)
			if !ok {
				resp.Error = abortErr("default not found: key " + string(k))
				return resp
			}
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Key: k, Value: v})
		case kvrpcpb.Op_Del:
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Key: k, Value: []byte{}})
		}
	}
	return resp
}

// KvScanLock returns locks with start_ts <= max_version in [start_key,
// end_key), pessimistic ones included, at most limit (0 = all) (§3.13).
func (e *Engine) KvScanLock(ctx context.Context, req *kvrpcpb.ScanLockRequest) *kvrpcpb.ScanLockResponse {
	e.UpdateMaxTS(req.GetMaxVersion())
	resp := &kvrpcpb.ScanLockResponse{}
	limit := int(req.GetLimit())
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.ascend(req.GetStartKey(), req.GetEndKey(), func(r *keyRec) bool {
		switch l := r.lock; {
		case l.isShared():
			if li := l.sharedInfo(r.key, req.GetMaxVersion()); len(li.SharedLockInfos) > 0 {
				resp.Locks = append(resp.Locks, li)
			}
		case l != nil && l.startTS <= req.GetMaxVersion():
			resp.Locks = append(resp.Locks, l.info(r.key))
		}
		return limit == 0 || len(resp.Locks) < limit
	})
	return resp
}

// encodeKey is TiKV's memcomparable bytes encoding (groups of 8 bytes, each
// followed by 0xFF minus the padding).
func encodeKey(key []byte) []byte {
	out := make([]byte, 0, (len(key)/8+1)*9)
	for i := 0; ; i += 8 {
		rest := len(key) - i
		if rest >= 8 {
			out = append(out, key[i:i+8]...)
			out = append(out, 0xFF)
			continue
		}
		var group [8]byte
		copy(group[:], key[i:])
		out = append(out, group[:]...)
		out = append(out, byte(0xFF-(8-rest)))
		return out
	}
}

// encodedLen is len(encodeKey(key)).
func encodedLen(key []byte) int { return (len(key)/8 + 1) * 9 }

// writeCFKey is the write-CF key of key at ts: encoded key ++ desc(ts).
func writeCFKey(key []byte, ts uint64) []byte {
	return binary.BigEndian.AppendUint64(encodeKey(key), ^ts)
}

// LockStarts calls fn for every lock in [start, end) (raw keys) that
// started at or below maxTS and is tracked by TiKV's resolved ts: a Put or
// Delete lock, not pessimistic, not shared. pipelined says it was written
// by a pipelined flush. It does not raise max_ts (TiKV's resolved-ts
// tracking is no read).
func (e *Engine) LockStarts(start, end []byte, maxTS uint64, fn func(startTS uint64, pipelined bool)) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.ascend(start, end, func(r *keyRec) bool {
		l := r.lock
		if l == nil || l.isShared() || l.pessimistic() || l.startTS > maxTS {
			return true
		}
		if l.typ == kvrpcpb.Op_Put || l.typ == kvrpcpb.Op_Del {
			fn(l.startTS, l.generation > 0)
		}
		return true
	})
}
