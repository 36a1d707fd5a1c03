package mvcc

import (
	"bytes"
	"context"
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// commitKey commits txn startTS on key at commitTS exactly as KvCommit does
// for one key (§3.9).
func (e *Engine) commitKey(b *batch, key []byte, startTS, commitTS uint64) *kvrpcpb.KeyError {
	r := e.rec(key)
	if l := r.lockOf(startTS); l != nil {
		if commitTS < l.minCommitTS {
			return commitTSExpiredErr(startTS, commitTS, l.minCommitTS, key)
		}
		b.save(r)
		if r.lock.isShared() {
			b.commitShared(r, l, commitTS)
		} else {
			b.commitLock(r, commitTS)
		}
		return nil
	}
	if out, _ := r.txnRecord(startTS); out == outcomeCommitted {
		return nil
	}
	return txnLockNotFoundErr(startTS, key)
}

// KvCommit commits this txn's locks on keys at commit_version (§3.9); the
// first error aborts the whole command.
func (e *Engine) KvCommit(ctx context.Context, req *kvrpcpb.CommitRequest) *kvrpcpb.CommitResponse {
	resp := &kvrpcpb.CommitResponse{}
	startTS, commitTS := req.GetStartVersion(), req.GetCommitVersion()
	if commitTS <= startTS {
		resp.Error = abortErr(fmt.Sprintf("InvalidTxnTso { start_ts: %d, commit_ts: %d }", startTS, commitTS))
		return resp
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	for _, k := range req.GetKeys() {
		if err := e.commitKey(b, k, startTS, commitTS); err != nil {
			b.abort()
			resp.Error = err
			return resp
		}
	}
	b.commit()
	resp.CommitVersion = commitTS
	return resp
}

// rollbackKey rolls txn startTS back on key as KvBatchRollback does (§3.11).
func (e *Engine) rollbackKey(b *batch, key []byte, startTS uint64) *kvrpcpb.KeyError {
	r := e.rec(key)
	if r != nil && r.lock != nil && r.lock.startTS == startTS {
		l := r.lock
		protected := bytes.Equal(key, l.primary) || l.generation > 0
		b.save(r)
		b.rollback(r, startTS, protected, true)
		return nil
	}
	switch out, commitTS := r.txnRecord(startTS); out {
	case outcomeCommitted:
		return abortErr(fmt.Sprintf("txn already committed: start_ts %d, commit_ts %d, key %q", startTS, commitTS, key))
	case outcomeRolledBack:
		return nil
	}
	rr := b.touch(key)
	b.rollback(rr, startTS, false, true)
	return nil
}

// KvBatchRollback rolls txn start_version back on keys (§3.11).
func (e *Engine) KvBatchRollback(ctx context.Context, req *kvrpcpb.BatchRollbackRequest) *kvrpcpb.BatchRollbackResponse {
	resp := &kvrpcpb.BatchRollbackResponse{}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	for _, k := range req.GetKeys() {
		if err := e.rollbackKey(b, k, req.GetStartVersion()); err != nil {
			b.abort()
			resp.Error = err
			return resp
		}
	}
	b.commit()
	return resp
}

// KvCleanup rolls back one key of txn start_version unless its lock is still
// alive at current_ts (§3.10).
func (e *Engine) KvCleanup(ctx context.Context, req *kvrpcpb.CleanupRequest) *kvrpcpb.CleanupResponse {
	resp := &kvrpcpb.CleanupResponse{}
	startTS, key := req.GetStartVersion(), req.GetKey()
	e.UpdateMaxTS(startTS)
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	r := e.rec(key)
	if s := r.lockOf(startTS); s != nil && r.lock.isShared() {
		// A shared entry: its own TTL decides; the rollback below removes it.
		if req.GetCurrentTs() != 0 && !s.expired(req.GetCurrentTs()) {
			resp.Error = lockedErr(key, s)
			return resp
		}
	}
	if r != nil && r.lock != nil && r.lock.startTS == startTS {
		l := r.lock
		if req.GetCurrentTs() != 0 && !l.expired(req.GetCurrentTs()) {
			resp.Error = lockedErr(key, l)
			return resp
		}
		b.save(r)
		b.rollback(r, startTS, bytes.Equal(key, l.primary) || l.generation > 0, false)
		b.commit()
		return resp
	}
	switch out, commitTS := r.txnRecord(startTS); out {
	case outcomeCommitted:
		resp.CommitVersion = commitTS
		return resp
	case outcomeRolledBack:
		return resp
	}
	b.rollback(b.touch(key), startTS, true, false)
	b.commit()
	return resp
}

// KvTxnHeartBeat extends the TTL of the primary lock (§3.7).
func (e *Engine) KvTxnHeartBeat(ctx context.Context, req *kvrpcpb.TxnHeartBeatRequest) *kvrpcpb.TxnHeartBeatResponse {
	resp := &kvrpcpb.TxnHeartBeatResponse{}
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.rec(req.GetPrimaryLock())
	if r != nil && r.lock.isShared() {
		// A shared-locked key is never a primary (TiKV answers the same).
		resp.Error = primaryMismatchErr(req.GetPrimaryLock(), r.lock)
		return resp
	}
	if r == nil || r.lock == nil || r.lock.startTS != req.GetStartVersion() {
		resp.Error = txnNotFoundErr(req.GetStartVersion(), req.GetPrimaryLock())
		return resp
	}
	b := e.newBatch()
	b.save(r)
	l := r.lock
	l.ttl = max(l.ttl, req.GetAdviseLockTtl())
	if l.generation > 0 && !l.useAsyncCommit && req.GetMinCommitTs() > l.minCommitTS {
		l.minCommitTS = req.GetMinCommitTs()
	}
	b.commit()
	resp.LockTtl = l.ttl
	return resp
}

// KvCheckTxnStatus decides the status of the txn whose primary is
// primary_key (§3.8), rolling back an expired primary and pushing
// min_commit_ts as TiKV does.
func (e *Engine) KvCheckTxnStatus(ctx context.Context, req *kvrpcpb.CheckTxnStatusRequest) *kvrpcpb.CheckTxnStatusResponse {
	resp := &kvrpcpb.CheckTxnStatusResponse{}
	key, lockTS := req.GetPrimaryKey(), req.GetLockTs()
	callerTS, currentTS := req.GetCallerStartTs(), req.GetCurrentTs()
	e.UpdateMaxTS(lockTS)
	e.UpdateMaxTS(currentTS)
	e.UpdateMaxTS(callerTS)
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	r := e.rec(key)
	if r != nil && r.lock.isShared() {
		resp.Error = primaryMismatchErr(key, r.lock)
		return resp
	}
	if r != nil && r.lock != nil && r.lock.startTS == lockTS {
		l := r.lock
		decided := false
		if req.GetVerifyIsPrimary() && !bytes.Equal(l.primary, key) {
			if req.GetResolvingPessimisticLock() || !l.pessimistic() {
				resp.Error = primaryMismatchErr(key, l)
				return resp
			}
			// A stale pessimistic lock of a txn whose primary moved: drop
			// it and decide from the records alone.
			if !req.GetRollbackIfNotExist() {
				if out, _ := r.txnRecord(lockTS); out != outcomeCommitted && out != outcomeRolledBack {
					resp.Error = txnNotFoundErr(lockTS, key)
					return resp
				}
			}
			b.save(r)
			b.unlock(r, 0)
			decided = true
		}
		if !decided {
			switch {
			case l.useAsyncCommit && !req.GetForceSyncCommit():
				resp.LockTtl = l.ttl
				resp.LockInfo = l.info(key)
				resp.Action = kvrpcpb.Action_NoAction
				return resp
			case l.pessimistic():
				if l.lockedWithConflict {
					if out, commitTS := r.txnRecord(lockTS); out == outcomeCommitted || out == outcomeRolledBack {
						b.save(r)
						b.unlock(r, 0)
						b.commit()
						resp.CommitVersion = commitTS
						return resp
					}
				}
				if l.expired(currentTS) && currentTS != 0 {
					b.save(r)
					if req.GetResolvingPessimisticLock() {
						b.unlock(r, 0)
						resp.Action = kvrpcpb.Action_TTLExpirePessimisticRollback
					} else {
						b.rollback(r, lockTS, true, true)
						resp.Action = kvrpcpb.Action_TTLExpireRollback
					}
					b.commit()
					return resp
				}
			default:
				if l.expired(currentTS) && currentTS != 0 {
					b.save(r)
					b.rollback(r, lockTS, bytes.Equal(key, l.primary) || l.generation > 0, true)
					b.commit()
					resp.Action = kvrpcpb.Action_TTLExpireRollback
					return resp
				}
			}
			// Alive: maybe push min_commit_ts.
			if l.minCommitTS != 0 && callerTS != maxTS && callerTS >= l.minCommitTS {
				b.save(r)
				r.lock.minCommitTS = max(callerTS+1, currentTS)
				l = r.lock
				b.commit()
			}
			pushed := (callerTS != 0 && l.minCommitTS > callerTS) || callerTS == maxTS
			resp.LockTtl = l.ttl
			resp.LockInfo = l.info(key)
			if pushed {
				resp.Action = kvrpcpb.Action_MinCommitTSPushed
			}
			return resp
		}
	}
	// No lock of this txn on the key (case B).
	switch out, commitTS := r.txnRecord(lockTS); out {
	case outcomeCommitted:
		b.commit()
		resp.CommitVersion = commitTS
		return resp
	case outcomeRolledBack:
		b.commit()
		return resp
	}
	switch {
	case !req.GetRollbackIfNotExist():
		b.abort()
		resp.Error = txnNotFoundErr(lockTS, key)
	case req.GetResolvingPessimisticLock():
		b.commit()
		resp.Action = kvrpcpb.Action_LockNotExistDoNothing
	default:
		b.rollback(b.touch(key), lockTS, true, false)
		b.commit()
		resp.Action = kvrpcpb.Action_LockNotExistRollback
	}
	return resp
}

// KvCheckSecondaryLocks reports the secondaries' state for async-commit
// resolution (§3.12), rolling back keys that were never locked.
func (e *Engine) KvCheckSecondaryLocks(ctx context.Context, req *kvrpcpb.CheckSecondaryLocksRequest) *kvrpcpb.CheckSecondaryLocksResponse {
	resp := &kvrpcpb.CheckSecondaryLocksResponse{}
	startTS := req.GetStartVersion()
	e.UpdateMaxTS(startTS)
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	var locks []*kvrpcpb.LockInfo
	for _, k := range req.GetKeys() {
		r := e.rec(k)
		if l := r.lockOf(startTS); l != nil {
			if !l.pessimistic() && !l.sharedPessimistic() {
				locks = append(locks, l.info(k))
				continue
			}
			b.save(r)
			if r.lock.isShared() {
				b.removeShared(r, startTS, 0)
			} else {
				b.unlock(r, 0)
			}
		}
		switch out, commitTS := r.txnRecord(startTS); out {
		case outcomeCommitted:
			b.commit()
			resp.CommitTs = commitTS
			return resp
		case outcomeRolledBack:
			b.commit()
			return resp
		}
		b.rollback(b.touch(k), startTS, true, true)
		b.commit()
		return resp
	}
	b.commit()
	resp.Locks = locks
	return resp
}

// KvResolveLock commits or rolls back the locks of one or many txns
// (§3.14): by scanning for their locks, or on the listed keys only. Without
// keys it scans the whole engine; [Engine.KvResolveLockInRange] bounds the
// scan to a region.
func (e *Engine) KvResolveLock(ctx context.Context, req *kvrpcpb.ResolveLockRequest) *kvrpcpb.ResolveLockResponse {
	return e.KvResolveLockInRange(ctx, req, nil, nil)
}

// KvResolveLockInRange is [Engine.KvResolveLock] whose lock scan (the
// request without keys) is bounded to [start, end), empty end = unbounded, as
// TiKV bounds it to the region.
func (e *Engine) KvResolveLockInRange(ctx context.Context, req *kvrpcpb.ResolveLockRequest, start, end []byte) *kvrpcpb.ResolveLockResponse {
	resp := &kvrpcpb.ResolveLockResponse{}
	status := map[uint64]uint64{}
	if req.GetStartVersion() > 0 {
		status[req.GetStartVersion()] = req.GetCommitVersion()
	} else {
		for _, ti := range req.GetTxnInfos() {
			status[ti.GetTxn()] = ti.GetStatus()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	if len(req.GetKeys()) > 0 {
		startTS, commitTS := req.GetStartVersion(), req.GetCommitVersion()
		if startTS == 0 {
			resp.Error = abortErr("resolve lock with keys requires a non-zero start_version")
			return resp
		}
		for _, k := range req.GetKeys() {
			var err *kvrpcpb.KeyError
			if commitTS > 0 {
				err = e.commitKey(b, k, startTS, commitTS)
			} else {
				err = e.rollbackKey(b, k, startTS)
			}
			if err != nil {
				b.abort()
				resp.Error = err
				return resp
			}
		}
		b.commit()
		return resp
	}
	type hitLock struct {
		r *keyRec
		l *lock
	}
	var hit []hitLock
	e.ascend(start, end, func(r *keyRec) bool {
		switch l := r.lock; {
		case l.isShared():
			for _, s := range l.shared {
				if _, ok := status[s.startTS]; ok {
					hit = append(hit, hitLock{r, s})
				}
			}
		case l != nil:
			if _, ok := status[l.startTS]; ok {
				hit = append(hit, hitLock{r, l})
			}
		}
		return true
	})
	for _, h := range hit {
		r, l := h.r, h.l
		st := status[l.startTS]
		var err *kvrpcpb.KeyError
		switch {
		case st == 0:
			err = e.rollbackKey(b, r.key, l.startTS)
		case st > l.startTS:
			err = e.commitKey(b, r.key, l.startTS, st)
			if err != nil && err.TxnLockNotFound != nil && (l.pessimistic() || l.sharedPessimistic()) {
				err = nil
			}
		default:
			err = abortErr(fmt.Sprintf("InvalidTxnTso { start_ts: %d, commit_ts: %d }", l.startTS, st))
		}
		if err != nil {
			b.abort()
			resp.Error = err
			return resp
		}
	}
	b.commit()
	return resp
}
