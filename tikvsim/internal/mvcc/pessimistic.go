package mvcc

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// defaultWaitTimeout is TiKV's default (and ceiling) for lock waiting,
// pessimistic-txn.wait-for-lock-timeout.
const defaultWaitTimeout = time.Second

// lockAttempt is the result of one pass of KvPessimisticLock over its keys.
type lockAttempt struct {
	err      *kvrpcpb.KeyError
	values   [][]byte
	notFound []bool
	results  []*kvrpcpb.PessimisticLockKeyResult
	// blocked is set when another txn's lock stops the request.
	blockedKey  []byte
	blockedLock *lock
	blockedTS   uint64 // the txn waited for (a shared wrapper has no ts of its own)
}

// KvPessimisticLock acquires pessimistic locks (§3.5), waiting for a
// conflicting lock to go away for up to min(wait_timeout, 1s) unless
// wait_timeout < 0. ctx bounds the wait.
func (e *Engine) KvPessimisticLock(ctx context.Context, req *kvrpcpb.PessimisticLockRequest) *kvrpcpb.PessimisticLockResponse {
	resp := &kvrpcpb.PessimisticLockResponse{}
	force := req.GetWakeUpMode() == kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
	failWith := func(err *kvrpcpb.KeyError) *kvrpcpb.PessimisticLockResponse {
		resp.Errors = []*kvrpcpb.KeyError{err}
		if force {
			resp.Results = []*kvrpcpb.PessimisticLockKeyResult{{Type: kvrpcpb.PessimisticLockKeyResultType_LockResultFailed}}
		}
		return resp
	}
	muts := req.GetMutations()
	if force && len(muts) > 1 {
		return failWith(abortErr("multiple keys in a single request with allowed_lock_with_conflict set is not allowed"))
	}
	if req.GetLockOnlyIfExists() && !req.GetReturnValues() {
		return failWith(abortErr(fmt.Sprintf("LockIfExistsFailed { start_ts: %d }: lock_only_if_exists requires return_values", req.GetStartVersion())))
	}
	if err := checkKeys(muts); err != nil {
		return failWith(err)
	}
	for _, m := range muts {
		if m.Op != kvrpcpb.Op_PessimisticLock && m.Op != kvrpcpb.Op_SharedPessimisticLock {
			return failWith(abortErr(fmt.Sprintf("invalid op %s in pessimistic lock request", m.Op)))
		}
	}
	if req.GetStartVersion() == 0 || req.GetForUpdateTs() == 0 {
		return failWith(abortErr("mvcc: start_version and for_update_ts must be non-zero"))
	}
	needRead := req.GetReturnValues() || req.GetCheckExistence()
	for _, m := range muts {
		if m.Assertion == kvrpcpb.Assertion_NotExist {
			needRead = true
		}
	}
	if needRead {
		e.UpdateMaxTS(req.GetForUpdateTs())
	}

	timeout := defaultWaitTimeout
	if wt := req.GetWaitTimeout(); wt > 0 && wt < defaultWaitTimeout.Milliseconds() {
		timeout = time.Duration(wt) * time.Millisecond
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	start := e.now()

	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return failWith(closedAbort())
		}
		a := e.tryPessimisticLock(req, force)
		if a.blockedLock == nil {
			e.mu.Unlock()
			if a.err != nil {
				return failWith(a.err)
			}
			resp.Values, resp.NotFounds, resp.Results = a.values, a.notFound, a.results
			return resp
		}
		blocked := lockedErr(a.blockedKey, a.blockedLock)
		if req.GetWaitTimeout() < 0 {
			e.mu.Unlock()
			return failWith(blocked)
		}
		w := &waiter{startTS: req.GetStartVersion(), key: bytes.Clone(a.blockedKey), lockTS: a.blockedTS, since: e.now(), ch: make(chan wakeup, 1)}
		if !req.GetIsFirstLock() {
			ed := &waitEdge{txn: w.startTS, waitFor: a.blockedTS, key: w.key, keyHash: keyHash(w.key)}
			if hash, chain, dead := e.graph.detect(ed); dead {
				e.mu.Unlock()
				return failWith(&kvrpcpb.KeyError{Deadlock: &kvrpcpb.Deadlock{
					LockTs: a.blockedTS, LockKey: bytes.Clone(a.blockedKey),
					DeadlockKeyHash: hash, WaitChain: chain,
				}})
			}
			e.graph.add(ed)
			w.edge = ed
		}
		e.enqueue(w)
		e.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case wk := <-w.ch:
			if wk.reason == wakeClosed {
				return failWith(closedAbort())
			}
			if !force {
				return failWith(conflictErr(kvrpcpb.WriteConflict_PessimisticRetry, req.GetStartVersion(),
					wk.lockTS, wk.commitTS, a.blockedKey, req.GetPrimaryLock()))
			}
			// Force-lock mode: run the request again.
		case <-timer.C:
			e.mu.Lock()
			e.dequeue(w)
			e.mu.Unlock()
			blocked.Locked.DurationToLastUpdateMs = uint64(e.now().Sub(start).Milliseconds())
			return failWith(blocked)
		case <-ctx.Done():
			e.mu.Lock()
			e.dequeue(w)
			e.mu.Unlock()
			return failWith(ctxAbort(ctx))
		}
	}
}

// tryPessimisticLock runs one pass over the keys; it writes all locks or
// none. Caller holds e.mu exclusively.
func (e *Engine) tryPessimisticLock(req *kvrpcpb.PessimisticLockRequest, force bool) lockAttempt {
	b := e.newBatch()
	startTS, fut := req.GetStartVersion(), req.GetForUpdateTs()
	var a lockAttempt
	fail := func(err *kvrpcpb.KeyError) lockAttempt {
		b.abort()
		return lockAttempt{err: err}
	}
	for _, m := range req.GetMutations() {
		key := m.Key
		r := e.rec(key)
		notExist := m.Assertion == kvrpcpb.Assertion_NotExist
		effective := fut
		conflictTS := uint64(0)
		var dataW *write
		exists := false
		shared := m.Op == kvrpcpb.Op_SharedPessimisticLock
		var held *lock // this txn's lock on the key: exclusive, or its shared entry
		if r != nil && r.lock != nil {
			l := r.lock
			switch {
			case l.isShared() && !shared:
				// Exclusive after shared: wait for the other holders; a txn
				// cannot turn its own shared lock into an exclusive one.
				if other := l.firstOtherHolder(startTS); other != 0 {
					b.abort()
					// After the abort, so the mark stays: it is TiKV's
					// shrink-only state, not part of this request's writes.
					r.lock.shrinkOnly = true
					return lockAttempt{blockedKey: key, blockedLock: r.lock, blockedTS: other}
				}
				return fail(abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: true }", startTS, key)))
			case l.isShared():
				held = r.lockOf(startTS) // shared with shared: compatible
				if held == nil && l.shrinkOnly {
					b.abort()
					return lockAttempt{blockedKey: key, blockedLock: l, blockedTS: l.firstOtherHolder(startTS)}
				}
			case l.startTS != startTS:
				b.abort()
				return lockAttempt{blockedKey: key, blockedLock: l, blockedTS: l.startTS}
			case shared:
				return fail(abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: true }", startTS, key)))
			default:
				held = l
			}
		}
		if held != nil {
			l := held
			if !l.pessimistic() && !l.sharedPessimistic() {
				return fail(abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: false }", startTS, key)))
			}
			if force && fut < l.forUpdateTS {
				effective = l.forUpdateTS
				conflictTS = l.forUpdateTS
			}
			if req.GetReturnValues() || req.GetCheckExistence() || notExist || conflictTS != 0 {
				dataW, exists = r.existsAt(effective)
				if notExist && exists {
					if dataW.commitTS > fut {
						return fail(conflictErr(kvrpcpb.WriteConflict_PessimisticRetry, startTS, dataW.startTS, dataW.commitTS, key, req.GetPrimaryLock()))
					}
					return fail(alreadyExistErr(key))
				}
			}
			if effective > l.forUpdateTS {
				// Re-lock with a newer for_update_ts: the lock takes this
				// request's fields.
				rr := b.touch(key)
				if shared {
					nl := *l
					nl.primary, nl.forUpdateTS = bytes.Clone(req.GetPrimaryLock()), effective
					nl.ttl, nl.minCommitTS = req.GetLockTtl(), req.GetMinCommitTs()
					b.putShared(rr, &nl)
				} else {
					rr.lock.primary = bytes.Clone(req.GetPrimaryLock())
					rr.lock.forUpdateTS = effective
					rr.lock.ttl = req.GetLockTtl()
					rr.lock.minCommitTS = req.GetMinCommitTs()
				}
			}
		} else {
			if w, ok := r.newest(); ok {
				c := w.commitTS
				if c > fut {
					if !force {
						return fail(conflictErr(kvrpcpb.WriteConflict_PessimisticRetry, startTS, w.startTS, c, key, req.GetPrimaryLock()))
					}
					effective, conflictTS = c, c
				}
				if rolledBack(r, startTS) {
					return fail(abortErr(fmt.Sprintf("PessimisticLockRolledBack { start_ts: %d, key: %q }", startTS, key)))
				}
			}
			dataW, exists = r.existsAt(maxTS)
			if notExist && exists {
				if conflictTS != 0 {
					return fail(conflictErr(kvrpcpb.WriteConflict_PessimisticRetry, startTS, dataW.startTS, dataW.commitTS, key, req.GetPrimaryLock()))
				}
				return fail(alreadyExistErr(key))
			}
			if !(req.GetLockOnlyIfExists() && !exists) {
				rr := b.touch(key)
				typ := kvrpcpb.Op_PessimisticLock
				if shared {
					typ = kvrpcpb.Op_SharedPessimisticLock
				}
				nl := &lock{
					typ:                typ,
					primary:            bytes.Clone(req.GetPrimaryLock()),
					startTS:            startTS,
					ttl:                req.GetLockTtl(),
					forUpdateTS:        effective,
					minCommitTS:        req.GetMinCommitTs(),
					txnSource:          req.GetContext().GetTxnSource(),
					lockedWithConflict: conflictTS != 0,
				}
				if shared {
					b.putShared(rr, nl)
				} else {
					rr.lock = nl
				}
			}
		}
		var value []byte
		if exists {
			value, _ = r.writeValue(dataW)
		}
		if force {
			res := &kvrpcpb.PessimisticLockKeyResult{Type: kvrpcpb.PessimisticLockKeyResultType_LockResultNormal}
			if conflictTS != 0 {
				res.Type = kvrpcpb.PessimisticLockKeyResultType_LockResultLockedWithConflict
				res.LockedWithConflictTs = conflictTS
				res.Value, res.Existence = value, exists
			} else {
				if req.GetReturnValues() {
					res.Value = value
				}
				if req.GetReturnValues() || req.GetCheckExistence() {
					res.Existence = exists
				}
			}
			a.results = append(a.results, res)
			continue
		}
		if req.GetReturnValues() {
			if value == nil {
				value = []byte{}
			}
			a.values = append(a.values, value)
		}
		if req.GetReturnValues() || req.GetCheckExistence() {
			a.notFound = append(a.notFound, !exists)
		}
	}
	b.commit()
	return a
}

// rolledBack reports whether txn startTS has a rollback (or overlapped
// rollback) record at key@startTS, which makes a later lock of it fail.
func rolledBack(r *keyRec, startTS uint64) bool {
	i := r.writeAt(startTS)
	if i < 0 {
		return false
	}
	w := r.w(i)
	return (w.kind == writeRollback && w.startTS == startTS) || w.overlapped
}

// KVPessimisticRollback removes this txn's pessimistic locks whose
// for_update_ts <= req.ForUpdateTs (§3.6). Empty keys means every such lock
// in the engine; [Engine.KVPessimisticRollbackInRange] bounds that to a
// region.
func (e *Engine) KVPessimisticRollback(ctx context.Context, req *kvrpcpb.PessimisticRollbackRequest) *kvrpcpb.PessimisticRollbackResponse {
	return e.KVPessimisticRollbackInRange(ctx, req, nil, nil)
}

// KVPessimisticRollbackInRange is [Engine.KVPessimisticRollback] whose scan
// (the request without keys) is bounded to [start, end), empty end =
// unbounded.
func (e *Engine) KVPessimisticRollbackInRange(ctx context.Context, req *kvrpcpb.PessimisticRollbackRequest, start, end []byte) *kvrpcpb.PessimisticRollbackResponse {
	resp := &kvrpcpb.PessimisticRollbackResponse{}
	startTS, fut := req.GetStartVersion(), req.GetForUpdateTs()
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.newBatch()
	match := func(r *keyRec) bool {
		l := r.lockOf(startTS)
		return l != nil && (l.pessimistic() || l.sharedPessimistic()) && l.forUpdateTS <= fut
	}
	release := func(r *keyRec) {
		b.save(r)
		if r.lock.isShared() {
			b.removeShared(r, startTS, 0)
		} else {
			b.unlock(r, 0)
		}
	}
	if len(req.GetKeys()) == 0 {
		var hit []*keyRec
		e.ascend(start, end, func(r *keyRec) bool {
			if match(r) {
				hit = append(hit, r)
			}
			return true
		})
		for _, r := range hit {
			release(r)
		}
	} else {
		for _, k := range req.GetKeys() {
			if r := e.rec(k); r != nil && match(r) {
				release(r)
			}
		}
	}
	b.commit()
	return resp
}
