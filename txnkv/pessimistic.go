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
	// but locks again at a newer for-update ts, so the waiter that woke up
	// gets the key instead of starting its statement over.
	Aggressive bool
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
	wantResults := opts.ReturnValues || opts.CheckExistence
	// The keys to send: each once, and without the ones already locked
	// unless their values are wanted (a lock request is idempotent for
	// its owner).
	index := make(map[string]int, len(keys))
	var send [][]byte
	for _, k := range keys {
		if _, dup := index[string(k)]; dup {
			continue
		}
		if !wantResults {
			if f, ok := t.buf.Flags(k); ok && f.Locked() {
				continue
			}
		}
		index[string(k)] = len(send)
		send = append(send, k)
	}
	if len(send) == 0 {
		return nil, nil
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
	for attempt := 0; ; attempt++ {
		if forUpdateTS, err = t.c.CurrentTS(ctx); err != nil {
			break
		}
		res, err = t.c.tp.PessimisticLock(ctx, twopc.LockRequest{
			Primary: t.c.codec.EncodeKey(t.primary), StartTS: t.snap.ts, ForUpdateTS: forUpdateTS, Keys: t.c.encodeKeys(send),
			WaitTimeout: opts.WaitTimeout, IsFirstLock: first && attempt == 0,
			ReturnValues: opts.ReturnValues, CheckExistence: opts.CheckExistence,
			LockOnlyIfExists: opts.LockOnlyIfExists,
		})
		if err == nil || !opts.Aggressive || attempt >= maxAggressiveRetries || !errors.Is(err, ErrWriteConflict) {
			break
		}
		// Fair locking: the conflict's commit is below any fresh ts, so
		// locking again at one succeeds unless someone else won the key.
		// Keys locked by the failed attempt are simply locked again at the
		// newer ts.
	}
	if err != nil {
		t.rollbackStatement(ctx, send, forUpdateTS)
		if first {
			t.primary = nil
		}
		return nil, t.c.userKeys(fmt.Errorf("txnkv: lock keys: %w", err))
	}
	t.forUpdateTS = max(t.forUpdateTS, forUpdateTS)
	for i, k := range send {
		if opts.LockOnlyIfExists && !res[i].Exists {
			continue
		}
		f, had := t.buf.Flags(k)
		ops := []memdb.FlagsOp{memdb.SetKeyLocked}
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
			t.locked = append(t.locked, slices.Clone(k))
		}
	}
	if first && t.heartbeat == nil {
		t.heartbeat = t.c.tp.KeepAlive(t.c.codec.EncodeKey(t.primary), t.snap.ts)
	}
	if !wantResults {
		return nil, nil
	}
	out := make([]LockResult, len(keys))
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
