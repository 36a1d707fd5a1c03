package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/twopc"
)

// The transactional suite: each test runs through the facade's
// Client.Txn on whatever backend the suite runs (sim, containers,
// external), under its own key prefix (txnClient). Nothing here injects a
// fault, so every backend runs every test; ordering between concurrent
// transactions is observed from the client side (lockWatch), never slept
// for.

// lockWatch is a tikv.Metrics whose interceptor reports every
// KvPessimisticLock request the client sends, by start ts, before it goes
// out: a test learns that a transaction's lock request is on its way
// without any hook in the cluster, so it works on every backend.
type lockWatch struct {
	mu   sync.Mutex
	subs map[uint64]chan struct{}
}

// InterceptRPC implements tikv.Metrics.
func (w *lockWatch) InterceptRPC(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
	if req.Type() == kvrpc.CmdPessimisticLock {
		if q, ok := req.Message().(*kvrpcpb.PessimisticLockRequest); ok {
			w.mu.Lock()
			ch := w.subs[q.GetStartVersion()]
			w.mu.Unlock()
			if ch != nil {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
	return next(ctx, target, req)
}

// sent returns a channel that receives once each time the transaction
// starting at startTS sends a lock request (buffered, never blocking the
// client).
func (w *lockWatch) sent(startTS tikv.Timestamp) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = make(map[uint64]chan struct{})
	}
	ch := make(chan struct{}, 16)
	w.subs[uint64(startTS)] = ch
	return ch
}

// watchedTxnClient is txnClient over a client whose lock requests w sees.
func watchedTxnClient(t *testing.T) (*tikv.TxnClient, *keyspace, *lockWatch) {
	t.Helper()
	w := &lockWatch{}
	tc, ks := txnClient(t, tikv.WithMetrics(w))
	return tc, ks, w
}

// mustCommitted reads key at a fresh snapshot and checks its value.
func mustCommitted(t *testing.T, ctx context.Context, tc *tikv.TxnClient, key []byte, want string) {
	t.Helper()
	snap, err := tc.Snapshot(ctx, 0)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if v, err := snap.Get(ctx, key); err != nil || string(v) != want {
		t.Fatalf("%q = %q, %v; want %q", key, v, err, want)
	}
}

// commitValue commits key=value in a transaction of its own and returns
// its commit ts.
func commitValue(t *testing.T, ctx context.Context, tc *tikv.TxnClient, key []byte, value string, opts ...tikv.TxnOption) tikv.Timestamp {
	t.Helper()
	txn, err := tc.Begin(ctx, opts...)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := txn.Set(key, []byte(value)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("commit %q=%q: %v", key, value, err)
	}
	if txn.CommitTS() <= txn.StartTS() {
		t.Fatalf("commit ts %d not above start ts %d", txn.CommitTS(), txn.StartTS())
	}
	return txn.CommitTS()
}

// TestTxnOptimisticConflictRetry: two optimistic read-modify-write
// transactions on one counter; the later committer gets a typed, retryable
// write conflict naming the key, leaves nothing behind, and its retry as a
// new transaction succeeds, so no increment is lost.
func TestTxnOptimisticConflictRetry(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	key := ks.key("counter")
	commitValue(t, ctx, tc, key, "0")

	incr := func(txn *tikv.Txn) error {
		v, err := txn.Get(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return err
		}
		return txn.Set(key, strconv.AppendInt(nil, int64(n+1), 10))
	}
	t1, err := tc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := tc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(incr(t1), incr(t2)); err != nil {
		t.Fatal(err)
	}
	if err := t2.Commit(ctx); err != nil {
		t.Fatalf("first committer: %v", err)
	}
	err = t1.Commit(ctx)
	var wc *tikv.WriteConflictError
	if !errors.As(err, &wc) || !errors.Is(err, tikv.ErrWriteConflict) || !bytes.Equal(wc.Key, key) || !tikv.IsRetryable(err) {
		t.Fatalf("second committer: %v, want a retryable *WriteConflictError on %q", err, key)
	}
	if wc.StartTS != t1.StartTS() || wc.ConflictCommitTS != t2.CommitTS() {
		t.Errorf("conflict %+v: want start ts %d and conflicting commit ts %d", wc, t1.StartTS(), t2.CommitTS())
	}
	// The loser left no lock: a fresh read answers at once with t2's value.
	mustCommitted(t, ctx, tc, key, "1")

	// Retry as a new transaction, as IsRetryable says: at most a few
	// attempts (nobody else writes the key now).
	for attempt := 1; ; attempt++ {
		txn, err := tc.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := incr(txn); err != nil {
			t.Fatal(err)
		}
		err = txn.Commit(ctx)
		if err == nil {
			break
		}
		if !tikv.IsRetryable(err) || attempt == 3 {
			t.Fatalf("retry %d: %v", attempt, err)
		}
	}
	mustCommitted(t, ctx, tc, key, "2")
}

// lockRetrying is LockKeys retried, like a statement, after a write
// conflict: TiKV wakes a waiter in the normal (legacy) mode with a
// PessimisticRetry write conflict when the lock it waited for goes away,
// and the next LockKeys takes a newer for-update ts. Other errors (a
// deadlock included) end it.
func lockRetrying(ctx context.Context, txn *tikv.Txn, opts tikv.LockOptions, keys ...[]byte) ([]tikv.LockResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := txn.LockKeys(ctx, opts, keys...)
		if !errors.Is(err, tikv.ErrWriteConflict) || attempt == 3 {
			return res, err
		}
	}
}

// TestTxnPessimisticLockWait: a pessimistic transaction holds a key; a
// second one asks for it and waits. Holder commits: the waiter (fair
// locking) gets the lock with the holder's value and its commit ts as the
// conflict ts. Holder rolls back instead: the waiter (normal mode) gets
// the lock with no conflict. Neither waiter returns before the holder
// ends.
func TestTxnPessimisticLockWait(t *testing.T) {
	tc, ks, watch := watchedTxnClient(t)
	ctx := callCtx(t)
	for _, holderCommits := range []bool{true, false} {
		name := map[bool]string{true: "holder-commits", false: "holder-rolls-back"}[holderCommits]
		t.Run(name, func(t *testing.T) {
			key := ks.key(name)
			commitValue(t, ctx, tc, key, "before")
			holder, err := tc.Begin(ctx, tikv.WithPessimistic())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := holder.LockKeys(ctx, tikv.LockOptions{}, key); err != nil {
				t.Fatalf("holder LockKeys: %v", err)
			}
			_ = holder.Set(key, []byte("holder"))

			waiter, err := tc.Begin(ctx, tikv.WithPessimistic())
			if err != nil {
				t.Fatal(err)
			}
			sent := watch.sent(waiter.StartTS())
			type outcome struct {
				res []tikv.LockResult
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := lockRetrying(ctx, waiter, tikv.LockOptions{ReturnValues: true, Aggressive: holderCommits}, key)
				done <- outcome{res, err}
			}()
			select { // the waiter's lock request is on its way
			case <-sent:
			case o := <-done:
				t.Fatalf("waiter returned %v, %v before sending a lock request", o.res, o.err)
			case <-ctx.Done():
				t.Fatalf("waiter sent no lock request: %v", ctx.Err())
			}
			select {
			case o := <-done:
				t.Fatalf("waiter got %v, %v while the holder still holds the lock", o.res, o.err)
			default:
			}
			want := "before"
			if holderCommits {
				if err := holder.Commit(ctx); err != nil {
					t.Fatalf("holder commit: %v", err)
				}
				want = "holder"
			} else if err := holder.Rollback(ctx); err != nil {
				t.Fatalf("holder rollback: %v", err)
			}
			o := <-done
			if o.err != nil {
				t.Fatalf("waiter LockKeys after the holder ended: %v", o.err)
			}
			if len(o.res) != 1 || string(o.res[0].Value) != want {
				t.Fatalf("waiter locked %+v, want the value %q", o.res, want)
			}
			// The holder's commit ts is above the waiter's for-update ts
			// (it was taken after the waiter sent its request), so fair
			// locking must report it.
			if holderCommits && o.res[0].LockedWithConflictTS != holder.CommitTS() {
				t.Errorf("LockedWithConflictTS = %d, want the holder's commit ts %d", o.res[0].LockedWithConflictTS, holder.CommitTS())
			}
			if !holderCommits && o.res[0].LockedWithConflictTS != 0 {
				t.Errorf("LockedWithConflictTS = %d after a rollback, want 0", o.res[0].LockedWithConflictTS)
			}
			_ = waiter.Set(key, []byte("waiter"))
			if err := waiter.Commit(ctx); err != nil {
				t.Fatalf("waiter commit: %v", err)
			}
			mustCommitted(t, ctx, tc, key, "waiter")
		})
	}
}

// TestTxnDeadlock: two pessimistic transactions lock two keys in opposite
// orders. Exactly one gets the typed, retryable deadlock error with its
// wait chain; once it rolls back the other gets its lock and commits.
func TestTxnDeadlock(t *testing.T) {
	tc, ks, watch := watchedTxnClient(t)
	ctx := callCtx(t)
	k1, k2 := ks.key("k1"), ks.key("k2")
	a, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	b, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.LockKeys(ctx, tikv.LockOptions{}, k1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockKeys(ctx, tikv.LockOptions{}, k2); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		txn *tikv.Txn
		err error
	}
	out := make(chan outcome, 2)
	aSent := watch.sent(a.StartTS())
	go func() {
		_, err := lockRetrying(ctx, a, tikv.LockOptions{}, k2)
		out <- outcome{a, err}
	}()
	select { // a asks for b's key first, then b closes the cycle
	case <-aSent:
	case o := <-out:
		t.Fatalf("a's LockKeys returned %v before sending a lock request", o.err)
	case <-ctx.Done():
		t.Fatalf("a sent no lock request: %v", ctx.Err())
	}
	go func() {
		_, err := lockRetrying(ctx, b, tikv.LockOptions{}, k1)
		out <- outcome{b, err}
	}()
	victim := <-out
	var dl *tikv.DeadlockError
	if !errors.As(victim.err, &dl) || !errors.Is(victim.err, tikv.ErrDeadlock) || !tikv.IsRetryable(victim.err) {
		t.Fatalf("first LockKeys to return: %v, want a retryable *DeadlockError", victim.err)
	}
	if dl.StartTS != victim.txn.StartTS() || len(dl.WaitChain) == 0 {
		t.Errorf("deadlock %+v: want the victim's start ts %d and a wait chain", dl, victim.txn.StartTS())
	}
	if err := victim.txn.Rollback(ctx); err != nil {
		t.Fatalf("victim rollback: %v", err)
	}
	survivor := <-out
	if survivor.err != nil {
		t.Fatalf("survivor LockKeys: %v (both failed)", survivor.err)
	}
	_ = survivor.txn.Set(k1, []byte("survivor"))
	_ = survivor.txn.Set(k2, []byte("survivor"))
	if err := survivor.txn.Commit(ctx); err != nil {
		t.Fatalf("survivor commit: %v", err)
	}
	mustCommitted(t, ctx, tc, k1, "survivor")
	mustCommitted(t, ctx, tc, k2, "survivor")
}

// TestTxnLockWaitTimeout: a lock request on a held key fails with the
// typed lock-wait-timeout error after its wait timeout, or at once with
// *KeyIsLockedError under NoWait; the holder is unaffected and commits.
func TestTxnLockWaitTimeout(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	key := ks.key("held")
	holder, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.LockKeys(ctx, tikv.LockOptions{}, key); err != nil {
		t.Fatal(err)
	}
	waiter, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	const wait = 300 * time.Millisecond
	start := time.Now()
	_, err = waiter.LockKeys(ctx, tikv.LockOptions{WaitTimeout: wait}, key)
	var lwt *tikv.LockWaitTimeoutError
	if !errors.As(err, &lwt) || !errors.Is(err, tikv.ErrLockWaitTimeout) {
		t.Fatalf("LockKeys on a held key: %v, want *LockWaitTimeoutError", err)
	}
	if took := time.Since(start); took < wait {
		t.Errorf("lock wait timed out after %v, before its %v timeout", took, wait)
	}
	var locked *tikv.KeyIsLockedError
	if _, err := waiter.LockKeys(ctx, tikv.LockOptions{WaitTimeout: tikv.NoWait}, key); !errors.As(err, &locked) || locked.Lock.StartTS != holder.StartTS() {
		t.Fatalf("NoWait LockKeys on a held key: %v, want *KeyIsLockedError naming the holder", err)
	}
	if err := waiter.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	_ = holder.Set(key, []byte("holder"))
	if err := holder.Commit(ctx); err != nil {
		t.Fatalf("holder commit after the waiter gave up: %v", err)
	}
	mustCommitted(t, ctx, tc, key, "holder")
}

// TestTxnAsyncCommitAnd1PC: small transactions commit by async commit and
// by 1PC, with a commit ts above their start ts and at most a timestamp
// taken after the commit (TiKV computes those commit ts as max_ts+1, which
// PD may hand out next), and their data visible at once; a 1PC transaction too
// large for one request falls back to 2PC, and so does an async-commit
// transaction with more keys than async commit allows.
func TestTxnAsyncCommitAnd1PC(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	cases := []struct {
		name string
		opts []tikv.TxnOption
		keys int
		size int // value bytes
		want twopc.Mode
	}{
		{"async-commit", []tikv.TxnOption{tikv.WithAsyncCommit()}, 3, 8, twopc.ModeAsyncCommit},
		{"1pc", []tikv.TxnOption{tikv.With1PC()}, 3, 8, twopc.Mode1PC},
		{"pessimistic-1pc", []tikv.TxnOption{tikv.WithPessimistic(), tikv.With1PC()}, 2, 8, twopc.Mode1PC},
		// Two prewrite batches (over twopc.DefaultBatchSize bytes in one
		// region): 1PC needs one request.
		{"1pc-too-large", []tikv.TxnOption{tikv.With1PC()}, 24, 1024, twopc.Mode2PC},
		// More keys than twopc.DefaultAsyncCommitKeys.
		{"async-commit-too-many-keys", []tikv.TxnOption{tikv.WithAsyncCommit()}, twopc.DefaultAsyncCommitKeys + 1, 4, twopc.Mode2PC},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hooked tikv.CommitInfo
			txn, err := tc.Begin(ctx, append(c.opts, tikv.WithCommitHook(func(i tikv.CommitInfo) { hooked = i }))...)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([][]byte, c.keys)
			for i := range keys {
				keys[i] = ks.key(fmt.Sprintf("%s/%04d", c.name, i))
				if txn.IsPessimistic() {
					if _, err := txn.LockKeys(ctx, tikv.LockOptions{}, keys[i]); err != nil {
						t.Fatalf("LockKeys: %v", err)
					}
				}
				if err := txn.Set(keys[i], bytes.Repeat([]byte{'a' + byte(i%26)}, c.size)); err != nil {
					t.Fatal(err)
				}
			}
			if err := txn.Commit(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			after, err := tc.CurrentTS(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if txn.CommitMode() != c.want || hooked.Mode != c.want {
				t.Errorf("committed by %v (hook: %v), want %v", txn.CommitMode(), hooked.Mode, c.want)
			}
			if cts := txn.CommitTS(); cts <= txn.StartTS() || cts > after || hooked.CommitTS != cts || hooked.Keys != c.keys {
				t.Errorf("commit ts %d (hook %+v): want it above start ts %d and at most %d taken after, and %d keys",
					cts, hooked, txn.StartTS(), after, c.keys)
			}
			// Visible at once at a fresh snapshot (async commit's secondaries
			// may still be committing: the read resolves their locks), and
			// not at the start ts.
			snap, err := tc.Snapshot(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			m, err := snap.BatchGet(ctx, keys)
			if err != nil || len(m) != len(keys) {
				t.Fatalf("BatchGet after commit: %d of %d keys, %v", len(m), len(keys), err)
			}
			old, err := tc.Snapshot(ctx, txn.StartTS())
			if err != nil {
				t.Fatal(err)
			}
			if v, err := old.Get(ctx, keys[0]); !errors.Is(err, tikv.ErrNotFound) {
				t.Errorf("Get at the start ts = %q, %v; want ErrNotFound", v, err)
			}
		})
	}
}

// TestTxnSnapshotReadAtOldTS: a key written twice reads as nothing below
// the first commit, the first value between the commits and the second at
// and after the second commit, by Get, BatchGet and Iter.
func TestTxnSnapshotReadAtOldTS(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	key, other := ks.key("a"), ks.key("b")
	c1 := commitValue(t, ctx, tc, key, "v1")
	between, err := tc.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn, _ := tc.Begin(ctx)
	_ = txn.Set(key, []byte("v2"))
	_ = txn.Set(other, []byte("w2"))
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	c2 := txn.CommitTS()
	for _, r := range []struct {
		ts   tikv.Timestamp
		want map[string]string
	}{
		{c1 - 1, map[string]string{}},
		{c1, map[string]string{string(key): "v1"}},
		{between, map[string]string{string(key): "v1"}},
		{c2 - 1, map[string]string{string(key): "v1"}},
		{c2, map[string]string{string(key): "v2", string(other): "w2"}},
	} {
		snap, err := tc.Snapshot(ctx, r.ts)
		if err != nil {
			t.Fatalf("Snapshot(%d): %v", r.ts, err)
		}
		if snap.TS() != r.ts {
			t.Fatalf("snapshot ts %d, want %d", snap.TS(), r.ts)
		}
		v, err := snap.Get(ctx, key)
		if want, ok := r.want[string(key)]; (ok && (err != nil || string(v) != want)) || (!ok && !errors.Is(err, tikv.ErrNotFound)) {
			t.Errorf("Get at %d = %q, %v; want %q", r.ts, v, err, want)
		}
		m, err := snap.BatchGet(ctx, [][]byte{key, other})
		if err != nil || len(m) != len(r.want) {
			t.Errorf("BatchGet at %d = %q, %v; want %q", r.ts, m, err, r.want)
		}
		got := map[string]string{}
		for kv, err := range snap.Iter(ctx, ks.prefix, ks.end()) {
			if err != nil {
				t.Fatalf("Iter at %d: %v", r.ts, err)
			}
			got[string(kv.Key)] = string(kv.Value)
		}
		if fmt.Sprint(got) != fmt.Sprint(r.want) {
			t.Errorf("Iter at %d = %q, want %q", r.ts, got, r.want)
		}
	}
	// A transaction begun at the old ts reads the old value too, and its
	// write conflicts with the newer commit.
	old, err := tc.Begin(ctx, tikv.WithStartTS(between))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := old.Get(ctx, key); err != nil || string(v) != "v1" {
		t.Fatalf("Get in a txn at %d = %q, %v; want v1", between, v, err)
	}
	_ = old.Set(key, []byte("late"))
	if err := old.Commit(ctx); !errors.Is(err, tikv.ErrWriteConflict) {
		t.Fatalf("commit of a txn begun before the newer commit: %v, want a write conflict", err)
	}
}

// TestTxnStaleRead: a stale read at an explicit old ts, and one at a
// staleness (start ts = now - d), see the value committed before their ts
// and not the one committed after; a bounded-staleness read sees one of
// the two committed values, whichever its ts covers. Stale-read
// transactions refuse writes.
func TestTxnStaleRead(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	key := ks.key("stale")
	const staleness = 1500 * time.Millisecond

	// The exact form.
	c1 := commitValue(t, ctx, tc, key, "v1")
	between, err := tc.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2 := commitValue(t, ctx, tc, key, "v2")
	at, err := tc.Begin(ctx, tikv.WithStartTS(between), tikv.WithStaleRead())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := at.Get(ctx, key); err != nil || string(v) != "v1" {
		t.Fatalf("stale read at %d (commits at %d and %d) = %q, %v; want v1", between, c1, c2, v, err)
	}
	if err := at.Set(key, []byte("x")); !errors.Is(err, tikv.ErrReadOnly) {
		t.Fatalf("Set in a stale-read txn: %v, want ErrReadOnly", err)
	}
	_ = at.Rollback(ctx)

	// The staleness form: its ts must fall between two commits, so the
	// second commit waits until a staleness read's ts has passed the first
	// (a condition on the cluster's clock, bounded by ctx). A machine so
	// slow that the read's ts also passes the second commit tries again.
	for attempt := 1; ; attempt++ {
		c1 := commitValue(t, ctx, tc, key, fmt.Sprintf("old%d", attempt))
		eventually(t, ctx, "a staleness read's ts passes the first commit", func(ctx context.Context) error {
			txn, err := tc.Begin(ctx, tikv.WithStaleness(staleness))
			if err != nil {
				return err
			}
			defer func() { _ = txn.Rollback(ctx) }()
			if txn.StartTS() <= c1 {
				return fmt.Errorf("start ts %d not above %d yet", txn.StartTS(), c1)
			}
			return nil
		})
		c2 := commitValue(t, ctx, tc, key, "new")
		txn, err := tc.Begin(ctx, tikv.WithStaleness(staleness))
		if err != nil {
			t.Fatal(err)
		}
		if !txn.IsReadOnly() || txn.StartTS() <= c1 {
			t.Fatalf("staleness txn: read-only %v, start ts %d, want read-only above %d", txn.IsReadOnly(), txn.StartTS(), c1)
		}
		if txn.StartTS() >= c2 {
			_ = txn.Rollback(ctx)
			if attempt == 3 {
				t.Fatalf("a staleness read %v old never began before a commit made just before it", staleness)
			}
			t.Logf("attempt %d: the staleness read began at %d, after the commit at %d; trying again", attempt, txn.StartTS(), c2)
			continue
		}
		if v, err := txn.Get(ctx, key); err != nil || string(v) != fmt.Sprintf("old%d", attempt) {
			t.Fatalf("staleness read at %d (commits at %d and %d) = %q, %v; want old%d", txn.StartTS(), c1, c2, v, err, attempt)
		}
		_ = txn.Rollback(ctx)
		break
	}

	// Bounded staleness: the ts is no older than now - d and no newer than
	// now; the value is the one committed at or before it.
	final := commitValue(t, ctx, tc, key, "final")
	before, err := tc.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn, err := tc.Begin(ctx, tikv.WithBoundedStaleness(staleness))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = txn.Rollback(ctx) }()
	after, err := tc.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ts := txn.StartTS(); ts > after || ts.Physical() < before.Physical()-staleness.Milliseconds() {
		t.Fatalf("bounded staleness start ts %d: want within %v before %d, at most %d", ts, staleness, before, after)
	}
	v, err := txn.Get(ctx, key)
	if err != nil {
		t.Fatalf("bounded staleness read: %v", err)
	}
	if txn.StartTS() >= final && string(v) != "final" || txn.StartTS() < final && string(v) == "final" {
		t.Fatalf("bounded staleness read at %d = %q; the last commit was at %d", txn.StartTS(), v, final)
	}
}

// TestTxnInsertKeyExists: Insert of a present key fails the commit with a
// typed error naming the user key and writes nothing; Insert of an absent
// key (or one deleted earlier) succeeds.
func TestTxnInsertKeyExists(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	present, absent := ks.key("present"), ks.key("absent")
	commitValue(t, ctx, tc, present, "orig")

	// Optimistic, and pessimistic without LockKeys (committed the
	// optimistic way): the commit reports the key.
	for _, opts := range [][]tikv.TxnOption{nil, {tikv.WithPessimistic()}} {
		txn, err := tc.Begin(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(txn.Insert(present, []byte("dup")), txn.Insert(absent, []byte("new"))); err != nil {
			t.Fatal(err)
		}
		err = txn.Commit(ctx)
		var ke *tikv.KeyExistsError
		if !errors.As(err, &ke) || !errors.Is(err, tikv.ErrKeyExists) || !bytes.Equal(ke.Key, present) {
			t.Fatalf("Insert of a present key (pessimistic %v): %v, want *KeyExistsError on %q", txn.IsPessimistic(), err, present)
		}
		mustCommitted(t, ctx, tc, present, "orig")
		snap, _ := tc.Snapshot(ctx, 0)
		if v, err := snap.Get(ctx, absent); !errors.Is(err, tikv.ErrNotFound) {
			t.Fatalf("the failed transaction's other insert is visible: %q, %v", v, err)
		}
	}

	// Pessimistic, locking the inserted keys: the lock request asks TiKV
	// to check they are absent, so LockKeys reports the key.
	p, err := tc.Begin(ctx, tikv.WithPessimistic())
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Insert(present, []byte("dup"))
	var ke *tikv.KeyExistsError
	if _, err := p.LockKeys(ctx, tikv.LockOptions{}, present); !errors.As(err, &ke) || !bytes.Equal(ke.Key, present) {
		t.Fatalf("LockKeys of an inserted present key: %v, want *KeyExistsError on %q", err, present)
	}
	if err := p.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	mustCommitted(t, ctx, tc, present, "orig")

	txn, _ := tc.Begin(ctx)
	_ = txn.Insert(absent, []byte("new"))
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("Insert of an absent key: %v", err)
	}
	mustCommitted(t, ctx, tc, absent, "new")

	del, _ := tc.Begin(ctx)
	_ = del.Delete(present)
	if err := del.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := tc.Begin(ctx)
	_ = again.Insert(present, []byte("reborn"))
	if err := again.Commit(ctx); err != nil {
		t.Fatalf("Insert of a deleted key: %v", err)
	}
	mustCommitted(t, ctx, tc, present, "reborn")
}
