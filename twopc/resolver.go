package twopc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// TxnStatus is what CheckTxnStatus learned about a transaction from its
// primary key.
type TxnStatus struct {
	// CommitTS is non-zero when the transaction committed.
	CommitTS tso.Timestamp
	// TTL is non-zero while the primary is still locked.
	TTL time.Duration
	// Action is what TiKV did while checking (rolled back an expired lock,
	// pushed the min commit ts, ...).
	Action kvrpcpb.Action
	// primary is the primary's lock while it is alive.
	primary *kvrpcpb.LockInfo
}

// Committed reports whether the transaction committed.
func (s TxnStatus) Committed() bool { return s.CommitTS > 0 }

// RolledBack reports whether the transaction is known rolled back (or, for
// a pessimistic lock, known to need no commit).
func (s TxnStatus) RolledBack() bool { return s.CommitTS == 0 && s.TTL == 0 }

// Determined reports whether the transaction's outcome is final.
func (s TxnStatus) Determined() bool { return s.TTL == 0 }

// cacheable reports whether the status may be remembered: only final
// outcomes backed by a commit or rollback record.
func (s TxnStatus) cacheable() bool {
	if s.Committed() {
		return true
	}
	if s.TTL != 0 {
		return false
	}
	switch s.Action {
	case kvrpcpb.Action_TTLExpirePessimisticRollback, kvrpcpb.Action_LockNotExistDoNothing:
		return false // nothing was written; the txn could still prewrite elsewhere
	}
	return true
}

// StatusRequest is the input of [Resolver.CheckTxnStatus].
type StatusRequest struct {
	// Primary and StartTS name the transaction.
	Primary []byte
	StartTS tso.Timestamp
	// CallerStartTS is the checking reader's start ts (0 for a writer):
	// TiKV pushes the lock's min commit ts above it so the reader may
	// ignore the lock.
	CallerStartTS tso.Timestamp
	// CurrentTS is the ts TiKV judges the lock's TTL against.
	CurrentTS tso.Timestamp
	// RollbackIfNotExist writes a rollback record when the primary has
	// neither lock nor record (its prewrite may still be on the way).
	RollbackIfNotExist bool
	// ForceSyncCommit treats an async-commit primary as a normal lock.
	ForceSyncCommit bool
	// ResolvingPessimisticLock removes an expired pessimistic primary
	// without writing a rollback record.
	ResolvingPessimisticLock bool
}

// ResolveResult is the outcome of resolving a set of locks.
type ResolveResult struct {
	// Wait is how long to back off before retrying when some lock's
	// transaction is still alive; 0 when every lock was dealt with.
	Wait time.Duration
	// Resolved lists transactions whose locks a reader may now ignore
	// (Context.resolved_locks): rolled back, committed after the reader's
	// ts, or pushed above it.
	Resolved []tso.Timestamp
	// Committed lists transactions committed at or before the reader's ts
	// whose locks it may read through (Context.committed_locks).
	Committed []tso.Timestamp
}

// Resolver resolves other transactions' locks: it learns each lock's
// transaction status from its primary (CheckTxnStatus, CheckSecondaryLocks
// for async commit) and then commits or rolls back the lock (ResolveLock,
// PessimisticRollback). It remembers the last determined statuses. It is
// safe for concurrent use.
type Resolver struct {
	c *Client

	mu    sync.Mutex
	cache map[tso.Timestamp]TxnStatus
	ring  []tso.Timestamp // FIFO of cached txns
	next  int

	slots chan struct{} // bounds background resolutions for readers
}

func newResolver(c *Client) *Resolver {
	return &Resolver{c: c, cache: make(map[tso.Timestamp]TxnStatus), ring: make([]tso.Timestamp, c.cfg.resolvedCache),
		slots: make(chan struct{}, c.cfg.concurrency)}
}

func (r *Resolver) cached(startTS tso.Timestamp) (TxnStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.cache[startTS]
	return s, ok
}

func (r *Resolver) remember(startTS tso.Timestamp, s TxnStatus) {
	if !s.cacheable() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[startTS]; ok {
		return
	}
	if old := r.ring[r.next]; old != 0 {
		delete(r.cache, old)
	}
	r.ring[r.next] = startTS
	r.next = (r.next + 1) % len(r.ring)
	r.cache[startTS] = s
}

// CheckTxnStatus asks the primary's region for the transaction's status.
func (r *Resolver) CheckTxnStatus(ctx context.Context, bo *retry.Backoffer, q StatusRequest) (TxnStatus, error) {
	if s, ok := r.cached(q.StartTS); ok {
		return s, nil
	}
	resp, err := r.c.sendKey(ctx, bo, q.Primary, func() *kvrpc.Request {
		return kvrpc.NewCheckTxnStatus(&kvrpcpb.CheckTxnStatusRequest{
			Context:                  r.c.codec.Context(),
			PrimaryKey:               q.Primary,
			LockTs:                   uint64(q.StartTS),
			CallerStartTs:            uint64(q.CallerStartTS),
			CurrentTs:                uint64(q.CurrentTS),
			RollbackIfNotExist:       q.RollbackIfNotExist,
			ForceSyncCommit:          q.ForceSyncCommit,
			ResolvingPessimisticLock: q.ResolvingPessimisticLock,
			VerifyIsPrimary:          true,
		})
	})
	if err != nil {
		return TxnStatus{}, err
	}
	m := resp.Message().(*kvrpcpb.CheckTxnStatusResponse)
	if ke := m.GetError(); ke != nil {
		return TxnStatus{}, keyError(q.StartTS, ke)
	}
	s := TxnStatus{
		CommitTS: tso.Timestamp(m.GetCommitVersion()),
		TTL:      time.Duration(m.GetLockTtl()) * time.Millisecond,
		Action:   m.GetAction(),
		primary:  m.GetLockInfo(),
	}
	r.remember(q.StartTS, s)
	return s, nil
}

// SecondaryStatus is what CheckSecondaryLocks learned about an async-commit
// transaction.
type SecondaryStatus struct {
	// CommitTS is non-zero when a key was found committed.
	CommitTS tso.Timestamp
	// RolledBack is true when a key was found rolled back or missing (TiKV
	// then wrote a rollback so the transaction can never commit).
	RolledBack bool
	// MinCommitTS is the largest min commit ts of the locks found when
	// every key is still locked: the transaction's commit ts.
	MinCommitTS tso.Timestamp
	// FallBack is true when some lock is not an async-commit lock of this
	// transaction: the transaction fell back to 2PC and its primary
	// decides.
	FallBack bool
}

// CheckSecondaryLocks checks keys of the async-commit transaction startTS,
// region by region, and combines the answers.
func (r *Resolver) CheckSecondaryLocks(ctx context.Context, bo *retry.Backoffer, startTS tso.Timestamp, keys [][]byte) (SecondaryStatus, error) {
	var (
		mu  sync.Mutex
		out SecondaryStatus
	)
	key := func(i int) []byte { return keys[i] }
	one := func(int) int { return 1 }
	idx := sortedIndexes(len(keys), key, nil)
	batches, err := r.c.groupByRegion(ctx, idx, key, one, math.MaxInt, math.MaxInt)
	if err != nil {
		return out, err
	}
	run := &batchRunner{c: r.c, key: key, size: one, maxBytes: math.MaxInt, maxKeys: math.MaxInt}
	err = run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		ks := make([][]byte, len(b.idx))
		for j, i := range b.idx {
			ks[j] = keys[i]
		}
		// CheckSecondaryLocks only reads, or writes a rollback that is
		// idempotent, so it may be resent.
		resp, err := r.c.sender.Send(ctx, bo, kvrpc.NewCheckSecondaryLocks(&kvrpcpb.CheckSecondaryLocksRequest{
			Context: r.c.codec.Context(), Keys: ks, StartVersion: uint64(startTS),
		}), b.loc.Region)
		if err != nil {
			return err
		}
		m := resp.Message().(*kvrpcpb.CheckSecondaryLocksResponse)
		if ke := m.GetError(); ke != nil {
			return keyError(startTS, ke)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case m.GetCommitTs() > 0:
			out.CommitTS = tso.Timestamp(m.GetCommitTs())
		case len(m.GetLocks()) < len(ks):
			out.RolledBack = true
		default:
			for _, l := range m.GetLocks() {
				if !l.GetUseAsyncCommit() || l.GetLockVersion() != uint64(startTS) {
					out.FallBack = true
				}
				out.MinCommitTS = max(out.MinCommitTS, tso.Timestamp(l.GetMinCommitTs()))
			}
		}
		return nil
	})
	return out, err
}

// ResolveLocks resolves locks met by a writer (prewrite, pessimistic lock):
// each lock whose transaction is decided or expired is committed or rolled
// back; for the others the result says how long to wait.
func (r *Resolver) ResolveLocks(ctx context.Context, bo *retry.Backoffer, locks []*Lock) (ResolveResult, error) {
	return r.resolve(ctx, bo, 0, locks, false)
}

// ResolveLocksForRead resolves locks met by a reader at callerStartTS.
// It pushes live transactions' min commit ts above the reader, and reports
// which transactions' locks the retried read may ignore (Resolved) or read
// through (Committed); the locks of decided transactions are resolved in
// the background (a bounded pool; synchronously when it is full), so the
// read does not wait for them.
func (r *Resolver) ResolveLocksForRead(ctx context.Context, bo *retry.Backoffer, callerStartTS tso.Timestamp, locks []*Lock) (ResolveResult, error) {
	return r.resolve(ctx, bo, callerStartTS, locks, true)
}

func (r *Resolver) resolve(ctx context.Context, bo *retry.Backoffer, callerStartTS tso.Timestamp, locks []*Lock, forRead bool) (ResolveResult, error) {
	t, _ := r.c.cfg.tracer.(ResolveTracer)
	if t == nil || len(locks) == 0 {
		return r.resolveLocks(ctx, bo, callerStartTS, locks, forRead)
	}
	ctx = t.ResolveStart(ctx, ResolveStartData{Locks: len(locks), ForRead: forRead})
	res, err := r.resolveLocks(ctx, bo, callerStartTS, locks, forRead)
	t.ResolveEnd(ctx, ResolveEndData{Result: res, Err: err})
	return res, err
}

func (r *Resolver) resolveLocks(ctx context.Context, bo *retry.Backoffer, callerStartTS tso.Timestamp, locks []*Lock, forRead bool) (ResolveResult, error) {
	var res ResolveResult
	if len(locks) == 0 {
		return res, nil
	}
	now, err := r.c.ts.GetTS(ctx)
	if err != nil {
		return res, err
	}
	seen := make(map[tso.Timestamp]bool)
	regionDone := make(map[regionTxn]bool)
	for _, l := range locks {
		st, err := r.statusOfLock(ctx, bo, l, callerStartTS, now)
		if err != nil {
			return res, err
		}
		switch {
		case st.Determined():
			if forRead && r.resolveInBackground(l, st) {
				// The reader does not wait for the lock to go: the lists
				// below let its retry read around or through it.
			} else if err := r.resolveOne(ctx, bo, l, st, regionDone); err != nil {
				return res, err
			}
			if !seen[l.StartTS] {
				seen[l.StartTS] = true
				if st.Committed() && st.CommitTS <= callerStartTS {
					res.Committed = append(res.Committed, l.StartTS)
				} else {
					res.Resolved = append(res.Resolved, l.StartTS)
				}
			}
		case forRead && (st.Action == kvrpcpb.Action_MinCommitTSPushed || (st.primary != nil && st.primary.GetMinCommitTs() > uint64(callerStartTS))):
			// The transaction can no longer commit at or below the
			// reader's ts, so the reader may skip its locks.
			if !seen[l.StartTS] {
				seen[l.StartTS] = true
				res.Resolved = append(res.Resolved, l.StartTS)
			}
		default:
			w := untilExpired(l.StartTS, st.TTL, now)
			if w == 0 {
				w = time.Millisecond
			}
			if res.Wait == 0 || w < res.Wait {
				res.Wait = w
			}
		}
	}
	return res, nil
}

// resolveInBackground resolves l on the client's lifetime when a slot of
// the bounded background pool is free; it reports false (the caller then
// resolves synchronously) when the pool is full or the client closed.
func (r *Resolver) resolveInBackground(l *Lock, st TxnStatus) bool {
	select {
	case r.slots <- struct{}{}:
	default:
		return false
	}
	started := r.c.goBackground(func(ctx context.Context) {
		defer func() { <-r.slots }()
		bo := retry.New(retry.AsyncResolveLockBudget)
		if err := r.resolveOne(ctx, bo, l, st, make(map[regionTxn]bool)); err != nil {
			r.c.cfg.logger.Info("twopc: background lock resolution failed; the next reader retries it",
				slog.Uint64("start_ts", uint64(l.StartTS)), slog.Any("error", err))
		}
	})
	if !started {
		<-r.slots
	}
	return started
}

// statusOfLock finds the status of l's transaction, rolling it back when
// its primary lock expired, and deciding async-commit transactions from
// their secondaries once the primary expired.
func (r *Resolver) statusOfLock(ctx context.Context, bo *retry.Backoffer, l *Lock, callerStartTS, now tso.Timestamp) (TxnStatus, error) {
	current := now
	if l.TTL == 0 {
		// A lock returned with TTL 0 (by a pessimistic prewrite, or a
		// lock whose owner asked for it) must be resolved at once.
		current = tso.Timestamp(math.MaxUint64)
	}
	q := StatusRequest{
		Primary: l.Primary, StartTS: l.StartTS, CallerStartTS: callerStartTS, CurrentTS: current,
		ResolvingPessimisticLock: l.Type.pessimistic(),
	}
	for {
		st, err := r.CheckTxnStatus(ctx, bo, q)
		var nf *TxnNotFoundError
		if errors.As(err, &nf) {
			// No lock and no record on the primary: its prewrite may be on
			// the way. Once this lock expired, nothing can commit the
			// transaction any more, so roll it back; before, wait.
			if l.TTL == 0 || expired(l.StartTS, l.TTL, now) {
				q.RollbackIfNotExist = true
				continue
			}
			return TxnStatus{TTL: l.TTL}, nil
		}
		if err != nil {
			return st, err
		}
		if st.TTL > 0 && st.primary != nil && st.primary.GetUseAsyncCommit() && !q.ForceSyncCommit {
			if !expired(l.StartTS, st.TTL, now) {
				return st, nil
			}
			st, fallBack, err := r.resolveAsync(ctx, bo, l, st)
			if err != nil {
				return st, err
			}
			if fallBack {
				// A secondary is a plain lock: the transaction fell back to
				// 2PC, so its primary decides as for any other lock.
				q.ForceSyncCommit = true
				continue
			}
			return st, nil
		}
		return st, nil
	}
}

// resolveAsync decides an expired async-commit transaction from its
// secondaries and resolves all its keys.
func (r *Resolver) resolveAsync(ctx context.Context, bo *retry.Backoffer, l *Lock, st TxnStatus) (TxnStatus, bool, error) {
	p := st.primary
	ss, err := r.CheckSecondaryLocks(ctx, bo, l.StartTS, p.GetSecondaries())
	if err != nil {
		return st, false, err
	}
	var commitTS tso.Timestamp
	switch {
	case ss.CommitTS > 0:
		commitTS = ss.CommitTS
	case ss.RolledBack:
	case ss.FallBack:
		return st, true, nil
	default:
		// Every key is still locked: the transaction committed at the
		// largest min commit ts of its locks (prewrite success is the
		// commit point of async commit).
		commitTS = max(ss.MinCommitTS, tso.Timestamp(p.GetMinCommitTs()))
	}
	keys := append([][]byte{l.Primary}, p.GetSecondaries()...)
	if err := r.resolveKeys(ctx, bo, l.StartTS, commitTS, keys); err != nil {
		return st, false, err
	}
	out := TxnStatus{CommitTS: commitTS}
	r.remember(l.StartTS, out)
	return out, false, nil
}

// regionTxn names a region already resolved for a transaction.
type regionTxn struct {
	region  locate.VerID
	startTS tso.Timestamp
}

// resolveOne commits or rolls back l as st decided.
func (r *Resolver) resolveOne(ctx context.Context, bo *retry.Backoffer, l *Lock, st TxnStatus, done map[regionTxn]bool) error {
	if l.Type.pessimistic() {
		// A pessimistic lock (exclusive, or a shared holder's entry) was
		// never prewritten: whatever the outcome, it protects nothing any
		// more and is removed without a record.
		return r.c.pessimisticRollbackKeys(ctx, bo, l.StartTS, tso.Timestamp(math.MaxUint64), [][]byte{l.Key})
	}
	if l.TxnSize < r.c.cfg.resolveLiteSize {
		return r.resolveKeys(ctx, bo, l.StartTS, st.CommitTS, [][]byte{l.Key})
	}
	// A large transaction likely left more locks in this region: resolve
	// them all with one region scan.
	key := func(int) []byte { return l.Key }
	one := func(int) int { return 1 }
	bs, err := r.c.groupByRegion(ctx, []int{0}, key, one, math.MaxInt, math.MaxInt)
	if err != nil {
		return err
	}
	k := regionTxn{region: bs[0].loc.Region, startTS: l.StartTS}
	if done[k] {
		return nil
	}
	run := &batchRunner{c: r.c, key: key, size: one, maxBytes: math.MaxInt, maxKeys: math.MaxInt}
	err = run.run(ctx, bo, bs, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		// ResolveLock with a decided status is idempotent.
		resp, err := r.c.sender.Send(ctx, bo, kvrpc.NewResolveLock(&kvrpcpb.ResolveLockRequest{Context: r.c.codec.Context(),
			StartVersion: uint64(l.StartTS), CommitVersion: uint64(st.CommitTS)}), b.loc.Region)
		if err != nil {
			return err
		}
		if ke := resp.Message().(*kvrpcpb.ResolveLockResponse).GetError(); ke != nil {
			return fmt.Errorf("twopc: resolve locks of txn %d: %w", l.StartTS, keyError(l.StartTS, ke))
		}
		return nil
	})
	if err == nil {
		done[k] = true
	}
	return err
}

// resolveKeys commits (commitTS > 0) or rolls back the locks of startTS on
// keys with ResolveLock, region by region.
func (r *Resolver) resolveKeys(ctx context.Context, bo *retry.Backoffer, startTS, commitTS tso.Timestamp, keys [][]byte) error {
	key := func(i int) []byte { return keys[i] }
	one := func(int) int { return 1 }
	idx := sortedIndexes(len(keys), key, nil)
	batches, err := r.c.groupByRegion(ctx, idx, key, one, math.MaxInt, r.c.cfg.batchKeys)
	if err != nil {
		return err
	}
	run := &batchRunner{c: r.c, key: key, size: one, maxBytes: math.MaxInt, maxKeys: r.c.cfg.batchKeys}
	return run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		ks := make([][]byte, len(b.idx))
		for j, i := range b.idx {
			ks[j] = keys[i]
		}
		// ResolveLock with a decided status is idempotent: resending it
		// commits or rolls back nothing twice.
		resp, err := r.c.sender.Send(ctx, bo, kvrpc.NewResolveLock(&kvrpcpb.ResolveLockRequest{
			Context: r.c.codec.Context(), StartVersion: uint64(startTS), CommitVersion: uint64(commitTS), Keys: ks,
		}), b.loc.Region)
		if err != nil {
			return err
		}
		if ke := resp.Message().(*kvrpcpb.ResolveLockResponse).GetError(); ke != nil {
			err := keyError(startTS, ke)
			r.c.cfg.logger.Warn("twopc: resolve lock failed", slog.Uint64("start_ts", uint64(startTS)),
				slog.Uint64("commit_ts", uint64(commitTS)), slog.Any("error", err))
			return fmt.Errorf("twopc: resolve locks of txn %d: %w", startTS, err)
		}
		return nil
	})
}
