package mvcc

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// prewriteReq is what KvPrewrite and KvFlush share.
type prewriteReq struct {
	muts        []*kvrpcpb.Mutation
	actions     []kvrpcpb.PrewriteRequest_PessimisticAction
	expectedFUT map[int]uint64
	primary     []byte
	startTS     uint64
	ttl         uint64
	forUpdateTS uint64
	txnSize     uint64
	minCommitTS uint64
	maxCommitTS uint64
	async       bool // async commit (not 1PC)
	wantAsync   bool // use_async_commit as requested
	onePC       bool
	secondaries [][]byte
	skipCheck   bool
	isRetry     bool
	level       kvrpcpb.AssertionLevel
	txnSource   uint64
	generation  uint64 // > 0: pipelined flush
}

func (p *prewriteReq) pessimistic() bool { return p.forUpdateTS != 0 }

func (p *prewriteReq) action(i int) kvrpcpb.PrewriteRequest_PessimisticAction {
	if !p.pessimistic() || i >= len(p.actions) {
		return kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK
	}
	return p.actions[i]
}

// checkKeys applies the key-size limit measured on the encoded key.
func checkKeys(muts []*kvrpcpb.Mutation) *kvrpcpb.KeyError {
	for _, m := range muts {
		if m == nil {
			return abortErr("mvcc: nil mutation")
		}
		if n := encodedLen(m.Key); n > maxKeySize {
			return abortErr(fmt.Sprintf("max key size exceeded, size: %d, limit: %d", n, maxKeySize))
		}
	}
	return nil
}

func pessimisticLockNotFound(startTS uint64, key []byte, reason string) *kvrpcpb.KeyError {
	return abortErr(fmt.Sprintf("PessimisticLockNotFound { start_ts: %d, key: %q, reason: %s }", startTS, key, reason))
}

// KvPrewrite writes the locks of a transaction (§3.4, §5): optimistic or
// pessimistic, 2PC, async commit or 1PC.
func (e *Engine) KvPrewrite(ctx context.Context, req *kvrpcpb.PrewriteRequest) *kvrpcpb.PrewriteResponse {
	resp := &kvrpcpb.PrewriteResponse{}
	muts := req.GetMutations()
	if err := checkKeys(muts); err != nil {
		resp.Errors = []*kvrpcpb.KeyError{err}
		return resp
	}
	p := &prewriteReq{
		muts:        muts,
		primary:     req.GetPrimaryLock(),
		startTS:     req.GetStartVersion(),
		ttl:         req.GetLockTtl(),
		forUpdateTS: req.GetForUpdateTs(),
		txnSize:     req.GetTxnSize(),
		minCommitTS: req.GetMinCommitTs(),
		maxCommitTS: req.GetMaxCommitTs(),
		onePC:       req.GetTryOnePc(),
		async:       req.GetUseAsyncCommit() && !req.GetTryOnePc(),
		wantAsync:   req.GetUseAsyncCommit(),
		secondaries: req.GetSecondaries(),
		skipCheck:   req.GetSkipConstraintCheck(),
		isRetry:     req.GetContext().GetIsRetryRequest(),
		level:       req.GetAssertionLevel(),
		txnSource:   req.GetContext().GetTxnSource(),
	}
	if p.pessimistic() {
		// Quirk: TiKV zips mutations with pessimistic_actions.
		p.actions = req.GetPessimisticActions()
		if len(p.actions) < len(p.muts) {
			p.muts = p.muts[:len(p.actions)]
		}
		for _, c := range req.GetForUpdateTsConstraints() {
			if int(c.GetIndex()) >= len(p.muts) {
				resp.Errors = []*kvrpcpb.KeyError{abortErr(fmt.Sprintf("invalid for_update_ts constraint index %d", c.GetIndex()))}
				return resp
			}
			if p.expectedFUT == nil {
				p.expectedFUT = make(map[int]uint64)
			}
			p.expectedFUT[int(c.GetIndex())] = c.GetExpectedForUpdateTs()
		}
	}
	if p.startTS == 0 {
		resp.Errors = []*kvrpcpb.KeyError{abortErr("mvcc: start_version is 0")}
		return resp
	}
	for _, m := range p.muts {
		switch m.Op {
		case kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock, kvrpcpb.Op_Insert, kvrpcpb.Op_SharedLock:
		case kvrpcpb.Op_CheckNotExists:
			if p.pessimistic() {
				resp.Errors = []*kvrpcpb.KeyError{abortErr("CheckNotExists is not allowed in a pessimistic prewrite")}
				return resp
			}
			e.UpdateMaxTS(p.startTS)
			continue
		default:
			resp.Errors = []*kvrpcpb.KeyError{abortErr(fmt.Sprintf("invalid op %s in prewrite", m.Op))}
			return resp
		}
		if m.Op == kvrpcpb.Op_Insert {
			e.UpdateMaxTS(p.startTS)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		resp.Errors = []*kvrpcpb.KeyError{closedAbort()}
		return resp
	}
	out := e.prewrite(p)
	resp.Errors = out.errs
	resp.MinCommitTs = out.minCommitTS
	resp.OnePcCommitTs = out.onePCCommitTS
	return resp
}

type prewriteOut struct {
	errs          []*kvrpcpb.KeyError
	minCommitTS   uint64
	onePCCommitTS uint64
}

// prewrite runs the per-mutation rules and applies the result atomically
// (except flush, which writes the unlocked keys). Caller holds e.mu.
func (e *Engine) prewrite(p *prewriteReq) prewriteOut {
	b := e.newBatch()
	var (
		lockErrs  []*kvrpcpb.KeyError
		assertErr *kvrpcpb.KeyError
		fallback  bool
		finalMin  uint64
	)
	// alreadyCommitted is the idempotent-retry check: if this txn committed
	// key already, the whole request is a success that writes nothing.
	alreadyCommitted := func(r *keyRec) (uint64, bool) {
		if r == nil {
			return 0, false
		}
		for i := range r.writes {
			if w := &r.writes[i]; w.startTS == p.startTS && w.kind != writeRollback {
				return w.commitTS, true
			}
		}
		return 0, false
	}
	committedOut := func(commitTS uint64) prewriteOut {
		b.abort()
		out := prewriteOut{}
		if p.async {
			out.minCommitTS = commitTS
		}
		if p.onePC {
			out.onePCCommitTS = commitTS
		}
		return out
	}
	fail := func(err *kvrpcpb.KeyError) prewriteOut {
		b.abort()
		return prewriteOut{errs: []*kvrpcpb.KeyError{err}}
	}

	for i, m := range p.muts {
		key := m.Key
		r := e.rec(key)
		action := p.action(i)
		if m.Op == kvrpcpb.Op_SharedLock || (r != nil && r.lock.isShared()) {
			// Shared-lock keys: a SharedLock mutation joins the holders; any
			// other mutation meets the holders' wrapper as another txn's lock.
			if m.Op != kvrpcpb.Op_SharedLock {
				if ts, ok := alreadyCommitted(r); ok {
					return committedOut(ts)
				}
				if r.lockOf(p.startTS) != nil {
					return fail(abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: true }", p.startTS, key)))
				}
				if action == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK {
					return fail(pessimisticLockNotFound(p.startTS, key, "LockTsMismatch"))
				}
				lockErrs = append(lockErrs, lockedErr(key, r.lock))
				continue
			}
			nl, err := e.prewriteShared(p, i, m, r)
			if err != nil {
				if ts, ok := alreadyCommitted(r); ok {
					return committedOut(ts)
				}
				if err.Locked != nil {
					lockErrs = append(lockErrs, err)
					continue
				}
				return fail(err)
			}
			if nl == nil {
				continue // duplicate prewrite
			}
			if (p.async || p.onePC) && !fallback {
				mc := max(e.MaxTS(), p.startTS, p.forUpdateTS, nl.minCommitTS-1) + 1
				if p.maxCommitTS != 0 && mc > p.maxCommitTS {
					fallback = true
				} else {
					nl.minCommitTS = mc
					nl.useAsyncCommit = p.async
					finalMin = max(finalMin, mc)
				}
			}
			b.putShared(b.touch(key), nl)
			continue
		}
		var own *lock
		amend := false
		if r != nil && r.lock != nil {
			l := r.lock
			if l.startTS != p.startTS {
				if ts, ok := alreadyCommitted(r); ok {
					return committedOut(ts)
				}
				if action == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK {
					return fail(pessimisticLockNotFound(p.startTS, key, "LockTsMismatch"))
				}
				le := lockedErr(key, l)
				if p.pessimistic() {
					le.Locked.LockTtl = 0
				}
				lockErrs = append(lockErrs, le)
				continue
			}
			if p.generation > 0 {
				if l.generation >= p.generation {
					continue // already flushed by this or a later generation
				}
				if m.Op == kvrpcpb.Op_Insert && l.typ == kvrpcpb.Op_Put {
					return fail(alreadyExistErr(key))
				}
				own = l
			} else if l.pessimistic() {
				if !p.pessimistic() {
					return fail(abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: true }", p.startTS, key)))
				}
				if exp, ok := p.expectedFUT[i]; ok && exp != l.forUpdateTS {
					return fail(pessimisticLockNotFound(p.startTS, key, "LockForUpdateTsMismatch"))
				}
				own = l
			} else {
				// Duplicate prewrite of this key: succeed without rewriting.
				if l.useAsyncCommit && !fallback {
					finalMin = max(finalMin, l.minCommitTS)
				} else {
					fallback = true
				}
				continue
			}
		} else if action == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK {
			if w, ok := r.newest(); ok && w.commitTS >= p.startTS {
				if ts, ok := alreadyCommitted(r); ok {
					return committedOut(ts)
				}
				return fail(pessimisticLockNotFound(p.startTS, key, "LockMissingAmendFail"))
			}
			amend = true
		}

		// Constraint check (step 2).
		runCheck := true
		switch {
		case !p.pessimistic() && p.skipCheck:
			runCheck = false
		case action == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK:
			runCheck = false
		case p.pessimistic() && action == kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK && !p.isRetry:
			runCheck = false
		}
		checkRan := false
		if runCheck {
			checkRan = true
			if err := e.constraintCheck(p, i, m, r); err != nil {
				if err.AlreadyExist == nil {
					if ts, ok := alreadyCommitted(r); ok {
						return committedOut(ts)
					}
				}
				return fail(err)
			}
		}

		// Assertion (step 3); a pipelined txn asserts only on a key's first flush.
		if m.Assertion != kvrpcpb.Assertion_None && !(p.generation > 0 && own != nil) {
			do := p.level == kvrpcpb.AssertionLevel_Strict ||
				(p.level == kvrpcpb.AssertionLevel_Fast && (checkRan || amend))
			if do {
				if ae := assertion(p.startTS, key, m.Assertion, r); ae != nil {
					if !checkRan {
						if err := e.constraintCheck(p, i, m, r); err != nil {
							return fail(err)
						}
					}
					if assertErr == nil {
						assertErr = ae
					}
					continue
				}
			}
		}

		// Write the lock (step 4).
		if m.Op == kvrpcpb.Op_CheckNotExists {
			if p.async || p.onePC {
				finalMin = max(finalMin, max(p.minCommitTS, p.startTS+1))
			}
			continue
		}
		typ := m.Op
		if typ == kvrpcpb.Op_Insert {
			typ = kvrpcpb.Op_Put
		}
		nl := &lock{
			typ:         typ,
			primary:     bytes.Clone(p.primary),
			startTS:     p.startTS,
			ttl:         p.ttl,
			forUpdateTS: p.forUpdateTS,
			txnSize:     p.txnSize,
			minCommitTS: p.minCommitTS,
			txnSource:   p.txnSource,
		}
		if p.generation > 0 {
			nl.generation = p.generation
			nl.txnSize = math.MaxUint64
			nl.minCommitTS = p.startTS + 1
			nl.forUpdateTS = 0
		} else if own != nil {
			nl.ttl = max(nl.ttl, own.ttl)
			nl.minCommitTS = max(nl.minCommitTS, own.minCommitTS)
			nl.forUpdateTS = max(nl.forUpdateTS, own.forUpdateTS)
		}
		if (p.async || p.onePC) && !fallback {
			mc := max(e.MaxTS(), p.startTS, p.forUpdateTS) + 1
			mc = max(mc, nl.minCommitTS)
			if p.maxCommitTS != 0 && mc > p.maxCommitTS {
				fallback = true
			} else {
				nl.minCommitTS = mc
				finalMin = max(finalMin, mc)
				if p.async {
					nl.useAsyncCommit = true
					if bytes.Equal(key, p.primary) && len(p.secondaries) > 0 {
						nl.secondaries = make([][]byte, len(p.secondaries))
						for j, s := range p.secondaries {
							nl.secondaries[j] = bytes.Clone(s)
						}
					}
				}
			}
		}
		rr := b.touch(key)
		if own != nil && own.typ == kvrpcpb.Op_Put && !own.hasShort {
			b.deleteValue(rr, p.startTS) // the value of an overwritten flush
		}
		b.setLock(rr, nl, m.Value)
	}

	if assertErr != nil {
		return fail(assertErr)
	}
	if len(lockErrs) > 0 {
		if p.generation > 0 {
			// Flush keeps the keys it could write.
			b.commit()
			return prewriteOut{errs: lockErrs}
		}
		b.abort()
		return prewriteOut{errs: lockErrs}
	}
	out := prewriteOut{}
	switch {
	case fallback:
		// Locks stay as written (quirk: earlier async locks keep
		// use_async_commit); the client commits with a fresh ts.
	case p.onePC:
		out.onePCCommitTS = finalMin
		if p.wantAsync {
			out.minCommitTS = finalMin
		}
		for _, r := range b.order {
			if l := r.lock; l != nil && l.startTS == p.startTS && !l.pessimistic() {
				b.commitLock(r, finalMin)
			} else if s := r.lockOf(p.startTS); s != nil && l.isShared() && !s.sharedPessimistic() {
				b.commitShared(r, s, finalMin)
			}
		}
	case p.async:
		out.minCommitTS = finalMin
	}
	b.commit()
	return out
}

// prewriteShared checks a SharedLock mutation on r and returns the txn's
// new shared entry, nil for a duplicate prewrite, or the error: KeyIsLocked
// for another txn's exclusive lock, PessimisticLockNotFound when a
// pessimistic txn holds no shared pessimistic lock there, a write conflict
// for an optimistic txn that a newer commit overtook.
func (e *Engine) prewriteShared(p *prewriteReq, i int, m *kvrpcpb.Mutation, r *keyRec) (*lock, *kvrpcpb.KeyError) {
	key := m.Key
	if r == nil {
		r = &keyRec{} // nothing on the key yet
	}
	if l := r.lock; l != nil && !l.isShared() {
		if l.startTS == p.startTS {
			return nil, abortErr(fmt.Sprintf("LockTypeNotMatch { start_ts: %d, key: %q, pessimistic: false }", p.startTS, key))
		}
		if p.action(i) == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK {
			return nil, pessimisticLockNotFound(p.startTS, key, "LockTsMismatch")
		}
		return nil, lockedErr(key, l)
	}
	own := r.lockOf(p.startTS)
	if own != nil && !own.sharedPessimistic() {
		return nil, nil
	}
	if own == nil {
		if p.action(i) == kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK {
			return nil, pessimisticLockNotFound(p.startTS, key, "LockNotExist")
		}
		// No lock of ours guards the key: a newer commit is a conflict.
		if w, ok := r.newest(); ok && w.commitTS >= p.startTS {
			return nil, conflictErr(kvrpcpb.WriteConflict_Optimistic, p.startTS, w.startTS, w.commitTS, key, p.primary)
		}
		if rolledBack(r, p.startTS) {
			return nil, conflictErr(kvrpcpb.WriteConflict_SelfRolledBack, p.startTS, p.startTS, p.startTS, key, p.primary)
		}
	}
	nl := &lock{
		typ:         kvrpcpb.Op_SharedLock,
		primary:     bytes.Clone(p.primary),
		startTS:     p.startTS,
		ttl:         p.ttl,
		forUpdateTS: p.forUpdateTS,
		txnSize:     p.txnSize,
		minCommitTS: p.minCommitTS,
		txnSource:   p.txnSource,
	}
	if own != nil {
		nl.ttl = max(nl.ttl, own.ttl)
		nl.minCommitTS = max(nl.minCommitTS, own.minCommitTS)
		nl.forUpdateTS = max(nl.forUpdateTS, own.forUpdateTS)
	}
	return nl, nil
}

// constraintCheck is step 2 of §3.4 for mutation i on r.
func (e *Engine) constraintCheck(p *prewriteReq, i int, m *kvrpcpb.Mutation, r *keyRec) *kvrpcpb.KeyError {
	if r == nil {
		return nil
	}
	action := p.action(i)
	needAbsent := m.Op == kvrpcpb.Op_Insert || m.Op == kvrpcpb.Op_CheckNotExists
	for idx := 0; idx < len(r.writes); idx++ {
		w := r.w(idx)
		c := w.commitTS
		if c == p.startTS && (w.kind == writeRollback || w.overlapped) {
			return conflictErr(kvrpcpb.WriteConflict_SelfRolledBack, p.startTS, w.startTS, c, m.Key, p.primary)
		}
		if !p.pessimistic() && c > p.startTS {
			return conflictErr(kvrpcpb.WriteConflict_Optimistic, p.startTS, w.startTS, c, m.Key, p.primary)
		}
		if p.pessimistic() {
			if action == kvrpcpb.PrewriteRequest_DO_CONSTRAINT_CHECK && c > p.startTS {
				return conflictErr(kvrpcpb.WriteConflict_LazyUniquenessCheck, p.startTS, w.startTS, c, m.Key, p.primary)
			}
			if c > p.forUpdateTS {
				if w.kind == writeRollback {
					continue
				}
				return pessimisticLockNotFound(p.startTS, m.Key, "NonLockKeyConflict")
			}
		}
		if needAbsent {
			switch w.kind {
			case writePut:
				if !w.fenced(p.startTS) {
					return alreadyExistErr(m.Key)
				}
			case writeLock, writeRollback:
				if d, ok := r.latestData(c-1, p.startTS); ok && d.kind == writePut {
					return alreadyExistErr(m.Key)
				}
			}
		}
		return nil
	}
	return nil
}

// assertion checks Mutation.assertion against the newest Put/Delete version.
func assertion(startTS uint64, key []byte, a kvrpcpb.Assertion, r *keyRec) *kvrpcpb.KeyError {
	w, ok := r.latestData(maxTS, startTS)
	exists := ok && w.kind == writePut
	if !ok {
		w = nil
	}
	switch a {
	case kvrpcpb.Assertion_Exist:
		if !exists {
			return assertionErr(startTS, key, a, w)
		}
	case kvrpcpb.Assertion_NotExist:
		if exists {
			return assertionErr(startTS, key, a, w)
		}
	}
	return nil
}

// KvFlush prewrites a pipelined-DML batch as optimistic locks tagged with
// req.Generation (§3.18).
func (e *Engine) KvFlush(ctx context.Context, req *kvrpcpb.FlushRequest) *kvrpcpb.FlushResponse {
	resp := &kvrpcpb.FlushResponse{}
	if req.GetGeneration() == 0 {
		resp.Errors = []*kvrpcpb.KeyError{abortErr("generation must be greater than 0 in a flush request")}
		return resp
	}
	if err := checkKeys(req.GetMutations()); err != nil {
		resp.Errors = []*kvrpcpb.KeyError{err}
		return resp
	}
	if req.GetStartTs() == 0 {
		resp.Errors = []*kvrpcpb.KeyError{abortErr("mvcc: start_ts is 0")}
		return resp
	}
	for _, m := range req.GetMutations() {
		switch m.Op {
		case kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock, kvrpcpb.Op_Insert, kvrpcpb.Op_CheckNotExists:
		default:
			resp.Errors = []*kvrpcpb.KeyError{abortErr(fmt.Sprintf("invalid op %s in flush", m.Op))}
			return resp
		}
	}
	p := &prewriteReq{
		muts:       req.GetMutations(),
		primary:    req.GetPrimaryKey(),
		startTS:    req.GetStartTs(),
		ttl:        req.GetLockTtl(),
		level:      req.GetAssertionLevel(),
		txnSource:  req.GetContext().GetTxnSource(),
		generation: req.GetGeneration(),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		resp.Errors = []*kvrpcpb.KeyError{closedAbort()}
		return resp
	}
	resp.Errors = e.prewrite(p).errs
	return resp
}
