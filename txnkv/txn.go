package txnkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/tikvgo/tikvgo/latches"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

type txnState uint8

const (
	txnActive txnState = iota
	txnCommitted
	txnRolledBack
)

// Txn is one transaction: writes go to its buffer, reads see the buffer
// first and then the snapshot at its start ts, and Commit makes the
// buffer durable through the Percolator protocol (or Rollback drops it).
//
// A Txn is not safe for concurrent use: one goroutine drives it, as with a
// database/sql Tx. Its Snapshot is.
type Txn struct {
	c     *Client
	cfg   txnConfig
	snap  *Snapshot
	buf   *memdb.MemDB
	state txnState

	commitTS tso.Timestamp
	mode     twopc.Mode

	// Pessimistic state: the primary (the first key locked), the newest
	// for-update ts, the keys this transaction locked, and the heartbeat
	// that keeps the primary alive.
	primary     []byte
	forUpdateTS tso.Timestamp
	locked      [][]byte
	heartbeat   *twopc.Heartbeat

	// pipe is the flushing state of a pipelined transaction, else nil.
	pipe *pipeline
}

// Begin starts a transaction. Its start ts is a fresh TSO timestamp, the
// one given with WithStartTS, or one WithStaleness older; it fails with
// *GCTooEarlyError when that is below the GC safe point. ctx bounds the
// timestamp and safe point lookups; the transaction itself has no
// deadline beyond the ctx of each call.
func (c *Client) Begin(ctx context.Context, opts ...TxnOption) (*Txn, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	cfg, err := c.txnConfig(opts)
	if err != nil {
		return nil, err
	}
	ts, err := c.startTS(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	if err := c.checkSafePoint(ctx, ts); err != nil {
		return nil, err
	}
	// The transaction and its snapshot share one allocation.
	both := new(txnWithSnapshot)
	t := &both.txn
	t.c, t.cfg, t.snap = c, cfg, &both.snap
	initSnapshot(t.snap, c, ts, cfg)
	t.buf = t.newBuffer()
	if cfg.pipelined != nil {
		if err := t.initPipeline(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// newBuffer returns an empty write buffer with the transaction's limits
// (a pipelined transaction has no total limit: it flushes instead).
func (t *Txn) newBuffer() *memdb.MemDB {
	var bufOpts []memdb.Option
	if t.cfg.sizeLimit > 0 && t.cfg.pipelined == nil {
		bufOpts = append(bufOpts, memdb.WithTotalSizeLimit(t.cfg.sizeLimit))
	}
	if t.cfg.entryLimit > 0 {
		bufOpts = append(bufOpts, memdb.WithEntrySizeLimit(t.cfg.entryLimit))
	}
	return memdb.New(bufOpts...)
}

// StartTS returns the transaction's start ts.
func (t *Txn) StartTS() tso.Timestamp { return t.snap.ts }

// CommitTS returns the commit ts after a successful Commit, and 0 before,
// after a failure, or when the transaction wrote nothing.
func (t *Txn) CommitTS() tso.Timestamp { return t.commitTS }

// CommitMode returns how the transaction was committed.
func (t *Txn) CommitMode() twopc.Mode { return t.mode }

// Snapshot returns the transaction's snapshot: reads at the start ts that
// bypass the buffer.
func (t *Txn) Snapshot() *Snapshot { return t.snap }

// IsPessimistic reports whether the transaction is pessimistic.
func (t *Txn) IsPessimistic() bool { return t.cfg.pessimistic }

// IsReadOnly reports whether writes are refused (a stale read
// transaction).
func (t *Txn) IsReadOnly() bool { return t.cfg.staleRead }

// Len returns the number of keys in the write buffer (written, deleted or
// locked); a pipelined transaction adds the keys of its flushes.
func (t *Txn) Len() int {
	if p := t.pipe; p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return t.buf.Len() + p.keys
	}
	return t.buf.Len()
}

// Size returns the bytes of keys and values in the write buffer; a
// pipelined transaction adds the bytes of its flushes.
func (t *Txn) Size() int {
	if p := t.pipe; p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return t.buf.Size() + p.bytes
	}
	return t.buf.Size()
}

// ForUpdateTS returns the newest for-update ts of a pessimistic
// transaction's locks (0 before the first LockKeys).
func (t *Txn) ForUpdateTS() tso.Timestamp { return t.forUpdateTS }

func (t *Txn) checkActive() error {
	if t.state != txnActive {
		return ErrTxnDone
	}
	return t.c.checkOpen()
}

func (t *Txn) checkWritable() error {
	if err := t.checkActive(); err != nil {
		return err
	}
	if t.cfg.staleRead {
		return ErrReadOnly
	}
	return nil
}

// Get returns key's value as the transaction sees it: its own buffered
// write, else the snapshot's. It fails with ErrNotFound for a key with no
// value (including one this transaction deleted).
func (t *Txn) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := t.checkActive(); err != nil {
		return nil, err
	}
	if e, ok := t.buf.Lookup(key); ok && e.HasValue() {
		if e.Deleted() {
			return nil, ErrNotFound
		}
		return slices.Clone(e.Value), nil
	}
	if t.pipe != nil {
		v, found, err := t.pipelinedGet(ctx, key)
		switch {
		case err != nil:
			return nil, err
		case found && v == nil:
			return nil, ErrNotFound
		case found:
			return v, nil
		}
	}
	return t.snap.Get(ctx, key)
}

// BatchGet returns the values of the keys that exist as the transaction
// sees them, keyed by string(key): buffered writes first, the rest read
// from the snapshot in one batch.
func (t *Txn) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	if err := t.checkActive(); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	var rest [][]byte
	for _, k := range keys {
		if e, ok := t.buf.Lookup(k); ok && e.HasValue() {
			if !e.Deleted() {
				out[string(k)] = slices.Clone(e.Value)
			}
			continue
		}
		rest = append(rest, k)
	}
	if t.pipe != nil && len(rest) > 0 {
		got, err := t.pipelinedBatchGet(ctx, rest)
		if err != nil {
			return nil, err
		}
		unread := rest[:0:0]
		for _, k := range rest {
			v, ok := got[string(k)]
			switch {
			case !ok:
				unread = append(unread, k)
			case v != nil:
				out[string(k)] = v
			}
		}
		rest = unread
	}
	if len(rest) == 0 {
		return out, nil
	}
	got, err := t.snap.BatchGet(ctx, rest)
	if err != nil {
		return nil, err
	}
	for k, v := range got {
		out[k] = v
	}
	return out, nil
}

// Iter iterates over [start, end) in ascending order as the transaction
// sees it: the buffer merged over the snapshot, buffered deletes hiding
// snapshot values. Writing to the transaction while iterating ends the
// iteration with an error. A pipelined transaction cannot iterate its own
// writes: it yields ErrPipelinedUnsupported.
func (t *Txn) Iter(ctx context.Context, start, end []byte, opts ...ReadOption) iter.Seq2[KV, error] {
	return t.merge(ctx, start, end, false, opts)
}

// IterReverse is Iter in descending order; end must not be empty.
func (t *Txn) IterReverse(ctx context.Context, start, end []byte, opts ...ReadOption) iter.Seq2[KV, error] {
	return t.merge(ctx, start, end, true, opts)
}

func (t *Txn) merge(ctx context.Context, start, end []byte, reverse bool, opts []ReadOption) iter.Seq2[KV, error] {
	return func(yield func(KV, error) bool) {
		if err := t.checkActive(); err != nil {
			yield(KV{}, err)
			return
		}
		if t.pipe != nil {
			// Flushed writes live in TiKV as locks, which no scan returns
			// merged with the snapshot (client-go refuses this too).
			yield(KV{}, fmt.Errorf("txnkv: iterate: %w", ErrPipelinedUnsupported))
			return
		}
		keyOnly := t.snap.readConfig(opts).keyOnly
		next, stop := iter.Pull2(t.snap.scan(ctx, start, end, reverse, opts))
		defer stop()
		snapKV, snapErr, snapOK := next()
		var bi *memdb.Iterator
		if reverse {
			bi = t.buf.IterReverse(start, end, memdb.WithTombstones)
		} else {
			bi = t.buf.Iter(start, end, memdb.WithTombstones)
		}
		for {
			if snapOK && snapErr != nil {
				yield(KV{}, snapErr)
				return
			}
			if err := bi.Err(); err != nil {
				yield(KV{}, fmt.Errorf("txnkv: iterate: %w", err))
				return
			}
			bufOK := bi.Valid()
			if !bufOK && !snapOK {
				return
			}
			cmp := 0
			if bufOK && snapOK {
				cmp = bytes.Compare(bi.Key(), snapKV.Key)
				if reverse {
					cmp = -cmp
				}
			}
			if bufOK && (!snapOK || cmp <= 0) {
				if snapOK && cmp == 0 {
					snapKV, snapErr, snapOK = next() // the buffer shadows it
				}
				if !bi.Deleted() {
					kv := KV{Key: slices.Clone(bi.Key())}
					if !keyOnly {
						kv.Value = slices.Clone(bi.Value())
					}
					if !yield(kv, nil) {
						return
					}
				}
				bi.Next()
				continue
			}
			if !yield(snapKV, nil) {
				return
			}
			snapKV, snapErr, snapOK = next()
		}
	}
}

// Set buffers value for key. A nil value is an empty value, not a delete
// (a pipelined transaction refuses it with ErrPipelinedUnsupported).
func (t *Txn) Set(key, value []byte) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if err := t.checkPipelinedValue(value); err != nil {
		return err
	}
	if err := t.beforeWrite(); err != nil {
		return err
	}
	return t.written(bufferError(t.buf.Set(key, value)))
}

// Delete buffers a delete of key.
func (t *Txn) Delete(key []byte) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if err := t.beforeWrite(); err != nil {
		return err
	}
	return t.written(bufferError(t.buf.Delete(key)))
}

// checkPipelinedValue refuses what a pipelined transaction cannot write:
// an empty value (read back from TiKV's flushed locks as a delete), and
// anything after a failed flush.
func (t *Txn) checkPipelinedValue(value []byte) error {
	if t.pipe == nil {
		return nil
	}
	if len(value) == 0 {
		return fmt.Errorf("txnkv: empty value: %w", ErrPipelinedUnsupported)
	}
	return t.pipe.failure()
}

// written runs after a buffer write: a pipelined transaction may flush.
func (t *Txn) written(err error) error {
	if err != nil || t.pipe == nil {
		return err
	}
	return t.afterWrite()
}

// Insert buffers value for key on condition that key does not exist: the
// commit fails with *KeyExistsError if it does (checked by prewrite, so
// Insert itself does no I/O).
func (t *Txn) Insert(key, value []byte) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	if err := t.checkPipelinedValue(value); err != nil {
		return err
	}
	if err := t.beforeWrite(); err != nil {
		return err
	}
	return t.written(bufferError(t.buf.Set(key, value, memdb.SetPresumeKeyNotExists)))
}

// SetAssertion asks prewrite to check that key exists (twopc.AssertExist)
// or does not (twopc.AssertNotExist) before this transaction; it takes
// effect with WithAssertionLevel.
func (t *Txn) SetAssertion(key []byte, a twopc.Assertion) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	op := memdb.SetAssertNone
	switch a {
	case twopc.AssertExist:
		op = memdb.SetAssertExist
	case twopc.AssertNotExist:
		op = memdb.SetAssertNotExist
	}
	return t.written(bufferError(t.buf.UpdateFlags(key, op)))
}

// Commit makes the buffered writes durable at a commit ts (CommitTS), or
// leaves nothing behind and returns a typed error: *WriteConflictError,
// *KeyExistsError, *AssertionFailedError, *TxnTooLargeError, ... and
// *UndeterminedError when the outcome is unknown. A transaction that wrote
// nothing commits without I/O. Commit hooks run before it returns. After
// Commit, whatever its result, the transaction is done.
func (t *Txn) Commit(ctx context.Context) error {
	if err := t.checkActive(); err != nil {
		return err
	}
	t.state = txnCommitted
	if t.heartbeat != nil {
		defer t.heartbeat.Stop()
	}
	if t.pipe != nil {
		info := CommitInfo{StartTS: t.snap.ts, Keys: t.Len(), Size: t.Size()}
		err := t.commitPipelined(ctx)
		info.CommitTS, info.Mode, info.Err = t.commitTS, t.mode, err
		for _, h := range t.cfg.hooks {
			h(info)
		}
		return err
	}
	ms := t.buf.MutationSet(t.cfg.pessimistic)
	info := CommitInfo{StartTS: t.snap.ts, Keys: ms.Len(), Size: ms.Size()}
	err := t.commit(ctx, ms)
	info.CommitTS, info.Mode, info.Err = t.commitTS, t.mode, err
	for _, h := range t.cfg.hooks {
		h(info)
	}
	return err
}

func (t *Txn) commit(ctx context.Context, ms *memdb.MutationSet) error {
	if ms.Len() == 0 {
		return nil
	}
	start := t.snap.ts
	if t.c.latches != nil && !t.cfg.pessimistic {
		keys := make([][]byte, ms.Len())
		for i := range keys {
			keys[i] = ms.Key(i)
		}
		lk, err := t.c.latches.Acquire(ctx, uint64(start), keys)
		if err != nil {
			if se, ok := errors.AsType[*latches.StaleError](err); ok {
				// A newer local commit wrote a key after this start ts:
				// TiKV would answer with a write conflict.
				return fmt.Errorf("txnkv: commit: %w", &twopc.WriteConflictError{
					StartTS: start, ConflictCommitTS: tso.Timestamp(se.CommitTS), Key: se.Key})
			}
			if errors.Is(err, latches.ErrClosed) {
				return fmt.Errorf("txnkv: %w", ErrClosed)
			}
			return fmt.Errorf("txnkv: commit: wait for local latches: %w", err)
		}
		defer func() { t.c.latches.Release(lk, uint64(t.commitTS)) }()
	}
	var opts []twopc.CommitOption
	if t.cfg.asyncCommit {
		opts = append(opts, twopc.WithAsyncCommit())
	}
	if t.cfg.onePC {
		opts = append(opts, twopc.With1PC())
	}
	if t.cfg.causal {
		opts = append(opts, twopc.WithCausalConsistency())
	}
	if t.cfg.assertion != twopc.AssertionOff {
		opts = append(opts, twopc.WithAssertionLevel(t.cfg.assertion))
	}
	if t.cfg.pessimistic {
		// TiKV takes a prewrite with for_update_ts 0 down its optimistic
		// path, which checks every key for writes after the start ts; the
		// pessimistic path checks only locked keys and postponed constraint
		// checks. A pessimistic transaction that never locked a key has
		// nothing to gain from that path and would lose the conflict check
		// on what it wrote, so it goes the optimistic way (as client-go's
		// does), unless a postponed constraint check needs the pessimistic
		// one (then at the start ts).
		fu := t.forUpdateTS
		if fu == 0 && needsConstraintCheck(ms) {
			fu = start
		}
		if fu != 0 {
			opts = append(opts, twopc.WithForUpdateTS(fu))
		}
		if t.primary != nil && t.hasMutation(ms, t.primary) {
			opts = append(opts, twopc.WithPrimary(t.c.codec.EncodeKey(t.primary)))
			if t.heartbeat != nil {
				// The heartbeat of the first lock keeps this primary
				// alive until Commit returns: twopc needs no second one.
				opts = append(opts, twopc.WithCallerHeartbeat())
			}
		}
	}
	res, err := t.c.tp.Commit(ctx, t.c.mutations(ms), start, opts...)
	if err != nil {
		return t.c.userKeys(fmt.Errorf("txnkv: commit: %w", err))
	}
	t.commitTS, t.mode = res.CommitTS(), res.Mode()
	return nil
}

// needsConstraintCheck reports whether a mutation postpones its constraint
// check to prewrite.
func needsConstraintCheck(ms *memdb.MutationSet) bool {
	for i := range ms.Len() {
		if ms.Flags(i)&memdb.FlagNeedConstraintCheckInPrewrite != 0 {
			return true
		}
	}
	return false
}

func (t *Txn) hasMutation(ms *memdb.MutationSet, key []byte) bool {
	// MutationSet is in key order: binary search over indexes.
	lo, hi := 0, ms.Len()
	for lo < hi {
		mid := (lo + hi) / 2
		switch c := bytes.Compare(ms.Key(mid), key); {
		case c == 0:
			return ms.Op(mid) != memdb.OpCheckNotExists
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// Rollback drops the buffered writes and, for a pessimistic transaction,
// releases its locks; a pipelined transaction waits for its running
// flushes (or ctx) and removes every flushed lock. After Rollback the
// transaction is done.
func (t *Txn) Rollback(ctx context.Context) error {
	if t.state != txnActive {
		return ErrTxnDone
	}
	t.state = txnRolledBack
	if t.heartbeat != nil {
		t.heartbeat.Stop()
	}
	if t.pipe != nil {
		return t.rollbackPipelined(ctx)
	}
	if len(t.locked) == 0 {
		return nil
	}
	if err := t.c.tp.PessimisticRollback(ctx, t.snap.ts, t.forUpdateTS, t.c.encodeKeys(t.locked)); err != nil {
		return t.c.userKeys(fmt.Errorf("txnkv: rollback: %w", err))
	}
	return nil
}

// mutations adapts the write buffer's mutation set to the committer's
// Mutations interface without copying values (memdb must not import
// twopc). Under API V2 keys holds the wire keys, built once: the committer
// asks for a key more than once.
type mutations struct {
	ms   *memdb.MutationSet
	keys [][]byte
}

func (c *Client) mutations(ms *memdb.MutationSet) mutations {
	m := mutations{ms: ms}
	if c.codec.PrefixLen() > 0 {
		m.keys = make([][]byte, ms.Len())
		for i := range m.keys {
			m.keys[i] = c.codec.EncodeKey(ms.Key(i))
		}
	}
	return m
}

func (m mutations) Len() int { return m.ms.Len() }

func (m mutations) Key(i int) []byte {
	if m.keys != nil {
		return m.keys[i]
	}
	return m.ms.Key(i)
}

func (m mutations) Value(i int) []byte { return m.ms.Value(i) }

func (m mutations) Op(i int) twopc.Op {
	switch m.ms.Op(i) {
	case memdb.OpInsert:
		return twopc.OpInsert
	case memdb.OpDelete:
		return twopc.OpDelete
	case memdb.OpLock:
		return twopc.OpLock
	case memdb.OpSharedLock:
		return twopc.OpSharedLock
	case memdb.OpCheckNotExists:
		return twopc.OpCheckNotExists
	}
	return twopc.OpPut
}

func (m mutations) Assertion(i int) twopc.Assertion {
	f := m.ms.Flags(i)
	switch {
	case f.AssertUnknown():
		return twopc.AssertNone
	case f.AssertExist():
		return twopc.AssertExist
	case f.AssertNotExist():
		return twopc.AssertNotExist
	}
	return twopc.AssertNone
}

func (m mutations) Flags(i int) twopc.Flags {
	f := m.ms.Flags(i)
	var out twopc.Flags
	if f.Locked() {
		out |= twopc.FlagPessimisticLock
	}
	if f.Has(memdb.FlagNeedConstraintCheckInPrewrite) {
		out |= twopc.FlagNeedConstraintCheck
	}
	return out
}
