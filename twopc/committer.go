package twopc

import (
	"bytes"
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

// Mode is how a transaction was committed.
type Mode uint8

// Commit modes.
const (
	// Mode2PC: prewrite, then commit the primary, then the secondaries.
	Mode2PC Mode = iota
	// ModeAsyncCommit: decided once every prewrite succeeded; every key is
	// committed in the background.
	ModeAsyncCommit
	// Mode1PC: committed by its single prewrite request.
	Mode1PC
	// ModePipelined: a pipelined-DML transaction ([Pipeline]), its locks
	// flushed while it ran; committed by its primary, the rest resolved in
	// the background.
	ModePipelined
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeAsyncCommit:
		return "async-commit"
	case Mode1PC:
		return "1pc"
	case ModePipelined:
		return "pipelined"
	}
	return "2pc"
}

// maxCommitTSRetries bounds the new commit timestamps tried after
// CommitTsExpired.
const maxCommitTSRetries = 3

// cleanupBudget bounds the backoff of rolling back a failed commit
// (client-go's cleanupMaxBackoff).
const cleanupBudget = 20 * time.Second

// Result describes a committed transaction. Its methods are safe for
// concurrent use.
type Result struct {
	commitTS tso.Timestamp
	mode     Mode
	fellBack bool
	done     chan struct{}
	err      error // of the background commits; read after done
}

// CommitTS is the transaction's commit ts (0 when it wrote nothing).
func (r *Result) CommitTS() tso.Timestamp { return r.commitTS }

// Mode is how the transaction was committed.
func (r *Result) Mode() Mode { return r.mode }

// FellBack reports that async commit or 1PC was asked for and eligible but
// the transaction was committed by plain 2PC (TiKV declined).
func (r *Result) FellBack() bool { return r.fellBack }

// Wait waits for the background commits of the secondaries (every key under
// async commit) and returns their error, if any. The transaction is
// committed whatever Wait returns: locks left behind are resolved by the
// next reader.
func (r *Result) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// committer is the state of one Commit call.
type committer struct {
	c       *Client
	m       Mutations
	startTS tso.Timestamp
	cfg     commitConfig

	primary  []byte
	allIdx   []int           // every mutation, by key
	lockIdx  []int           // mutations that write a lock, by key
	size     func(i int) int // key and value bytes of mutation i
	keySize  func(i int) int // key bytes of mutation i
	key      func(i int) []byte
	ttl      time.Duration
	txnSize  int
	useAsync bool
	shared   bool // some mutation is OpSharedLock
	use1PC   bool
	minCTS   tso.Timestamp
	maxCTS   tso.Timestamp

	mu         sync.Mutex
	maxMin     tso.Timestamp // largest min_commit_ts answered
	onePCTS    tso.Timestamp
	declined   bool
	onePCMaybe bool // a 1PC attempt may have applied unseen
	hb         *Heartbeat
	hbOnce     sync.Once
	needsClean bool
	sent2PC    bool // a prewrite request went out without try_one_pc

	// Per-commit state kept for reuse through committerPool; the funcs
	// above and below read co's fields, so they are made once per
	// committer rather than once per transaction.
	prewriteFn  batchFunc
	primaryFn   batchFunc
	prewriteBo  retry.Backoffer
	commitBo    retry.Backoffer
	own         batchRunner   // the runner of the caller's goroutine
	commitTSCur tso.Timestamp // the commit ts primaryFn commits at
	restMu      sync.Mutex    // parts of a re-split primary batch may run in parallel
	rest        []batch       // batches committed in the background
}

type batchFunc = func(ctx context.Context, bo *retry.Backoffer, b batch) error

// committerPool keeps committers whose last transaction left no background
// work behind: most small transactions commit without allocating one.
var committerPool = sync.Pool{New: func() any { return newCommitter() }}

func newCommitter() *committer {
	co := &committer{}
	co.size = func(i int) int { return len(co.m.Key(i)) + len(co.m.Value(i)) }
	co.keySize = func(i int) int { return len(co.m.Key(i)) }
	co.key = func(i int) []byte { return co.m.Key(i) }
	co.prewriteFn = co.prewriteBatch
	co.primaryFn = co.commitPrimaryBatch
	return co
}

// maxPooledIdx bounds the index slices a pooled committer keeps.
const maxPooledIdx = 4096

func getCommitter(c *Client, m Mutations, startTS tso.Timestamp) *committer {
	co := committerPool.Get().(*committer)
	co.c, co.m, co.startTS = c, m, startTS
	return co
}

// release returns co to the pool. Only a commit that left no goroutine
// (heartbeat, background commit, cleanup) holding co may call it.
func (co *committer) release() {
	if co.resetForReuse() {
		committerPool.Put(co)
	}
}

// resetForReuse empties co but for its funcs and buffers, and reports
// whether it is small enough to keep.
func (co *committer) resetForReuse() bool {
	if cap(co.allIdx) > maxPooledIdx || cap(co.lockIdx) > maxPooledIdx || cap(co.rest) > maxPooledIdx {
		return false
	}
	// A fresh committer but for what is kept for reuse: a field added
	// later starts zero without being listed here. (A composite literal
	// copies no lock.)
	*co = committer{
		size: co.size, keySize: co.keySize, key: co.key, prewriteFn: co.prewriteFn, primaryFn: co.primaryFn,
		allIdx: co.allIdx[:0], lockIdx: co.lockIdx[:0], rest: clear0(co.rest),
	}
	return true
}

// clear0 empties b, dropping its references to index slices.
func clear0(b []batch) []batch {
	clear(b)
	return b[:0]
}

// Commit makes muts durable at a commit ts after startTS, or leaves nothing
// behind. The primary is committed before Commit returns (under async
// commit and 1PC the transaction is decided when every prewrite succeeds);
// the secondaries are committed in the background: [Result.Wait] waits for
// them.
//
// Errors are typed: [*WriteConflictError], [*KeyExistsError],
// [*AssertionFailedError], [*TxnTooLargeError], [*EntryTooLargeError],
// [*LockNotFoundError], [*CommitTSExpiredError], [*AbortError], and
// [*UndeterminedError] when the primary's commit may or may not have been
// applied. On any error but the last, the transaction's locks are rolled
// back in the background ([Client.Drain] waits for that).
func (c *Client) Commit(ctx context.Context, muts Mutations, startTS tso.Timestamp, opts ...CommitOption) (*Result, error) {
	if startTS == 0 {
		return nil, fmt.Errorf("twopc: %w: zero start ts", ErrInvalidOption)
	}
	if muts == nil || muts.Len() == 0 {
		return doneResult(0, Mode2PC, false), nil
	}
	co := getCommitter(c, muts, startTS)
	for _, o := range opts {
		o.applyCommit(&co.cfg)
	}
	if err := co.prepare(); err != nil {
		co.release()
		return nil, err
	}
	t := c.cfg.tracer
	if t == nil {
		return co.commit(ctx)
	}
	ctx = t.CommitStart(ctx, CommitStartData{StartTS: startTS, Keys: muts.Len(), Size: co.txnSize,
		AsyncCommit: co.cfg.asyncCommit, OnePC: co.cfg.onePC, Pessimistic: co.cfg.forUpdateTS != 0})
	res, err := co.commit(ctx)
	end := CommitEndData{StartTS: startTS, Err: err}
	if res != nil {
		end.CommitTS, end.Mode, end.FellBack = res.commitTS, res.mode, res.fellBack
	}
	t.CommitEnd(ctx, end)
	return res, err
}

// closedDone is the done channel of every Result with no background work.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func doneResult(ts tso.Timestamp, m Mode, fellBack bool) *Result {
	return &Result{commitTS: ts, mode: m, fellBack: fellBack, done: closedDone}
}

// prepare checks the limits, orders the keys and chooses the primary.
func (co *committer) prepare() error {
	m, cfg := co.m, co.c.cfg
	n := m.Len()
	keyBytes := 0
	for i := range n {
		s := co.size(i)
		if s > cfg.entrySizeLimit {
			return &EntryTooLargeError{Key: m.Key(i), Size: s, Limit: cfg.entrySizeLimit}
		}
		co.txnSize += s
		keyBytes += len(m.Key(i))
	}
	if co.txnSize > cfg.txnSizeLimit {
		return &TxnTooLargeError{Keys: n, Size: co.txnSize, MaxSize: cfg.txnSizeLimit}
	}
	co.allIdx = sortedIndexesInto(co.allIdx[:0], n, co.key, nil)
	if cap(co.lockIdx) < n {
		co.lockIdx = make([]int, 0, n)
	}
	shared := false
	for _, i := range co.allIdx {
		if m.Op(i).writesLock() {
			co.lockIdx = append(co.lockIdx, i)
		}
		shared = shared || m.Op(i) == OpSharedLock
	}
	switch {
	case co.cfg.primary != nil:
		found := false
		for _, i := range co.lockIdx {
			if bytes.Equal(m.Key(i), co.cfg.primary) && m.Op(i).canBePrimary() {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("twopc: %w: primary %q is not an exclusively locking mutation", ErrInvalidOption, co.cfg.primary)
		}
		co.primary = co.cfg.primary
	default:
		for i := range n {
			if m.Op(i).canBePrimary() {
				co.primary = m.Key(i)
				break
			}
		}
		if co.primary == nil && shared {
			// TiKV answers CheckTxnStatus on a shared-locked key with
			// PrimaryMismatch: such a transaction could never be resolved.
			return fmt.Errorf("twopc: %w: a transaction of shared locks only has no key to be its primary", ErrInvalidOption)
		}
		if co.primary == nil {
			co.primary = m.Key(co.allIdx[0]) // only existence checks: nothing is locked
		}
	}
	co.shared = shared
	co.ttl = co.cfg.lockTTL
	if co.ttl == 0 {
		co.ttl = lockTTL(co.txnSize, co.startTS, cfg.managedLockTTL)
	}
	// Shared locks commit with plain 2PC (client-go's rule): a shared
	// entry's min commit ts is not what decides the transaction.
	co.useAsync = co.cfg.asyncCommit && !shared && len(co.lockIdx) <= cfg.asyncKeys && keyBytes <= cfg.asyncKeyBytes
	return nil
}

// lockTTL is client-go's TTL rule: 3 s for small transactions, 6000·√MiB
// ms for larger ones, capped by the managed TTL, plus the time since start.
func lockTTL(size int, startTS tso.Timestamp, managed time.Duration) time.Duration {
	ttl := DefaultLockTTL
	if size >= DefaultBatchSize {
		mib := float64(size) / (1 << 20)
		ttl = time.Duration(6000*math.Sqrt(mib)) * time.Millisecond
		ttl = min(max(ttl, DefaultLockTTL), managed)
	}
	return ttl + min(max(time.Since(startTS.Time()), 0), time.Hour)
}

// commit runs the transaction and returns co to the pool when nothing in
// the background still uses it.
func (co *committer) commit(ctx context.Context) (*Result, error) {
	res, err := co.run(ctx)
	if err == nil && res.done == closedDone {
		// A success schedules no cleanup, and a done result started no
		// background commit. run stopped the heartbeat, if any, before it
		// returned (its goroutine holds only the primary key, not co), so
		// co is idle unless that heartbeat is somehow still running.
		co.mu.Lock()
		idle := co.hb == nil
		if !idle {
			select {
			case <-co.hb.Done():
				idle = true
			default:
			}
		}
		co.mu.Unlock()
		if idle {
			co.release()
		}
	}
	return res, err
}

func (co *committer) run(ctx context.Context) (*Result, error) {
	c := co.c
	batches, err := c.groupByRegion(ctx, co.allIdx, co.key, co.size, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		return nil, err
	}
	co.use1PC = co.cfg.onePC && !co.shared && len(batches) == 1
	if co.use1PC {
		co.useAsync = false // TiKV prefers 1PC; its fallback is plain 2PC
	}
	if co.useAsync || co.use1PC {
		if err := co.commitTSBounds(ctx); err != nil {
			return nil, err
		}
	}
	defer co.stopHeartbeat()

	if err := co.prewrite(ctx, batches); err != nil {
		co.mu.Lock()
		only1PC := co.use1PC && !co.sent2PC
		co.mu.Unlock()
		switch {
		case errors.Is(err, ErrUndetermined):
		case only1PC:
			// TiKV applies a prewrite request whole or not at all, so a
			// failed 1PC attempt wrote nothing: rollback records would only
			// make older transactions writing these keys fail with write
			// conflicts (client-go sends none either). Only the pessimistic
			// locks taken before the commit remain.
			co.releasePessimisticLocks()
		default:
			co.cleanup()
		}
		return nil, err
	}
	if len(co.lockIdx) == 0 {
		return doneResult(0, Mode2PC, false), nil // only existence checks
	}
	co.mu.Lock()
	declined, onePCTS, maxMin := co.declined, co.onePCTS, co.maxMin
	onePCMaybe := co.onePCMaybe
	co.mu.Unlock()
	if co.use1PC && declined && onePCMaybe {
		// A 1PC attempt may have committed the transaction at a ts we never
		// learned, and the rest fell back to 2PC: committing again at
		// another ts would misreport it.
		return nil, &UndeterminedError{StartTS: co.startTS, Primary: co.primary, Err: errors.New("1pc prewrite answer lost before a fallback to 2pc")}
	}
	switch {
	case co.use1PC && !declined:
		return doneResult(onePCTS, Mode1PC, false), nil
	case co.useAsync && !declined:
		// Every prewrite succeeded with a min commit ts: the transaction
		// is committed at the largest one, whatever happens to the
		// commit RPCs (a reader would reach the same ts through
		// CheckSecondaryLocks).
		return co.commitInBackground(nil, maxMin, ModeAsyncCommit), nil
	}
	return co.commit2PC(ctx, declined)
}

// commitTSBounds fetches min_commit_ts and sets max_commit_ts for async
// commit and 1PC.
func (co *committer) commitTSBounds(ctx context.Context) error {
	now := co.startTS
	if !co.cfg.causal {
		// A fresh ts makes the commit ts exceed every ts handed out before
		// the commit began (linearizability); causal consistency skips it.
		ts, err := co.c.ts.GetTS(ctx)
		if err != nil {
			return err
		}
		now = max(ts, co.startTS)
	}
	co.minCTS = now + 1
	co.maxCTS = tso.Compose(now.Physical()+co.c.cfg.safeWindow.Milliseconds(), 0)
	return nil
}

func (co *committer) runner(size func(int) int) *batchRunner {
	return &batchRunner{c: co.c, key: co.key, size: size, maxBytes: co.c.cfg.batchSize, maxKeys: co.c.cfg.batchKeys}
}

// ownRunner is runner without an allocation, for the caller's goroutine.
func (co *committer) ownRunner(size func(int) int) *batchRunner {
	co.own = batchRunner{c: co.c, key: co.key, size: size, maxBytes: co.c.cfg.batchSize, maxKeys: co.c.cfg.batchKeys}
	return &co.own
}

func (co *committer) prewrite(ctx context.Context, batches []batch) error {
	bo := &co.prewriteBo
	bo.Reset(retry.PrewriteBudget)
	return co.ownRunner(co.size).run(ctx, bo, batches, co.prewriteFn)
}

func (co *committer) contains(b batch, key []byte) bool {
	for _, i := range b.idx {
		if bytes.Equal(co.m.Key(i), key) {
			return true
		}
	}
	return false
}

func (co *committer) prewriteRequest(b batch) *kvrpc.Request {
	m := co.m
	pessimistic := co.cfg.forUpdateTS != 0
	n := len(b.idx)
	var q *kvrpcpb.PrewriteRequest
	var slab []kvrpcpb.Mutation
	if n <= smallBatch {
		// One allocation for the request and its mutations.
		s := new(smallPrewrite)
		q, slab = &s.q, s.muts[:n]
		q.Mutations = s.ptrs[:n]
		co.c.codec.InitContext(&s.ctx)
		q.Context = &s.ctx
	} else {
		q = new(kvrpcpb.PrewriteRequest)
		q.Mutations, slab = make([]*kvrpcpb.Mutation, n), make([]kvrpcpb.Mutation, n)
		q.Context = co.c.codec.Context()
	}
	q.PrimaryLock = co.primary
	q.StartVersion = uint64(co.startTS)
	q.LockTtl = uint64(co.ttl.Milliseconds())
	q.TxnSize = uint64(len(co.lockIdx))
	q.ForUpdateTs = uint64(co.cfg.forUpdateTS)
	q.AssertionLevel = kvrpcpb.AssertionLevel(co.cfg.assertionLevel)
	// Every lock carries a min commit ts, so a reader may push it above its
	// own ts (CheckTxnStatus) instead of waiting for the lock.
	q.MinCommitTs = uint64(max(co.startTS, co.cfg.forUpdateTS) + 1)
	if pessimistic {
		q.PessimisticActions = make([]kvrpcpb.PrewriteRequest_PessimisticAction, len(b.idx))
	}
	for j, i := range b.idx {
		slab[j] = kvrpcpb.Mutation{Op: m.Op(i).pb(), Key: m.Key(i), Assertion: m.Assertion(i).pb()}
		if op := m.Op(i); op == OpPut || op == OpInsert {
			slab[j].Value = m.Value(i)
		}
		q.Mutations[j] = &slab[j]
		if pessimistic {
			switch f := m.Flags(i); {
			case f&FlagPessimisticLock != 0:
				q.PessimisticActions[j] = kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK
			case f&FlagNeedConstraintCheck != 0:
				q.PessimisticActions[j] = kvrpcpb.PrewriteRequest_DO_CONSTRAINT_CHECK
			default:
				q.PessimisticActions[j] = kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK
			}
		}
	}
	switch {
	case co.use1PC && len(b.idx) == len(co.allIdx):
		// Only a request carrying the whole transaction may commit it in
		// one phase; a batch re-split after a region change falls back.
		q.TryOnePc = true
		q.MinCommitTs, q.MaxCommitTs = uint64(co.minCTS), uint64(co.maxCTS)
	case co.useAsync:
		q.UseAsyncCommit = true
		q.MinCommitTs, q.MaxCommitTs = uint64(co.minCTS), uint64(co.maxCTS)
		if co.contains(b, co.primary) {
			// A transaction of existence checks only locks nothing.
			q.Secondaries = make([][]byte, 0, max(len(co.lockIdx)-1, 0))
			for _, i := range co.lockIdx {
				if k := m.Key(i); !bytes.Equal(k, co.primary) {
					q.Secondaries = append(q.Secondaries, k)
				}
			}
		}
	}
	return kvrpc.NewPrewrite(q)
}

// smallBatch is the largest batch whose request, context and keys share
// one allocation.
const smallBatch = 4

type smallPrewrite struct {
	q    kvrpcpb.PrewriteRequest
	ctx  kvrpcpb.Context
	ptrs [smallBatch]*kvrpcpb.Mutation
	muts [smallBatch]kvrpcpb.Mutation
}

type smallCommit struct {
	q    kvrpcpb.CommitRequest
	ctx  kvrpcpb.Context
	keys [smallBatch][]byte
}

func (co *committer) prewriteBatch(ctx context.Context, bo *retry.Backoffer, b batch) error {
	for {
		req := co.prewriteRequest(b)
		tried1PC := req.Message().(*kvrpcpb.PrewriteRequest).TryOnePc
		co.mu.Lock()
		co.needsClean = true
		co.sent2PC = co.sent2PC || !tried1PC
		co.mu.Unlock()
		// A prewrite may be resent (the command table says so): TiKV
		// answers a duplicate prewrite of the same transaction with success,
		// and a duplicate 1PC prewrite with the commit ts it already used.
		resp, err := co.c.sender.Send(ctx, bo, req, b.loc.Region)
		if tried1PC && maybeSent(err, bo) {
			// The 1PC prewrite is the commit itself: if an attempt may have
			// applied and the transaction still ends up on another path,
			// its outcome is unknown.
			co.mu.Lock()
			co.onePCMaybe = true
			co.mu.Unlock()
		}
		if err != nil {
			if tried1PC && maybeSent(err, bo) {
				return &UndeterminedError{StartTS: co.startTS, Primary: co.primary, Err: err}
			}
			return err
		}
		pr := resp.Message().(*kvrpcpb.PrewriteResponse)
		if len(pr.GetErrors()) == 0 {
			co.mu.Lock()
			if co.use1PC {
				if !tried1PC || pr.GetOnePcCommitTs() == 0 {
					co.declined = true
				}
				co.onePCTS = tso.Timestamp(pr.GetOnePcCommitTs())
			}
			if co.useAsync {
				if pr.GetMinCommitTs() == 0 {
					co.declined = true
				}
				co.maxMin = max(co.maxMin, tso.Timestamp(pr.GetMinCommitTs()))
			}
			co.mu.Unlock()
			if co.needsHeartbeat() && co.contains(b, co.primary) {
				co.hbOnce.Do(func() {
					hb := co.c.KeepAlive(co.primary, co.startTS)
					co.mu.Lock()
					co.hb = hb
					co.mu.Unlock()
				})
			}
			return nil
		}
		var locks []*Lock
		for _, ke := range pr.GetErrors() {
			if ke.GetLocked() == nil {
				return keyError(co.startTS, ke)
			}
			locks = appendLocks(locks, ke.GetLocked())
		}
		res, err := co.c.resolver.ResolveLocks(ctx, bo, locks)
		if err != nil {
			return err
		}
		if res.Wait > 0 {
			if err := bo.BackoffAtMost(ctx, retry.TxnLock, res.Wait, &KeyIsLockedError{Lock: locks[0]}); err != nil {
				return err
			}
		}
	}
}

func (co *committer) needsHeartbeat() bool {
	if co.cfg.callerHeartbeat {
		return false
	}
	return co.cfg.keepAlive || co.cfg.forUpdateTS != 0 || co.txnSize > co.c.cfg.ttlRefreshSize
}

func (co *committer) stopHeartbeat() {
	co.mu.Lock()
	hb := co.hb
	co.mu.Unlock()
	hb.Stop()
}

// commit2PC takes a commit ts, commits the primary's batch and leaves the
// rest to the background.
func (co *committer) commit2PC(ctx context.Context, fellBack bool) (*Result, error) {
	c := co.c
	batches, err := c.groupByRegion(ctx, co.lockIdx, co.key, co.keySize, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		co.cleanup()
		return nil, err
	}
	pi := 0
	for j, b := range batches {
		if co.contains(b, co.primary) {
			pi = j
			break
		}
	}
	primary := batches[pi : pi+1 : pi+1]
	co.rest = append(co.rest[:0], batches[:pi]...)
	co.rest = append(co.rest, batches[pi+1:]...)

	commitTS, err := co.commitTS(ctx, 0)
	if err != nil {
		co.cleanup()
		return nil, err
	}
	bo := &co.commitBo
	bo.Reset(retry.CommitBudget)
	for attempt := 0; ; attempt++ {
		run := co.ownRunner(co.keySize)
		run.primary = co.primary
		co.commitTSCur = commitTS
		err = run.run(ctx, bo, primary, co.primaryFn)
		if err == nil {
			break
		}
		var expired *CommitTSExpiredError
		if errors.As(err, &expired) && attempt < maxCommitTSRetries {
			// Nothing was written (the first error aborts a commit), so a
			// newer ts may be tried.
			if commitTS, err = co.commitTS(ctx, expired.MinCommitTS); err != nil {
				co.cleanup()
				return nil, err
			}
			continue
		}
		break
	}
	if err != nil {
		var und *UndeterminedError
		if errors.As(err, &und) {
			und.CommitTS = commitTS
			return nil, err // no cleanup: the primary may be committed
		}
		co.cleanup()
		return nil, err
	}
	mode := Mode2PC
	co.restMu.Lock()
	rest := co.rest
	co.restMu.Unlock()
	if rest == nil {
		rest = []batch{} // nil would mean every lock key
	}
	return co.commitInBackground(rest, commitTS, mode).withFallback(fellBack && (co.useAsync || co.use1PC)), nil
}

// commitPrimaryBatch commits a part of the primary's batch at
// co.commitTSCur.
func (co *committer) commitPrimaryBatch(ctx context.Context, bo *retry.Backoffer, b batch) error {
	if !co.contains(b, co.primary) {
		// The primary's region split: this part holds only secondaries,
		// which wait for the background.
		co.restMu.Lock()
		co.rest = append(co.rest, b)
		co.restMu.Unlock()
		return nil
	}
	return co.commitBatch(ctx, bo, b, co.commitTSCur, true)
}

func (r *Result) withFallback(b bool) *Result { r.fellBack = b; return r }

// commitTS returns a fresh commit ts above the start ts and above floor.
func (co *committer) commitTS(ctx context.Context, floor tso.Timestamp) (tso.Timestamp, error) {
	ts, err := co.c.ts.GetTS(ctx)
	if err != nil {
		return 0, err
	}
	if ts <= co.startTS || ts < floor {
		return 0, fmt.Errorf("twopc: timestamp source returned %d, not above start ts %d / min commit ts %d", ts, co.startTS, floor)
	}
	return ts, nil
}

// commitBatch commits the keys of b at commitTS.
func (co *committer) commitBatch(ctx context.Context, bo *retry.Backoffer, b batch, commitTS tso.Timestamp, isPrimary bool) error {
	var q *kvrpcpb.CommitRequest
	if n := len(b.idx); n <= smallBatch {
		s := new(smallCommit)
		q = &s.q
		q.Keys = s.keys[:n]
		co.c.codec.InitContext(&s.ctx)
		q.Context = &s.ctx
	} else {
		q = &kvrpcpb.CommitRequest{Keys: make([][]byte, n), Context: co.c.codec.Context()}
	}
	for j, i := range b.idx {
		q.Keys[j] = co.m.Key(i)
	}
	q.StartVersion, q.CommitVersion = uint64(co.startTS), uint64(commitTS)
	req := kvrpc.NewCommit(q)
	// Commits may be resent (the command table says so): TiKV answers
	// success for a key this transaction already committed.
	resp, err := co.c.sender.Send(ctx, bo, req, b.loc.Region)
	if err != nil {
		if isPrimary && maybeSent(err, bo) {
			// The primary's commit decides the transaction: after an attempt
			// that may have reached the store, its outcome is unknown and
			// must be reported as neither success nor failure.
			return &UndeterminedError{StartTS: co.startTS, CommitTS: commitTS, Primary: co.primary, Err: err}
		}
		return err
	}
	if ke := resp.Message().(*kvrpcpb.CommitResponse).GetError(); ke != nil {
		return keyError(co.startTS, ke)
	}
	return nil
}

// maybeSent reports whether a send through bo may have been applied by a
// store without the client learning the result: some attempt failed in
// transport after leaving the client (the sender backs off with
// retry.TiKVRPC after each transport failure, so bo counts them), or the
// final error says so. A nil err with transport failures before the
// success counts too: the success may answer a resend.
func maybeSent(err error, bo *retry.Backoffer) bool {
	if bo.Attempts(retry.TiKVRPC) > 0 {
		return true
	}
	if err == nil {
		return false
	}
	if errors.Is(err, locate.ErrUndetermined) {
		return true // TiKV itself does not know whether the proposal applied
	}
	var rpc *kvrpc.RPCError
	if errors.As(err, &rpc) {
		return rpc.Sent
	}
	var re *locate.RegionError
	if errors.As(err, &re) {
		return false // refused before being applied
	}
	var ex *retry.ExhaustedError
	if errors.As(err, &ex) {
		return false // gave up backing off between refused attempts
	}
	return true // a ctx ending mid-flight, or anything unknown
}

// commitInBackground commits batches (every lock key when batches is nil)
// at commitTS on the client's lifetime and returns the result.
func (co *committer) commitInBackground(batches []batch, commitTS tso.Timestamp, mode Mode) *Result {
	all := batches == nil
	if !all && len(batches) == 0 {
		return &Result{commitTS: commitTS, mode: mode, done: closedDone}
	}
	r := &Result{commitTS: commitTS, mode: mode, done: make(chan struct{})}
	work := batches // the closure's own variable: batches stays off the heap
	c := co.c
	keySize := co.keySize
	started := c.goBackground(func(life context.Context) {
		defer close(r.done)
		ctx := life
		bo := retry.New(retry.CommitSecondaryBudget)
		if all {
			bs, err := c.groupByRegion(ctx, co.lockIdx, co.key, keySize, c.cfg.batchSize, c.cfg.batchKeys)
			if err != nil {
				r.err = err
				return
			}
			work = bs
		}
		// Secondary commits may be resent: committing a key twice at the
		// same ts succeeds (TiKV finds its own commit record).
		r.err = co.runner(keySize).run(ctx, bo, work, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
			return co.commitBatch(ctx, bo, b, commitTS, false)
		})
		if r.err != nil {
			c.cfg.logger.Warn("twopc: commit of secondaries failed; readers will resolve their locks",
				slog.Uint64("start_ts", uint64(co.startTS)), slog.Uint64("commit_ts", uint64(commitTS)), slog.Any("error", r.err))
		}
	})
	if !started {
		r.err = fmt.Errorf("twopc: %w", ErrClosed)
		close(r.done)
	}
	return r
}

// releasePessimisticLocks removes, in the background, the pessimistic locks
// of a transaction whose commit failed before it wrote anything.
func (co *committer) releasePessimisticLocks() {
	if co.cfg.forUpdateTS == 0 {
		return
	}
	var keys [][]byte
	for _, i := range co.allIdx {
		if co.m.Flags(i)&FlagPessimisticLock != 0 {
			keys = append(keys, co.m.Key(i))
		}
	}
	if len(keys) == 0 {
		return
	}
	c := co.c
	c.goBackground(func(ctx context.Context) {
		if err := c.pessimisticRollbackKeys(ctx, retry.New(cleanupBudget), co.startTS, co.cfg.forUpdateTS, keys); err != nil {
			c.cfg.logger.Warn("twopc: releasing pessimistic locks after a failed commit failed; they expire with their TTL",
				slog.Uint64("start_ts", uint64(co.startTS)), slog.Any("error", err))
		}
	})
}

// cleanup rolls back every lock this transaction may have written, in the
// background.
func (co *committer) cleanup() {
	co.mu.Lock()
	needed := co.needsClean
	co.mu.Unlock()
	if !needed || len(co.lockIdx) == 0 {
		return
	}
	c := co.c
	keySize := func(i int) int { return len(co.m.Key(i)) }
	c.goBackground(func(ctx context.Context) {
		bo := retry.New(cleanupBudget)
		bs, err := c.groupByRegion(ctx, co.lockIdx, co.key, keySize, c.cfg.batchSize, c.cfg.batchKeys)
		if err == nil {
			// BatchRollback is idempotent: a second rollback of the same
			// key finds the rollback record and writes nothing new.
			err = co.runner(keySize).run(ctx, bo, bs, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
				keys := make([][]byte, len(b.idx))
				for j, i := range b.idx {
					keys[j] = co.m.Key(i)
				}
				resp, err := c.sender.Send(ctx, bo, kvrpc.NewBatchRollback(&kvrpcpb.BatchRollbackRequest{
					Context: co.c.codec.Context(), StartVersion: uint64(co.startTS), Keys: keys,
				}), b.loc.Region)
				if err != nil {
					return err
				}
				if ke := resp.Message().(*kvrpcpb.BatchRollbackResponse).GetError(); ke != nil {
					return keyError(co.startTS, ke)
				}
				return nil
			})
		}
		if err != nil {
			c.cfg.logger.Warn("twopc: rollback after a failed commit failed; readers will resolve the locks",
				slog.Uint64("start_ts", uint64(co.startTS)), slog.Any("error", err))
		}
	})
}
