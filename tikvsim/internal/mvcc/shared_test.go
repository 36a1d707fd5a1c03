package mvcc_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

func sharedLockReq(primary string, start, forUpdate uint64, keys ...string) *kvrpcpb.PessimisticLockRequest {
	req := lockReq(primary, start, forUpdate, keys...)
	for _, m := range req.Mutations {
		m.Op = kvrpcpb.Op_SharedPessimisticLock
	}
	return req
}

func sharedMut(k string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_SharedLock, Key: []byte(k)}
}

// holders returns the start ts of the shared holders a LockInfo lists.
func holders(li *kvrpcpb.LockInfo) []uint64 {
	var out []uint64
	for _, s := range li.GetSharedLockInfos() {
		out = append(out, s.GetLockVersion())
	}
	return out
}

func scanLocks(t *testing.T, e *mvcc.Engine, maxTS uint64) []*kvrpcpb.LockInfo {
	t.Helper()
	return e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: maxTS}).GetLocks()
}

// TestSharedLocksCompatibility: shared with shared is compatible, shared
// with exclusive conflicts both ways, and readers ignore shared locks.
func TestSharedLocksCompatibility(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "k", "v0", 1, 2)
	r := mustLock(t, e, func() *kvrpcpb.PessimisticLockRequest {
		req := sharedLockReq("p10", 10, 10, "k")
		req.ReturnValues = true
		return req
	}())
	if string(r.Values[0]) != "v0" {
		t.Fatalf("shared lock returned %q, want v0", r.Values)
	}
	mustLock(t, e, sharedLockReq("p20", 20, 20, "k"))
	// Locking again in share mode is idempotent.
	mustLock(t, e, sharedLockReq("p20", 20, 20, "k"))
	mustGet(t, e, "k", 100, "v0")

	locks := scanLocks(t, e, 100)
	if len(locks) != 1 || locks[0].GetLockType() != kvrpcpb.Op_SharedLock || len(holders(locks[0])) != 2 {
		t.Fatalf("scan lock = %v, want one SharedLock wrapper with 2 holders", locks)
	}
	if locks := scanLocks(t, e, 15); len(locks) != 1 || len(holders(locks[0])) != 1 || holders(locks[0])[0] != 10 {
		t.Fatalf("scan lock below 15 = %v, want holder 10 only", locks)
	}

	// An exclusive lock of a third txn is blocked by both holders.
	req := lockReq("p30", 30, 30, "k")
	req.WaitTimeout = -1
	resp := e.KvPessimisticLock(t.Context(), req)
	li := resp.GetErrors()[0].GetLocked()
	if li == nil || li.GetLockType() != kvrpcpb.Op_SharedLock || len(holders(li)) != 2 {
		t.Fatalf("exclusive lock over shared holders: %v", resp.GetErrors())
	}
	// The refused exclusive request made the holders shrink-only: a new
	// txn cannot join them, while a holder may lock again.
	late := sharedLockReq("p70", 70, 70, "k")
	late.WaitTimeout = -1
	if resp := e.KvPessimisticLock(t.Context(), late); len(resp.GetErrors()) != 1 || len(holders(resp.GetErrors()[0].GetLocked())) != 2 {
		t.Fatalf("new shared holder on a shrink-only key: %v", resp.GetErrors())
	}
	mustLock(t, e, sharedLockReq("p20", 20, 25, "k"))
	// CheckTxnStatus and TxnHeartBeat on a shared-locked key: PrimaryMismatch.
	if cs := e.KvCheckTxnStatus(t.Context(), &kvrpcpb.CheckTxnStatusRequest{PrimaryKey: []byte("k"), LockTs: 10, CurrentTs: 100}); cs.GetError().GetPrimaryMismatch() == nil {
		t.Fatalf("CheckTxnStatus on a shared key: %v", cs.GetError())
	}
	if hb := e.KvTxnHeartBeat(t.Context(), &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: []byte("k"), StartVersion: 10, AdviseLockTtl: 5000}); hb.GetError().GetPrimaryMismatch() == nil {
		t.Fatalf("TxnHeartBeat on a shared key: %v", hb.GetError())
	}
	// So is an optimistic write.
	pw := prewrite(t, e, "k", 40, putMut("k", "x"))
	if len(pw.GetErrors()) != 1 || pw.GetErrors()[0].GetLocked().GetLockType() != kvrpcpb.Op_SharedLock {
		t.Fatalf("prewrite over shared holders: %v", pw.GetErrors())
	}
	// A holder cannot upgrade to an exclusive lock while another holds it.
	up := lockReq("p10", 10, 10, "k")
	up.WaitTimeout = -1
	if resp := e.KvPessimisticLock(t.Context(), up); resp.GetErrors()[0].GetLocked() == nil {
		t.Fatalf("upgrade with another holder: %v", resp.GetErrors())
	}

	// Shared after exclusive conflicts too.
	mustLock(t, e, lockReq("x", 50, 50, "x"))
	sreq := sharedLockReq("p60", 60, 60, "x")
	sreq.WaitTimeout = -1
	if resp := e.KvPessimisticLock(t.Context(), sreq); resp.GetErrors()[0].GetLocked().GetLockVersion() != 50 {
		t.Fatalf("shared lock over an exclusive lock: %v", resp.GetErrors())
	}
	mustInvariants(t, e)
}

// TestSharedLocksPrewriteCommitRollback: holders prewrite their shared
// keys, one commits (a Lock record, the data unchanged), the other rolls
// back, and the key is free again.
func TestSharedLocksPrewriteCommitRollback(t *testing.T) {
	e := newEngine(t)
	mustPut(t, e, "k", "v0", 1, 2)
	mustLock(t, e, lockReq("p10", 10, 10, "p10"))
	mustLock(t, e, sharedLockReq("p10", 10, 10, "k"))
	mustLock(t, e, sharedLockReq("p20", 20, 20, "k"))

	// Prewrite without the shared pessimistic lock fails.
	pw := e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{sharedMut("k")}, PrimaryLock: []byte("p30"), StartVersion: 30, ForUpdateTs: 30, LockTtl: 3000,
		PessimisticActions: []kvrpcpb.PrewriteRequest_PessimisticAction{kvrpcpb.PrewriteRequest_DO_PESSIMISTIC_CHECK},
	})
	if len(pw.GetErrors()) != 1 || !strings.Contains(pw.GetErrors()[0].GetAbort(), "PessimisticLockNotFound") {
		t.Fatalf("shared prewrite without a lock: %v", pw.GetErrors())
	}

	mustPessimisticPrewrite(t, e, "p10", 10, 10, putMut("p10", "a"), sharedMut("k"))
	// A duplicate prewrite succeeds without change.
	mustPessimisticPrewrite(t, e, "p10", 10, 10, putMut("p10", "a"), sharedMut("k"))
	locks := scanLocks(t, e, 100)
	var kinds []kvrpcpb.Op
	for _, li := range locks {
		if string(li.GetKey()) == "k" {
			for _, s := range li.GetSharedLockInfos() {
				kinds = append(kinds, s.GetLockType())
			}
		}
	}
	if len(kinds) != 2 || kinds[0] != kvrpcpb.Op_SharedLock || kinds[1] != kvrpcpb.Op_SharedPessimisticLock {
		t.Fatalf("holder types %v, want [SharedLock SharedPessimisticLock]", kinds)
	}

	mustCommit(t, e, 10, 15, "p10", "k")
	mustGet(t, e, "k", 100, "v0")
	mustGet(t, e, "p10", 100, "a")
	// Committing again is idempotent: the Lock record at 15 proves it.
	mustCommit(t, e, 10, 15, "k")

	// The remaining holder still blocks writers.
	pw = prewrite(t, e, "k", 40, putMut("k", "x"))
	if len(pw.GetErrors()) != 1 || len(holders(pw.GetErrors()[0].GetLocked())) != 1 {
		t.Fatalf("prewrite over the remaining holder: %v", pw.GetErrors())
	}
	e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 20, ForUpdateTs: 20, Keys: bkeys("k")})
	if locks := scanLocks(t, e, 100); len(locks) != 0 {
		t.Fatalf("locks left: %v", locks)
	}
	mustPut(t, e, "k", "v1", 50, 55)
	mustGet(t, e, "k", 100, "v1")
	mustInvariants(t, e)
}

// TestSharedLocksResolve: ResolveLock over a range finds each holder of a
// shared key and commits or rolls back that holder only.
func TestSharedLocksResolve(t *testing.T) {
	e := newEngine(t)
	mustLock(t, e, sharedLockReq("p10", 10, 10, "k"))
	mustLock(t, e, sharedLockReq("p20", 20, 20, "k"))
	mustPessimisticPrewrite(t, e, "p10", 10, 10, sharedMut("k"))
	r := e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 12})
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if locks := scanLocks(t, e, 100); len(locks) != 1 || len(holders(locks[0])) != 1 || holders(locks[0])[0] != 20 {
		t.Fatalf("after resolving 10: %v", locks)
	}
	r = e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 20})
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if locks := scanLocks(t, e, 100); len(locks) != 0 {
		t.Fatalf("after rolling back 20: %v", locks)
	}
	mustInvariants(t, e)
}

// TestSharedLocksWakeUp: an exclusive waiter is woken only when the last
// shared holder leaves, then takes the lock (force-lock mode).
func TestSharedLocksWakeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t)
		mustLock(t, e, sharedLockReq("p10", 10, 10, "k"))
		mustLock(t, e, sharedLockReq("p20", 20, 20, "k"))
		req := lockReq("p30", 30, 30, "k")
		req.WaitTimeout = 5000
		req.WakeUpMode = kvrpcpb.PessimisticLockWakeUpMode_WakeUpModeForceLock
		got := goLock(t.Context(), e, req)
		synctest.Wait()
		if n := e.WaitingCount([]byte("k")); n != 1 {
			t.Fatalf("waiters = %d, want 1", n)
		}
		e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 10, ForUpdateTs: 10, Keys: bkeys("k")})
		synctest.Wait()
		if n := e.WaitingCount([]byte("k")); n != 1 {
			t.Fatalf("waiter woken while a holder remains; waiters = %d", n)
		}
		e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 20, ForUpdateTs: 20, Keys: bkeys("k")})
		r := <-got
		if len(r.GetErrors()) != 0 || r.GetResults()[0].GetType() != kvrpcpb.PessimisticLockKeyResultType_LockResultNormal {
			t.Fatalf("woken waiter: %v %v", r.GetErrors(), r.GetResults())
		}
		locks := scanLocks(t, e, 100)
		if len(locks) != 1 || locks[0].GetLockType() != kvrpcpb.Op_PessimisticLock || locks[0].GetLockVersion() != 30 {
			t.Fatalf("locks after wake-up: %v", locks)
		}
		mustInvariants(t, e)
	})
}
