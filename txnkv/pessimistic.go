package txnkv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv/memdb"
)

// NoWait, as LockOptions.WaitTimeout, fails a lock request at once with
// *KeyIsLockedError when another transaction holds a key.
const NoWait time.Duration = -1

// rollbackTimeout bounds the cleanup of a failed LockKeys, which runs even
// when the caller's ctx is done (the locks would otherwise linger until
// their TTL).
const rollbackTimeout = 10 * time.Second

// maxAggressiveRetries bounds how often an aggressive LockKeys takes a new
// for-update ts after write conflicts before it gives up.
const maxAggressiveRetries = 16

// LockOptions says how LockKeys waits and what it returns. The zero value
// waits until ctx is done and returns nothing.
type LockOptions struct {
	// WaitTimeout bounds the wait for other transactions' locks: after it
	// LockKeys fails with *LockWaitTimeoutError. 0 waits until ctx is done;
	// NoWait does not wait.
	WaitTimeout time.Duration
	// ReturnValues returns each key's value at the for-update ts.
	ReturnValues bool
	// CheckExistence returns only whether each key exists.
	CheckExistence bool
	// LockOnlyIfExists locks only the keys that exist; it requires
	// ReturnValues and a primary locked by an earlier LockKeys.
	LockOnlyIfExists bool
	// Aggressive is the fair (aggressive) locking mode: when a key was
	// written after the for-update ts, or a lock LockKeys waited for was
	// released by a commit, LockKeys does not fail with a write conflict
	// but gets the key anyway, with its latest value. For one key, TiKV
	// does it: the request uses the force-lock wake-up mode
	// (twopc.WakeUpForceLock), so the woken waiter is granted the lock in
	// the same round trip and keeps its place in the queue;
	// LockResult.LockedWithConflictTS then names the conflicting commit.
	// For several keys (TiKV's force-lock mode takes one key per request)
	// LockKeys falls back to locking again at a newer for-update ts.
	// Not with Shared.
	Aggressive bool
	// Shared takes the locks in share mode (SELECT ... LOCK IN SHARE
	// MODE): other transactions may share-lock the same keys and commit,
	// none may lock them exclusively (or write them) until every holder
	// has finished; an exclusive locker waits and is woken when the last
	// holder leaves. The transaction must already hold its primary, taken
	// by an earlier LockKeys without Shared (TiKV never lets a
	// shared-locked key be a primary). A key locked in share mode cannot
	// be locked exclusively by the same transaction later (LockKeys fails
	// with ErrInvalidOption) nor written by it (TiKV refuses the prewrite
	// and Commit fails with *AbortError), and
	// a transaction holding shared locks commits with plain 2PC (no async
	// commit, no 1PC). Keys the transaction already holds exclusively
	// are left as they are.
	Shared bool
}

// LockResult is what LockKeys learned about one key with ReturnValues or
// CheckExistence (twopc.LockResult).
type LockResult = twopc.LockResult

// LockKeys takes pessimistic locks on keys at a fresh for-update ts. The
// first key locked by the transaction becomes its primary, kept alive by a
// heartbeat until Commit or Rollback. With ReturnValues or CheckExistence
// the results are indexed like keys.
//
// It fails with *WriteConflictError (a key was written after the
// for-update ts; not with Aggressive), *DeadlockError (TiKV found a wait
// cycle and chose this transaction; its WaitChain lists the cycle),
// *LockWaitTimeoutError, *KeyIsLockedError (NoWait), or another typed
// error. Keys this call locked before failing are rolled back (the
// statement's pessimistic rollback); keys locked by earlier calls stay
// locked.
func (t *Txn) LockKeys(ctx context.Context, opts LockOptions, keys ...[]byte) ([]LockResult, error) {
	if err := t.checkActive(); err != nil {
		return nil, err
	}
	if !t.cfg.pessimistic {
		return nil, ErrNotPessimistic
	}
	if opts.LockOnlyIfExists && !opts.ReturnValues {
		return nil, fmt.Errorf("txnkv: %w: LockOnlyIfExists needs ReturnValues", ErrInvalidOption)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	if opts.LockOnlyIfExists && t.primary == nil {
		// The first key locked becomes the primary every other lock
		// points to; it must be locked whether or not it exists.
		return nil, fmt.Errorf("txnkv: %w: LockOnlyIfExists needs an earlier LockKeys to have locked the primary", ErrInvalidOption)
	}
	if opts.Shared && t.primary == nil {
		return nil, fmt.Errorf("txnkv: %w: a lock in share mode needs an earlier exclusive LockKeys to have locked the primary", ErrInvalidOption)
	}
	if opts.Shared && opts.Aggressive {
		return nil, fmt.Errorf("txnkv: %w: shared locks cannot use aggressive locking", ErrInvalidOption)
	}
	wantResults := opts.ReturnValues || opts.CheckExistence
	// The keys to send: each once, and without the ones already locked
	// unless their values are wanted (a lock request is idempotent for
	// its owner).
	// One key (the common statement) needs no dedup index: its result is
	// res[0].
	var index map[string]int
	if len(keys) > 1 {
		index = make(map[string]int, len(keys))
	}
	var send [][]byte
	for _, k := range keys {
		if _, dup := index[string(k)]; dup {
			continue
		}
		f, ok := t.buf.Flags(k)
		held := ok && f.Locked()
		switch {
		case held && !opts.Shared && f.LockedInShareMode():
			// TiKV refuses the upgrade (LockTypeNotMatch), and waiting
			// for the other holders could deadlock with their own
			// upgrades.
			return nil, fmt.Errorf("txnkv: %w: key %q is locked in share mode; it cannot be locked exclusively", ErrInvalidOption, k)
		case held && opts.Shared && !f.LockedInShareMode():
			if wantResults {
				return nil, fmt.Errorf("txnkv: %w: key %q is already locked exclusively; lock it without Shared to read it", ErrInvalidOption, k)
			}
			continue // an exclusive lock already covers a shared one
		case held && !wantResults:
			continue
		}
		if index == nil {
			send = keys[:1:1] // read only, like keys
			break
		}
		index[string(k)] = len(send)
		send = append(send, k)
	}
	if len(send) == 0 {
		return nil, nil
	}
	// An Insert buffered before the lock is checked now: a locked key's
	// prewrite checks nothing (as client-go's lock request asserts).
	var notExist []bool
	for i, k := range send {
		if f, ok := t.buf.Flags(k); ok && f&memdb.FlagPresumeKeyNotExists != 0 {
			if notExist == nil {
				notExist = make([]bool, len(send))
			}
			notExist[i] = true
		}
	}
	first := t.primary == nil
	if first {
		t.primary = slices.Clone(send[0])
	}
	var (
		res         []twopc.LockResult
		forUpdateTS tso.Timestamp
		err         error
	)
	wake := twopc.WakeUpNormal
	if opts.Aggressive && len(send) == 1 {
		// TiKV grants the lock to the woken waiter itself (one key per
		// request in this mode).
		wake = twopc.WakeUpForceLock
	}
	for attempt := 0; ; attempt++ {
		if forUpdateTS, err = t.c.CurrentTS(ctx); err != nil {
			break
		}
		res, err = t.c.tp.PessimisticLock(ctx, twopc.LockRequest{
			Primary: t.c.codec.EncodeKey(t.primary), StartTS: t.snap.ts, ForUpdateTS: forUpdateTS, Keys: t.c.encodeKeys(send),
			WaitTimeout: opts.WaitTimeout, IsFirstLock: first && attempt == 0,
			ReturnValues: opts.ReturnValues, CheckExistence: opts.CheckExistence,
			LockOnlyIfExists: opts.LockOnlyIfExists, Shared: opts.Shared, WakeUpMode: wake,
			AssertNotExist: notExist,
		})
		if err == nil || !opts.Aggressive || attempt >= maxAggressiveRetries || !errors.Is(err, ErrWriteConflict) {
			break
		}
		// Fair locking over several keys (or a conflict TiKV still
		// reports under force-lock, e.g. an existence check): the
		// conflict's commit is below any fresh ts, so locking again at one
		// succeeds unless someone else won the key. Keys locked by the
		// failed attempt are simply locked again at the newer ts.
	}
	if err != nil {
		t.rollbackStatement(ctx, send, forUpdateTS)
		if first {
			t.primary = nil
		}
		return nil, t.c.userKeys(fmt.Errorf("txnkv: lock keys: %w", err))
	}
	t.forUpdateTS = max(t.forUpdateTS, forUpdateTS)
	for _, r := range res {
		// A key locked over a newer commit holds a lock whose for-update
		// ts TiKV raised to that commit; prewrite must not go below it.
		t.forUpdateTS = max(t.forUpdateTS, r.LockedWithConflictTS)
	}
	for i, k := range send {
		if opts.LockOnlyIfExists && !res[i].Exists {
			continue
		}
		f, had := t.buf.Flags(k)
		ops := []memdb.FlagsOp{memdb.SetKeyLocked}
		if opts.Shared {
			ops = append(ops, memdb.SetKeyLockedInShareMode)
		}
		if wantResults {
			if res[i].Exists {
				ops = append(ops, memdb.SetKeyLockedValueExists)
			} else {
				ops = append(ops, memdb.SetKeyLockedValueNotExists)
			}
		}
		if err := t.buf.UpdateFlags(k, ops...); err != nil {
			return nil, bufferError(err)
		}
		if !had || !f.Locked() {
			if first && i == 0 {
				// send[0] is the primary, already copied; neither copy
				// is ever written.
				t.locked = append(t.locked, t.primary)
			} else {
				t.locked = append(t.locked, slices.Clone(k))
			}
		}
	}
	if first && t.heartbeat == nil {
		t.heartbeat = t.c.tp.KeepAlive(t.c.codec.EncodeKey(t.primary), t.snap.ts)
	}
	if !wantResults {
		return nil, nil
	}
	out := make([]LockResult, len(keys))
	if index == nil {
		out[0] = res[0]
		return out, nil
	}
	for i, k := range keys {
		out[i] = res[index[string(k)]]
	}
	return out, nil
}

// rollbackStatement removes the locks a failed LockKeys may have taken on
// keys (those not locked before it), so they do not block others until
// their TTL runs out.
func (t *Txn) rollbackStatement(ctx context.Context, keys [][]byte, forUpdateTS tso.Timestamp) {
	if forUpdateTS == 0 {
		return
	}
	var fresh [][]byte
	for _, k := range keys {
		if f, ok := t.buf.Flags(k); !ok || !f.Locked() {
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if err := t.c.tp.PessimisticRollback(ctx, t.snap.ts, forUpdateTS, t.c.encodeKeys(fresh)); err != nil {
		t.c.cfg.logger.Warn("txnkv: pessimistic rollback of a failed statement failed",
			slog.Uint64("start_ts", uint64(t.snap.ts)), slog.Any("error", err))
	}
}
