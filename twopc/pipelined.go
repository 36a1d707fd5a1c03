package twopc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// Pipelined DML. A large transaction does not wait for its commit to write
// its locks: its buffer is flushed while it runs (KvFlush, each flush a
// new generation, so a late resend of an older flush never overwrites a
// newer value), its own flushed writes are read back with
// KvBufferBatchGet, and its commit is the commit of the primary alone;
// every other lock is then resolved region by region over the flushed key
// range (ResolveLock with the commit ts), which is also how a rollback
// removes them (commit ts 0).

const (
	// DefaultFlushConcurrency caps the KvFlush RPCs one flush runs at once
	// (client-go's PipelinedFlushConcurrency).
	DefaultFlushConcurrency = 128
	// DefaultResolveConcurrency caps the regions whose locks a pipelined
	// commit or rollback resolves at once (client-go's
	// PipelinedResolveLockConcurrency).
	DefaultResolveConcurrency = 8
)

type pipelineConfig struct {
	flushConcurrency   int
	resolveConcurrency int
	assertionLevel     AssertionLevel
	maxTxnTTL          time.Duration
}

// PipelineOption tunes one [Pipeline]. Options are sealed.
type PipelineOption interface{ applyPipeline(*pipelineConfig) }

type pipelineOptionFunc func(*pipelineConfig)

func (f pipelineOptionFunc) applyPipeline(c *pipelineConfig) { f(c) }

// WithFlushConcurrency caps the KvFlush RPCs one [Pipeline.Flush] runs at
// once. Default [DefaultFlushConcurrency].
func WithFlushConcurrency(n int) PipelineOption {
	return pipelineOptionFunc(func(c *pipelineConfig) { c.flushConcurrency = n })
}

// WithResolveConcurrency caps the regions resolved at once after a
// pipelined commit or by a rollback. Default [DefaultResolveConcurrency].
func WithResolveConcurrency(n int) PipelineOption {
	return pipelineOptionFunc(func(c *pipelineConfig) { c.resolveConcurrency = n })
}

// WithFlushAssertionLevel sets how TiKV checks the mutations' assertions
// when they are flushed (only on a key's first flush). Default
// [AssertionOff].
func WithFlushAssertionLevel(l AssertionLevel) PipelineOption {
	return pipelineOptionFunc(func(c *pipelineConfig) { c.assertionLevel = l })
}

// WithPipelinedMaxTxnTTL sets how long the primary's heartbeat keeps the
// transaction alive at most, counted from its start ts; the client's max
// txn TTL (see [WithManagedLockTTL]) applies instead when it is longer.
// Default [DefaultMaxPipelinedTxnTTL].
func WithPipelinedMaxTxnTTL(d time.Duration) PipelineOption {
	return pipelineOptionFunc(func(c *pipelineConfig) { c.maxTxnTTL = d })
}

// Pipeline commits one pipelined-DML transaction: [Pipeline.Flush] writes
// a part of its buffer as locks while the transaction runs,
// [Pipeline.BufferBatchGet] reads them back, [Pipeline.Commit] commits
// the primary and resolves the rest in the background, and
// [Pipeline.Rollback] removes every flushed lock.
//
// The primary is the first lock-writing key of the first flush; a
// heartbeat keeps it alive from the moment it is written until the commit
// or rollback, for at most [WithPipelinedMaxTxnTTL] after the start ts. Locks are written with TiKV's pipelined rules: TTL of the
// managed lock TTL, txn size "unknown" (readers that meet them resolve the
// whole region), min commit ts start ts + 1 (readers may push the
// primary's).
//
// Errors differ from [Client.Commit]'s in when they appear: a write
// conflict ([*WriteConflictError], also returned at once for a lock of a
// newer transaction, which would end in one), a key that exists under an
// Insert ([*KeyExistsError]) or a failed assertion surface from the Flush
// that met them, so a transaction learns them early and rolls back. There
// is no transaction size limit ([*TxnTooLargeError] never occurs; the
// caller bounds its own memory by flushing), only the entry size limit.
//
// A Pipeline is safe for concurrent use: flushes of different generations
// may run at once (TiKV keeps the newest generation's value of a key).
type Pipeline struct {
	c       *Client
	startTS tso.Timestamp
	cfg     pipelineConfig

	mu      sync.Mutex
	primary []byte
	lo, hi  []byte // smallest and largest lock-writing key ever sent
	wrote   bool   // some flush may have written a lock
	hb      *Heartbeat
	// minCommit is the highest min commit ts the heartbeat pushed the
	// primary to (0: none yet); the status broadcasts carry it.
	minCommit atomic.Uint64
	done      bool // committed or rolled back
}

// NewPipeline returns the committer of a pipelined transaction that
// started at startTS. It does no I/O.
func (c *Client) NewPipeline(startTS tso.Timestamp, opts ...PipelineOption) (*Pipeline, error) {
	if startTS == 0 {
		return nil, fmt.Errorf("twopc: %w: zero start ts", ErrInvalidOption)
	}
	cfg := pipelineConfig{flushConcurrency: DefaultFlushConcurrency, resolveConcurrency: DefaultResolveConcurrency, maxTxnTTL: DefaultMaxPipelinedTxnTTL}
	for _, o := range opts {
		if o != nil {
			o.applyPipeline(&cfg)
		}
	}
	if cfg.flushConcurrency < 1 || cfg.resolveConcurrency < 1 || cfg.maxTxnTTL <= 0 {
		return nil, fmt.Errorf("twopc: %w: pipeline concurrency %d flush, %d resolve, max txn ttl %v", ErrInvalidOption, cfg.flushConcurrency, cfg.resolveConcurrency, cfg.maxTxnTTL)
	}
	return &Pipeline{c: c, startTS: startTS, cfg: cfg}, nil
}

// StartTS returns the transaction's start ts.
func (p *Pipeline) StartTS() tso.Timestamp { return p.startTS }

// Primary returns the primary key (nil before the first flush that writes
// a lock).
func (p *Pipeline) Primary() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.primary
}

// Flushed reports whether some flush may have written a lock, and the
// smallest and largest such key: the range a commit or rollback resolves.
func (p *Pipeline) Flushed() (lo, hi []byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lo, p.hi, p.wrote
}

var errPipelineDone = fmt.Errorf("twopc: %w: pipelined transaction already committed or rolled back", ErrInvalidOption)

// Flush writes muts as locks of the given generation (> 0; each flush of
// a transaction uses a larger one than the flushes of the same keys before
// it). Keys are grouped by region and sent at most the flush concurrency at
// once; a region that split or moved meanwhile is grouped again and resent
// under the same backoff budget. Locks of other transactions are resolved
// (or waited for) and the batch resent: TiKV wrote the batch's other keys,
// and skips a key this transaction already flushed at this generation.
//
// muts must not change until Flush returns; Flush keeps no reference to it.
// OpSharedLock is refused (pipelined transactions take no shared locks).
func (p *Pipeline) Flush(ctx context.Context, muts Mutations, generation uint64) error {
	if generation == 0 {
		return fmt.Errorf("twopc: %w: flush generation 0", ErrInvalidOption)
	}
	if muts == nil || muts.Len() == 0 {
		return nil
	}
	n := muts.Len()
	size := func(i int) int { return len(muts.Key(i)) + len(muts.Value(i)) }
	for i := range n {
		if s := size(i); s > p.c.cfg.entrySizeLimit {
			return &EntryTooLargeError{Key: muts.Key(i), Size: s, Limit: p.c.cfg.entrySizeLimit}
		}
		if muts.Op(i) == OpSharedLock {
			return fmt.Errorf("twopc: %w: a pipelined transaction takes no shared locks", ErrInvalidOption)
		}
	}
	idx := sortedIndexes(n, muts.Key, nil)

	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return errPipelineDone
	}
	var first, last []byte
	for _, i := range idx {
		if muts.Op(i).writesLock() {
			if first == nil {
				first = muts.Key(i)
			}
			last = muts.Key(i)
		}
	}
	if first != nil {
		if p.primary == nil {
			p.primary = bytes.Clone(first) // every lock-writing op but shared locks can be primary
		}
		// The range grows before anything is sent, so a rollback that
		// follows a failed flush covers whatever it may have written.
		if !p.wrote || bytes.Compare(first, p.lo) < 0 {
			p.lo = bytes.Clone(first)
		}
		if !p.wrote || bytes.Compare(last, p.hi) > 0 {
			p.hi = bytes.Clone(last)
		}
		p.wrote = true
	}
	primary := p.primary
	p.mu.Unlock()
	if primary == nil {
		// Only existence checks so far: no lock will name this key.
		primary = muts.Key(idx[0])
	}

	c := p.c
	batches, err := c.groupByRegion(ctx, idx, muts.Key, size, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		return err
	}
	run := &batchRunner{c: c, key: muts.Key, size: size, maxBytes: c.cfg.batchSize, maxKeys: c.cfg.batchKeys, concurrency: p.cfg.flushConcurrency}
	bo := retry.New(retry.PrewriteBudget)
	return run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		return p.flushBatch(ctx, bo, muts, b, primary, generation)
	})
}

func (p *Pipeline) flushBatch(ctx context.Context, bo *retry.Backoffer, muts Mutations, b batch, primary []byte, generation uint64) error {
	c := p.c
	q := &kvrpcpb.FlushRequest{
		Context:        c.codec.Context(),
		Mutations:      make([]*kvrpcpb.Mutation, len(b.idx)),
		PrimaryKey:     primary,
		StartTs:        uint64(p.startTS),
		MinCommitTs:    uint64(p.startTS + 1),
		Generation:     generation,
		LockTtl:        uint64(max(DefaultLockTTL, c.cfg.managedLockTTL).Milliseconds()),
		AssertionLevel: kvrpcpb.AssertionLevel(p.cfg.assertionLevel),
	}
	slab := make([]kvrpcpb.Mutation, len(b.idx))
	hasPrimary := false
	for j, i := range b.idx {
		slab[j] = kvrpcpb.Mutation{Op: muts.Op(i).pb(), Key: muts.Key(i), Assertion: muts.Assertion(i).pb()}
		if op := muts.Op(i); op == OpPut || op == OpInsert {
			slab[j].Value = muts.Value(i)
		}
		q.Mutations[j] = &slab[j]
		hasPrimary = hasPrimary || bytes.Equal(slab[j].Key, primary)
	}
	req := kvrpc.NewFlush(q)
	for {
		// A flush may be resent: TiKV skips a key whose lock already has
		// this generation (or a newer one), and an own older lock is
		// simply overwritten.
		resp, err := c.sender.Send(ctx, bo, req, b.loc.Region)
		if err != nil {
			return err
		}
		kes := resp.Message().(*kvrpcpb.FlushResponse).GetErrors()
		if len(kes) == 0 {
			if hasPrimary {
				p.keepAlive(primary)
			}
			return nil
		}
		var locks []*Lock
		for _, ke := range kes {
			if ke.GetLocked() == nil {
				return keyError(p.startTS, ke)
			}
			for _, l := range appendLocks(nil, ke.GetLocked()) {
				if l.StartTS > p.startTS {
					// A newer transaction's lock: whether it commits
					// (a conflict at our commit) or not, waiting for it
					// only delays the failure (client-go's rule).
					return &WriteConflictError{StartTS: p.startTS, ConflictStartTS: l.StartTS, Key: l.Key, Primary: l.Primary,
						Reason: kvrpcpb.WriteConflict_Optimistic}
				}
				locks = append(locks, l)
			}
		}
		res, err := c.resolver.ResolveLocks(ctx, bo, locks)
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

// keepAlive starts the primary's heartbeat once the primary's lock is
// written.
func (p *Pipeline) keepAlive(primary []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hb == nil && !p.done {
		p.hb = p.c.keepAlivePipelined(primary, p.startTS, p.maxTxnTTL(), &p.minCommit)
	}
}

// maxTxnTTL is how long the heartbeat may keep the transaction alive.
func (p *Pipeline) maxTxnTTL() time.Duration { return max(p.cfg.maxTxnTTL, p.c.cfg.maxTxnTTL) }

// BufferBatchGet returns what this transaction's flushed locks hold for
// keys: the value of a flushed put, and an empty non-nil value for a
// flushed delete (TiKV answers a delete and an empty value alike). Keys
// without a flushed lock of this transaction are absent; committed data
// is never read. Keys are wire keys; the map is keyed by string(key).
func (p *Pipeline) BufferBatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	c := p.c
	key := func(i int) []byte { return keys[i] }
	size := func(i int) int { return len(keys[i]) }
	idx := sortedIndexes(len(keys), key, nil)
	batches, err := c.groupByRegion(ctx, idx, key, size, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	run := &batchRunner{c: c, key: key, size: size, maxBytes: c.cfg.batchSize, maxKeys: c.cfg.batchKeys}
	err = run.run(ctx, retry.New(retry.ReadBudget), batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		ks := make([][]byte, len(b.idx))
		for j, i := range b.idx {
			ks[j] = keys[i]
		}
		// A read: resending it is always safe.
		resp, err := c.sender.Send(ctx, bo, kvrpc.NewBufferBatchGet(&kvrpcpb.BufferBatchGetRequest{
			Context: c.codec.Context(), Keys: ks, Version: uint64(p.startTS),
		}), b.loc.Region)
		if err != nil {
			return err
		}
		r := resp.Message().(*kvrpcpb.BufferBatchGetResponse)
		if ke := r.GetError(); ke != nil {
			return keyError(p.startTS, ke)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, kv := range r.GetPairs() {
			if ke := kv.GetError(); ke != nil {
				return keyError(p.startTS, ke)
			}
			v := kv.GetValue()
			if v == nil {
				v = []byte{} // protobuf decodes an empty value as nil
			}
			out[string(kv.GetKey())] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Commit commits the transaction: every flush must have returned
// successfully before it is called. It takes a commit ts, commits the
// primary (a newer ts is tried when a reader pushed the primary's min
// commit ts past it), and returns once the primary is committed; the
// other flushed locks are resolved with the commit ts in the background,
// region by region ([Result.Wait] waits for that; readers resolve what is
// left if it fails). A transaction that flushed no lock commits with
// commit ts 0 and no I/O.
//
// Errors: [*UndeterminedError] when the primary's commit may or may not
// have been applied (nothing is rolled back); otherwise (for example
// [*LockNotFoundError] when the primary lock was rolled back by a reader)
// the flushed locks are rolled back in the background.
func (p *Pipeline) Commit(ctx context.Context) (*Result, error) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil, errPipelineDone
	}
	p.done = true
	primary, wrote, hb := p.primary, p.wrote, p.hb
	p.mu.Unlock()
	defer hb.Stop()
	if !wrote {
		return doneResult(0, ModePipelined, false), nil
	}
	// A beat racing the commit would push the primary's min commit ts past
	// the commit ts just taken; the primary's TTL still covers the commit.
	hb.Stop()
	commitTS, err := p.commitTS(ctx, 0)
	if err != nil {
		p.resolveInBackground(0)
		return nil, err
	}
	bo := retry.New(retry.CommitBudget)
	for attempt := 0; ; attempt++ {
		err = p.commitPrimary(ctx, bo, primary, commitTS)
		var expired *CommitTSExpiredError
		if errors.As(err, &expired) && attempt < maxCommitTSRetries {
			// TiKV refused the commit and wrote nothing: a newer ts may
			// be tried.
			if commitTS, err = p.commitTS(ctx, expired.MinCommitTS); err != nil {
				break
			}
			continue
		}
		break
	}
	if err != nil {
		var und *UndeterminedError
		if errors.As(err, &und) {
			return nil, err // the primary may be committed: resolve nothing
		}
		p.resolveInBackground(0)
		return nil, err
	}
	// The outcome is decided: tell the stores before returning, so that
	// readers pass the locks still left (best effort).
	p.c.broadcastTxnStatus(ctx, &kvrpcpb.TxnStatus{StartTs: uint64(p.startTS), MinCommitTs: p.minCommit.Load(), CommitTs: uint64(commitTS)})
	return p.resolveInBackground(commitTS), nil
}

// commitTS returns a fresh timestamp above the start ts and floor.
func (p *Pipeline) commitTS(ctx context.Context, floor tso.Timestamp) (tso.Timestamp, error) {
	ts, err := p.c.ts.GetTS(ctx)
	if err != nil {
		return 0, err
	}
	if ts <= p.startTS || ts < floor {
		return 0, fmt.Errorf("twopc: timestamp source returned %d, not above start ts %d / min commit ts %d", ts, p.startTS, floor)
	}
	return ts, nil
}

func (p *Pipeline) commitPrimary(ctx context.Context, bo *retry.Backoffer, primary []byte, commitTS tso.Timestamp) error {
	c := p.c
	// A commit may be resent: TiKV answers success for a key this
	// transaction already committed at this ts.
	resp, err := c.router.SendKey(ctx, bo, primary, kvrpc.NewCommit(&kvrpcpb.CommitRequest{
		Context: c.codec.Context(), StartVersion: uint64(p.startTS), Keys: [][]byte{primary}, CommitVersion: uint64(commitTS),
	}))
	if err != nil {
		if maybeSent(err, bo) {
			// The primary's commit decides the transaction.
			return &UndeterminedError{StartTS: p.startTS, CommitTS: commitTS, Primary: primary, Err: err}
		}
		return err
	}
	if ke := resp.Message().(*kvrpcpb.CommitResponse).GetError(); ke != nil {
		return keyError(p.startTS, ke)
	}
	return nil
}

// Rollback removes every lock the transaction's flushes may have written
// (ResolveLock with commit ts 0 over the flushed range, region by region)
// and returns when they are gone. No flush may run meanwhile: one that
// lands after the rollback fails on the rollback records it finds. After
// Commit, Rollback does nothing.
func (p *Pipeline) Rollback(ctx context.Context) error {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil
	}
	p.done = true
	wrote, hb := p.wrote, p.hb
	p.mu.Unlock()
	hb.Stop()
	if !wrote {
		return nil
	}
	if err := p.resolveRange(ctx, 0, cleanupBudget); err != nil {
		return err
	}
	p.broadcastCompleted(0)
	return nil
}

// broadcastCompleted tells the stores, after the grace period, that the
// transaction committed at commitTS (rolled back when 0) has no lock left.
// It runs on the client's lifetime but outside Drain's count: the grace
// period is not work a caller should wait for.
func (p *Pipeline) broadcastCompleted(commitTS tso.Timestamp) {
	st := &kvrpcpb.TxnStatus{StartTs: uint64(p.startTS), CommitTs: uint64(commitTS), RolledBack: commitTS == 0, IsCompleted: true}
	p.c.afterGrace(func(life context.Context) { p.c.broadcastTxnStatus(life, st) })
}

// Abort is Rollback in the background, on the client's lifetime, for a
// caller that has no time left to wait ([Client.Drain] waits for it). It
// returns at once; after Commit it does nothing.
func (p *Pipeline) Abort() {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done = true
	wrote, hb := p.wrote, p.hb
	p.mu.Unlock()
	hb.Stop()
	if wrote {
		p.resolveInBackground(0)
	}
}

// resolveInBackground resolves the flushed range at commitTS (0: roll
// back) on the client's lifetime and returns a result whose Wait waits
// for it.
func (p *Pipeline) resolveInBackground(commitTS tso.Timestamp) *Result {
	r := &Result{commitTS: commitTS, mode: ModePipelined, done: make(chan struct{})}
	budget := retry.CommitSecondaryBudget
	if commitTS == 0 {
		budget = cleanupBudget
	}
	started := p.c.goBackground(func(life context.Context) {
		defer close(r.done)
		r.err = p.resolveRange(life, commitTS, budget)
		if r.err == nil {
			p.broadcastCompleted(commitTS)
		}
		if r.err != nil {
			p.c.cfg.logger.Warn("twopc: resolving a pipelined transaction's locks failed; readers will resolve them",
				slog.Uint64("start_ts", uint64(p.startTS)), slog.Uint64("commit_ts", uint64(commitTS)), slog.Any("error", r.err))
		}
	})
	if !started {
		r.err = fmt.Errorf("twopc: %w", ErrClosed)
		close(r.done)
	}
	return r
}

// resolveRange sends ResolveLock (commit at commitTS, or roll back when 0)
// to every region of the flushed range, at most the resolve concurrency at
// once, each piece of the range with the whole budget.
func (p *Pipeline) resolveRange(ctx context.Context, commitTS tso.Timestamp, budget time.Duration) error {
	p.mu.Lock()
	lo, hi := p.lo, p.hi
	p.mu.Unlock()
	end := append(bytes.Clone(hi), 0) // the walk's end is exclusive
	return p.c.router.WalkRangeParallel(ctx, retry.New(budget), lo, end,
		func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
			return false, p.resolveRegion(ctx, bo, s.Location, commitTS)
		},
		locate.WithWalkConcurrency(p.cfg.resolveConcurrency))
}

// resolveRegion resolves every lock of the transaction in one region.
func (p *Pipeline) resolveRegion(ctx context.Context, bo *retry.Backoffer, loc locate.Location, commitTS tso.Timestamp) error {
	c := p.c
	// ResolveLock may be resent: a lock already resolved is simply gone,
	// and the commit or rollback record it left answers the same way.
	resp, err := c.sender.Send(ctx, bo, kvrpc.NewResolveLock(&kvrpcpb.ResolveLockRequest{
		Context: c.codec.Context(), StartVersion: uint64(p.startTS), CommitVersion: uint64(commitTS),
	}), loc.Region)
	if err != nil {
		return err
	}
	if ke := resp.Message().(*kvrpcpb.ResolveLockResponse).GetError(); ke != nil {
		return keyError(p.startTS, ke)
	}
	return nil
}
