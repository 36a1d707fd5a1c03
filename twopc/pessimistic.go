package twopc

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// PessimisticRollback removes the pessimistic locks of transaction startTS
// taken at or below forUpdateTS on keys (locks already prewritten are left
// alone). It writes no rollback record, so the transaction may lock the
// keys again.
func (c *Client) PessimisticRollback(ctx context.Context, startTS, forUpdateTS tso.Timestamp, keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	return c.pessimisticRollbackKeys(ctx, retry.New(retry.PessimisticLockBudget), startTS, forUpdateTS, keys)
}

func (c *Client) pessimisticRollbackKeys(ctx context.Context, bo *retry.Backoffer, startTS, forUpdateTS tso.Timestamp, keys [][]byte) error {
	key := func(i int) []byte { return keys[i] }
	one := func(int) int { return 1 }
	idx := sortedIndexes(len(keys), key, nil)
	batches, err := c.groupByRegion(ctx, idx, key, one, math.MaxInt, c.cfg.batchKeys)
	if err != nil {
		return err
	}
	run := &batchRunner{c: c, key: key, size: one, maxBytes: math.MaxInt, maxKeys: c.cfg.batchKeys}
	return run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		ks := make([][]byte, len(b.idx))
		for j, i := range b.idx {
			ks[j] = keys[i]
		}
		// Removing a pessimistic lock is idempotent, so it may be resent.
		resp, err := c.sender.Send(ctx, bo, kvrpc.NewPessimisticRollback(&kvrpcpb.PessimisticRollbackRequest{
			Context: &kvrpcpb.Context{}, StartVersion: uint64(startTS), ForUpdateTs: uint64(forUpdateTS), Keys: ks,
		}), b.loc.Region)
		if err != nil {
			return err
		}
		if errs := resp.Message().(*kvrpcpb.PessimisticRollbackResponse).GetErrors(); len(errs) > 0 {
			return fmt.Errorf("twopc: pessimistic rollback of txn %d: %w", startTS, keyError(startTS, errs[0]))
		}
		return nil
	})
}

// LockRequest asks for pessimistic locks on Keys for transaction StartTS at
// ForUpdateTS. It is the primitive under a transactional LockKeys; wait
// policy, deadlock handling and retries with a newer for-update ts belong
// to the caller.
type LockRequest struct {
	Primary     []byte
	StartTS     tso.Timestamp
	ForUpdateTS tso.Timestamp
	Keys        [][]byte
	// TTL is the lock TTL (default: the managed lock TTL).
	TTL time.Duration
	// WaitTimeout is how long TiKV waits for a conflicting lock; negative
	// means no wait, 0 TiKV's default.
	WaitTimeout time.Duration
	// IsFirstLock skips deadlock detection for a transaction's first lock.
	IsFirstLock bool
}

// PessimisticLock locks keys for a pessimistic transaction, resolving
// expired locks it meets. It fails with [*WriteConflictError] when a key
// was written after ForUpdateTS, [*DeadlockError], [*KeyIsLockedError] when
// a live lock outlasted the wait, or another typed error. Keys locked by
// batches that succeeded before a failure stay locked: roll them back with
// [Client.PessimisticRollback].
func (c *Client) PessimisticLock(ctx context.Context, q LockRequest) error {
	if len(q.Keys) == 0 {
		return nil
	}
	if len(q.Primary) == 0 || q.StartTS == 0 || q.ForUpdateTS < q.StartTS {
		return fmt.Errorf("%w: pessimistic lock needs a primary, a start ts and a for-update ts ≥ it", ErrInvalidOption)
	}
	ttl := q.TTL
	if ttl == 0 {
		ttl = c.cfg.managedLockTTL
	}
	wait := int64(0)
	switch {
	case q.WaitTimeout < 0:
		wait = -1
	case q.WaitTimeout > 0:
		wait = max(q.WaitTimeout.Milliseconds(), 1)
	}
	bo := retry.New(retry.PessimisticLockBudget)
	key := func(i int) []byte { return q.Keys[i] }
	size := func(i int) int { return len(q.Keys[i]) }
	idx := sortedIndexes(len(q.Keys), key, nil)
	batches, err := c.groupByRegion(ctx, idx, key, size, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		return err
	}
	run := &batchRunner{c: c, key: key, size: size, maxBytes: c.cfg.batchSize, maxKeys: c.cfg.batchKeys}
	return run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		muts := make([]*kvrpcpb.Mutation, len(b.idx))
		for j, i := range b.idx {
			muts[j] = &kvrpcpb.Mutation{Op: kvrpcpb.Op_PessimisticLock, Key: q.Keys[i]}
		}
		for {
			// A pessimistic lock request is idempotent for its own
			// transaction (a re-lock of an own lock succeeds), so the
			// sender may resend it.
			resp, err := c.sender.Send(ctx, bo, kvrpc.NewPessimisticLock(&kvrpcpb.PessimisticLockRequest{
				Context: &kvrpcpb.Context{}, Mutations: muts, PrimaryLock: q.Primary,
				StartVersion: uint64(q.StartTS), ForUpdateTs: uint64(q.ForUpdateTS),
				LockTtl: uint64(ttl.Milliseconds()), IsFirstLock: q.IsFirstLock, WaitTimeout: wait,
			}), b.loc.Region)
			if err != nil {
				return err
			}
			errs := resp.Message().(*kvrpcpb.PessimisticLockResponse).GetErrors()
			if len(errs) == 0 {
				return nil
			}
			var locks []*Lock
			for _, ke := range errs {
				if ke.GetLocked() == nil {
					return keyError(q.StartTS, ke)
				}
				locks = append(locks, lockFromInfo(ke.GetLocked()))
			}
			res, err := c.resolver.ResolveLocks(ctx, bo, locks)
			if err != nil {
				return err
			}
			if res.Wait > 0 {
				if wait < 0 {
					return &KeyIsLockedError{Lock: locks[0]}
				}
				if err := bo.BackoffAtMost(ctx, retry.TxnLock, res.Wait, &KeyIsLockedError{Lock: locks[0]}); err != nil {
					return err
				}
			}
		}
	})
}
