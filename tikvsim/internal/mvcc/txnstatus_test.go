package mvcc_test

import (
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim/internal/mvcc"
)

func TestCheckTxnStatus_Outcomes(t *testing.T) {
	start := ts(1000, 0)
	alive, expired := ts(1500, 0), ts(9000, 0) // lock ttl is 3000 ms
	lockPrimary := func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "p", start, putMut("p", "1"), putMut("s", "2")) }
	tests := []struct {
		name      string
		setup     func(t *testing.T, e *mvcc.Engine)
		req       *kvrpcpb.CheckTxnStatusRequest
		errCheck  func(*kvrpcpb.KeyError) bool
		action    kvrpcpb.Action
		locked    bool
		commitTS  uint64
		lockInfo  bool
		afterLock bool // the primary still holds a lock afterwards
	}{
		{name: "alive lock", setup: lockPrimary, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive},
			action: kvrpcpb.Action_NoAction, locked: true, lockInfo: true, afterLock: true},
		{name: "current_ts 0 never expires", setup: lockPrimary, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: 0},
			action: kvrpcpb.Action_NoAction, locked: true, lockInfo: true, afterLock: true},
		{name: "TTLExpireRollback", setup: lockPrimary, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: expired},
			action: kvrpcpb.Action_TTLExpireRollback},
		{name: "MinCommitTSPushed", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("p", "1")}, PrimaryLock: []byte("p"), StartVersion: start, LockTtl: 3000, MinCommitTs: start + 1})
		}, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, CallerStartTs: start + 10},
			action: kvrpcpb.Action_MinCommitTSPushed, locked: true, lockInfo: true, afterLock: true},
		{name: "caller max ts reports pushed", setup: lockPrimary, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, CallerStartTs: ^uint64(0)},
			action: kvrpcpb.Action_MinCommitTSPushed, locked: true, lockInfo: true, afterLock: true},
		{name: "committed", setup: func(t *testing.T, e *mvcc.Engine) { mustPut(t, e, "p", "1", start, start+5) },
			req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive}, commitTS: start + 5},
		{name: "rolled back", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: start, Keys: bkeys("p")})
		}, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive}},
		{name: "TxnNotFound", req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive},
			errCheck: func(ke *kvrpcpb.KeyError) bool { return ke.GetTxnNotFound().GetStartTs() == start }},
		{name: "LockNotExistRollback", req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, RollbackIfNotExist: true},
			action: kvrpcpb.Action_LockNotExistRollback},
		{name: "LockNotExistDoNothing", req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, RollbackIfNotExist: true, ResolvingPessimisticLock: true},
			action: kvrpcpb.Action_LockNotExistDoNothing},
		{name: "TTLExpirePessimisticRollback", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("p", start, start, "p")) },
			req:    &kvrpcpb.CheckTxnStatusRequest{CurrentTs: expired, ResolvingPessimisticLock: true},
			action: kvrpcpb.Action_TTLExpirePessimisticRollback},
		{name: "expired pessimistic primary rolled back", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("p", start, start, "p")) },
			req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: expired}, action: kvrpcpb.Action_TTLExpireRollback},
		{name: "PrimaryMismatch", setup: func(t *testing.T, e *mvcc.Engine) { mustPrewrite(t, e, "other", start, putMut("p", "1")) },
			req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, VerifyIsPrimary: true},
			errCheck: func(ke *kvrpcpb.KeyError) bool {
				return ke.GetPrimaryMismatch().GetLockInfo().GetLockVersion() == start
			},
			afterLock: true},
		{name: "stale pessimistic lock with moved primary", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("other", start, start, "p")) },
			req:    &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, VerifyIsPrimary: true, RollbackIfNotExist: true},
			action: kvrpcpb.Action_LockNotExistRollback},
		{name: "stale pessimistic lock without rollback_if_not_exist", setup: func(t *testing.T, e *mvcc.Engine) { mustLock(t, e, lockReq("other", start, start, "p")) },
			req:       &kvrpcpb.CheckTxnStatusRequest{CurrentTs: alive, VerifyIsPrimary: true},
			errCheck:  func(ke *kvrpcpb.KeyError) bool { return ke.GetTxnNotFound() != nil },
			afterLock: true},
		{name: "async commit lock is not rolled back", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("p", "1")}, PrimaryLock: []byte("p"), StartVersion: start, LockTtl: 3000, UseAsyncCommit: true})
		}, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: expired}, action: kvrpcpb.Action_NoAction, locked: true, lockInfo: true, afterLock: true},
		{name: "force_sync_commit treats async lock as normal", setup: func(t *testing.T, e *mvcc.Engine) {
			e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("p", "1")}, PrimaryLock: []byte("p"), StartVersion: start, LockTtl: 3000, UseAsyncCommit: true})
		}, req: &kvrpcpb.CheckTxnStatusRequest{CurrentTs: expired, ForceSyncCommit: true}, action: kvrpcpb.Action_TTLExpireRollback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			tt.req.PrimaryKey, tt.req.LockTs = []byte("p"), start
			r := e.KvCheckTxnStatus(t.Context(), tt.req)
			if tt.errCheck != nil {
				if !tt.errCheck(r.Error) {
					t.Fatalf("error = %v", r.Error)
				}
			} else if r.Error != nil {
				t.Fatalf("error = %v", r.Error)
			} else if r.Action != tt.action || (r.LockTtl > 0) != tt.locked || r.CommitVersion != tt.commitTS || (r.LockInfo != nil) != tt.lockInfo {
				t.Fatalf("response = %v", r)
			}
			sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: ^uint64(0) - 1, StartKey: []byte("p"), EndKey: []byte("p\x00")})
			if (len(sl.Locks) > 0) != tt.afterLock {
				t.Fatalf("locks on primary afterwards: %v", sl.Locks)
			}
			if e.MaxTS() < tt.req.CurrentTs && tt.req.CurrentTs != ^uint64(0) {
				t.Fatalf("max ts %d not raised to current ts %d", e.MaxTS(), tt.req.CurrentTs)
			}
			mustInvariants(t, e)
		})
	}
}

func TestCheckSecondaryLocks_Outcomes(t *testing.T) {
	e := newEngine(t)
	mustPrewrite(t, e, "p", 10, putMut("a", "1"))
	mustPut(t, e, "b", "1", 20, 25)
	mustLock(t, e, lockReq("p", 30, 30, "c"))
	tests := []struct {
		name     string
		start    uint64
		keys     []string
		locks    int
		commitTS uint64
	}{
		{"all locked", 10, []string{"a"}, 1, 0},
		{"committed", 20, []string{"b"}, 0, 25},
		{"pessimistic lock removed and rolled back", 30, []string{"c"}, 0, 0},
		{"missing key rolled back and stops", 10, []string{"zz", "a"}, 0, 0},
	}
	for _, tt := range tests {
		r := e.KvCheckSecondaryLocks(t.Context(), &kvrpcpb.CheckSecondaryLocksRequest{Keys: bkeys(tt.keys...), StartVersion: tt.start})
		if r.Error != nil || len(r.Locks) != tt.locks || r.CommitTs != tt.commitTS {
			t.Fatalf("%s: %v", tt.name, r)
		}
	}
	// The missing key got a protected rollback: a late prewrite fails.
	if r := prewrite(t, e, "p", 10, putMut("zz", "1")); first(r.Errors).GetConflict().GetReason() != kvrpcpb.WriteConflict_SelfRolledBack {
		t.Fatalf("late prewrite after CheckSecondaryLocks: %v", r.Errors)
	}
	mustInvariants(t, e)
}

func TestRollback_ProtectedCollapsedOverlapped(t *testing.T) {
	e := newEngine(t)
	// Non-protected rollbacks collapse: only the newest survives.
	for _, s := range []uint64{10, 20, 30} {
		e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: s, Keys: bkeys("k")})
	}
	// The collapsed rollback at 10 no longer protects txn 10 (it was non-protected anyway):
	// an optimistic prewrite of txn 10 still conflicts with the newer rollback at 30.
	if r := prewrite(t, e, "k", 10, putMut("k", "1")); first(r.Errors).GetConflict().GetConflictCommitTs() != 30 {
		t.Fatalf("prewrite below rollbacks: %v", r.Errors)
	}
	// Rollback of txn 40 whose ts equals another txn's commit ts overlaps.
	mustPut(t, e, "o", "v", 35, 40)
	e.KvCheckTxnStatus(t.Context(), &kvrpcpb.CheckTxnStatusRequest{PrimaryKey: []byte("o"), LockTs: 40, RollbackIfNotExist: true})
	if r := e.KvCheckTxnStatus(t.Context(), &kvrpcpb.CheckTxnStatusRequest{PrimaryKey: []byte("o"), LockTs: 40}); r.Error != nil || r.CommitVersion != 0 || r.LockTtl != 0 {
		t.Fatalf("txn 40 must read as rolled back through the overlapped flag: %v", r)
	}
	mustGet(t, e, "o", 41, "v") // the overlapped commit record still serves reads
	// A protected rollback of T on a key that holds async lock of T2 marks T2's lock.
	e.KvPrewrite(t.Context(), &kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{putMut("m", "v")}, PrimaryLock: []byte("m"), StartVersion: 50, LockTtl: 10, UseAsyncCommit: true})
	e.KvCleanup(t.Context(), &kvrpcpb.CleanupRequest{Key: []byte("m"), StartVersion: 60})
	mustCommit(t, e, 50, 60, "m")
	if r := e.KvCheckTxnStatus(t.Context(), &kvrpcpb.CheckTxnStatusRequest{PrimaryKey: []byte("m"), LockTs: 60}); r.CommitVersion != 0 || r.Error != nil {
		t.Fatalf("txn 60 must stay rolled back after 50 committed at 60: %v", r)
	}
	mustGet(t, e, "m", 60, "v")
	mustInvariants(t, e)
}

func TestResolveLock_BatchedAndScan(t *testing.T) {
	e := newEngine(t)
	mustPrewrite(t, e, "a", 10, putMut("a", "1"), putMut("b", "1"))
	mustPrewrite(t, e, "c", 20, putMut("c", "2"))
	mustLock(t, e, lockReq("d", 30, 30, "d"))
	r := e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{TxnInfos: []*kvrpcpb.TxnInfo{{Txn: 10, Status: 15}, {Txn: 20, Status: 0}, {Txn: 30, Status: 35}}})
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	mustGet(t, e, "b", 15, "1")
	mustNotFound(t, e, "c", 100)
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 0 {
		t.Fatalf("locks left: %v", sl.Locks)
	}
	// Lite resolve of listed keys.
	mustPrewrite(t, e, "x", 40, putMut("x", "1"), putMut("y", "1"))
	if r := e.KvResolveLock(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 40, CommitVersion: 45, Keys: bkeys("x")}); r.Error != nil {
		t.Fatal(r.Error)
	}
	mustGet(t, e, "x", 45, "1")
	if g := get(t, e, "y", 45); g.Error.GetLocked() == nil {
		t.Fatalf("unlisted key resolved: %v", g)
	}
	// ScanLock honours range, limit and max_version.
	mustPrewrite(t, e, "z", 50, putMut("z", "1"))
	sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 45, StartKey: []byte("a"), EndKey: []byte("zz"), Limit: 5})
	if len(sl.Locks) != 1 || string(sl.Locks[0].Key) != "y" {
		t.Fatalf("scan lock: %v", sl.Locks)
	}
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100, Limit: 1}); len(sl.Locks) != 1 {
		t.Fatalf("scan lock limit: %v", sl.Locks)
	}
	mustInvariants(t, e)
}

func TestTxnHeartBeatAndPessimisticRollback(t *testing.T) {
	e := newEngine(t)
	mustLock(t, e, lockReq("p", 10, 12, "p", "s"))
	hb := func(advise uint64) *kvrpcpb.TxnHeartBeatResponse {
		return e.KvTxnHeartBeat(t.Context(), &kvrpcpb.TxnHeartBeatRequest{PrimaryLock: []byte("p"), StartVersion: 10, AdviseLockTtl: advise})
	}
	if r := hb(5000); r.Error != nil || r.LockTtl != 5000 {
		t.Fatalf("heart beat raise: %v", r)
	}
	if r := hb(100); r.LockTtl != 5000 {
		t.Fatalf("heart beat never lowers the ttl: %v", r)
	}
	// for_update_ts below the lock's leaves it alone.
	e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 10, ForUpdateTs: 11, Keys: bkeys("p", "s")})
	if sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}); len(sl.Locks) != 2 {
		t.Fatalf("locks after low for_update_ts rollback: %v", sl.Locks)
	}
	// Another txn's lock and prewrite locks are never touched.
	mustPrewrite(t, e, "q", 20, putMut("q", "1"))
	e.KVPessimisticRollback(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 10, ForUpdateTs: 12})
	sl := e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100})
	if len(sl.Locks) != 1 || string(sl.Locks[0].Key) != "q" {
		t.Fatalf("locks after region-wide pessimistic rollback: %v", sl.Locks)
	}
	// No rollback record was written: txn 10 may lock again.
	mustLock(t, e, lockReq("p", 10, 13, "p"))
	// BatchRollback beside another txn's lock leaves that lock in place.
	if r := e.KvBatchRollback(t.Context(), &kvrpcpb.BatchRollbackRequest{StartVersion: 30, Keys: bkeys("q")}); r.Error != nil {
		t.Fatal(r.Error)
	}
	if g := get(t, e, "q", 100); g.Error.GetLocked().GetLockVersion() != 20 {
		t.Fatalf("foreign lock disturbed: %v", g)
	}
	mustInvariants(t, e)
}

func TestResolveLockInRange(t *testing.T) {
	e := newEngine(t)
	mustPrewrite(t, e, "a", 10, putMut("a", "1"), putMut("m", "1"), putMut("z", "1"))
	mustLock(t, e, lockReq("b", 20, 20, "b", "y"))
	if r := e.KvResolveLockInRange(t.Context(), &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 15}, []byte("b"), []byte("n")); r.Error != nil {
		t.Fatal(r.Error)
	}
	e.KVPessimisticRollbackInRange(t.Context(), &kvrpcpb.PessimisticRollbackRequest{StartVersion: 20, ForUpdateTs: 20}, nil, []byte("c"))
	var got []string
	for _, l := range e.KvScanLock(t.Context(), &kvrpcpb.ScanLockRequest{MaxVersion: 100}).Locks {
		got = append(got, string(l.Key))
	}
	if strings.Join(got, ",") != "a,y,z" {
		t.Fatalf("locks left = %v, want a,y,z", got)
	}
	mustGet(t, e, "m", 15, "1")
}
