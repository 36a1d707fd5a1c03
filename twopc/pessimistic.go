package twopc

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
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
			Context: c.codec.Context(), StartVersion: uint64(startTS), ForUpdateTs: uint64(forUpdateTS), Keys: ks,
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
// ForUpdateTS. It is the primitive under a transactional LockKeys; the
// choice of primary, retries with a newer for-update ts after a write
// conflict, and aggressive locking belong to the caller.
type LockRequest struct {
	Primary     []byte
	StartTS     tso.Timestamp
	ForUpdateTS tso.Timestamp
	Keys        [][]byte
	// TTL is the lock TTL (default: the managed lock TTL).
	TTL time.Duration
	// WaitTimeout bounds the total wait for locks of other transactions:
	// after it [*LockWaitTimeoutError]. Zero waits until ctx is done;
	// negative does not wait: a live lock fails the call at once with
	// [*KeyIsLockedError].
	WaitTimeout time.Duration
	// IsFirstLock marks the transaction's first lock request: TiKV skips
	// deadlock detection for it (the transaction holds nothing yet).
	IsFirstLock bool
	// ReturnValues asks for each key's current value (and existence).
	ReturnValues bool
	// CheckExistence asks only whether each key exists.
	CheckExistence bool
	// LockOnlyIfExists locks only keys that exist; it requires
	// ReturnValues.
	LockOnlyIfExists bool
	// Shared takes the locks in share mode (Op_SharedPessimisticLock):
	// other transactions may share-lock the keys too, none may lock them
	// exclusively until every holder is gone. Primary must already be
	// locked exclusively by an earlier request (TiKV refuses a
	// shared-locked key as a primary), and a transaction cannot turn its
	// shared lock on a key into an exclusive one. Not with
	// [WakeUpForceLock].
	Shared bool
	// WakeUpMode says what TiKV does when a lock this request waited for
	// is released (default [WakeUpNormal]).
	WakeUpMode WakeUpMode
	// AssertNotExist, indexed like Keys (shorter means false for the
	// rest), marks keys that must not exist: an Insert's existence check,
	// which a pessimistic transaction makes when it locks the key (its
	// prewrite does not check locked keys). Locking such a key that exists
	// fails with [*KeyExistsError].
	AssertNotExist []bool
}

// WakeUpMode is what TiKV does for a pessimistic lock request that waited
// for another transaction's lock once that lock is released
// (kvrpcpb.PessimisticLockWakeUpMode).
type WakeUpMode uint8

// Wake-up modes.
const (
	// WakeUpNormal fails the woken request with a write conflict
	// ([*WriteConflictError]): the caller locks again at a newer
	// for-update ts.
	WakeUpNormal WakeUpMode = iota
	// WakeUpForceLock makes TiKV lock the key for the woken request even
	// when a newer version was committed meanwhile, and report that
	// version's commit ts ([LockResult.LockedWithConflictTS]) with the
	// latest value: the fair (aggressive) locking of client-go, which
	// saves the caller a second round trip and keeps its place in the
	// queue. TiKV allows one key per request in this mode.
	WakeUpForceLock
)

// String returns the mode's name.
func (m WakeUpMode) String() string {
	if m == WakeUpForceLock {
		return "force-lock"
	}
	return "normal"
}

func (m WakeUpMode) pb() kvrpcpb.PessimisticLockWakeUpMode {
	if m == WakeUpForceLock {
		return kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
	}
	return kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeNormal
}

// LockResult is what a lock request learned about one key (with
// ReturnValues or CheckExistence, and always under [WakeUpForceLock]).
type LockResult struct {
	Value  []byte
	Exists bool
	// LockedWithConflictTS is non-zero when, under [WakeUpForceLock], the
	// key was locked although a version newer than the request's
	// for-update ts was committed: it is that version's commit ts, and
	// Value/Exists are the latest data. The caller's for-update ts for
	// the key must move up to it before the transaction may rely on the
	// lock (its reads at the old for-update ts are stale).
	LockedWithConflictTS tso.Timestamp
}

// PessimisticLock locks q.Keys for a pessimistic transaction, resolving the
// expired locks it meets and waiting for live ones as q.WaitTimeout says.
// With ReturnValues, CheckExistence or [WakeUpForceLock] the results are
// indexed like q.Keys; otherwise the slice is nil. Locks of other
// transactions met as a shared-lock wrapper are resolved holder by holder.
// Under WakeUpForceLock a conflicting commit does not fail the call: see
// [LockResult.LockedWithConflictTS].
//
// It fails with [*WriteConflictError] when a key was written after
// ForUpdateTS (or a lock it waited for was released), [*DeadlockError],
// [*KeyIsLockedError] (no wait), [*LockWaitTimeoutError], or another typed
// error. Keys locked by batches that succeeded before a failure stay
// locked: roll them back with [Client.PessimisticRollback].
func (c *Client) PessimisticLock(ctx context.Context, q LockRequest) ([]LockResult, error) {
	if len(q.Keys) == 0 {
		return nil, nil
	}
	if len(q.Primary) == 0 || q.StartTS == 0 || q.ForUpdateTS < q.StartTS {
		return nil, fmt.Errorf("twopc: %w: pessimistic lock needs a primary, a start ts and a for-update ts ≥ it", ErrInvalidOption)
	}
	if q.LockOnlyIfExists && !q.ReturnValues {
		return nil, fmt.Errorf("twopc: %w: lock-only-if-exists requires return values", ErrInvalidOption)
	}
	force := q.WakeUpMode == WakeUpForceLock
	switch {
	case q.WakeUpMode > WakeUpForceLock:
		return nil, fmt.Errorf("twopc: %w: unknown wake-up mode %d", ErrInvalidOption, q.WakeUpMode)
	case force && len(q.Keys) != 1:
		return nil, fmt.Errorf("twopc: %w: the force-lock wake-up mode locks one key per request, not %d", ErrInvalidOption, len(q.Keys))
	case force && q.Shared:
		return nil, fmt.Errorf("twopc: %w: shared locks cannot use the force-lock wake-up mode", ErrInvalidOption)
	case q.Shared && slices.ContainsFunc(q.Keys, func(k []byte) bool { return bytes.Equal(k, q.Primary) }):
		return nil, fmt.Errorf("twopc: %w: the primary %q cannot be locked in share mode", ErrInvalidOption, q.Primary)
	}
	ttl := q.TTL
	if ttl == 0 {
		ttl = c.cfg.managedLockTTL
	}
	var results []LockResult
	if q.ReturnValues || q.CheckExistence || force {
		results = make([]LockResult, len(q.Keys))
	}
	op := kvrpcpb.Op_PessimisticLock
	if q.Shared {
		op = kvrpcpb.Op_SharedPessimisticLock
	}
	begin := time.Now()
	bo := retry.New(retry.PessimisticLockBudget)
	key := func(i int) []byte { return q.Keys[i] }
	size := func(i int) int { return len(q.Keys[i]) }
	idx := sortedIndexes(len(q.Keys), key, nil)
	batches, err := c.groupByRegion(ctx, idx, key, size, c.cfg.batchSize, c.cfg.batchKeys)
	if err != nil {
		return nil, err
	}
	run := &batchRunner{c: c, key: key, size: size, maxBytes: c.cfg.batchSize, maxKeys: c.cfg.batchKeys}
	err = run.run(ctx, bo, batches, func(ctx context.Context, bo *retry.Backoffer, b batch) error {
		muts := make([]*kvrpcpb.Mutation, len(b.idx))
		for j, i := range b.idx {
			muts[j] = &kvrpcpb.Mutation{Op: op, Key: q.Keys[i]}
			if i < len(q.AssertNotExist) && q.AssertNotExist[i] {
				muts[j].Assertion = kvrpcpb.Assertion_NotExist
			}
		}
		for {
			wait := int64(-1) // TiKV: negative means no wait
			switch {
			case q.WaitTimeout == 0:
				wait = 0 // TiKV's default wait; the loop waits again until ctx ends
			case q.WaitTimeout > 0:
				left := q.WaitTimeout - time.Since(begin)
				if left <= 0 {
					return &LockWaitTimeoutError{StartTS: q.StartTS, Waited: time.Since(begin)}
				}
				wait = max(left.Milliseconds(), 1)
			}
			// A pessimistic lock request is idempotent for its own
			// transaction (a re-lock of an own lock succeeds), so the
			// sender may resend it.
			resp, err := c.sender.Send(ctx, bo, kvrpc.NewPessimisticLock(&kvrpcpb.PessimisticLockRequest{
				Context: c.codec.Context(), Mutations: muts, PrimaryLock: q.Primary,
				StartVersion: uint64(q.StartTS), ForUpdateTs: uint64(q.ForUpdateTS),
				LockTtl: uint64(ttl.Milliseconds()), IsFirstLock: q.IsFirstLock, WaitTimeout: wait,
				ReturnValues: q.ReturnValues, CheckExistence: q.CheckExistence, LockOnlyIfExists: q.LockOnlyIfExists,
				WakeUpMode: q.WakeUpMode.pb(),
			}), b.loc.Region)
			if err != nil {
				return err
			}
			pr := resp.Message().(*kvrpcpb.PessimisticLockResponse)
			errs := pr.GetErrors()
			if len(errs) == 0 {
				if force {
					// Force-lock answers per key in results, not in
					// values/not_founds; one key per request.
					rs := pr.GetResults()
					if len(rs) != 1 {
						return fmt.Errorf("twopc: force-lock answer has %d results for 1 key", len(rs))
					}
					r := rs[0]
					i := b.idx[0]
					results[i] = LockResult{Value: r.GetValue(), Exists: r.GetExistence()}
					if r.GetType() == kvrpcpb.PessimisticLockKeyResultType_LockResultLockedWithConflict {
						results[i].LockedWithConflictTS = tso.Timestamp(r.GetLockedWithConflictTs())
					}
					return nil
				}
				if results != nil {
					vals, nf := pr.GetValues(), pr.GetNotFounds()
					for j, i := range b.idx {
						if j < len(vals) {
							results[i].Value = vals[j]
						}
						results[i].Exists = j < len(nf) && !nf[j]
					}
				}
				return nil
			}
			var locks []*Lock
			for _, ke := range errs {
				if ke.GetLocked() == nil {
					return keyError(q.StartTS, ke)
				}
				locks = appendLocks(locks, ke.GetLocked())
			}
			res, err := c.resolver.ResolveLocks(ctx, bo, locks)
			if err != nil {
				return err
			}
			if res.Wait == 0 {
				continue // resolved: lock again at once
			}
			switch {
			case q.WaitTimeout < 0:
				return &KeyIsLockedError{Lock: locks[0]}
			case q.WaitTimeout > 0 && time.Since(begin) >= q.WaitTimeout:
				return &LockWaitTimeoutError{StartTS: q.StartTS, Lock: locks[0], Waited: time.Since(begin)}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// TiKV itself waited for the lock (up to the wait timeout);
			// asking again waits again.
		}
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
