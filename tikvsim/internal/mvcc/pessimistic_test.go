package mvcc_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

func lockReq(primary string, start, forUpdate uint64, keys ...string) *kvrpcpb.PessimisticLockRequest {
	req := &kvrpcpb.PessimisticLockRequest{
		PrimaryLock: []byte(primary), StartVersion: start, ForUpdateTs: forUpdate, LockTtl: 3000,
	}
	for _, k := range keys {
		req.Mutations = append(req.Mutations, &kvrpcpb.Mutation{Op: kvrpcpb.Op_PessimisticLock, Key: []byte(k)})
	}
	return req
}

func mustLock(t testing.TB, e *mvcc.Engine, req *kvrpcpb.PessimisticLockRequest) *kvrpcpb.PessimisticLockResponse {
	t.Helper()
	r := e.KvPessimisticLock(t.Context(), req)
	if len(r.Errors) > 0 {
		t.Fatalf("pessimistic lock: %v", r.Errors)
	}
	return r
}

// goLock runs a lock request in its own goroutine.
func goLock(ctx context.Context, e *mvcc.Engine, req *kvrpcpb.PessimisticLockRequest) <-chan *kvrpcpb.PessimisticLockResponse {
	ch := make(chan *kvrpcpb.PessimisticLockResponse, 1)
	go func() { ch <- e.KvPessimisticLock(ctx, req) }()
	return ch
}

func TestScenario_PessimisticTxn(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "k", "v0", 1, 2)
	r := mustLock(t, e, func() *kvrpcpb.PessimisticLockRequest {
		req := lockReq("k", 10, 10, "k", "missing")
		req.ReturnValues = true
		return req
	}())
	if string(r.Values[0]) != "v0" || len(r.Values[1]) != 0 || r.NotFounds[0] || !r.NotFounds[1] {
		t.Fatalf("return values: %q %v", r.Values, r.NotFounds)
	}
	// Readers ignore pessimistic locks.
	mustGet(t, e, "k", 100, "v0")
	pw := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations:   []*kvrpcpb.Mutation{putMut("k", "v1"), putMut("missing", "m")},
		PrimaryLock: []byte("k"), StartVersion: 10, ForUpdateTs: 10, LockTtl: 3000,
		PessimisticActions: []kvrpcpb.PrewriteRequest_PessimisticAction{
			kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK, kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK,
		},
	})
	if len(pw.Errors) > 0 {
		t.Fatal(pw.Errors)
	}
	mustCommit(t, e, 10, 12, "k", "missing")
	mustGet(t, e, "missing", 12, "m")
	mustGet(t, e, "k", 12, "v1")
	mustInvariants(t, e)
}

func TestScenario_LockWaitWakeUpNormal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		req := lockReq("k2", 20, 20, "k")
		req.WaitTimeout = 5000
		got := goLock(t.Context(), e, req)
		synctest.Wait()
		if n := e.WaitingCount([]byte("k")); n != 1 {
			t.Fatalf("waiters = %d, want 1", n)
		}
		mustPessimisticPrewrite(t, e, "k", 10, 10, putMut("k", "a"))
		if n := e.WaitingCount([]byte("k")); n != 1 {
			t.Fatalf("prewrite of the same txn must not wake waiters; waiters = %d", n)
		}
		mustCommit(t, e, 10, 15, "k")
		r := <-got
		c := r.Errors[0].GetConflict()
		if c == nil || c.Reason != kvrpcpb.WriteConflict_PessimisticRetry || c.ConflictTs != 10 || c.ConflictCommitTs != 15 || string(c.Primary) != "k2" {
			t.Fatalf("woken waiter: %v", r.Errors)
		}
		mustInvariants(t, e)
	})
}

func TestScenario_LockWaitWakeUpForceLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		req := lockReq("k", 20, 12, "k")
		req.WaitTimeout = 5000
		req.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
		got := goLock(t.Context(), e, req)
		synctest.Wait()
		mustPessimisticPrewrite(t, e, "k", 10, 10, putMut("k", "a"))
		mustCommit(t, e, 10, 15, "k")
		r := <-got
		if len(r.Errors) > 0 || len(r.Results) != 1 {
			t.Fatalf("force lock: %v", r)
		}
		res := r.Results[0]
		if res.Type != kvrpcpb.PessimisticLockKeyResultType_LockResultLockedWithConflict || res.LockedWithConflictTs != 15 ||
			string(res.Value) != "a" || !res.Existence {
			t.Fatalf("force lock result: %v", res)
		}
		sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100})
		if len(sl.Locks) != 1 || sl.Locks[0].LockVersion != 20 || sl.Locks[0].LockForUpdateTs != 15 {
			t.Fatalf("lock after force lock: %v", sl.Locks)
		}
	})
}

func TestScenario_LockWaitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		req := lockReq("k", 20, 20, "k")
		req.WaitTimeout = 100
		r := e.KvPessimisticLock(t.Context(), req)
		li := r.Errors[0].GetLocked()
		if li == nil || li.LockVersion != 10 || li.DurationToLastUpdateMs != 100 {
			t.Fatalf("timeout: %v", r.Errors)
		}
		// A wait above the 1 s ceiling is capped.
		req.WaitTimeout = 60_000
		r = e.KvPessimisticLock(t.Context(), req)
		if li := r.Errors[0].GetLocked(); li == nil || li.DurationToLastUpdateMs != 1000 {
			t.Fatalf("capped timeout: %v", r.Errors)
		}
		if n := e.WaitingCount([]byte("k")); n != 0 {
			t.Fatalf("waiters left: %d", n)
		}
	})
}

func TestScenario_LockWaitCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		ctx, cancel := context.WithCancel(t.Context())
		got := goLock(ctx, e, lockReq("k", 20, 20, "k"))
		synctest.Wait()
		cancel()
		r := <-got
		if r.Errors[0].GetAbort() == "" {
			t.Fatalf("canceled wait: %v", r.Errors)
		}
		if n := e.WaitingCount([]byte("k")); n != 0 {
			t.Fatalf("waiters left: %d", n)
		}
	})
}

func TestScenario_CloseWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mvcc.New(mvcc.Options{})
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		got := goLock(t.Context(), e, lockReq("k", 20, 20, "k"))
		synctest.Wait()
		e.Close()
		e.Close() // idempotent
		if r := <-got; r.Errors[0].GetAbort() == "" {
			t.Fatalf("closed wait: %v", r.Errors)
		}
	})
}

func TestPessimisticLock_Deadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k1", 10, 10, "k1"))
		mustLock(t, e, lockReq("k2", 20, 20, "k2"))
		// Txn 10 waits for k2 (held by 20).
		got := goLock(t.Context(), e, lockReq("k1", 10, 10, "k2"))
		synctest.Wait()
		// Txn 20 asks for k1 (held by 10): a cycle.
		r := e.KvPessimisticLock(t.Context(), lockReq("k2", 20, 20, "k1"))
		d := r.Errors[0].GetDeadlock()
		if d == nil || d.LockTs != 10 || string(d.LockKey) != "k1" || len(d.WaitChain) != 2 {
			t.Fatalf("deadlock: %v", r.Errors)
		}
		if c := d.WaitChain; c[0].Txn != 10 || c[0].WaitForTxn != 20 || string(c[0].Key) != "k2" ||
			c[1].Txn != 20 || c[1].WaitForTxn != 10 || string(c[1].Key) != "k1" || d.DeadlockKeyHash != c[0].KeyHash {
			t.Fatalf("wait chain: %v (hash %d)", c, d.DeadlockKeyHash)
		}
		// The victim rolls back; the waiter is released with a conflict.
		e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 20, ForUpdateTs: 20, Keys: bkeys("k2")})
		if r := <-got; r.Errors[0].GetConflict().GetConflictTs() != 20 {
			t.Fatalf("released waiter: %v", r.Errors)
		}
		// is_first_lock skips detection: with a fresh cycle the request just waits.
		mustLock(t, e, lockReq("k2", 30, 30, "k2"))
		got = goLock(t.Context(), e, lockReq("k1", 30, 30, "k1"))
		synctest.Wait()
		first := lockReq("k1", 10, 10, "k2")
		first.IsFirstLock = true
		first.WaitTimeout = 10
		if r := e.KvPessimisticLock(t.Context(), first); r.Errors[0].GetLocked() == nil {
			t.Fatalf("first lock must not detect deadlocks: %v", r.Errors)
		}
		e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 10, ForUpdateTs: 10})
		<-got
	})
}

func TestScenario_OnePCReleasesPessimisticLockWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, lockReq("k", 10, 10, "k"))
		got := goLock(t.Context(), e, lockReq("k", 20, 20, "k"))
		synctest.Wait()
		e.UpdateMaxTS(30)
		r := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
			Mutations: []*kvrpcpb.Mutation{putMut("k", "v")}, PrimaryLock: []byte("k"), StartVersion: 10, ForUpdateTs: 10,
			LockTtl: 100, TryOnePc: true, PessimisticActions: []kvrpcpb.PrewriteRequest_PessimisticAction{kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK},
		})
		if len(r.Errors) > 0 || r.OnePcCommitTs != 31 {
			t.Fatalf("pessimistic 1pc: %v", r)
		}
		w := <-got
		if c := w.Errors[0].GetConflict(); c == nil || c.ConflictTs != 10 || c.ConflictCommitTs != 31 {
			t.Fatalf("waiter after 1pc: %v", w.Errors)
		}
		mustGet(t, e, "k", 31, "v")
		mustInvariants(t, e)
	})
}
